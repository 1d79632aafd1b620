package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
)

func halfOpen(d *decl) {
	d.Scenario("A half-open connection: a consumer behind a black hole detects it by heartbeats and reconnects", Label("guarantee:no-loss", "guarantee:reconnect", "fault:network", labelSharedInfra), Doc(`Mid-stream, everything between the consumer and the broker
vanishes, both ways, and nothing is closed: each end believes the
connection open until its heartbeats say otherwise. With
heartbeats every 2 s the consumer notices within about three
intervals, drops the connection and reconnects once the hole
heals; what it had not acked goes back to the queue. With the
broker's 60 s the consumer stays ready on a dead connection and
the backlog stays where it was long after the heal.`), Needs("an AMQP input, and an HTTP readiness check for its consumer that goes false when its connection is dead."), func() {
		const (
			recoveryKind = "half-open"
			units        = 1000
			// hold is five heartbeat intervals of the reference tuning
			// (AMQP_HEARTBEAT 2s): long enough to notice, short of the
			// broker's 60 s.
			hold = 10 * time.Second
		)

		type run struct {
			s       *stack.Stack
			h       *history.History
			input   string
			queue   string
			r       *stack.Replica
			hole    fault.Fault
			started time.Time
		}
		// blackHole streams a backlog to the consumer and opens a black
		// hole on its AMQP proxy mid-stream.
		blackHole := func(ctx context.Context, t *T, side string, opts ...stack.Option) run {
			var r run
			r.input = t.amqpInput()
			svc, queue := t.consumer(r.input)
			t.readinessCanDrop(svc)
			r.queue = queue
			r.s = t.startStack(ctx, "half-open-"+side, append([]stack.Option{stack.WithToxiproxy(), t.tuning("slow-consumer")}, opts...)...)
			r.h = &history.History{}
			r.started = time.Now()
			r.r = r.s.Replica(svc, 1)
			p, err := r.s.Proxy(svc, stack.ProxyAMQP)
			t.Expect(err).NotTo(HaveOccurred())
			applied := streamBacklog(ctx, t, r.s, r.h, r.input, svc, "half-open-"+side, units)
			r.hole = fault.BlackHole(p)
			t.inject(ctx, r.h, r.hole)
			t.By(fmt.Sprintf("opened a black hole between %s and the broker, %d of %d units seen applied just before", r.r.Name, applied, units))
			return r
		}

		d.It("holds with heartbeats: detected, reconnected, nothing lost or applied twice", Label("safe"), func(ctx context.Context, t *T) {
			r := blackHole(ctx, t, "safe")
			injected := time.Now()
			t.By("timing how long " + r.r.Name + " takes to notice (its readiness going false)")
			t.Eventually(ctx, r.r.Ready).WithTimeout(hold).WithPolling(100 * time.Millisecond).ShouldNot(Succeed())
			detect := time.Since(injected)
			t.Expect(fault.Hold(ctx, hold-detect)).To(Succeed())
			t.Expect(fault.Heal(ctx, r.h, r.hole)).To(Succeed())
			t.By("timing how long " + r.r.Name + " takes to reconnect after the heal")
			recovery := t.recovering(ctx, r.s, r.h, recoveryKind)
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			note := fmt.Sprintf("black hole %s: detected in %.1fs (readiness false), ready again %.1fs after the heal", hold, detect.Seconds(), recovery.Seconds())
			t.Entry("detect and recover", note)
			f := t.verdictWith(ctx, "half-open connection", "safe", r.s, r.h, obs, r.started, []string{r.input}, measured{detect: &detect, recover: &recovery}, note)
			t.expectHeld(f)
			t.expectProcessed(f, units)
			t.Expect(f.Recovery).NotTo(BeEmpty(), "no recovery budget judged")
			t.Expect(f.DeadLettered).To(BeZero(), "a half-open connection is a transient failure: nothing may be dead-lettered")
		}, SpecTimeout(4*time.Minute))

		d.It("is caught with the broker's 60 s heartbeats: the consumer stays stuck after the heal (control no-heartbeats)", Label("unsafe"), func(ctx context.Context, t *T) {
			const side = "control: no-heartbeats"
			r := blackHole(ctx, t, side, t.control("no-heartbeats"))
			t.By("holding it " + hold.String() + ": " + r.r.Name + " must not notice")
			t.Consistently(ctx, r.r.Ready).WithTimeout(hold).WithPolling(500 * time.Millisecond).Should(Succeed())
			t.Expect(fault.Heal(ctx, r.h, r.hole)).To(Succeed())
			healed := time.Now()
			t.recovering(ctx, r.s, r.h, recoveryKind)
			t.watchPastBudget(ctx, r.s, recoveryKind, healed)
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			f := t.verdict(ctx, "half-open connection", side, r.s, r.h, obs, r.started, []string{r.input},
				fmt.Sprintf("black hole %s, not noticed while it lasted", hold))
			t.expectOverBudget(f)
		}, SpecTimeout(5*time.Minute)) // watched twice the drained budget, then settled
	})
}
