package checker

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

// Bound is the verdict on one bound a run recorded besides the effects'
// id sets: a margin an input's requests must keep while a fault is open
// (history.KindServed), or a replica that must not say it is ready while
// its queue has no consumer (history.KindWatched).
type Bound struct {
	// What is the bound, in words: "orders served under hostile clients".
	What string `json:"what"`
	// Figures are what it was judged on, in words.
	Figures string `json:"figures"`
	// Broken says how the run broke it, with the figures; empty when it
	// held.
	Broken []string `json:"broken,omitempty"`
}

// OK reports whether the run kept the bound.
func (b Bound) OK() bool { return len(b.Broken) == 0 }

// String is the verdict on the bound as one line of figures.
func (b Bound) String() string {
	if b.OK() {
		return fmt.Sprintf("%s: %s; held", b.What, b.Figures)
	}
	return fmt.Sprintf("%s: %s; BROKEN: %s", b.What, b.Figures, strings.Join(b.Broken, "; "))
}

// bounds judges every bound in ops, in the order recorded: each margin
// (history.KindServed), then each replica watched (history.KindWatched).
func bounds(ops []history.Op) []Bound {
	var out []Bound
	for _, op := range ops {
		if op.Kind == history.KindServed && op.Served != nil {
			out = append(out, served(ops, op.ID, *op.Served))
		}
	}
	return append(out, watched(ops)...)
}

// Phase is the requests of one input invoked in one phase of a run, each
// counted once it completed.
type Phase struct {
	Name string
	// Waits holds each completed request's wait, answered or not.
	Waits []time.Duration
	// Failed counts those not answered ok.
	Failed int
}

// ErrorShare is the share of the phase's requests that failed.
func (p Phase) ErrorShare() float64 {
	if len(p.Waits) == 0 {
		return 0
	}
	return float64(p.Failed) / float64(len(p.Waits))
}

// P99 is the phase's 99th percentile wait.
func (p Phase) P99() time.Duration {
	sorted := slices.Clone(p.Waits)
	slices.Sort(sorted)
	return Percentile(sorted, 99)
}

func (p Phase) String() string {
	return fmt.Sprintf("%s: %d requests, %d failed, p99 %s", p.Name, len(p.Waits), p.Failed, p.P99().Round(time.Millisecond))
}

// Percentile is the nearest-rank p-th percentile of sorted (ascending),
// or zero for none: the one percentile every verdict and figure uses.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ServedPhases splits input's requests at the fault named fault: before
// its injection (the first fault op of that name completed ok), and
// while it was open (from the injection's start to the end of the heal,
// the next such op). ok is false when the history holds no injection
// and heal of that fault. Times are read by the wall clock (Round(0)),
// as from the history's file.
func ServedPhases(ops []history.Op, input, fault string) (before, under Phase, ok bool) {
	var injected, healed time.Time
	for _, op := range ops {
		if op.Kind != history.KindFault || op.ID != fault || op.Outcome != history.OK {
			continue
		}
		if injected.IsZero() {
			injected = op.Invoked.Round(0)
			continue
		}
		healed = op.Completed.Round(0)
		break
	}
	before, under = Phase{Name: "before"}, Phase{Name: "under the fault"}
	if healed.IsZero() {
		return before, under, false
	}
	for _, op := range ops {
		if op.Kind != input || op.Completed.IsZero() {
			continue
		}
		invoked := op.Invoked.Round(0)
		var p *Phase
		switch {
		case invoked.Before(injected):
			p = &before
		case invoked.Before(healed):
			p = &under
		default:
			continue
		}
		p.Waits = append(p.Waits, op.Completed.Round(0).Sub(invoked))
		if op.Outcome != history.OK {
			p.Failed++
		}
	}
	return before, under, true
}

// served judges input's margin m: its requests under the fault failing
// at most m.MaxErrorShare, with a p99 within m.P99Factor times the p99
// before plus m.P99Slack.
func served(ops []history.Op, input string, m history.Served) Bound {
	b := Bound{What: fmt.Sprintf("%s served under %s", input, m.Fault)}
	before, under, ok := ServedPhases(ops, input, m.Fault)
	if !ok {
		b.Figures = "no injection and heal of it recorded"
		b.Broken = []string{"the fault was never injected and healed"}
		return b
	}
	b.Figures = before.String() + "; " + under.String()
	if share := under.ErrorShare(); share > m.MaxErrorShare {
		b.Broken = append(b.Broken, fmt.Sprintf("starved: %d of %d requests under the fault failed (%.1f%%, over %.0f%%)", under.Failed, len(under.Waits), 100*share, 100*m.MaxErrorShare))
	}
	slack := time.Duration(m.P99Slack * float64(time.Second))
	if limit := time.Duration(m.P99Factor*float64(before.P99())) + slack; under.P99() > limit {
		b.Broken = append(b.Broken, fmt.Sprintf("slowed: p99 under the fault %s, over %g× the %s before + %s", under.P99().Round(time.Millisecond), m.P99Factor, before.P99().Round(time.Millisecond), slack))
	}
	return b
}

// watched judges the looks at each replica, per queue watched, in the
// order first looked at: the bound breaks when a look saw the replica
// say it was ready while the queue had no consumer.
func watched(ops []history.Op) []Bound {
	type key struct{ replica, queue string }
	type looks struct {
		n, ready, readyAlone, most int
		first, last                time.Time
	}
	seen := map[key]*looks{}
	var order []key
	for _, op := range ops {
		if op.Kind != history.KindWatched || op.Watched == nil {
			continue
		}
		k := key{op.ID, op.Watched.Queue}
		l, ok := seen[k]
		if !ok {
			l = &looks{first: op.Invoked.Round(0)}
			seen[k] = l
			order = append(order, k)
		}
		l.n++
		l.last = op.Completed.Round(0)
		l.most = max(l.most, op.Watched.Consumers)
		if op.Watched.Ready {
			l.ready++
			if op.Watched.Consumers == 0 {
				l.readyAlone++
			}
		}
	}
	var out []Bound
	for _, k := range order {
		l := seen[k]
		b := Bound{
			What:    fmt.Sprintf("%s ready only with a consumer on %s", k.replica, k.queue),
			Figures: fmt.Sprintf("%d looks over %.1fs: ready in %d, most consumers %d", l.n, l.last.Sub(l.first).Seconds(), l.ready, l.most),
		}
		if l.readyAlone > 0 {
			b.Broken = []string{fmt.Sprintf("%s said it was ready while %s had no consumer, in %d of %d looks", k.replica, k.queue, l.readyAlone, l.n)}
		}
		out = append(out, b)
	}
	return out
}
