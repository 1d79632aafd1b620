package catalogue

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func consumerKilled() {
	Describe("Consumer killed before ack: the message is redelivered and applied once", Label("guarantee:no-loss", "guarantee:exactly-once-effect", labelSharedInfra), func() {
		// A consumer that dies after applying an effect and before acking
		// it gets the message again and does not apply it twice; one
		// killed with SIGKILL mid-stream loses nothing, because unacked
		// messages go back to the queue.

		When("the consumer exits at the failpoint between applying and acking", func() {
			// Needs: the failpoint after-apply-before-ack.
			const units = 40
			run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
				fp, spec := failpoint("after-apply-before-ack")
				input := anyInput()
				s := startStack(ctx, "killed-failpoint-"+side, append(opts, fp)...)
				h := &history.History{}
				started := time.Now()
				By(fmt.Sprintf("sending 40 units through %s; %s exits after applying the first", input, spec.Service))
				Expect(workload.Run(ctx, s, h, input, load("killed-fp-"+side, units))).To(Succeed())
				r := s.Replica(spec.Service, 1)
				Eventually(ctx, r.Running).Should(BeFalse())
				if spec.ExitCode != 0 {
					Expect(r.ExitCode(ctx)).To(Equal(spec.ExitCode), "exit status of the failpoint")
				}
				h.Event(history.KindFault, "failpoint "+r.Name, "exited")
				By("starting " + r.Name + " again")
				Expect(r.StartAgain(ctx)).To(Succeed())
				Eventually(ctx, r.Ready).Should(Succeed())
				obs := settled(ctx, s, 1500*time.Millisecond, input)
				return verdict(ctx, "killed at failpoint", side, s, h, obs, started, []string{input})
			}

			It("holds with durable idempotency", Label("safe"), func(ctx SpecContext) {
				f := run(ctx, "safe")
				expectHeld(f)
				expectProcessed(f, units)
			}, SpecTimeout(4*time.Minute))

			It("is caught without idempotency (control no-idempotency)", Label("unsafe"), func(ctx SpecContext) {
				f := run(ctx, "control: no-idempotency", control("no-idempotency"))
				Expect(f.Duplicated()).NotTo(BeEmpty(), "the control must report a duplicated effect: %s", f)
			}, SpecTimeout(4*time.Minute))
		})

		When("the consumer is killed with SIGKILL in the middle of a stream", func() {
			// Needs: an AMQP input.
			const units = 1000
			run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
				input := amqpInput()
				svc, _ := consumer(input)
				s := startStack(ctx, "killed-sigkill-"+side, append([]stack.Option{tuning("slow-consumer")}, opts...)...)
				h := &history.History{}
				started := time.Now()
				r := s.Replica(svc, 1)
				applied := streamBacklog(ctx, s, h, input, svc, "killed-kill-"+side, units)
				kill := fault.Kill(s.Docker(), r.Target())
				Expect(fault.Inject(ctx, h, kill)).To(Succeed())
				By(fmt.Sprintf("killed %s with SIGKILL, %d of %d units seen applied just before", r.Name, applied, units))
				Expect(fault.Heal(ctx, h, kill)).To(Succeed())
				Eventually(ctx, r.Ready).Should(Succeed())
				obs := settled(ctx, s, 1500*time.Millisecond, input)
				return verdict(ctx, "killed by SIGKILL", side, s, h, obs, started, []string{input})
			}

			It("holds with manual acks", Label("safe"), func(ctx SpecContext) {
				f := run(ctx, "safe")
				expectHeld(f)
				expectProcessed(f, units)
			}, SpecTimeout(4*time.Minute))

			It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx SpecContext) {
				f := run(ctx, "control: auto-ack", control("auto-ack"))
				Expect(f.Lost()).NotTo(BeEmpty(), "the control must report lost units: %s", f)
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
func streamBacklog(ctx SpecContext, s *stack.Stack, h *history.History, input, svc, prefix string, n int) int {
	GinkgoHelper()
	r := s.Replica(svc, 1)
	By("pausing " + r.Name + ", so that a backlog builds")
	pause := fault.Pause(s.Docker(), r.Target())
	Expect(fault.Inject(ctx, h, pause)).To(Succeed())
	By(fmt.Sprintf("publishing %d units through %s", n, input))
	Expect(workload.Run(ctx, s, h, input, load(prefix, n))).To(Succeed())
	Expect(fault.Heal(ctx, h, pause)).To(Succeed())
	By("waiting until " + svc + " has applied 20 of them")
	seen := 0
	e := effectOf(input, svc)
	if missed := InterceptGomegaFailures(func() {
		Eventually(ctx, func(g Gomega) {
			o, err := effect.Read(ctx, s, e)
			g.Expect(err).NotTo(HaveOccurred())
			seen = len(o.IDs)
			g.Expect(seen).To(BeNumerically(">=", 20))
		}).WithTimeout(backlogStart).WithPolling(10 * time.Millisecond).Should(Succeed())
	}); len(missed) > 0 {
		By(fmt.Sprintf("%s applied %d of %d within %s; breaking it now", svc, seen, n, backlogStart))
	}
	return seen
}

// backlogStart is how long streamBacklog waits for the first 20 units.
const backlogStart = 30 * time.Second
