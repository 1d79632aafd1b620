package workload

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/system"
)

func TestScheduleDueTimesDependOnlyOnTheUnit(t *testing.T) {
	start := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	s := schedule{start: start, rate: 1000}
	for i, want := range map[int]time.Duration{0: 0, 1: time.Millisecond, 999: 999 * time.Millisecond, 5000: 5 * time.Second} {
		if got := s.due(i).Sub(start); got != want {
			t.Errorf("unit %d due after %v, want %v", i, got, want)
		}
	}
	if got := (schedule{start: start, rate: 3}).due(3).Sub(start); got != time.Second {
		t.Errorf("unit 3 at 3/s due after %v, want 1s", got)
	}
}

// sends records what runOpen handed to do, and when.
type sends struct {
	mu   sync.Mutex
	h    history.History
	dues map[string]time.Time
}

func (s *sends) do(cost time.Duration) func(context.Context, system.Unit, time.Time) {
	return func(_ context.Context, u system.Unit, due time.Time) {
		op := s.h.InvokeDue("publish", u.ID, due)
		s.mu.Lock()
		if _, again := s.dues[u.ID]; again {
			panic("unit sent twice: " + u.ID)
		}
		s.dues[u.ID] = due
		s.mu.Unlock()
		time.Sleep(cost) // the system's answer
		s.h.Complete(op, history.OK, "confirmed")
	}
}

func run(t *testing.T, ctx context.Context, rate float64, senders, n int, cost time.Duration) (*sends, schedule, []system.Unit, time.Duration) {
	t.Helper()
	units := Load{Prefix: "u", Count: n}.Units()
	s := &sends{dues: map[string]time.Time{}}
	sch := schedule{start: time.Now(), rate: rate}
	runOpen(ctx, sch, senders, units, s.do(cost))
	return s, sch, units, time.Since(sch.start)
}

// A rate the senders can keep: every unit is sent once, never before its
// due time, and the run lasts as long as the schedule, not less.
func TestOpenLoopSendsEachUnitAtItsDueTime(t *testing.T) {
	const rate, n = 2000, 400
	s, sch, units, took := run(t, t.Context(), rate, 4, n, 0)
	if len(s.dues) != n {
		t.Fatalf("%d of %d units sent", len(s.dues), n)
	}
	for i, u := range units {
		if !s.dues[u.ID].Equal(sch.due(i)) {
			t.Fatalf("unit %d sent as due at %v, its schedule says %v", i, s.dues[u.ID], sch.due(i))
		}
	}
	for _, op := range s.h.Ops() {
		if op.Invoked.Before(op.Due) {
			t.Fatalf("%s sent %v before its due time", op.ID, op.Due.Sub(op.Invoked))
		}
	}
	if min := time.Duration(n-1) * time.Second / rate; took < min {
		t.Fatalf("the run took %v, less than the schedule's %v: it sent faster than asked", took, min)
	}
	p := PacingOf(s.h.Ops(), "publish")
	if p.Sent != n || p.OK != n || p.Asked < rate*0.99 || p.Asked > rate*1.01 {
		t.Fatalf("pacing %+v: want %d sent and ok at %d/s asked", p, n, rate)
	}
	if p.Achieved < rate/2 { // a loaded machine's timers may lag a little, not by half
		t.Fatalf("achieved %.0f/s of %d/s asked with nothing to wait for", p.Achieved, rate)
	}
}

