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
	"github.com/mqchaos/mqchaos/harness/workload"
)

func consumerKilled(d *decl) {
	d.Scenario("Consumer killed before ack: the message is redelivered and applied once", Label("guarantee:no-loss", "guarantee:exactly-once-effect", labelSharedInfra), Doc(`A consumer that dies after applying an effect and before acking
it gets the message again and does not apply it twice; one
killed with SIGKILL mid-stream loses nothing, because unacked
messages go back to the queue.`), func() {

		d.When("the consumer exits at the failpoint between applying and acking", func() {
			// Needs: the failpoint after-apply-before-ack. The units wait
			// in the queue while the consumer is stopped, so that the
			// batch it applies before exiting is as large as it takes.
			const units = 40
			run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
				fp, spec := t.failpoint("after-apply-before-ack")
				input := t.anyInput()
				s := t.startStack(ctx, "killed-failpoint-"+side, append(opts, fp)...)
				h := &history.History{}
				started := time.Now()
				stops := stoppedBacklog(ctx, t, s, h, input, spec.Service, t.load("killed-fp-"+side, units))
				exits := drainSupervised(ctx, t, s, h, spec.Service, spec.ExitCode, stops)
				t.Expect(exits).To(BeNumerically(">", 0), "%s never exited at the failpoint", spec.Service)
				obs := t.settled(ctx, s, 1500*time.Millisecond, input)
				return t.verdict(ctx, "killed at failpoint", side, s, h, obs, started, []string{input}, fmt.Sprintf("%s exited %d times at the failpoint", spec.Service, exits))
			}

			d.It("holds with durable idempotency", Label("safe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "safe")
				t.expectHeld(f)
				t.expectProcessed(f, units)
			}, SpecTimeout(4*time.Minute))

			d.It("is caught without idempotency (control no-idempotency)", Label("unsafe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "control: no-idempotency", t.control("no-idempotency"))
				t.expectCaught(f, "duplicated", f.Duplicated(), units)
			}, SpecTimeout(4*time.Minute))
		})

		d.When("the consumer is killed with SIGKILL in the middle of a stream", func() {
			// Needs: an AMQP input.
			const units = 1000
			run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
				input := t.amqpInput()
				svc, _ := t.consumer(input)
				s := t.startStack(ctx, "killed-sigkill-"+side, append([]stack.Option{t.tuning("slow-consumer")}, opts...)...)
				h := &history.History{}
				started := time.Now()
				r := s.Replica(svc, 1)
				// Killed the moment it resumes, holding the deliveries the
				// broker pushed while it was paused: a fast consumer given
				// time to apply 20 first may have worked off its whole
				// share by then, and an auto-ack control would lose
				// nothing (the warehouse: 820 of 1,000 applied before the
				// kill in one of three runs).
				pause := pausedBacklog(ctx, t, s, h, input, svc, "killed-kill-"+side, units)
				kill := fault.Kill(s.Engine(), r.Target())
				t.Expect(fault.Heal(ctx, h, pause)).To(Succeed())
				t.inject(ctx, h, kill)
				t.By(fmt.Sprintf("killed %s with SIGKILL as it resumed, holding what the broker pushed it", r.Name))
				t.Expect(fault.Heal(ctx, h, kill)).To(Succeed())
				t.Eventually(ctx, r.Ready).Should(Succeed())
				obs := t.settled(ctx, s, 1500*time.Millisecond, input)
				return t.verdict(ctx, "killed by SIGKILL", side, s, h, obs, started, []string{input})
			}

			d.It("holds with manual acks", Label("safe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "safe")
				t.expectHeld(f)
				t.expectProcessed(f, units)
			}, SpecTimeout(4*time.Minute))

			d.It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "control: auto-ack", t.control("auto-ack"))
				t.expectCaught(f, "lost", f.Lost(), units)
			}, SpecTimeout(4*time.Minute))
		})
	})
}

// streamBacklog builds a backlog of n units published through input while
// svc is paused, lets svc loose on it, and returns once it has applied at
// least 20: the moment to break it mid-stream. It returns how many it saw
// applied.
//
// A consumer paused past two heartbeats (a loaded machine publishing the
// backlog slowly) loses its connection; an auto-ack control loses with it
// every delivery the broker had pushed, possibly the whole backlog, and
// never applies 20. After backlogStart the stream is broken anyway, with
// what was applied: the verdict reports the loss.
func streamBacklog(ctx context.Context, t *T, s *stack.Stack, h *history.History, input, svc, prefix string, n int) int {
	pause := pausedBacklog(ctx, t, s, h, input, svc, prefix, n)
	t.Expect(fault.Heal(ctx, h, pause)).To(Succeed())
	t.By("waiting until " + svc + " has applied 20 of them")
	seen := 0
	e := t.effectOf(input, svc)
	if !t.Quietly().Eventually(ctx, func(g Gomega) {
		o, err := effect.Read(ctx, s, e)
		g.Expect(err).NotTo(HaveOccurred())
		seen = len(o.IDs)
		g.Expect(seen).To(BeNumerically(">=", 20))
	}).WithTimeout(backlogStart).WithPolling(10 * time.Millisecond).Should(Succeed()) {
		t.By(fmt.Sprintf("%s applied %d of %d within %s; breaking it now", svc, seen, n, backlogStart))
	}
	return seen
}

// pausedBacklog pauses svc's first replica and publishes n units through
// input meanwhile; it returns the pause, still in force, for the caller to
// heal.
func pausedBacklog(ctx context.Context, t *T, s *stack.Stack, h *history.History, input, svc, prefix string, n int) fault.Fault {
	r := s.Replica(svc, 1)
	t.By("pausing " + r.Name + ", so that a backlog builds")
	pause := fault.Pause(s.Engine(), r.Target())
	t.inject(ctx, h, pause)
	t.By(fmt.Sprintf("publishing %d units through %s", n, input))
	t.Expect(workload.Run(ctx, s, h, input, t.load(prefix, n))).To(Succeed())
	return pause
}

// backlogStart is how long streamBacklog waits for the first 20 units.
const backlogStart = 30 * time.Second
