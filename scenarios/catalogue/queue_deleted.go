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

func queueDeleted(d *decl) {
	d.Scenario("A queue deleted under its consumer is declared again and consumption resumes; only what it held is lost", Label("guarantee:reconnect", "fault:broker", labelSharedInfra), Doc(`While a consumer works through a backlog, its queue is deleted
(an operator's mistake, a clean-up script): the broker drops
what the queue held and cancels the consumer. Nothing can bring
those messages back: the history names the units sent before the
deletion as destroyable with the queue, and the verdict counts
those that never arrive apart, as "lost with the queue",
expected, never as lost. What matters next is that the service
declares its queue again and consumes: units sent afterwards are
all applied once, and any of them missing is lost. Control no-consumer-recovery: the service takes the
cancel as the end of its consumer and stays ready without one;
the queue is never declared again, and everything sent to it
afterwards is silently dropped (the exchange still routes to
the other queues bound to it).`), Needs("an AMQP input."), func() {
		const (
			units = 600
			after = 100
			// back is how long the service has to declare its queue again
			// and consume from it. It first applies the deliveries in hand
			// (up to a prefetch of them, slowed by the tuning): 3 s on a
			// quiet machine, 6 s on a loaded one, and the management API
			// lists the new consumer a few seconds later still. The
			// control never declares it again, however long it is given.
			back = 20 * time.Second
		)

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) (f report.Figures, redeclared bool) {
			input := t.amqpInput()
			svc, queue := t.consumer(input)
			s := t.startStack(ctx, "deleted-"+side, append([]stack.Option{t.tuning("slow-consumer")}, opts...)...)
			h := &history.History{}
			started := time.Now()
			applied := streamBacklog(ctx, t, s, h, input, svc, "deleted-"+side+"-before", units)
			deleteQueue(ctx, t, s, h, input, queue)
			deleted := time.Now()
			t.By(fmt.Sprintf("deleted %s, %d of %d units seen applied just before", queue, applied, units))
			t.By(fmt.Sprintf("waiting up to %s for %s to be declared again with a consumer", back, queue))
			redeclared = t.Quietly().Eventually(ctx, func(g Gomega) {
				q, err := s.Management().Queue(ctx, queue)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(q.Exists).To(BeTrue(), "%s not declared again", queue)
				g.Expect(q.Consumers).To(BeNumerically(">", 0), "%s has no consumer", queue)
			}).WithTimeout(back).WithPolling(200 * time.Millisecond).Should(Succeed())
			recovery := time.Since(deleted)
			if redeclared {
				h.Event(history.KindFault, "queue "+queue, fmt.Sprintf("declared again with a consumer %.1fs after its deletion", recovery.Seconds()))
			}
			t.By(fmt.Sprintf("publishing %d more units through %s", after, input))
			t.Expect(workload.Run(ctx, s, h, input, t.load("deleted-"+side+"-after", after))).To(Succeed())
			obs := t.settled(ctx, s, 2*time.Second, input)
			note := fmt.Sprintf("%s deleted with %d of %d units seen applied; declared again with a consumer: %t", queue, applied, units, redeclared)
			// Whether the queue came back is in the history: an event
			// when it did, a violation when it did not.
			var m measured
			if redeclared {
				m.recover = &recovery
				note += fmt.Sprintf(" (after %.1fs)", recovery.Seconds())
			} else {
				m.violations = append(m.violations, fmt.Sprintf("%s not declared again within %s of its deletion: what is sent to it is dropped", queue, back))
			}
			f = t.verdictWith(ctx, "queue deleted", side, s, h, obs, started, []string{input}, m, note)
			return f, redeclared
		}

		d.It("holds when the service declares its queue again: every later unit applied once", Label("safe"), func(ctx context.Context, t *T) {
			f, redeclared := run(ctx, t, "safe")
			t.Expect(redeclared).To(BeTrue(), "%s", f)
			t.Entry("lost with the queue", fmt.Sprintf("%d of %d units sent before the deletion went with the queue (expected); lost besides: %d", len(f.Destroyed()), units, len(f.Lost())))
			t.expectHeld(f)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when the service ends with its cancelled consumer (control no-consumer-recovery)", Label("unsafe"), func(ctx context.Context, t *T) {
			f, redeclared := run(ctx, t, "control: no-consumer-recovery", t.control("no-consumer-recovery"))
			t.Expect(redeclared).To(BeFalse(), "the control declared its queue again: %s", f)
			t.Expect(f.Held()).To(BeFalse(), "the control must report the violation: %s", f)
			// What went with the queue is counted apart: what is lost is
			// what was sent after the deletion.
			t.Expect(len(f.Lost())).To(BeNumerically(">", after/2), "the control must lose what is sent after the deletion: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}

// deleteQueue deletes queue under its consumer, and records in h the
// units of input sent so far as destroyable with it ("lost with the queue
// <name>"): what the queue held goes with it by the fault's nature, and
// the verdict counts such units apart, expected (checker.Result.Destroyed).
func deleteQueue(ctx context.Context, t *T, s *stack.Stack, h *history.History, input, queue string) {
	var sent []string
	for _, op := range opsOf(h, input) {
		if op.ID != "" {
			sent = append(sent, op.ID)
		}
	}
	t.inject(ctx, h, fault.DeleteQueue(s.Management(), queue))
	h.Destroyable("lost with the queue "+queue, sent)
}
