package catalogue

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func backlogDrain() {
	Describe("Backlog drain: a consumer that was down works off its whole backlog", Label("guarantee:no-loss", "guarantee:backlog", labelSharedInfra), func() {
		// With the consumer stopped, 1,000 units queue up; started again,
		// it drains its queue to zero and processes every unit once. The
		// drain rate is reported.
		const units = 1000

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
		backlog := func(ctx SpecContext, side string, opts ...stack.Option) run {
			r := run{input: anyInput(), h: &history.History{}}
			r.svc, r.queue = consumer(r.input)
			r.s = startStack(ctx, "backlog-"+side, opts...)
			r.started = time.Now()
			By("stopping " + r.svc)
			for _, rep := range r.s.Replicas(r.svc) {
				stop := fault.Stop(r.s.Docker(), rep.Target(), 5*time.Second)
				Expect(fault.Inject(ctx, r.h, stop)).To(Succeed())
				r.stops = append(r.stops, stop)
			}
			By(fmt.Sprintf("sending 1,000 units through %s", r.input))
			l := load("backlog-"+side, units)
			l.Concurrency = 8
			Expect(workload.Run(ctx, r.s, r.h, r.input, l)).To(Succeed())
			return r
		}
		heal := func(ctx SpecContext, r run) {
			for _, stop := range r.stops {
				Expect(fault.Heal(ctx, r.h, stop)).To(Succeed())
			}
		}

		It("holds with a durable queue", Label("safe"), func(ctx SpecContext) {
			r := backlog(ctx, "safe")
			By(fmt.Sprintf("seeing %s grow to 1,000", r.queue))
			Eventually(ctx, func(g Gomega) {
				q, err := r.s.Management().Queue(ctx, r.queue)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(q.Ready).To(Equal(units))
			}).Should(Succeed())
			By("starting " + r.svc + " and timing the drain")
			heal(ctx, r)
			healed := time.Now()
			waitApplied(ctx, r.s, effectOf(r.input, r.svc), units, 50*time.Millisecond)
			drain := time.Since(healed)
			obs := settled(ctx, r.s, 1500*time.Millisecond, r.input)
			rate := fmt.Sprintf("drained %d in %.2fs from start: %.0f units/s", units, drain.Seconds(), float64(units)/drain.Seconds())
			f := verdict(ctx, "backlog drain", "safe", r.s, r.h, obs, r.started, []string{r.input}, rate)
			expectHeld(f)
			expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		It("is caught when the queue goes away with its consumer (control transient-queues)", Label("unsafe"), func(ctx SpecContext) {
			r := backlog(ctx, "control: transient-queues", control("transient-queues"))
			By("waiting until every other queue is drained, so every message was published")
			Eventually(ctx, func() error { return settle.Stack(ctx, r.s) }).Should(Succeed())
			q, err := r.s.Management().Queue(ctx, r.queue)
			Expect(err).NotTo(HaveOccurred())
			depth := fmt.Sprintf("%s with %s down: exists %v, %d ready", r.queue, r.svc, q.Exists, q.Ready)
			By(depth)
			heal(ctx, r)
			for _, rep := range r.s.Replicas(r.svc) {
				Eventually(ctx, rep.Ready).Should(Succeed())
			}
			obs := settled(ctx, r.s, 1500*time.Millisecond, r.input)
			f := verdict(ctx, "backlog drain", "control: transient-queues", r.s, r.h, obs, r.started, []string{r.input}, depth)
			Expect(f.Lost()).NotTo(BeEmpty(), "the control must report lost units: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
