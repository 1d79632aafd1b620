package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

func networkPartition(d *decl) {
	d.Scenario("Network partition: a consumer cut off mid-stream reconnects and loses nothing", Label("guarantee:no-loss", "guarantee:reconnect", "fault:network", labelSharedInfra), Doc(`The consumer is cut off from the stack's network, broker and
database both, while it works through a backlog, until the broker has
dropped its connections (as long as its heartbeat takes). What it had not
acked stays the broker's; after the heal it reconnects by itself,
finishes the backlog and applies every unit once.`), Needs("an AMQP input."), func() {
		const units = 1000

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input := t.amqpInput()
			svc, _ := t.consumer(input)
			s := t.startStack(ctx, "partition-"+side, append([]stack.Option{t.tuning("slow-consumer")}, opts...)...)
			h := &history.History{}
			started := time.Now()
			r := s.Replica(svc, 1)
			applied := streamBacklog(ctx, t, s, h, input, svc, "partition-"+side, units)
			// Held until the broker has dropped the consumer's connections,
			// as long as its heartbeat takes: a shorter cut tests no
			// reconnect.
			cut := fault.Sever(s.Engine(), s.Management(), r.Target(), t.waitListed(ctx, s, r)...)
			t.By(fmt.Sprintf("cutting %s off the network, %d of %d units seen applied just before, until the broker drops its connections", r.Name, applied, units))
			t.inject(ctx, h, cut)
			t.Expect(fault.Heal(ctx, h, cut)).To(Succeed())
			t.By("waiting for " + r.Name + " to reconnect by itself")
			t.Eventually(ctx, r.Ready).Should(Succeed())
			obs := t.settled(ctx, s, 2*time.Second, input)
			return t.verdict(ctx, "network partition", side, s, h, obs, started, []string{input})
		}

		d.It("holds with manual acks and durable idempotency", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
			t.Expect(f.DeadLettered).To(BeZero(), "a partition is a transient failure: nothing may be dead-lettered")
		}, SpecTimeout(6*time.Minute))

		d.It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: auto-ack", t.control("auto-ack"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(6*time.Minute))
	})
}
