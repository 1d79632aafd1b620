package checker

import (
	"fmt"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

// Recovery is the verdict on one recovery budget (a history.KindRecovery
// op): how soon after the heal of a fault the system was ready and
// drained again, against how soon it must be.
type Recovery struct {
	// Kind is the fault's kind, as the description's recovery budgets
	// name it ("half-open"); Fault the fault op whose completion was the
	// heal ("black hole inventory"), "" when none was recorded before the
	// budget, which then counts from its own record.
	Kind   string         `json:"kind"`
	Fault  string         `json:"fault,omitempty"`
	Healed time.Time      `json:"healed"`
	Budget history.Budget `json:"budget"`
	// Ready is how many seconds after the heal the last replica seen was
	// ready again; nil when a replica was not ready within its wait
	// (NotReady names it) or none was waited on.
	Ready    *float64 `json:"ready,omitempty"`
	NotReady []string `json:"not_ready,omitempty"`
	// Drained is how many seconds after the heal the work was drained;
	// nil when it never was, Watched then saying how long after the heal
	// the run read its effects for the last time.
	Drained *float64 `json:"drained,omitempty"`
	Watched float64  `json:"watched"`
	// Over says, in words with the figures, what went over the budget;
	// empty when the system recovered within it.
	Over []string `json:"over,omitempty"`
}

// OK reports whether the system was ready and drained within budget.
func (r Recovery) OK() bool { return len(r.Over) == 0 }

// String is the verdict on the budget as one line of figures.
func (r Recovery) String() string {
	verdict := "within budget"
	if !r.OK() {
		verdict = "RECOVERY OVER BUDGET: " + strings.Join(r.Over, "; ")
	}
	fault := r.Kind
	if r.Fault != "" {
		fault += " (" + r.Fault + ")"
	}
	return fmt.Sprintf("recovery after %s: ready %s (budget %gs), drained %s (budget %gs), %s",
		fault, after(r.Ready, r.Watched), r.Budget.Ready, after(r.Drained, r.Watched), r.Budget.Drained, verdict)
}

func after(s *float64, watched float64) string {
	if s == nil {
		return fmt.Sprintf("never (watched %.1fs)", watched)
	}
	return fmt.Sprintf("%.1fs", *s)
}

// recoveries judges every recovery budget in ops. The heal is the last
// fault op completed ok at or before the budget was recorded; a replica
// is ready at its first KindReady op after the heal (the slowest replica
// counts), and the work drained at the first KindDrained op after it.
// Work never drained, or a replica never ready, is over any budget: the
// run watched for as long as Watched says, and the system did not get
// there.
//
// Times are read by the wall clock (Round(0)), as they are from the
// history's file: the run and mqchaos judge compute the same figures.
func recoveries(ops []history.Op) []Recovery {
	var out []Recovery
	for i, op := range ops {
		if op.Kind != history.KindRecovery || op.Budget == nil {
			continue
		}
		r := Recovery{Kind: op.ID, Healed: op.Invoked.Round(0), Budget: *op.Budget}
		var healed time.Time
		for _, f := range ops[:i] {
			if f.Kind == history.KindFault && f.Outcome == history.OK && !f.Completed.After(op.Invoked) && !f.Completed.Before(healed) {
				r.Fault, healed = f.ID, f.Completed.Round(0)
			}
		}
		if r.Fault != "" {
			r.Healed = healed
		}
		first := map[string]time.Time{}
		var order []string
		var last time.Time
		for _, o := range ops {
			if o.Invoked.Before(r.Healed) {
				continue
			}
			switch o.Kind {
			case history.KindRead, history.KindReady, history.KindDrained:
				last = latest(last, o.Invoked, o.Completed)
			}
			switch o.Kind {
			case history.KindReady:
				if _, seen := first[o.ID]; seen {
					continue
				}
				if o.Outcome != history.OK {
					r.NotReady = append(r.NotReady, o.ID)
					first[o.ID] = time.Time{}
					continue
				}
				first[o.ID] = o.Invoked.Round(0)
				order = append(order, o.ID)
			case history.KindDrained:
				if r.Drained == nil {
					d := o.Invoked.Round(0).Sub(r.Healed).Seconds()
					r.Drained = &d
				}
			}
		}
		r.Watched = max(0, last.Sub(r.Healed).Seconds())
		if len(order) > 0 && len(r.NotReady) == 0 {
			var slowest time.Time
			for _, id := range order {
				slowest = latest(slowest, first[id])
			}
			d := slowest.Sub(r.Healed).Seconds()
			r.Ready = &d
		}
		switch {
		case len(r.NotReady) > 0:
			r.Over = append(r.Over, fmt.Sprintf("%s not ready again within its wait (budget %gs)", strings.Join(r.NotReady, ", "), r.Budget.Ready))
		case r.Ready != nil && *r.Ready > r.Budget.Ready:
			r.Over = append(r.Over, fmt.Sprintf("ready again %.1fs after the heal, budget %gs", *r.Ready, r.Budget.Ready))
		}
		switch {
		case r.Drained == nil:
			r.Over = append(r.Over, fmt.Sprintf("not drained %.1fs after the heal, when the run ended (budget %gs)", r.Watched, r.Budget.Drained))
		case *r.Drained > r.Budget.Drained:
			r.Over = append(r.Over, fmt.Sprintf("drained %.1fs after the heal, budget %gs", *r.Drained, r.Budget.Drained))
		}
		out = append(out, r)
	}
	return out
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t.Round(0)
		}
	}
	return l
}
