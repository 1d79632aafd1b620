package catalogue

import (
	"context"
	"fmt"
	"regexp"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func consumerTimeout(d *decl) {
	d.Scenario("A consumer held up past the broker's acknowledgement timeout consumes again, and applies every unit once", Label("guarantee:no-loss", "guarantee:reconnect", "fault:broker"), Doc(`The broker's consumer_timeout is lowered to 4 s (RabbitMQ 3.10
sets it node-wide at run time: a broker of its own), and the
consumer's database is paused while a backlog waits. The
consumer holds its deliveries until the database returns,
longer than the timeout, so the broker closes its channel
(PRECONDITION_FAILED) and puts them back in the queue, while
the connection stays open. The consumer must notice that its
channel is gone and consume again; once the database is back,
every unit is applied once. Control no-consumer-recovery: the
consumer's worker ends with its channel, the service stays
ready on its open connection, and the queue has no consumer:
the backlog waits for ever, and the verdict finds it there,
"unseen at the end" (not lost).`), Needs("an AMQP input and a database."), func() {
		const (
			recoveryKind = "consumer-timeout"
			units        = 200
			timeout      = 4 * time.Second
			// hold is how long the database stays paused: several
			// timeouts.
			hold = 10 * time.Second
		)

		type run struct {
			s       *stack.Stack
			h       *history.History
			input   string
			queue   string
			r       *stack.Replica
			started time.Time
			closed  time.Duration // from the pause until the queue had no consumer
		}
		// holdPastTimeout lowers the timeout, pauses the database with a
		// backlog waiting, and waits until the broker has closed the
		// consumer's channel; it returns once the database is back.
		holdPastTimeout := func(ctx context.Context, t *T, side string, opts ...stack.Option) run {
			if !t.sys.HasDatabase() {
				t.Skip(t.sys.Name + " has no database: nothing holds its consumer up")
			}
			var r run
			r.input = t.amqpInput()
			svc, queue := t.consumer(r.input)
			r.queue = queue
			r.s = t.startIsolatedStack(ctx, "timeout-"+side, append([]stack.Option{t.tuning("slow-consumer")}, opts...)...)
			r.h = &history.History{}
			r.started = time.Now()
			r.r = r.s.Replica(svc, 1)
			b := r.s.Infra.Broker
			t.By(fmt.Sprintf("lowering the broker's consumer_timeout to %s, checked every second", timeout))
			t.inject(ctx, r.h, fault.ChannelTick(b, time.Second))
			t.inject(ctx, r.h, fault.ConsumerTimeout(b, timeout))
			t.By("closing " + r.r.Name + "'s connections, so that it opens its channels again under the new timeout")
			t.closeConnections(ctx, r.s, r.h, r.r)
			t.Eventually(ctx, r.r.Ready).Should(Succeed())
			t.Eventually(ctx, consumers(r.s, r.queue)).Should(BeNumerically(">", 0))

			pause := fault.Pause(r.s.Engine(), r.s.Infra.DatabaseTarget())
			t.inject(ctx, r.h, pause)
			paused := time.Now()
			t.By(fmt.Sprintf("publishing %d units through %s with the database paused", units, r.input))
			t.Expect(workload.Run(ctx, r.s, r.h, r.input, t.load("timeout-"+side, units))).To(Succeed())
			t.By("waiting until the broker logs that a consumer timed out")
			t.Eventually(ctx, func(g Gomega) {
				logs, err := r.s.Infra.BrokerLogs(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(timedOut.Match(logs)).To(BeTrue())
			}).WithTimeout(hold).WithPolling(200 * time.Millisecond).Should(Succeed())
			r.closed = time.Since(paused)
			t.Expect(fault.Hold(ctx, hold-r.closed)).To(Succeed())
			t.Expect(fault.Heal(ctx, r.h, pause)).To(Succeed())
			return r
		}

		d.It("holds when the consumer notices its closed channel and consumes again", Label("safe"), func(ctx context.Context, t *T) {
			r := holdPastTimeout(ctx, t, "safe")
			healed := time.Now()
			t.recovering(ctx, r.s, r.h, recoveryKind)
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			recovery := time.Since(healed)
			f := t.verdictWith(ctx, "consumer timeout", "safe", r.s, r.h, obs, r.started, []string{r.input}, measured{detect: &r.closed, recover: &recovery},
				fmt.Sprintf("consumer_timeout %s, database paused %s: the broker closed the consumer's channel %.1fs into the pause; drained %.1fs after the heal", timeout, hold, r.closed.Seconds(), recovery.Seconds()))
			t.expectHeld(f)
			t.expectProcessed(f, units)
			t.Expect(f.Recovery).NotTo(BeEmpty(), "no recovery budget judged")
			t.Expect(f.DeadLettered).To(BeZero(), "a consumer timeout is a transient failure: nothing may be dead-lettered")
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when the consumer ends with its channel (control no-consumer-recovery)", Label("unsafe"), func(ctx context.Context, t *T) {
			const side = "control: no-consumer-recovery"
			r := holdPastTimeout(ctx, t, side, t.control("no-consumer-recovery"))
			healed := time.Now()
			t.recovering(ctx, r.s, r.h, recoveryKind)
			t.watchPastBudget(ctx, r.s, recoveryKind, healed)
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			q, err := r.s.Management().Queue(ctx, r.queue)
			t.Expect(err).NotTo(HaveOccurred())
			f := t.verdict(ctx, "consumer timeout", side, r.s, r.h, obs, r.started, []string{r.input},
				fmt.Sprintf("consumer_timeout %s: channel closed %.1fs into the pause; at the end %d waiting in %s with %d consumers", timeout, r.closed.Seconds(), q.Ready, r.queue, q.Consumers))
			t.expectOverBudget(f)
			// The backlog waits in a queue nobody consumes: the checker
			// classes it unseen at the end, not lost, by a wide margin.
			t.Expect(f.Unseen).NotTo(BeEmpty(), "the control must leave work in a queue: %s", f)
			t.expectCaught(f, "unseen at the end", f.UnseenIDs(), units)
			t.Expect(len(f.Lost())*10).To(BeNumerically("<", len(f.UnseenIDs())), "what waits in the queue must not be called lost: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}

// timedOut is RabbitMQ's log line for a consumer whose channel it closes
// for an unacknowledged delivery (3.10: "Consumer 1 on channel 1 has
// timed out waiting for delivery acknowledgement"; 4.x words it
// "... waiting for a consumer acknowledgement of a delivery ...").
var timedOut = regexp.MustCompile(`timed out waiting for (a consumer |delivery )?acknowledgement`)

// consumers is how many consumers the broker lists on queue.
func consumers(s *stack.Stack, queue string) func(ctx context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		q, err := s.Management().Queue(ctx, queue)
		return q.Consumers, err
	}
}
