package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
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
			units = 1000
			// hold is five heartbeat intervals of the reference tuning
			// (AMQP_HEARTBEAT 2s): long enough to notice, short of the
			// broker's 60 s.
			hold = 10 * time.Second
			// stuck is how long after the heal the control must still
			// hold its backlog.
			stuck = 15 * time.Second
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
			t.Expect(fault.Inject(ctx, r.h, r.hole)).To(Succeed())
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
			healed := time.Now()
			t.By("timing how long " + r.r.Name + " takes to reconnect after the heal")
			t.Eventually(ctx, r.r.Ready).WithPolling(100 * time.Millisecond).Should(Succeed())
			recovery := time.Since(healed)
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			note := fmt.Sprintf("black hole %s: detected in %.1fs (readiness false), ready again %.1fs after the heal", hold, detect.Seconds(), recovery.Seconds())
			t.Entry("detect and recover", note)
			f := t.verdictWith(ctx, "half-open connection", "safe", r.s, r.h, obs, r.started, []string{r.input}, measured{detect: &detect, recover: &recovery}, note)
			t.expectHeld(f)
			t.expectProcessed(f, units)
			t.Expect(f.DeadLettered).To(BeZero(), "a half-open connection is a transient failure: nothing may be dead-lettered")
		}, SpecTimeout(4*time.Minute))

		d.It("is caught with the broker's 60 s heartbeats: the consumer stays stuck after the heal (control no-heartbeats)", Label("unsafe"), func(ctx context.Context, t *T) {
			const side = "control: no-heartbeats"
			r := blackHole(ctx, t, side, t.control("no-heartbeats"))
			t.By("holding it " + hold.String() + ": " + r.r.Name + " must not notice")
			t.Consistently(ctx, r.r.Ready).WithTimeout(hold).WithPolling(500 * time.Millisecond).Should(Succeed())
			t.Expect(fault.Heal(ctx, r.h, r.hole)).To(Succeed())
			e := t.effectOf(r.input, r.r.Service)
			appliedNow := func() int {
				o, err := effect.Read(ctx, r.s, e)
				t.Expect(err).NotTo(HaveOccurred())
				return len(o.IDs)
			}
			atHeal := appliedNow()
			t.By(fmt.Sprintf("checking for %s after the heal that the backlog of %s is not drained and %s still reports ready", stuck, r.queue, r.r.Name))
			var q struct{ ready, unacked int }
			t.Consistently(ctx, func(g Gomega) {
				got, err := r.s.Management().Queue(ctx, r.queue)
				g.Expect(err).NotTo(HaveOccurred())
				q.ready, q.unacked = got.Ready, got.Unacked
				g.Expect(got.Ready+got.Unacked).To(BeNumerically(">", 0), "the backlog drained: the consumer recovered")
				g.Expect(r.r.Ready(ctx)).To(Succeed(), "the consumer noticed after all")
			}).WithTimeout(stuck).WithPolling(time.Second).Should(Succeed())
			after := appliedNow()
			note := fmt.Sprintf("black hole %s: not detected; %s after the heal %d of %d applied (%d at the heal), %d ready and %d unacked in %s, consumer still ready",
				hold, stuck, after, units, atHeal, q.ready, q.unacked, r.queue)
			t.By(note)
			f := report.Figures{Scenario: "half-open connection", Side: side, System: t.sys.Name, Broker: t.brokerVersion(ctx, r.s.Management()), Input: r.input, Note: note,
				Sent: len(opsOf(r.h, r.input)), Seconds: time.Since(r.started).Seconds(), Phases: t.recordTime()}
			if after < units && q.ready+q.unacked > 0 {
				f.Violations = append(f.Violations, fmt.Sprintf("the dead link was not noticed: %s after the heal %d of %d applied, %d ready and %d unacked in %s",
					stuck, after, units, q.ready, q.unacked, r.queue))
			}
			t.keepUnjudged(r.h, &f, "the control's verdict is drawn by the scenario from the backlog it read from the broker", r.started)
			t.recordFigures(f)
			t.Expect(after).To(BeNumerically("<", units), "the control must leave units unapplied: %s", note)
		}, SpecTimeout(4*time.Minute))
	})
}
