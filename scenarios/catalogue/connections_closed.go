package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

func connectionsClosed(d *decl) {
	d.Scenario("Connections closed by the broker: a consumer reconnects by itself and loses nothing", Label("guarantee:no-loss", "guarantee:reconnect", "fault:broker", labelSharedInfra), Doc(`While the consumer works through a backlog, the broker closes its
connections (the management API's DELETE /api/connections, as an
operator or a policy does). What it had not acked goes back to
the queue; it reconnects by itself and applies every unit once.`), Needs("an AMQP input."), func() {
		const units = 1000

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input := t.amqpInput()
			svc, _ := t.consumer(input)
			s := t.startStack(ctx, "closed-"+side, append([]stack.Option{t.tuning("slow-consumer")}, opts...)...)
			h := &history.History{}
			started := time.Now()
			r := s.Replica(svc, 1)
			// Listed before the backlog: a quiet machine's consumer works
			// off 1,000 units in the seconds the broker takes to list a
			// new connection (seen: 3.7 s, and the control lost nothing).
			t.waitListed(ctx, s, r)
			applied := streamBacklog(ctx, t, s, h, input, svc, "closed-"+side, units)
			// And again after it: a consumer paused for longer than two
			// heartbeats (a slow machine) has reconnected meanwhile.
			t.closeConnections(ctx, s, h, r)
			closed := time.Now()
			t.By(fmt.Sprintf("the broker closed %s's connections, %d of %d units seen applied just before", r.Name, applied, units))
			t.Eventually(ctx, r.Ready).Should(Succeed())
			obs := t.settled(ctx, s, 2*time.Second, input)
			return t.verdict(ctx, "connections closed by the broker", side, s, h, obs, started, []string{input},
				fmt.Sprintf("settled %.1fs after the close", time.Since(closed).Seconds()))
		}

		d.It("holds with manual acks and reconnection", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
			t.Expect(f.DeadLettered).To(BeZero(), "a closed connection is a transient failure: nothing may be dead-lettered")
		}, SpecTimeout(4*time.Minute))

		d.It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: auto-ack", t.control("auto-ack"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))
	})
}
