package checker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// healed is a run whose fault was healed at t0+10s with a budget of 5 s
// ready and 20 s drained: its ops, built at fixed times so the figures
// are exact. ready and drained are how long after the heal the replica
// was ready and the work drained (negative: never).
func healed(ready, drained time.Duration) []history.Op {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	heal := t0.Add(10 * time.Second)
	at := func(d time.Duration) time.Time { return heal.Add(d) }
	ops := []history.Op{
		{Kind: "amqp", ID: "u-1", Outcome: history.OK, Invoked: t0, Completed: t0},
		{Kind: history.KindFault, ID: "black hole c", Outcome: history.OK, Detail: "injected: x", Invoked: t0, Completed: t0.Add(time.Second)},
		// A replica ready before the heal does not count.
		{Kind: history.KindReady, ID: "c-1", Outcome: history.OK, Invoked: t0.Add(2 * time.Second), Completed: t0.Add(2 * time.Second)},
		{Kind: history.KindFault, ID: "black hole c", Outcome: history.OK, Detail: "healed", Invoked: at(-time.Second), Completed: heal},
		{Kind: history.KindRecovery, ID: "half-open", Outcome: history.OK, Invoked: at(time.Millisecond), Completed: at(time.Millisecond), Budget: &history.Budget{Ready: 5, Drained: 20}},
		{Kind: history.KindReady, ID: "other-1", Outcome: history.OK, Invoked: at(time.Second), Completed: at(time.Second)},
	}
	if ready >= 0 {
		ops = append(ops, history.Op{Kind: history.KindReady, ID: "c-1", Outcome: history.OK, Invoked: at(ready), Completed: at(ready)})
	} else {
		ops = append(ops, history.Op{Kind: history.KindReady, ID: "c-1", Outcome: history.Fail, Detail: "not ready 30s after the heal", Invoked: at(30 * time.Second), Completed: at(30 * time.Second)})
	}
	if drained >= 0 {
		ops = append(ops, history.Op{Kind: history.KindDrained, Outcome: history.OK, Invoked: at(drained), Completed: at(drained)})
	}
	end := at(45 * time.Second)
	return append(ops, history.Op{Kind: history.KindRead, ID: "c: applied", Outcome: history.OK, Invoked: end, Completed: end, Shown: map[string]int{"u-1": 1}, Judged: &history.Judged{Inputs: []string{"amqp"}}})
}

func TestRecoveryWithinBudgetHolds(t *testing.T) {
	v := checker.Judge(healed(3*time.Second, 12*time.Second))
	if len(v.Recovery) != 1 {
		t.Fatalf("%d recovery verdicts, want 1: %+v", len(v.Recovery), v)
	}
	r := v.Recovery[0]
	if !v.Held() || !r.OK() {
		t.Errorf("within budget judged over: %s", r)
	}
	if r.Kind != "half-open" || r.Fault != "black hole c" || r.Ready == nil || *r.Ready != 3 || r.Drained == nil || *r.Drained != 12 {
		t.Errorf("figures wrong (the slowest replica after the heal counts, from the heal op): %+v", r)
	}
}

// Each way of going over a budget breaks the run, with its figures.
func TestRecoveryOverBudgetBreaksTheRun(t *testing.T) {
	for _, c := range []struct {
		name           string
		ready, drained time.Duration
		want           string
	}{
		{"drained late", 3 * time.Second, 25 * time.Second, "drained 25.0s after the heal, budget 20s"},
		{"never drained", 3 * time.Second, -1, "not drained 45.0s after the heal, when the run ended (budget 20s)"},
		{"ready late", 8 * time.Second, 12 * time.Second, "ready again 8.0s after the heal, budget 5s"},
		{"never ready", -1, 12 * time.Second, "c-1 not ready again within its wait (budget 5s)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := checker.Judge(healed(c.ready, c.drained))
			if len(v.Recovery) != 1 {
				t.Fatalf("%d recovery verdicts, want 1", len(v.Recovery))
			}
			r := v.Recovery[0]
			if v.Held() || r.OK() {
				t.Fatalf("over budget judged held: %s", r)
			}
			if !strings.Contains(r.String(), "RECOVERY OVER BUDGET") || !strings.Contains(strings.Join(r.Over, "; "), c.want) {
				t.Errorf("got %q, want it to say %q", r, c.want)
			}
		})
	}
}

// A history with no budget recorded is judged as before.
func TestNoBudgetNoRecoveryVerdict(t *testing.T) {
	var ops []history.Op
	for _, op := range healed(3*time.Second, 12*time.Second) {
		if op.Kind != history.KindRecovery {
			ops = append(ops, op)
		}
	}
	if v := checker.Judge(ops); len(v.Recovery) != 0 || !v.Held() {
		t.Errorf("judged a budget that was never recorded: %+v", v)
	}
}

// The run's recovery verdict is recorded in its history and read back
// from the file as judged: mqchaos judge finds no difference, and one
// when the recorded verdict is not what the history shows.
func TestRecoveryVerdictSurvivesTheFile(t *testing.T) {
	h := &history.History{}
	h.Append(healed(3*time.Second, 25*time.Second)...)
	judged, recorded := againFromFile(t, h)
	if recorded.Held() || len(recorded.Recovery) != 1 || recorded.Recovery[0].OK() {
		t.Errorf("recorded verdict lost its recovery: %+v", recorded)
	}
	recorded.Recovery = nil
	if d := checker.Differences(judged, recorded); len(d) == 0 {
		t.Error("a recorded verdict without the recovery verdict was not told apart")
	}
}
