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

// The accepted set is what the harness was told, never what the system
// shows: an effect of a refused request is unexpected, an unanswered one
// is recovered, a confirmed one missing is lost, one applied twice is
// duplicated.
func TestFromHistory(t *testing.T) {
	var h history.History
	ok := h.Invoke("orders", "a")
	h.Complete(ok, history.OK, "201")
	dup := h.Invoke("orders", "e")
	h.Complete(dup, history.OK, "201")
	unknown := h.Invoke("orders", "b")
	h.Complete(unknown, history.Info, "connection reset")
	failed := h.Invoke("orders", "c")
	h.Complete(failed, history.Fail, "400")
	h.Invoke("orders", "d") // never completed
	other := h.Invoke("payments", "p")
	h.Complete(other, history.OK, "201")
	in := FromHistory(&h, "orders")
	in.Effects = []string{"b", "c", "e", "e", "z"}
	r := Check(in)
	want := map[string][]string{"lost": {"a"}, "duplicated": {"e"}, "unexpected": {"c", "z"}, "recovered": {"b"}}
	got := map[string][]string{"lost": r.Lost, "duplicated": r.Duplicated, "unexpected": r.Unexpected, "recovered": r.Recovered}
	for k := range want {
		if !slices.Equal(got[k], want[k]) {
			t.Errorf("%s = %v, want %v", k, got[k], want[k])
		}
	}
	if r.Attempted != 5 || r.Accepted != 2 || r.Unknown != 2 {
		t.Errorf("figures: %s", r)
	}
}

// A system that makes its ids: an unanswered request has no id, so an
// effect the harness cannot name is recovered while such requests
// explain it, and unexpected beyond that.
func TestUnansweredRequestsWithoutIDExplainThatManyEffects(t *testing.T) {
	var h history.History
	h.CompleteAs(h.Invoke("orders", ""), "s-1", history.OK, "201")
	h.Complete(h.Invoke("orders", ""), history.Info, "timeout")
	in := FromHistory(&h, "orders")
	if in.UnknownWithoutID != 1 || len(in.Accepted) != 1 {
		t.Fatalf("got %+v", in)
	}
	in.Effects = []string{"s-1", "s-2"}
	if r := Check(in); len(r.Unexpected) != 0 || r.Unattributed != 1 || !slices.Equal(r.Recovered, []string{"s-2"}) {
		t.Errorf("one unanswered request: %s", r)
	}
	in.Effects = []string{"s-1", "s-2", "s-3"}
	if r := Check(in); !slices.Equal(r.Unexpected, []string{"s-2", "s-3"}) {
		t.Errorf("two unknown effects for one unanswered request: %s", r)
	}
}

// An at-least-once effect's duplicates are counted and said, not a
// violation; what it lost still is.
func TestAtLeastOnceAllowsDuplicatesNotLoss(t *testing.T) {
	in := Input{Service: "notify: sent", Accepted: []string{"a", "b"}, Effects: []string{"a", "a", "b"}, AtLeastOnce: true}
	r := Check(in)
	if !r.OK() || len(r.Duplicated) != 1 || r.DuplicatedViolations() != nil || !r.AtLeastOnce {
		t.Errorf("duplicates of an at-least-once effect: %+v", r)
	}
	if s := r.String(); !strings.Contains(s, "OK") || !strings.Contains(s, "duplicated 1 (allowed: at-least-once)") || strings.Contains(s, "e.g.") {
		t.Errorf("string %q", s)
	}
	in.Effects = []string{"a", "a"}
	if r := Check(in); r.OK() || len(r.Lost) != 1 {
		t.Errorf("a lost id of an at-least-once effect: %+v", r)
	}
	in.AtLeastOnce, in.Effects = false, []string{"a", "a", "b"}
	if r := Check(in); r.OK() || len(r.DuplicatedViolations()) != 1 {
		t.Errorf("duplicates of an exactly-once effect: %+v", r)
	}
}
