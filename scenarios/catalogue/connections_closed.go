package catalogue

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

func connectionsClosed() {
	Describe("Connections closed by the broker: a consumer reconnects by itself and loses nothing", Label("guarantee:no-loss", "guarantee:reconnect", "fault:broker", labelSharedInfra), func() {
		// While the consumer works through a backlog, the broker closes its
		// connections (the management API's DELETE /api/connections, as an
		// operator or a policy does). What it had not acked goes back to
		// the queue; it reconnects by itself and applies every unit once.
		// Needs: an AMQP input.
		const units = 1000

		run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
			input := amqpInput()
			svc, _ := consumer(input)
			s := startStack(ctx, "closed-"+side, append([]stack.Option{tuning("slow-consumer")}, opts...)...)
			h := &history.History{}
			started := time.Now()
			r := s.Replica(svc, 1)
			// Listed before the backlog: a quiet machine's consumer works
			// off 1,000 units in the seconds the broker takes to list a
			// new connection (seen: 3.7 s, and the control lost nothing).
			waitListed(ctx, s, r)
			applied := streamBacklog(ctx, s, h, input, svc, "closed-"+side, units)
			// And again after it: a consumer paused for longer than two
			// heartbeats (a slow machine) has reconnected meanwhile.
			closeConnections(ctx, s, h, r)
			closed := time.Now()
			By(fmt.Sprintf("the broker closed %s's connections, %d of %d units seen applied just before", r.Name, applied, units))
			Eventually(ctx, r.Ready).Should(Succeed())
			obs := settled(ctx, s, 2*time.Second, input)
			return verdict(ctx, "connections closed by the broker", side, s, h, obs, started, []string{input},
				fmt.Sprintf("settled %.1fs after the close", time.Since(closed).Seconds()))
		}

		It("holds with manual acks and reconnection", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe")
			expectHeld(f)
			expectProcessed(f, units)
			Expect(f.DeadLettered).To(BeZero(), "a closed connection is a transient failure: nothing may be dead-lettered")
		}, SpecTimeout(4*time.Minute))

		It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "control: auto-ack", control("auto-ack"))
			Expect(f.Lost()).NotTo(BeEmpty(), "the control must report lost units: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
