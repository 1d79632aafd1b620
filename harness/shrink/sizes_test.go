package shrink

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/schedule"
)

// scenario is a fake scenario spec: it loses its units when its fault is
// held at least needHold and it sends at least needUnits, in a run that
// takes 20 s plus the hold and the load's span. flaky is the share of
// runs in which the bug shows (0: always).
type scenario struct {
	now       time.Time
	runs      int
	needHold  time.Duration
	needUnits int
	flaky     float64
	rng       *rand.Rand
	seen      []Sizes
}

func (f *scenario) clock() time.Time { return f.now }

func (f *scenario) run(_ context.Context, z Sizes) (Outcome, error) {
	f.runs++
	f.seen = append(f.seen, z)
	span := time.Duration(float64(z.Units) / max(z.Rate, 1) * float64(time.Second))
	f.now = f.now.Add(20*time.Second + time.Duration(z.Hold) + span)
	if time.Duration(z.Hold) < f.needHold || z.Units < f.needUnits || (f.flaky > 0 && f.rng.Float64() >= f.flaky) {
		return Outcome{}, nil
	}
	var lost []string
	for n := 1; n <= z.Units; n++ {
		lost = append(lost, fmt.Sprintf("outage-%04d", n))
	}
	return Outcome{Found: map[string][]string{target: lost}}, nil
}

func TestAScenarioShrinksItsHoldUnitsAndRateWhileTheViolationPersists(t *testing.T) {
	f := &scenario{now: time.Unix(0, 0), needHold: 12 * time.Second, needUnits: 10}
	start := Sizes{Units: 120, Rate: 20, Hold: schedule.Duration(30 * time.Second)}
	var log []Attempt
	res, err := ShrinkSizes(context.Background(), start, target, f.run, Options{Clock: f.clock, Budget: time.Hour, Log: func(a Attempt) { log = append(log, a) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range log {
		t.Log(a)
	}
	// The hold: 30 s, halved to 15 s (kept), to 7.5 s (held), cut by a
	// quarter to 11.3 s (held). The units: 120, 60, 30, 15 (kept), 8
	// (held), 11 (kept). The rate: halved with its units to 6 units
	// (held), cut by a quarter to 8 units (held).
	want := Sizes{Units: 11, Rate: 20, Hold: schedule.Duration(15 * time.Second)}
	if res.Smallest != want {
		t.Fatalf("smallest %s, want %s", res.Smallest, want)
	}
	if res.Replays != 10 || res.Failed != 10 {
		t.Fatalf("replays: %d of %d failed, want 10 of 10", res.Failed, res.Replays)
	}
	if len(res.Attempts) != len(log) || len(log) == 0 {
		t.Fatalf("%d attempts, %d logged", len(res.Attempts), len(log))
	}
	for _, a := range log {
		if a.Kept && len(a.Runs) != 2 {
			t.Errorf("attempt %d kept after %d runs, want 2: %v", a.N, len(a.Runs), a.Runs)
		}
	}
}

func TestAScenarioShrinkLeavesTheSizesItsSpecDoesNotExpose(t *testing.T) {
	f := &scenario{now: time.Unix(0, 0), needUnits: 3}
	res, err := ShrinkSizes(context.Background(), Sizes{Units: 40}, target, f.run, Options{Clock: f.clock, Replays: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range f.seen {
		if z.Rate != 0 || z.Hold != 0 {
			t.Fatalf("a run was given %s: the spec exposes its units only", z)
		}
	}
	if res.Smallest != (Sizes{Units: 3}) {
		t.Fatalf("smallest %s, want 3 units", res.Smallest)
	}
}

func TestAFlakyScenarioCandidateMustFailEveryConfirmingRun(t *testing.T) {
	f := &scenario{now: time.Unix(0, 0), needHold: time.Second, needUnits: 1, flaky: 0.5, rng: rand.New(rand.NewPCG(1, 2))}
	var log []Attempt
	_, err := ShrinkSizes(context.Background(), Sizes{Units: 64, Hold: schedule.Duration(8 * time.Second)}, target, f.run, Options{Clock: f.clock, Confirm: 3, Replays: -1, Budget: time.Hour, Log: func(a Attempt) { log = append(log, a) }})
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, a := range log {
		failed := 0
		for _, r := range a.Runs {
			if r != "held" {
				failed++
			}
		}
		if a.Kept != (failed == 3) {
			t.Errorf("attempt %d kept=%v with %d of %d runs failing", a.N, a.Kept, failed, len(a.Runs))
		}
		if !a.Kept {
			rejected++
		}
	}
	if rejected == 0 {
		t.Fatal("a bug that shows in half the runs rejected no candidate")
	}
}

func TestTheBudgetEndsAScenarioShrink(t *testing.T) {
	f := &scenario{now: time.Unix(0, 0), needHold: time.Second, needUnits: 1}
	res, err := ShrinkSizes(context.Background(), Sizes{Units: 1000, Rate: 50, Hold: schedule.Duration(30 * time.Second)}, target, f.run, Options{Clock: f.clock, Budget: 5 * time.Minute, Replays: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OutOfTime {
		t.Fatal("not out of time")
	}
	if d := time.Duration(res.Seconds * float64(time.Second)); d > 5*time.Minute {
		t.Fatalf("shrank for %s, budget 5m", d)
	}
}

func TestFewFailingScenarioReplaysTryTheSizesBeforeTheLastCut(t *testing.T) {
	// The bug shows in every run while the shrink tries candidates, then
	// only in 7 of 10 runs at the smallest hold: the replays of the hold
	// before it fail every time and are kept.
	f := &scenario{now: time.Unix(0, 0), needHold: 15 * time.Second}
	run := func(ctx context.Context, z Sizes) (Outcome, error) {
		out, err := f.run(ctx, z)
		if f.runs > 6 && time.Duration(z.Hold) == 15*time.Second && f.runs%10 < 3 {
			return Outcome{}, err
		}
		return out, err
	}
	res, err := ShrinkSizes(context.Background(), Sizes{Hold: schedule.Duration(30 * time.Second)}, target, run, Options{Clock: f.clock, Budget: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rounds) != 2 {
		t.Fatalf("%d rounds of replays, want 2: %+v", len(res.Rounds), res.Rounds)
	}
	if res.Rounds[0].Failed >= 9 {
		t.Fatalf("the first round failed %d of 10, the test wants fewer than 9", res.Rounds[0].Failed)
	}
	if time.Duration(res.Smallest.Hold) != 30*time.Second || res.Failed != 10 {
		t.Fatalf("kept %s failing %d of %d, want the 30 s hold failing 10 of 10", res.Smallest, res.Failed, res.Replays)
	}
}

// A scenario's sizes read as written: the hold as a duration in
// shrink.json, and the attempt's line names the sizes, not "0 faults".
func TestSizesReadAsWritten(t *testing.T) {
	z := Sizes{Units: 38, Rate: 20, Hold: schedule.Duration(2500 * time.Millisecond)}
	b, err := json.Marshal(z)
	if err != nil || string(b) != `{"units":38,"rate":20,"hold":"2.5s"}` {
		t.Errorf("json: %s, %v", b, err)
	}
	line := Attempt{N: 8, Move: "halve the rate and units", Units: z.Units, Sizes: z.String(), Kept: true}.String()
	if strings.Contains(line, "faults") || !strings.Contains(line, "38 units, 20 a second, held 2.5s") {
		t.Errorf("attempt line: %q", line)
	}
}
