package catalogue

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func brokerRestart(d *decl) {
	d.Scenario("Broker restart: accepted work survives RabbitMQ restarting mid-stream", Label("guarantee:no-loss", "guarantee:reconnect", "fault:broker"), Doc(`RabbitMQ is restarted while units stream in and while the
consumer is down with a backlog waiting for it: the services
reconnect by themselves, and every accepted unit is processed
once. Durable queues and persistent messages keep the backlog;
a service that accepts work over HTTP must not lose what it
accepted while the broker was away.`), func() {
		const units = 200

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input := t.anyInput()
			svc, _ := t.consumer(input)
			s := t.startIsolatedStack(ctx, "restart-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			t.By(fmt.Sprintf("streaming 200 units through %s at 40 per second", input))
			l := t.load("restart-"+side, units)
			l.Rate = 40
			var streamed atomic.Bool
			loaded := t.Go(func() {
				t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed())
				streamed.Store(true)
			})
			t.Eventually(ctx, accepted(h, input)).Should(BeNumerically(">=", 40))

			var stops []fault.Fault
			var stopped []func()
			t.By("stopping " + svc + ", so a backlog waits in its queue")
			for _, r := range s.Replicas(svc) {
				// A short grace: a service that ignores SIGTERM would
				// otherwise work through the stream while it is stopped.
				// All at once: one after the other, three replicas took
				// the stream's last 160 units to stop (the warehouse).
				stop := fault.Stop(s.Engine(), r.Target(), time.Second)
				stops = append(stops, stop)
				stopped = append(stopped, t.Go(func() { t.Expect(fault.Inject(ctx, h, stop)).To(Succeed()) }))
			}
			for _, wait := range stopped {
				wait()
			}
			// 40 more units with the consumer down, or what is left of
			// the stream (a slow stop leaves a shorter backlog; the
			// figures count it).
			backlog := accepted(h, input)() + 40
			t.By(fmt.Sprintf("waiting until %d units are accepted, 40 of them with %s down, or the stream ends", backlog, svc))
			t.Eventually(ctx, func() bool { return streamed.Load() || accepted(h, input)() >= backlog }).Should(BeTrue())
			t.By("restarting RabbitMQ")
			t.inject(ctx, h, fault.Restart(s.Engine(), s.Infra.BrokerTarget(), 10*time.Second))
			t.Expect(s.Infra.WaitBroker(ctx)).To(Succeed())
			t.By("starting " + svc + " again")
			for _, stop := range stops {
				t.Expect(fault.Heal(ctx, h, stop)).To(Succeed())
			}
			t.By("waiting for every replica to be ready again")
			for _, name := range t.sys.ServiceNames() {
				for _, r := range s.Replicas(name) {
					t.Eventually(ctx, r.Ready).Should(Succeed(), "%s did not become ready", r.Name)
				}
			}
			loaded()
			obs := t.settled(ctx, s, 2*time.Second, input)
			return t.verdict(ctx, "broker restart", side, s, h, obs, started, []string{input})
		}

		d.It("holds with durable queues, persistent messages and accepted work kept", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
		}, SpecTimeout(5*time.Minute))

		d.It("is caught with transient queues and messages (control transient-queues)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: transient-queues", t.control("transient-queues"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(5*time.Minute))
	})
}
