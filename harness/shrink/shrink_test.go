package shrink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/nemesis"
	"github.com/mqchaos/mqchaos/harness/schedule"
)

// soak is a 10-minute soak's schedule of the reference system's shape.
func soak(seed uint64) schedule.Schedule {
	return schedule.Recipe{Seed: seed, Length: 10 * time.Minute, Services: []string{"order", "inventory", "notification"}, Database: true,
		Inputs: []schedule.Input{{Name: "order_http", Prefix: "soak-order-http"}, {Name: "order_amqp", Prefix: "soak-order-amqp", AMQP: true}}, Rate: 5, Faults: nemesis.Options{Overlap: 0.25}}.Draw()
}

// fake is a system that loses the units of order_amqp sent up to 5 s
// before each fault for which bug says so, and the clock of its runs: a
// run takes 20 s plus the schedule's length.
type fake struct {
	now  time.Time
	runs int
	bug  func(s schedule.Schedule, f schedule.Fault) bool
	// flaky: the bug shows in this share of runs (0: always).
	flaky float64
	rng   *rand.Rand
}

func (f *fake) clock() time.Time { return f.now }

func (f *fake) run(_ context.Context, s schedule.Schedule) (map[string][]string, error) {
	f.runs++
	f.now = f.now.Add(20*time.Second + time.Duration(s.Length))
	if f.flaky > 0 && f.rng.Float64() >= f.flaky {
		return nil, nil
	}
	var lost []string
	for _, fl := range s.Faults {
		if !f.bug(s, fl) {
			continue
		}
		for _, l := range s.Loads {
			for n := l.From; n < l.From+l.Count; n++ {
				if at := l.At(n); l.Input == "order_amqp" && at <= time.Duration(fl.At) && at > time.Duration(fl.At)-5*time.Second {
					lost = append(lost, fmt.Sprintf("%s-%04d", l.Prefix, n))
				}
			}
		}
	}
	if len(lost) == 0 {
		return nil, nil
	}
	return map[string][]string{"lost at inventory: stock reserved": lost}, nil
}

const target = "lost at inventory: stock reserved"

