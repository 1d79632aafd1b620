package shrink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
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
// run takes 20 s plus the schedule's length. Its faults' targets are back
// lag after their nominal ends (nothing: at once), and bug is told when.
type fake struct {
	now  time.Time
	runs int
	bug  func(s schedule.Schedule, ends []time.Duration, i int) bool
	// flaky: the bug shows in this share of runs (0: always).
	flaky float64
	rng   *rand.Rand
	lag   func(f schedule.Fault) time.Duration
}

// restarted is a fault that is a broker restart.
func restarted(s schedule.Schedule, _ []time.Duration, i int) bool {
	return s.Faults[i].Kind == nemesis.RestartBroker
}

func (f *fake) clock() time.Time { return f.now }

func (f *fake) run(_ context.Context, s schedule.Schedule) (Outcome, error) {
	f.runs++
	f.now = f.now.Add(20*time.Second + time.Duration(s.Length))
	out := Outcome{Ends: make([]time.Duration, len(s.Faults))}
	for i, fl := range s.Faults {
		out.Ends[i] = fl.End()
		if f.lag != nil {
			out.Ends[i] += f.lag(fl)
		}
	}
	if f.flaky > 0 && f.rng.Float64() >= f.flaky {
		return out, nil
	}
	var lost []string
	for i, fl := range s.Faults {
		if !f.bug(s, out.Ends, i) {
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
	if len(lost) > 0 {
		out.Found = map[string][]string{target: lost}
	}
	return out, nil
}

const target = "lost at inventory: stock reserved"

func TestAFailingSoakShrinksToTheFaultThatMatters(t *testing.T) {
	s := soak(42)
	f := &fake{now: time.Unix(0, 0), bug: restarted}
	out, _ := f.run(context.Background(), s)
	var log []Attempt
	res, err := Shrink(context.Background(), s, target, out.Found[target], f.run, Options{Clock: f.clock, Log: func(a Attempt) { log = append(log, a) }})
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
	bug := func(s schedule.Schedule, _ []time.Duration, i int) bool {
		fl := s.Faults[i]
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
		s   schedule.Schedule
		out Outcome
		f   = &fake{now: time.Unix(0, 0), bug: bug}
	)
	for seed := uint64(1); len(out.Found) == 0; seed++ {
		s = soak(seed)
		out, _ = f.run(context.Background(), s)
	}
	res, err := Shrink(context.Background(), s, target, out.Found[target], f.run, Options{Clock: f.clock, Budget: time.Hour, Replays: -1})
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
	always := &fake{now: time.Unix(0, 0), bug: restarted}
	out, _ := always.run(context.Background(), s)
	f := &fake{now: time.Unix(0, 0), bug: always.bug, flaky: 0.5, rng: rand.New(rand.NewPCG(1, 2))}
	res, err := Shrink(context.Background(), s, target, out.Found[target], f.run, Options{Clock: f.clock, Confirm: 3, Replays: 20})
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
	f := &fake{now: time.Unix(0, 0), bug: restarted}
	out, _ := f.run(context.Background(), s)
	f.runs = 0
	res, err := Shrink(context.Background(), s, target, out.Found[target], f.run, Options{Clock: f.clock, Budget: 3 * time.Minute, Replays: -1})
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

// planted is the schedule of a rare bug's soak, cut to 2 minutes: the
// database killed at +43 s for 26 s, the broker restarted at +48.7 s
// inside the outage, and two faults that do not matter.
func planted() schedule.Schedule {
	sec := func(s float64) schedule.Duration { return schedule.Duration(s * float64(time.Second)) }
	return schedule.Schedule{Seed: 248, Length: sec(120),
		Faults: []schedule.Fault{
			{At: sec(20), Kind: nemesis.PauseReplica, Target: "inventory", Hold: sec(4)},
			{At: sec(43), Kind: nemesis.KillDatabase, Target: "postgres", Hold: sec(26)},
			{At: sec(48.7), Kind: nemesis.RestartBroker, Target: "rabbitmq"},
			{At: sec(90), Kind: nemesis.DisconnectReplica, Target: "order", Hold: sec(3)},
		},
		Loads: []schedule.Load{
			{Input: "order_http", Prefix: "soak-order-http", From: 1, Count: 600, Rate: 5, Seed: 248},
			{Input: "order_amqp", Prefix: "soak-order-amqp", From: 1, Count: 600, Rate: 5, Seed: 249, AgainEvery: 10},
		},
		PoisonEvery: sec(20),
	}
}

// brokerBack is the planted system's timing: the broker takes
// connections 20 s after its restart began, the database 1 s after it
// was started again.
func brokerBack(f schedule.Fault) time.Duration {
	switch f.Kind {
	case nemesis.RestartBroker:
		return 20 * time.Second
	case nemesis.KillDatabase:
		return time.Second
	}
	return 0
}

// redeliveredInOutage is the planted bug: a broker restart loses work
// when the database, killed before it, is still down once the broker is
// back; how often depends on how long it stays down after that (share:
// the chance for a time it stayed down).
func redeliveredInOutage(rng *rand.Rand, share func(down time.Duration) float64) func(schedule.Schedule, []time.Duration, int) bool {
	return func(s schedule.Schedule, ends []time.Duration, i int) bool {
		if s.Faults[i].Kind != nemesis.RestartBroker {
			return false
		}
		for p, f := range s.Faults[:i] {
			if f.Kind == nemesis.KillDatabase && ends[p] > ends[i] {
				return rng.Float64() < share(ends[p]-ends[i])
			}
		}
		return false
	}
}

func TestAnOverlapIsKeptByTheFaultsObservedEnds(t *testing.T) {
	s := planted()
	// Down 1.3 s after the broker is back in the soak: it failed by luck.
	rng := rand.New(rand.NewPCG(3, 4))
	f := &fake{now: time.Unix(0, 0), lag: brokerBack, bug: redeliveredInOutage(rng, func(down time.Duration) float64 { return down.Seconds() / 3 })}
	lucky := &fake{now: time.Unix(0, 0), lag: brokerBack, bug: redeliveredInOutage(rng, func(time.Duration) float64 { return 1 })}
	out, _ := lucky.run(context.Background(), s)
	res, err := Shrink(context.Background(), s, target, out.Found[target], f.run, Options{Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Attempts {
		t.Log(a)
	}
	// The first window is the faults acting while the lost units were
	// sent, and the one input that sent them.
	if a := res.Attempts[0]; a.Faults != 2 || !strings.Contains(a.Move, "inputs only") || a.Units > 250 {
		t.Errorf("first attempt: %s, want the two faults and the AMQP input alone", a)
	}
	got := res.Smallest
	if len(got.Faults) != 2 || got.Faults[0].Kind != nemesis.KillDatabase || got.Faults[1].Kind != nemesis.RestartBroker {
		t.Fatalf("smallest: %s, want the database kill and the broker restart", faults(got))
	}
	db, broker := got.Faults[0], got.Faults[1]
	if back := time.Duration(broker.At) + 20*time.Second; db.End() < back+5*time.Second {
		t.Errorf("the database is healed at +%s, the broker back at +%s: want it held 5s past that", db.End(), back)
	}
	if res.Failed < 9 || res.Replays != 10 || len(res.Rounds) != 1 {
		t.Errorf("replays: %d of %d failed in %d rounds, want 9 or more of 10 in one", res.Failed, res.Replays, len(res.Rounds))
	}
	if got.Units() > 200 || res.Seconds > (15*time.Minute).Seconds() {
		t.Errorf("smallest: %s, shrunk in %.0fs; want 200 units or fewer within 15 min", got, res.Seconds)
	}
}

func TestFewFailingReplaysHoldTheOuterFaultLonger(t *testing.T) {
	s := planted()
	// The bug needs the database down 2 s after the broker is back, and
	// shows every time only when it stays down 10 s: held down 6 s (the
	// margin and the database's own second), it fails half the time.
	rng := rand.New(rand.NewPCG(5, 6))
	share := func(down time.Duration) float64 { return (down - 2*time.Second).Seconds() / 8 }
	f := &fake{now: time.Unix(0, 0), lag: brokerBack, bug: redeliveredInOutage(rng, share)}
	lucky := &fake{now: time.Unix(0, 0), lag: brokerBack, bug: redeliveredInOutage(rng, func(time.Duration) float64 { return 1 })}
	out, _ := lucky.run(context.Background(), s)
	res, err := Shrink(context.Background(), s, target, out.Found[target], f.run, Options{Clock: f.clock, Budget: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rounds {
		t.Logf("%s: %d of %d failed: %s", r.Why, r.Failed, r.Replays, faults(r.Schedule))
	}
	if len(res.Rounds) != 2 || res.Rounds[0].Failed >= 9 {
		t.Fatalf("%d rounds, the first failed %d of 10: want a first round below 9 of 10 and a second", len(res.Rounds), res.Rounds[0].Failed)
	}
	first, second := res.Rounds[0].Schedule, res.Rounds[1].Schedule
	kill := func(s schedule.Schedule) schedule.Duration {
		for _, f := range s.Faults {
			if f.Kind == nemesis.KillDatabase {
				return f.Hold
			}
		}
		return 0
	}
	if kill(second) <= kill(first) || len(second.Faults) != len(first.Faults) {
		t.Errorf("held longer: %s, from %s", faults(second), faults(first))
	}
	if res.Rounds[1].Failed < 9 || res.Failed != res.Rounds[1].Failed || !same(res.Smallest, second) {
		t.Errorf("the longer schedule failed %d of 10; the result says %d of %d for %s", res.Rounds[1].Failed, res.Failed, res.Replays, faults(res.Smallest))
	}
}

func TestOverlappedHoldsTheOuterFaultPastTheInnersEnd(t *testing.T) {
	sh := &shrinker{margin: 5 * time.Second, lag: map[string]time.Duration{"restart-broker rabbitmq": 20 * time.Second}}
	s := Window(planted(), 30*time.Second, 80*time.Second)
	got := sh.overlapped(s)
	if db := got.Faults[0]; db.Kind != nemesis.KillDatabase || time.Duration(db.Hold) != 30700*time.Millisecond {
		t.Errorf("faults %s: want the database kill held 30.7s (the broker back at +38.7s, 5s more)", faults(got))
	}
	if time.Duration(got.Length)-got.Faults[0].End() != time.Duration(s.Length)-s.Faults[0].End() {
		t.Errorf("length %s for faults %s: want the time after the last heal kept", time.Duration(got.Length), faults(got))
	}
	// Held longer, the kill would hold over a pause of the database:
	// left as it is.
	crowded := s.Clone()
	crowded.Faults = append(crowded.Faults, schedule.Fault{At: schedule.Duration(40 * time.Second), Kind: nemesis.PauseDatabase, Target: "postgres", Hold: schedule.Duration(time.Second)})
	if err := crowded.Check(); err != nil {
		t.Fatal(err)
	}
	if c := sh.overlapped(crowded); !same(c, crowded) {
		t.Errorf("overlapped made three faults at once: %s", faults(c))
	}
}

func TestTogetherMovesFaultsByTheirObservedEnds(t *testing.T) {
	sh := &shrinker{margin: 5 * time.Second, lag: map[string]time.Duration{"restart-broker rabbitmq": 20 * time.Second}}
	sec := func(s float64) schedule.Duration { return schedule.Duration(s * float64(time.Second)) }
	s := schedule.Schedule{Seed: 1, Length: sec(100), Faults: []schedule.Fault{
		{At: sec(20), Kind: nemesis.KillDatabase, Target: "postgres", Hold: sec(30)},
		{At: sec(30), Kind: nemesis.RestartBroker, Target: "rabbitmq"},
		{At: sec(80), Kind: nemesis.PauseReplica, Target: "inventory", Hold: sec(2)},
	}}
	got := sh.together(s)
	// The restart halfway closer to the kill, the kill 5 s shorter; the
	// pause 5 s after the broker is back (+45 s), not after the restart.
	want := "kill-database +20s 25s, restart-broker +25s 0s, pause-replica +50s 2s"
	if faults(got) != want || time.Duration(got.Length) != 57*time.Second {
		t.Errorf("together: %s over %s, want %s over 57s", faults(got), time.Duration(got.Length), want)
	}
}

// faults is s's faults in short: "kill-database +20s 25s, ...".
func faults(s schedule.Schedule) string {
	var out []string
	for _, f := range s.Faults {
		out = append(out, fmt.Sprintf("%s +%s %s", f.Kind, time.Duration(f.At), time.Duration(f.Hold)))
	}
	return strings.Join(out, ", ")
}
