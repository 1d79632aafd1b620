package catalogue

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

func networkPartition() {
	Describe("Network partition: a consumer cut off mid-stream reconnects and loses nothing", Label("guarantee:no-loss", "guarantee:reconnect", "fault:network", labelSharedInfra), func() {
		// The consumer is cut off from the stack's network, broker and
		// database both, while it works through a backlog. What it had not
		// acked stays the broker's; after the heal it reconnects by itself,
		// finishes the backlog and applies every unit once.
		// Needs: an AMQP input.
		const units = 1000

		run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
			input := amqpInput()
			svc, _ := consumer(input)
			s := startStack(ctx, "partition-"+side, append([]stack.Option{tuning("slow-consumer")}, opts...)...)
			h := &history.History{}
			started := time.Now()
			r := s.Replica(svc, 1)
			applied := streamBacklog(ctx, s, h, input, svc, "partition-"+side, units)
			cut := fault.Disconnect(s.Docker(), r.Target())
			Expect(fault.Inject(ctx, h, cut)).To(Succeed())
			By(fmt.Sprintf("cut %s off the network, %d of %d units seen applied just before; holding it for 6 s", r.Name, applied, units))
			Expect(fault.Hold(ctx, 6*time.Second)).To(Succeed())
			Expect(fault.Heal(ctx, h, cut)).To(Succeed())
			By("waiting for " + r.Name + " to reconnect by itself")
			Eventually(ctx, r.Ready).Should(Succeed())
			obs := settled(ctx, s, 2*time.Second, input)
			return verdict(ctx, "network partition", side, s, h, obs, started, []string{input})
		}

		It("holds with manual acks and durable idempotency", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe")
			expectHeld(f)
			expectProcessed(f, units)
			Expect(f.DeadLettered).To(BeZero(), "a partition is a transient failure: nothing may be dead-lettered")
		}, SpecTimeout(4*time.Minute))

		It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "control: auto-ack", control("auto-ack"))
			Expect(f.Lost()).NotTo(BeEmpty(), "the control must report lost units: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
