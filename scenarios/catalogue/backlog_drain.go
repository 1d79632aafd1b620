package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func backlogDrain(d *decl) {
	d.Scenario("Backlog drain: a consumer that was down works off its whole backlog", Label("guarantee:no-loss", "guarantee:backlog", labelSharedInfra), Doc(`With the consumer stopped, 1,000 units queue up; started again,
it drains its queue to zero and processes every unit once. The
drain rate is reported.`), func() {
		const (
			units = 1000
			// backlogWait bounds each wait on the system's work on the
			// whole backlog (relaying it into the queue, draining it):
			// the default 90 s would fail a consumer slower than 11
			// units a second, which is slow but not wrong.
			backlogWait = 2 * time.Minute
		)

		type run struct {
			s       *stack.Stack
			h       *history.History
			input   string
			svc     string
			queue   string
			stops   []fault.Fault
			started time.Time
		}
		// backlog stops the consumer and sends the units.
		backlog := func(ctx context.Context, t *T, side string, opts ...stack.Option) run {
			r := run{input: t.anyInput(), h: &history.History{}}
			r.svc, r.queue = t.consumer(r.input)
			r.s = t.startStack(ctx, "backlog-"+side, opts...)
			r.started = time.Now()
			t.By("stopping " + r.svc)
			for _, rep := range r.s.Replicas(r.svc) {
				stop := fault.Stop(r.s.Engine(), rep.Target(), 5*time.Second)
				t.inject(ctx, r.h, stop)
				r.stops = append(r.stops, stop)
			}
			t.By(fmt.Sprintf("sending 1,000 units through %s", r.input))
			l := t.load("backlog-"+side, units)
			l.Concurrency = 8
			t.Expect(workload.Run(ctx, r.s, r.h, r.input, l)).To(Succeed())
			return r
		}
		heal := func(ctx context.Context, t *T, r run) {
			for _, stop := range r.stops {
				t.Expect(fault.Heal(ctx, r.h, stop)).To(Succeed())
			}
		}

		d.It("holds with a durable queue", Label("safe"), func(ctx context.Context, t *T) {
			r := backlog(ctx, t, "safe")
			t.By(fmt.Sprintf("seeing %s grow to 1,000", r.queue))
			t.Eventually(ctx, func(g Gomega) {
				q, err := r.s.Management().Queue(ctx, r.queue)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(q.Ready).To(Equal(units))
			}).WithTimeout(backlogWait).Should(Succeed())
			t.By("starting " + r.svc + " and timing the drain")
			heal(ctx, t, r)
			healed := time.Now()
			t.waitApplied(ctx, r.s, t.effectOf(r.input, r.svc), units, backlogWait, 50*time.Millisecond)
			drain := time.Since(healed)
			obs := t.settled(ctx, r.s, 1500*time.Millisecond, r.input)
			rate := fmt.Sprintf("drained %d in %.2fs from start: %.0f units/s", units, drain.Seconds(), float64(units)/drain.Seconds())
			f := t.verdict(ctx, "backlog drain", "safe", r.s, r.h, obs, r.started, []string{r.input}, rate)
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when the queue goes away with its consumer (control transient-queues)", Label("unsafe"), func(ctx context.Context, t *T) {
			r := backlog(ctx, t, "control: transient-queues", t.control("transient-queues"))
			t.By("waiting until every other queue is drained, so every message was published")
			t.Eventually(ctx, func() error { return settle.Stack(ctx, r.s) }).WithTimeout(backlogWait).Should(Succeed())
			q, err := r.s.Management().Queue(ctx, r.queue)
			t.Expect(err).NotTo(HaveOccurred())
			depth := fmt.Sprintf("%s with %s down: exists %v, %d ready", r.queue, r.svc, q.Exists, q.Ready)
			t.By(depth)
			heal(ctx, t, r)
			for _, rep := range r.s.Replicas(r.svc) {
				t.Eventually(ctx, rep.Ready).Should(Succeed())
			}
			obs := t.settled(ctx, r.s, 1500*time.Millisecond, r.input)
			f := t.verdict(ctx, "backlog drain", "control: transient-queues", r.s, r.h, obs, r.started, []string{r.input}, depth)
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))
	})
}