// A rate the system cannot keep: one sender, 20 ms an answer (50/s) at
// 200/s asked. The schedule does not slow down: every unit keeps its due
// time, each is sent as soon as the sender is free (no idle gap), the
// late ones are counted, and latency from the due time shows the wait a
// closed-loop sender would have hidden.
func TestOpenLoopFallingBehindSendsLateNeverSlower(t *testing.T) {
	const rate, n, cost = 200, 30, 20 * time.Millisecond
	s, sch, units, took := run(t, t.Context(), rate, 1, n, cost)
	if len(s.dues) != n {
		t.Fatalf("%d of %d units sent", len(s.dues), n)
	}
	for i, u := range units {
		if !s.dues[u.ID].Equal(sch.due(i)) {
			t.Fatalf("unit %d's due time moved from %v to %v", i, sch.due(i), s.dues[u.ID])
		}
	}
	// Back to back: the sender never waited for the schedule once behind.
	if max := n*cost + 250*time.Millisecond; took > max {
		t.Fatalf("the run took %v, more than %d answers of %v back to back (%v)", took, n, cost, max)
	}
	p := PacingOf(s.h.Ops(), "publish")
	if p.Late < n-3 { // unit i is sent about 15i ms late
		t.Fatalf("%d of %d units counted late, want nearly all: %+v", p.Late, n, p)
	}
	if p.Held() || p.OnTime() {
		t.Fatal("a run 4 times over its capacity counted as held or on time")
	}
	if p.Achieved > rate/2 {
		t.Fatalf("achieved %.0f/s with capacity for 50/s", p.Achieved)
	}
	if p.Asked < rate*0.99 || p.Asked > rate*1.01 {
		t.Fatalf("the schedule asked %.0f/s, want %d/s: the rate was lowered", p.Asked, rate)
	}
	if p.P99 < 10*p.SentP99 {
		t.Fatalf("p99 from due %v vs from send %v: the wait to be sent is not in the latency", p.P99, p.SentP99)
	}
}

// When ctx ends, the units not yet due are not sent and runOpen returns
// once the sends in flight are done.
func TestOpenLoopStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	s, _, _, took := run(t, ctx, 50, 2, 1000, 0) // 20 s of units
	if len(s.dues) == 0 || len(s.dues) > 20 {
		t.Fatalf("%d units sent in 100 ms at 50/s", len(s.dues))
	}
	if took > 2*time.Second {
		t.Fatalf("runOpen returned %v after its context ended", took)
	}
}

// Pacing is read from the history alone: due, sent and completed times.
func TestPacingOfReadsTheHistory(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	var ops []history.Op
	// 11 units due every 100 ms (10/s); the last three sent 0, 40 and 80 ms late.
	for i := range 11 {
		lag := 0
		if i >= 8 {
			lag = 40 * (i - 8)
		}
		ops = append(ops, history.Op{Kind: "publish", ID: fmt.Sprint(i), Outcome: history.OK, Due: ms(100 * i), Invoked: ms(100*i + lag), Completed: ms(100*i + lag + 5)})
	}
	ops[3].Outcome = history.Info
	ops = append(ops, history.Op{Kind: "publish", ID: "closed-loop", Outcome: history.OK, Invoked: ms(0), Completed: ms(1)}, history.Op{Kind: "http", Due: ms(0), Invoked: ms(0)})
	p := PacingOf(ops, "publish")
	if d := p.Achieved - 10/1.08; d > 1e-9 || d < -1e-9 {
		t.Errorf("achieved %v/s, want 10 units in 1.08 s", p.Achieved)
	}
	p.Achieved = 0
	want := Pacing{Asked: 10, Sent: 11, Late: 2, MaxLag: 80 * time.Millisecond,
		P50: 5 * time.Millisecond, P99: 85 * time.Millisecond, Max: 85 * time.Millisecond, SentP50: 5 * time.Millisecond, SentP99: 5 * time.Millisecond, OK: 10, Unknown: 1}
	if p != want {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}
	if p.Held() || p.OnTime() {
		t.Fatal("a run that ended 80 ms behind a 1 s schedule counted as held or on time")
	}
	if (Pacing{}).Held() || (Pacing{}).OnTime() {
		t.Fatal("nothing sent counted as held or on time")
	}
	// Late for a while, then caught up: held, not on time.
	ops[10].Invoked = ops[10].Due
	if p := PacingOf(ops, "publish"); !p.Held() || p.OnTime() || p.Late != 1 {
		t.Fatalf("caught up after one late unit: %+v, held %v, on time %v", p, p.Held(), p.OnTime())
	}
}
