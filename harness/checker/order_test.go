package checker

import (
	"slices"
	"strings"
	"testing"
)

// An ordered effect is judged on each id's steps in the order applied:
// every step once and in order holds; a step after one that must follow
// it is out of order (a late duplicate of an earlier step too); a step
// missing is lost; a step applied twice in order is duplicated.
func TestCheckAnOrderedEffect(t *testing.T) {
	order := []string{"placed", "cancelled"}
	cases := []struct {
		name                                 string
		steps                                map[string][]string
		accepted                             []string
		lost, duplicated, unexpected, outOfO []string
	}{
		{
			name:     "in order",
			steps:    map[string][]string{"a": {"placed", "cancelled"}, "b": {"placed", "cancelled"}},
			accepted: []string{"a", "b"},
		},
		{
			name:     "a cancellation before its placement",
			steps:    map[string][]string{"a": {"cancelled", "placed"}, "b": {"placed", "cancelled"}},
			accepted: []string{"a", "b"},
			outOfO:   []string{"a"},
		},
		{
			name:       "a placement applied again after the cancellation",
			steps:      map[string][]string{"a": {"placed", "cancelled", "placed"}},
			accepted:   []string{"a"},
			duplicated: []string{"a"}, outOfO: []string{"a"},
		},
		{
			name:       "a step applied twice, in order",
			steps:      map[string][]string{"a": {"placed", "placed", "cancelled"}},
			accepted:   []string{"a"},
			duplicated: []string{"a"},
		},
		{
			name:     "a step missing, or every step",
			steps:    map[string][]string{"a": {"placed"}},
			accepted: []string{"a", "b"},
			lost:     []string{"a", "b"},
		},
		{
			name:       "a unit never sent, applied out of order",
			steps:      map[string][]string{"a": {"placed", "cancelled"}, "z": {"cancelled", "placed"}},
			accepted:   []string{"a"},
			unexpected: []string{"z"}, outOfO: []string{"z"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var effects []string
			for id, st := range tc.steps {
				for range st {
					effects = append(effects, id) // what a read's Shown gives: ignored for an ordered effect
				}
			}
			r := Check(Input{Service: "notification: notices", Accepted: tc.accepted, Attempted: tc.accepted, Effects: effects, Order: order, Steps: tc.steps})
			for name, pair := range map[string][2][]string{
				"lost": {r.Lost, tc.lost}, "duplicated": {r.Duplicated, tc.duplicated},
				"unexpected": {r.Unexpected, tc.unexpected}, "out of order": {r.OutOfOrder, tc.outOfO},
			} {
				if !slices.Equal(pair[0], pair[1]) {
					t.Errorf("%s = %v, want %v: %s", name, pair[0], pair[1], r)
				}
			}
			if r.OK() != (len(tc.lost)+len(tc.duplicated)+len(tc.unexpected)+len(tc.outOfO) == 0) {
				t.Errorf("OK() = %v for %s", r.OK(), r)
			}
			if r.Effects != len(effects) || r.Processed != len(tc.steps) {
				t.Errorf("effects %d, processed %d: %s", r.Effects, r.Processed, r)
			}
		})
	}
}

// The figures of an ordered effect say how many units were out of
// order, with examples; an effect without an order does not mention it.
func TestStringOfAnOrderedEffect(t *testing.T) {
	r := Check(Input{Service: "n", Accepted: []string{"a"}, Order: []string{"x", "y"}, Steps: map[string][]string{"a": {"y", "x"}}})
	if s := r.String(); !strings.Contains(s, "VIOLATED") || !strings.Contains(s, "out of order 1") || !strings.Contains(s, "out of order e.g. a") {
		t.Errorf("%s", s)
	}
	if s := Check(Input{Service: "n", Accepted: []string{"a"}, Effects: []string{"a"}}).String(); strings.Contains(s, "order") {
		t.Errorf("an effect without an order: %s", s)
	}
}
