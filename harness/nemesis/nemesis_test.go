package nemesis

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
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

// Without Overlap, a seed draws the schedule it drew before overlaps
// existed: testdata/plans.golden was written by that code.
func TestWithoutOverlapASeedDrawsWhatItDrewBefore(t *testing.T) {
	want, err := os.ReadFile("testdata/plans.golden")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, seed := range []uint64{1, 42, 2026} {
		for _, st := range Plan(seed, 10*time.Minute, []string{"order", "inventory", "notification"}, true, Options{}) {
			fmt.Fprintln(&b, seed, st)
		}
	}
	if b.String() != string(want) {
		t.Errorf("the schedules changed:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestOverlapsAreTwoFaultsOnTwoTargetsAtMost(t *testing.T) {
	d := 30 * time.Minute
	steps := Plan(3, d, []string{"order", "inventory"}, true, Options{Overlap: 0.5})
	overlaps := 0
	for i, s := range steps {
		if s.At+s.Hold > d {
			t.Errorf("%s heals after %v", s, d)
		}
		active := 0
		for _, o := range steps[:i] {
			if o.At+o.Hold > s.At {
				active++
				if o.Target == s.Target {
					t.Errorf("%s starts while %s holds the same target", s, o)
				}
			}
		}
		if active > 1 {
			t.Errorf("%s starts while %d faults are held", s, active)
		}
		overlaps += active
	}
	if overlaps < len(steps)/5 {
		t.Errorf("%d of %d faults overlap another at Overlap 0.5", overlaps, len(steps))
	}
}

func TestParseMix(t *testing.T) {
	mix, err := ParseMix("restart-broker=2, pause-replica=1")
	if err != nil || mix[RestartBroker] != 2 || mix[PauseReplica] != 1 || len(mix) != 2 {
		t.Errorf("ParseMix = %v, %v", mix, err)
	}
	for in, want := range map[string]string{"restart=1": `no fault kind "restart"`, "kill-replica=x": "want a weight", "kill-replica": "want a weight"} {
		if _, err := ParseMix(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMix(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestAFaultHeldForNoTimeIsHealedAfterItsInjection(t *testing.T) {
	steps := []Step{
		{At: 5 * time.Second, Kind: KillDatabase, Target: "postgres", Hold: 5 * time.Second},
		{At: 10 * time.Second, Kind: RestartBroker, Target: "rabbitmq"},
		{At: 10 * time.Second, Kind: PauseReplica, Target: "inventory", Hold: time.Second},
	}
	var got []string
	for _, e := range timeline(steps) {
		got = append(got, fmt.Sprintf("%s %d %v", e.at, e.step, e.heal))
	}
	want := []string{"5s 0 false", "10s 0 true", "10s 1 false", "10s 2 false", "10s 1 true", "11s 2 true"}
	if !slices.Equal(got, want) {
		t.Fatalf("timeline:\n got %q\nwant %q", got, want)
	}
}

func TestEndsAreWhenEachTargetWasBack(t *testing.T) {
	steps := []Step{
		{At: 10 * time.Second, Kind: KillDatabase, Target: "postgres", Hold: 26 * time.Second},
		{At: 15 * time.Second, Kind: RestartBroker, Target: "rabbitmq"},
		{At: 50 * time.Second, Kind: PauseReplica, Target: "inventory", Hold: 2 * time.Second},
	}
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	op := func(kind, id, detail string, d time.Duration) history.Op {
		return history.Op{Kind: kind, ID: id, Outcome: history.OK, Detail: detail, Invoked: at(d), Completed: at(d)}
	}
	ops := []history.Op{
		// The schedule started at t0+1s: its first injection is 10 s in.
		op(history.KindFault, "kill postgres", "injected: postgres exited (137)", 11*time.Second),
		op(history.KindFault, "restart rabbitmq", "injected: rabbitmq started again", 16*time.Second),
		op(history.KindFault, "restart rabbitmq", fault.Healed, 23*time.Second),
		op(history.KindFault, "kill postgres", fault.Healed, 37*time.Second),
		op(history.KindBack, "rabbitmq", "", 30*time.Second), // not a fault's name
		op(history.KindBack, "restart rabbitmq", "", 36500*time.Millisecond),
		op(history.KindBack, "kill postgres", "", 38200*time.Millisecond),
		op(history.KindFault, "pause inventory-1", "injected: inventory-1 paused", 51*time.Second),
		op(history.KindFault, "pause inventory-1", fault.Healed, 53*time.Second),
	}
	got := Ends(steps, ops)
	// The pause was never seen back: its nominal end stands.
	want := []time.Duration{37200 * time.Millisecond, 35500 * time.Millisecond, 52 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("Ends = %v, want %v", got, want)
	}
}
