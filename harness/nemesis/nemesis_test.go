package nemesis

import (
	"slices"
	"testing"
	"time"
)

func TestTheSameSeedGivesTheSameSchedule(t *testing.T) {
	svcs := []string{"order", "inventory", "notification"}
	a := Plan(42, 10*time.Minute, svcs, true, Options{})
	b := Plan(42, 10*time.Minute, []string{"notification", "order", "inventory"}, true, Options{})
	c := Plan(43, 10*time.Minute, svcs, true, Options{})
	if len(a) < 20 || !slices.Equal(a, b) {
		t.Fatalf("seed 42 gave %d and %d steps, equal %v", len(a), len(b), slices.Equal(a, b))
	}
	if slices.Equal(a, c) {
		t.Error("seeds 42 and 43 gave the same schedule")
	}
}

func TestFaultsNeverOverlapAndEndHealed(t *testing.T) {
	d := 3 * time.Minute
	steps := Plan(7, d, []string{"a"}, false, Options{Gap: 5 * time.Second, Hold: 4 * time.Second})
	end := time.Duration(0)
	for _, s := range steps {
		if s.At < end {
			t.Errorf("%s starts before the previous fault healed at %v", s, end)
		}
		if s.Kind == PauseDatabase || s.Kind == KillDatabase {
			t.Errorf("%s drawn for a system without a database", s)
		}
		end = s.At + s.Hold
	}
	if end > d {
		t.Errorf("the last fault heals at %v, after %v", end, d)
	}
}

func TestMixLeavesKindsOut(t *testing.T) {
	steps := Plan(1, 5*time.Minute, []string{"a", "b"}, true, Options{Mix: map[string]int{KillReplica: 1}})
	for _, s := range steps {
		if s.Kind != KillReplica {
			t.Errorf("%s is not in the mix", s)
		}
	}
	if len(steps) == 0 {
		t.Error("no step")
	}
}
