package checker

import (
	"slices"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/history"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name                              string
		in                                Input
		lost, duplicated, unexpected, rec []string
	}{
		{
			name: "all processed once",
			in:   Input{Accepted: []string{"a", "b"}, Effects: []string{"b", "a"}},
		},
		{
			name: "a loss and a duplicate keep the count right but are both found",
			in:   Input{Accepted: []string{"a", "b"}, Effects: []string{"a", "a"}},
			lost: []string{"b"}, duplicated: []string{"a"},
		},
		{
			name:       "processed but never placed",
			in:         Input{Accepted: []string{"a"}, Effects: []string{"a", "z"}},
			unexpected: []string{"z"},
		},
		{
			name: "unknown outcome may or may not be processed",
			in:   Input{Accepted: []string{"a"}, Unknown: []string{"u1", "u2"}, Effects: []string{"a", "u1"}},
			rec:  []string{"u1"},
		},
		{
			name: "accepted wins over unknown for the same id",
			in:   Input{Accepted: []string{"a"}, Unknown: []string{"a"}},
			lost: []string{"a"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(tc.in)
			for name, pair := range map[string][2][]string{
				"lost": {r.Lost, tc.lost}, "duplicated": {r.Duplicated, tc.duplicated},
				"unexpected": {r.Unexpected, tc.unexpected}, "recovered": {r.Recovered, tc.rec},
			} {
				if !slices.Equal(pair[0], pair[1]) {
					t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
				}
			}
			if r.OK() != (len(tc.lost)+len(tc.duplicated)+len(tc.unexpected) == 0) {
				t.Errorf("OK() = %v for %s", r.OK(), r)
			}
		})
	}
}

func TestStringGivesFigures(t *testing.T) {
	r := Check(Input{Service: "inventory", Attempted: []string{"a", "b", "c"}, Accepted: []string{"a", "b"}, Effects: []string{"a", "a"}})
	s := r.String()
	for _, want := range []string{"inventory VIOLATED", "attempted 3", "accepted 2", "lost 1", "duplicated 1", "lost e.g. b"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
}

func TestFromHistory(t *testing.T) {
	var h history.History
	ok := h.Invoke(history.KindPlace, "a")
	h.Complete(ok, history.OK, "201")
	unknown := h.Invoke(history.KindPlace, "b")
	h.Complete(unknown, history.Info, "connection reset")
	failed := h.Invoke(history.KindPlace, "c")
	h.Complete(failed, history.Fail, "400")
	h.Invoke(history.KindPlace, "d") // never completed
	in := FromHistory(&h, history.KindPlace, []string{"b"})
	r := Check(Input{Attempted: in.Attempted, Accepted: in.Accepted, Unknown: in.Unknown, Effects: []string{"a", "d"}})
	if !slices.Equal(r.Lost, []string{"b"}) || !slices.Equal(r.Recovered, []string{"d"}) || r.Attempted != 4 {
		t.Fatalf("got %s", r)
	}
}
