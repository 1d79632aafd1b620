package checker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

func TestPercentileIsNearestRank(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, c := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
		{ms(1, 2, 3, 1000), 99, 1000 * time.Millisecond}, // one slow op is the p99 of a few
	} {
		if got := checker.Percentile(c.sorted, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %s, want %s", c.sorted, c.p, got, c.want)
		}
	}
}

// attacked is a run of 20 requests of input "orders", 10 before a fault
// named "crowd" and 10 while it was open, each taking wait; failed of
// those under the fault failed; and the margin recorded.
func attacked(wait time.Duration, failed int) []history.Op {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var ops []history.Op
	for i := range 10 {
		ops = append(ops, history.Op{Kind: "orders", ID: "b" + string(rune('a'+i)), Outcome: history.OK, Invoked: at(float64(i) / 10), Completed: at(float64(i) / 10).Add(10 * time.Millisecond)})
	}
	ops = append(ops, history.Op{Kind: history.KindFault, ID: "crowd", Outcome: history.OK, Detail: "injected: 50 open", Invoked: at(1), Completed: at(1.5)})
	for i := range 10 {
		outcome := history.OK
		if i < failed {
			outcome = history.Info
		}
		ops = append(ops, history.Op{Kind: "orders", ID: "u" + string(rune('a'+i)), Outcome: outcome, Invoked: at(1 + float64(i)/10), Completed: at(1 + float64(i)/10).Add(wait)})
	}
	ops = append(ops,
		history.Op{Kind: history.KindFault, ID: "crowd", Outcome: history.OK, Detail: "healed", Invoked: at(3), Completed: at(3.2)},
		// After the heal: in neither phase.
		history.Op{Kind: "orders", ID: "z", Outcome: history.Fail, Invoked: at(4), Completed: at(14)},
		history.Op{Kind: history.KindServed, ID: "orders", Outcome: history.OK, Invoked: at(5), Completed: at(5), Served: &history.Served{Fault: "crowd", MaxErrorShare: 0.01, P99Factor: 2, P99Slack: 0.1}},
	)
	return ops
}

func TestServedWithinItsMarginHolds(t *testing.T) {
	v := checker.Judge(attacked(50*time.Millisecond, 0))
	if len(v.Bounds) != 1 || !v.Bounds[0].OK() || !v.Held() {
		t.Fatalf("want one bound held, got %+v", v.Bounds)
	}
	if want := "orders served under crowd: before: 10 requests, 0 failed, p99 10ms; under the fault: 10 requests, 0 failed, p99 50ms; held"; v.Bounds[0].String() != want {
		t.Errorf("got %q\nwant %q", v.Bounds[0].String(), want)
	}
}

func TestServedOutsideItsMarginBreaksTheRun(t *testing.T) {
	for _, c := range []struct {
		name   string
		wait   time.Duration
		failed int
		want   string
	}{
		{"starved", 50 * time.Millisecond, 2, "starved: 2 of 10 requests under the fault failed (20.0%, over 1%)"},
		{"slowed", 121 * time.Millisecond, 0, "slowed: p99 under the fault 121ms, over 2× the 10ms before + 100ms"},
	} {
		v := checker.Judge(attacked(c.wait, c.failed))
		if v.Held() || len(v.Bounds) != 1 || !slices.Equal(v.Bounds[0].Broken, []string{c.want}) {
			t.Errorf("%s: got %+v, want broken by %q", c.name, v.Bounds, c.want)
		}
	}
}

func TestServedWithoutItsFaultIsBroken(t *testing.T) {
	ops := attacked(50*time.Millisecond, 0)
	ops[len(ops)-1].Served.Fault = "another"
	if v := checker.Judge(ops); v.Held() || len(v.Bounds) != 1 || !strings.Contains(v.Bounds[0].String(), "never injected and healed") {
		t.Errorf("a margin on a fault never recorded held: %+v", v.Bounds)
	}
}

func TestServedPhasesSplitAtTheFault(t *testing.T) {
	before, under, ok := checker.ServedPhases(attacked(50*time.Millisecond, 3), "orders", "crowd")
	if !ok || len(before.Waits) != 10 || len(under.Waits) != 10 || before.Failed != 0 || under.Failed != 3 || under.ErrorShare() != 0.3 {
		t.Errorf("got before %s, under %s, ok %t", before, under, ok)
	}
}

// looks is a replica watched while its queue "q" was refused: ready says
// whether it said it was ready at each look, with no consumer on q.
func looks(ready ...bool) []history.Op {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	var ops []history.Op
	for i, r := range ready {
		at := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		answer := "not ready: PRECONDITION_FAILED"
		if r {
			answer = ""
		}
		ops = append(ops, history.Op{Kind: history.KindWatched, ID: "c-1", Outcome: history.OK, Detail: answer, Invoked: at, Completed: at.Add(10 * time.Millisecond), Watched: &history.Watched{Queue: "q", Ready: r}})
	}
	return ops
}

func TestWatchedNotReadyWithoutAConsumerHolds(t *testing.T) {
	v := checker.Judge(looks(false, false, false))
	if !v.Held() || len(v.Bounds) != 1 {
		t.Fatalf("want one bound held, got %+v", v.Bounds)
	}
	if want := "c-1 ready only with a consumer on q: 3 looks over 1.0s: ready in 0, most consumers 0; held"; v.Bounds[0].String() != want {
		t.Errorf("got %q\nwant %q", v.Bounds[0].String(), want)
	}
}

func TestWatchedReadyWithoutAConsumerBreaksTheRun(t *testing.T) {
	v := checker.Judge(looks(false, true, true))
	if v.Held() || len(v.Bounds) != 1 || !slices.Equal(v.Bounds[0].Broken, []string{"c-1 said it was ready while q had no consumer, in 2 of 3 looks"}) {
		t.Errorf("got %+v", v.Bounds)
	}
}

func TestBoundsSurviveTheFile(t *testing.T) {
	h := &history.History{}
	h.Append(attacked(50*time.Millisecond, 2)...)
	h.Append(looks(true)...)
	judged, recorded := againFromFile(t, h)
	if recorded.Held() || len(recorded.Bounds) != 2 {
		t.Fatalf("recorded verdict lost its bounds: %+v", recorded)
	}
	recorded.Bounds[1].Broken = nil
	if d := checker.Differences(judged, recorded); len(d) != 1 {
		t.Errorf("a recorded bound that held where the judged one broke was not told apart: %v", d)
	}
}
