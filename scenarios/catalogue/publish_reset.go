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
	"github.com/mqchaos/mqchaos/harness/workload"
)

func publishReset(d *decl) {
	d.Scenario("Connections reset while publishing: unconfirmed events are published again and applied once", Label("guarantee:no-loss", "guarantee:no-duplicate-effect", "fault:network", labelSharedInfra), Doc(`While a service accepts a stream of work over HTTP and publishes
its events, its connection to the broker is reset (TCP RST)
again and again: each time, whatever is in flight is dropped
(every other reset swallows what the service sends for a second
first, as a link that fails silently before it resets does).
A publish dropped on its way to the broker is never confirmed,
so the outbox publishes it again; a publish the broker took but
whose confirm was dropped on the way back is published again
too, and reaches the consumers twice, where idempotency absorbs
it. Controls: without confirms, a dropped publish counts as
sent and is lost; without idempotency, the copy is applied
again.`), Needs("an HTTP input (the publisher under test is the service it calls), with an HTTP readiness check."), func() {
		const (
			units = 600
			rate  = 40
			// resets is how many times the connection is reset, each
			// once the service is ready again after the last.
			resets = 12
			// stall is how long a reset of both ways swallows what the
			// service sends before the RST: every publish of that window
			// is in flight at the reset. With 0 only the first write was,
			// one relay batch: the no-confirms control lost 99 of 600 in
			// one run and 4 in a fresh-clone CI run.
			stall = time.Second
		)

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) (report.Figures, int) {
			input := t.httpInput("this scenario resets a service's own publishing")
			publisher := t.sys.Inputs[input].HTTP.Service
			t.readinessCanDrop(publisher)
			s := t.startStack(ctx, "reset-"+side, append([]stack.Option{stack.WithToxiproxy()}, opts...)...)
			h := &history.History{}
			started := time.Now()
			p, err := s.Proxy(publisher, stack.ProxyAMQP)
			t.Expect(err).NotTo(HaveOccurred())
			r := s.Replica(publisher, 1)
			t.By(fmt.Sprintf("streaming %d units through %s at %d per second", units, input, rate))
			l := t.load("reset-"+side, units)
			l.Rate = rate
			loaded := t.Go(func() { t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })
			t.Eventually(ctx, accepted(h, input)).Should(BeNumerically(">=", rate))

			t.By(fmt.Sprintf("resetting %s's connection to the broker %d times, both ways (%s after data flows, swallowing it meanwhile) and from the broker's side (at once) in turn", r.Name, resets, stall))
			var down, back []time.Duration
			done := 0
			for done < resets && accepted(h, input)() < units-rate {
				// Every other reset takes the broker's side only: it fires
				// on the first confirm or delivery, so publishes the broker
				// already took lose their confirms. A reset of both sides
				// often fires on the service's next publish first, which
				// then never reaches the broker: a fresh-clone run drew
				// that 12 times of 12, and the no-idempotency control saw
				// no copy at all.
				dir, after := fault.Both, stall
				if done%2 == 1 {
					dir, after = fault.Downstream, 0
				}
				reset := fault.ResetPeer(p, dir, after)
				t.inject(ctx, h, reset)
				at := time.Now()
				t.Eventually(ctx, r.Ready).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).ShouldNot(Succeed())
				down = append(down, time.Since(at))
				t.Expect(fault.Heal(ctx, h, reset)).To(Succeed())
				at = time.Now()
				t.Eventually(ctx, r.Ready).WithPolling(20 * time.Millisecond).Should(Succeed())
				back = append(back, time.Since(at))
				done++
			}
			loaded()
			obs := t.settled(ctx, s, 2*time.Second, input)
			lat := []report.Latency{report.LatencyOf(r.Name+" reset noticed", down), report.LatencyOf(r.Name+" ready again after the heal", back)}
			f := t.verdictWith(ctx, "connections reset while publishing", side, s, h, obs, started, []string{input}, measured{latencies: lat},
				fmt.Sprintf("%d resets of %s's broker connection, every other one from the broker's side only; those both ways %s after data flows", done, r.Name, stall))
			return f, done
		}

		d.It("holds with publisher confirms, the outbox and idempotent consumers", Label("safe"), func(ctx context.Context, t *T) {
			f, resets := run(ctx, t, "safe")
			t.Expect(resets).To(BeNumerically(">=", 3), "too few resets to prove anything")
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught without publisher confirms: dropped publishes are lost (control no-confirms)", Label("unsafe"), func(ctx context.Context, t *T) {
			f, _ := run(ctx, t, "control: no-confirms", t.control("no-confirms"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught without idempotency: copies whose confirm was dropped are applied twice (control no-idempotency)", Label("unsafe"), func(ctx context.Context, t *T) {
			f, _ := run(ctx, t, "control: no-idempotency", t.control("no-idempotency"))
			t.expectCaught(f, "duplicated", f.Duplicated(), units)
		}, SpecTimeout(4*time.Minute))
	})
}