func TestAFailingSoakShrinksToTheFaultThatMatters(t *testing.T) {
	s := soak(42)
	f := &fake{now: time.Unix(0, 0), bug: func(_ schedule.Schedule, fl schedule.Fault) bool { return fl.Kind == nemesis.RestartBroker }}
	found, _ := f.run(context.Background(), s)
	var log []Attempt
	res, err := Shrink(context.Background(), s, target, found[target], f.run, Options{Clock: f.clock, Log: func(a Attempt) { log = append(log, a) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range log {
		t.Log(a)
	}
	got := res.Smallest
	if len(got.Faults) != 1 || got.Faults[0].Kind != nemesis.RestartBroker {
		t.Errorf("smallest: %v, want the one broker restart", got.Faults)
	}
	if got.Units() > 200 || len(got.Loads) != 1 || got.Loads[0].Input != "order_amqp" {
		t.Errorf("smallest sends %d units through %v, want 200 or fewer through order_amqp alone", got.Units(), got.Loads)
	}
	if res.Replays != 10 || res.Failed != 10 {
		t.Errorf("replays: %d of %d failed, want 10 of 10", res.Failed, res.Replays)
	}
	if res.Seconds > (15 * time.Minute).Seconds() {
		t.Errorf("took %.0fs, over the budget", res.Seconds)
	}
	if len(s.Faults) < 20 {
		t.Errorf("the soak had only %d faults", len(s.Faults))
	}
}

func TestTwoFaultsThatMustOverlapAreBothKept(t *testing.T) {
	// The bug needs the broker restarted while the database is paused;
	// the first seed whose soak shows it is shrunk.
	bug := func(s schedule.Schedule, fl schedule.Fault) bool {
		if fl.Kind != nemesis.RestartBroker {
			return false
		}
		for _, p := range s.Faults {
			if p.Kind == nemesis.PauseDatabase && p.At < fl.At && p.End() > time.Duration(fl.At) {
				return true
			}
		}
		return false
	}
	var (
		s     schedule.Schedule
		found map[string][]string
		f     = &fake{now: time.Unix(0, 0), bug: bug}
	)
	for seed := uint64(1); len(found) == 0; seed++ {
		s = soak(seed)
		found, _ = f.run(context.Background(), s)
	}
	res, err := Shrink(context.Background(), s, target, found[target], f.run, Options{Clock: f.clock, Budget: time.Hour, Replays: -1})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, fl := range res.Smallest.Faults {
		kinds = append(kinds, fl.Kind+" "+fl.Target)
	}
	if fmt.Sprint(kinds) != "[pause-database postgres restart-broker rabbitmq]" {
		t.Errorf("smallest faults %v, want the pause and the kill", kinds)
	}
}

func TestAFlakyCandidateMustFailEveryConfirmingRun(t *testing.T) {
	s := soak(42)
	always := &fake{now: time.Unix(0, 0), bug: func(_ schedule.Schedule, fl schedule.Fault) bool { return fl.Kind == nemesis.RestartBroker }}
	found, _ := always.run(context.Background(), s)
	f := &fake{now: time.Unix(0, 0), bug: always.bug, flaky: 0.5, rng: rand.New(rand.NewPCG(1, 2))}
	res, err := Shrink(context.Background(), s, target, found[target], f.run, Options{Clock: f.clock, Confirm: 3, Replays: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Attempts {
		failed := 0
		for _, r := range a.Runs {
			if r != "held" {
				failed++
			}
		}
		if a.Kept != (failed == 3 && len(a.Runs) == 3) {
			t.Errorf("attempt %s: kept %v after %d of %d runs failed", a.Move, a.Kept, failed, len(a.Runs))
		}
	}
	if res.Failed == 0 || res.Failed == res.Replays {
		t.Errorf("a bug that shows half the time failed %d of %d replays", res.Failed, res.Replays)
	}
}

func TestTheBudgetEndsTheShrink(t *testing.T) {
	s := soak(42)
	f := &fake{now: time.Unix(0, 0), bug: func(_ schedule.Schedule, fl schedule.Fault) bool { return fl.Kind == nemesis.RestartBroker }}
	found, _ := f.run(context.Background(), s)
	f.runs = 0
	res, err := Shrink(context.Background(), s, target, found[target], f.run, Options{Clock: f.clock, Budget: 3 * time.Minute, Replays: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OutOfTime || res.Seconds > 180 {
		t.Errorf("out of time %v after %.0fs and %d runs, want it to stop within 180s", res.OutOfTime, res.Seconds, f.runs)
	}
	if res.Smallest.Check() != nil || !smaller(res.Smallest, s) && len(res.Attempts) > 0 && res.Attempts[0].Kept {
		t.Errorf("smallest: %v", res.Smallest)
	}
}

func TestWindowKeepsWholeFaultsAndTheUnitsSentInIt(t *testing.T) {
	s := schedule.Schedule{Seed: 1, Length: schedule.Duration(100 * time.Second),
		Faults: []schedule.Fault{
			{At: schedule.Duration(10 * time.Second), Kind: "a", Target: "x", Hold: schedule.Duration(5 * time.Second)},
			{At: schedule.Duration(40 * time.Second), Kind: "b", Target: "x", Hold: schedule.Duration(5 * time.Second)},
			{At: schedule.Duration(70 * time.Second), Kind: "c", Target: "x", Hold: schedule.Duration(5 * time.Second)},
		},
		Loads: []schedule.Load{{Input: "in", Prefix: "p", From: 1, Count: 500, Rate: 5}},
	}
	w := Window(s, 42*time.Second, 60*time.Second)
	if len(w.Faults) != 1 || w.Faults[0].Kind != "b" || w.Faults[0].At != 0 {
		t.Errorf("faults %v, want b at 0", w.Faults)
	}
	if l := w.Loads[0]; l.From != 201 || l.Count != 100 || time.Duration(w.Length) != 20*time.Second {
		t.Errorf("units %d-%d over %s, want 201-300 over 20s", l.From, l.From+l.Count-1, time.Duration(w.Length))
	}
	if got := sendTimes(s, []string{"p-0300", "p-0201", "other-0001"}); fmt.Sprint(got) != "[40s 59.8s]" {
		t.Errorf("sendTimes = %v, want [40s 59.8s]", got)
	}
}
