package checker

import (
	"slices"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

// TotalQueue judges a queue workload's operations as Jepsen's
// total-queue checker does: every id an enqueue of kind enqueue tried,
// the ones the broker confirmed (ok) and the ones of unknown outcome
// (info, or never completed), against every delivery of kind dequeue
// (ok or info: a delivery whose ack failed still reached the consumer).
// Lost: confirmed, never consumed. Unexpected: consumed, never attempted
// or certainly refused (fail). Duplicated: consumed more than once.
// Recovered: unknown, and consumed. name labels the result.
func TotalQueue(ops []history.Op, enqueue, dequeue, name string) Result {
	in := fromOps(ops, enqueue)
	in.Service = name
	for _, op := range ops {
		if op.Kind == dequeue && op.ID != "" && op.Outcome != history.Fail {
			in.Effects = append(in.Effects, op.ID)
		}
	}
	return Check(in)
}

// QueueValid is the total-queue verdict: nothing lost and nothing
// unexpected. Duplicates and recovered ids are reported, not failures:
// a broker delivers at least once, and redelivers what was unacked when
// a connection or a leader went away.
func (r Result) QueueValid() bool { return len(r.Lost) == 0 && len(r.Unexpected) == 0 }

// Gap is a stretch of time with no completion.
type Gap struct {
	From, To time.Time
}

// Duration is the gap's length (0 for no gap).
func (g Gap) Duration() time.Duration { return g.To.Sub(g.From) }

// LongestGap is the longest stretch between two successive completions
// of kind's operations with outcome whose completion falls in [from, to]
// (to zero: no end): for a steady stream of publishes, how long confirms
// stalled. Zero when fewer than two such completions exist.
func LongestGap(ops []history.Op, kind string, outcome history.Outcome, from, to time.Time) Gap {
	var at []time.Time
	for _, op := range ops {
		if op.Kind != kind || op.Outcome != outcome || op.Completed.IsZero() {
			continue
		}
		if op.Completed.Before(from) || (!to.IsZero() && op.Completed.After(to)) {
			continue
		}
		at = append(at, op.Completed)
	}
	slices.SortFunc(at, time.Time.Compare)
	var g Gap
	for i := 1; i < len(at); i++ {
		if d := at[i].Sub(at[i-1]); d > g.Duration() {
			g = Gap{From: at[i-1], To: at[i]}
		}
	}
	return g
}
