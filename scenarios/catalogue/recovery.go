package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
)

// recovering is called just after a fault of kind was healed (kind as
// the description's recovery budgets name it, system.RecoveryKinds). It
// records the system's budget for it (the description's, or
// system.DefaultRecovery), then waits until every replica of every
// service is ready and records when each first was: the checker judges
// the budget against those moments and the one settled finds the work
// drained (history.KindDrained, recorded with the verdict). A replica
// not ready within twice the ready budget (at least 30 s) is recorded
// so, and the verdict is over budget. It returns how long after the
// heal the last replica was ready.
func (t *T) recovering(ctx context.Context, s *stack.Stack, h *history.History, kind string) time.Duration {
	healed := time.Now()
	ready, drained := t.sys.RecoveryBudget(kind)
	h.Recovery(kind, history.Budget{Ready: ready.Seconds(), Drained: drained.Seconds()})
	wait := max(2*ready, 30*time.Second)
	t.By(fmt.Sprintf("waiting for every replica to be ready again: budget %s ready, %s drained after the heal (%s)", ready, drained, kind))
	var waiting []*stack.Replica
	for _, name := range t.sys.ServiceNames() {
		waiting = append(waiting, s.Replicas(name)...)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := time.Duration(0)
	for len(waiting) > 0 {
		var still []*stack.Replica
		for _, r := range waiting {
			if err := r.Ready(ctx); err != nil {
				still = append(still, r)
				continue
			}
			now := time.Now()
			h.Ready(r.Name, now, true, "")
			last = max(last, now.Sub(healed))
		}
		waiting = still
		if len(waiting) == 0 {
			break
		}
		if time.Since(healed) > wait {
			for _, r := range waiting {
				h.Ready(r.Name, time.Now(), false, fmt.Sprintf("not ready %s after the heal", wait))
				t.By(fmt.Sprintf("%s not ready %s after the heal", r.Name, wait))
			}
			return time.Since(healed)
		}
		select {
		case <-ctx.Done():
			t.Expect(ctx.Err()).NotTo(HaveOccurred(), "waiting for the replicas to be ready again")
			return time.Since(healed)
		case <-tick.C:
		}
	}
	return last
}

// watchPastBudget, in a control, keeps watching after the heal until
// the queues are drained or overMargin drained budgets of kind have
// passed since healed, whichever comes first: a control that never
// drains is then seen not drained for longer than the margin asks, and
// settled, after it, ends the run.
func (t *T) watchPastBudget(ctx context.Context, s *stack.Stack, kind string, healed time.Time) {
	_, drained := t.sys.RecoveryBudget(kind)
	until := time.Duration(overMargin) * drained
	t.By(fmt.Sprintf("watching until the queues are drained or %s after the heal (%d times the drained budget)", until, overMargin))
	t.Eventually(ctx, func(g Gomega) {
		if time.Since(healed) >= until {
			return
		}
		hs, err := settle.StackHolding(ctx, s)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(hs).To(BeEmpty(), "not drained %s after the heal", time.Since(healed).Round(time.Second))
	}).WithTimeout(until + time.Minute).WithPolling(time.Second).Should(Succeed())
}

// overMargin is how far past its budget a control must go: the work not
// drained, or a replica not ready, at least this many budgets after the
// heal.
const overMargin = 2

// expectOverBudget asserts that the checker found f's recovery over
// budget by a wide margin (overMargin): what a control that breaks
// recovery must show.
func (t *T) expectOverBudget(f report.Figures) {
	t.Expect(f.Recovery).NotTo(BeEmpty(), "no recovery budget judged: %s", f)
	wide := false
	for _, r := range f.Recovery {
		drainedAfter := r.Watched
		if r.Drained != nil {
			drainedAfter = *r.Drained
		}
		readyAfter := r.Watched
		if r.Ready != nil {
			readyAfter = *r.Ready
		}
		wide = wide || !r.OK() && (drainedAfter >= overMargin*r.Budget.Drained || readyAfter >= overMargin*r.Budget.Ready)
	}
	t.Expect(wide).To(BeTrue(), "the control must recover no sooner than %d times its budget: %s", overMargin, f)
}
