package workload

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Open-loop pacing (Load.Open).
//
// A closed-loop sender sends the next unit when an answer comes back, so
// a system that slows down slows its own load down, and the time a unit
// spent waiting to be sent is never measured: coordinated omission. An
// open-loop run instead fixes every unit's due time before it starts:
// unit i of the run is due at start + i/Rate. Each unit is handed to one
// of Concurrency senders at its due time, and the history records the
// due time with the operation (history.Op.Due), so latency is measured
// from when the unit should have been sent.
//
// When the system falls behind, every sender is still waiting for an
// answer when a unit falls due. That unit then waits for the first free
// sender and is sent late, with its due time unchanged; the units after
// it keep theirs, so once senders are free again the overdue units go out
// back to back until the run is on schedule again. Nothing is skipped and
// the rate is never lowered: a late send shows in the history (Invoked
// after Due, counted by Pacing as late) and its latency includes the
// wait. If ctx ends first, the units not yet sent are neither sent nor
// recorded. Concurrency bounds what is in flight (connections, memory),
// so it must be at least Rate times the system's latency for a rate the
// system can hold to be held.

// schedule is an open-loop plan: unit i is due at start + i/rate.
type schedule struct {
	start time.Time
	rate  float64 // units per second, > 0
}

// due is when unit i (from 0) is due. It depends on nothing but i, so a
// late unit does not move the ones after it.
func (s schedule) due(i int) time.Time {
	return s.start.Add(time.Duration(float64(i) * float64(time.Second) / s.rate))
}

// runOpen hands each unit to one of senders goroutines (at least one) at
// its due time or, when none is free then, as soon as one is. It blocks
// until every unit handed over has been done, or ctx ended and every
// sender returned.
func runOpen(ctx context.Context, s schedule, senders int, units []system.Unit, do func(context.Context, system.Unit, time.Time)) {
	type job struct {
		u   system.Unit
		due time.Time
	}
	next := make(chan job) // unbuffered: a hand-over succeeds only to a free sender
	var wg sync.WaitGroup
	for range max(senders, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				do(ctx, j.u, j.due)
			}
		}()
	}
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
feed:
	for i, u := range units {
		due := s.due(i)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case next <- job{u, due}:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// LateAfter is how far behind its due time a unit may be sent and still
// count as on time: a timer's and the scheduler's jitter on a busy
// machine, not the system's fault.
const LateAfter = 10 * time.Millisecond

// Pacing is how an open-loop run of one input kept its schedule and what
// latency it saw from the due times, read from its history: the figures
// of a rate asked for and whether it was held.
type Pacing struct {
	Asked    float64 // units per second the schedule asked, from the due times
	Sent     int     // units sent (operations with a due time)
	Achieved float64 // units per second sent, from the first due time to the last send
	Late     int     // units sent LateAfter or more after their due time
	MaxLag   time.Duration
	// Latency of the units that completed ok, from the due time to the
	// answer (what a user would see), and from the send, which is what a
	// closed-loop sender would report: their gap is the coordinated
	// omission an open-loop run avoids.
	P50, P99, Max           time.Duration
	SentP50, SentP99        time.Duration
	OK, Failed, Unknown, In int // outcomes; In: not completed
}

// Held reports whether the run kept the rate asked: units went out at
// 0.99 of it or more, from the first due time to the last send. Units may
// still have been late (Late) where the system stalled for longer than
// its senders could cover (Concurrency/Rate) and the run caught up;
// OnTime says whether none was.
func (p Pacing) Held() bool { return p.Sent > 1 && p.Achieved >= 0.99*p.Asked }

// OnTime reports whether every unit was sent within LateAfter of its due
// time.
func (p Pacing) OnTime() bool { return p.Sent > 0 && p.Late == 0 }

// PacingOf reads the pacing of kind's open-loop operations in ops (those
// with a due time; others are ignored).
func PacingOf(ops []history.Op, kind string) Pacing {
	var p Pacing
	var firstDue, lastDue, lastSent time.Time
	var fromDue, fromSent []time.Duration
	for _, op := range ops {
		if op.Kind != kind || op.Due.IsZero() {
			continue
		}
		p.Sent++
		if firstDue.IsZero() || op.Due.Before(firstDue) {
			firstDue = op.Due
		}
		if op.Due.After(lastDue) {
			lastDue = op.Due
		}
		if op.Invoked.After(lastSent) {
			lastSent = op.Invoked
		}
		lag := op.Invoked.Sub(op.Due)
		p.MaxLag = max(p.MaxLag, lag)
		if lag >= LateAfter {
			p.Late++
		}
		switch op.Outcome {
		case history.OK:
			p.OK++
			fromDue, fromSent = append(fromDue, op.Completed.Sub(op.Due)), append(fromSent, op.Completed.Sub(op.Invoked))
		case history.Fail:
			p.Failed++
		case history.Info:
			p.Unknown++
		default:
			p.In++
		}
	}
	if p.Sent > 1 {
		if d := lastDue.Sub(firstDue); d > 0 {
			p.Asked = float64(p.Sent-1) / d.Seconds()
		}
		if d := lastSent.Sub(firstDue); d > 0 {
			p.Achieved = float64(p.Sent-1) / d.Seconds()
		}
	}
	p.P50, p.P99, p.Max = quantile(fromDue, 0.50), quantile(fromDue, 0.99), quantile(fromDue, 1)
	p.SentP50, p.SentP99 = quantile(fromSent, 0.50), quantile(fromSent, 0.99)
	return p
}

// quantile is the q-quantile of d (nearest rank; 0 when empty). It sorts d.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}
