package checker

import (
	"slices"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

func TestTotalQueue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	op := func(kind, id string, o history.Outcome) history.Op {
		return history.Op{Kind: kind, ID: id, Outcome: o, Invoked: t0}
	}
	ops := []history.Op{
		op("enqueue", "ok-consumed", history.OK),
		op("enqueue", "ok-lost", history.OK),
		op("enqueue", "ok-twice", history.OK),
		op("enqueue", "info-consumed", history.Info),
		op("enqueue", "info-gone", history.Info),
		op("enqueue", "pending-consumed", history.Pending),
		op("enqueue", "refused", history.Fail),
		op("dequeue", "ok-consumed", history.OK),
		op("dequeue", "ok-twice", history.OK),
		op("dequeue", "ok-twice", history.Info), // its ack failed: it reached the consumer all the same
		op("dequeue", "info-consumed", history.OK),
		op("dequeue", "pending-consumed", history.OK),
		op("dequeue", "refused", history.OK),
		op("dequeue", "never-sent", history.OK),
		op("other", "ok-lost", history.OK), // another kind is no consumption
	}
	r := TotalQueue(ops, "enqueue", "dequeue", "q")
	want := map[string][]string{
		"lost":       {"ok-lost"},
		"duplicated": {"ok-twice"},
		"unexpected": {"never-sent", "refused"},
		"recovered":  {"info-consumed", "pending-consumed"},
	}
	got := map[string][]string{"lost": r.Lost, "duplicated": r.Duplicated, "unexpected": r.Unexpected, "recovered": r.Recovered}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("%s: got %v, want %v", k, got[k], w)
		}
	}
	if r.Accepted != 3 || r.Unknown != 3 || r.Attempted != 7 || r.Service != "q" {
		t.Errorf("figures: %+v", r)
	}
	if r.QueueValid() {
		t.Error("a loss and unexpected ids were judged valid")
	}
	clean := TotalQueue([]history.Op{op("enqueue", "a", history.OK), op("dequeue", "a", history.OK), op("dequeue", "a", history.OK)}, "enqueue", "dequeue", "q")
	if !clean.QueueValid() || len(clean.Duplicated) != 1 {
		t.Errorf("a duplicate alone must be reported and valid: %+v", clean)
	}
}

func TestLongestGap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int, o history.Outcome) history.Op {
		return history.Op{Kind: "enqueue", ID: "x", Outcome: o, Invoked: t0, Completed: t0.Add(time.Duration(ms) * time.Millisecond)}
	}
	ops := []history.Op{at(0, history.OK), at(100, history.OK), at(5000, history.Info), at(3100, history.OK), at(3200, history.OK), {Kind: "enqueue", Outcome: history.Pending}}
	g := LongestGap(ops, "enqueue", history.OK, time.Time{}, time.Time{})
	if g.Duration() != 3*time.Second || !g.From.Equal(t0.Add(100*time.Millisecond)) {
		t.Errorf("gap %v from %v", g.Duration(), g.From)
	}
	if g := LongestGap(ops, "enqueue", history.OK, t0.Add(3*time.Second), time.Time{}); g.Duration() != 100*time.Millisecond {
		t.Errorf("gap after 3 s: %v", g.Duration())
	}
	if g := LongestGap(ops[:1], "enqueue", history.OK, time.Time{}, time.Time{}); g.Duration() != 0 {
		t.Errorf("one completion has no gap: %v", g.Duration())
	}
}
