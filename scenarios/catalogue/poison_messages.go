package catalogue

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func poisonMessages() {
	Describe("Poison messages: a bad message is dead-lettered with its reason and never stops a consumer", Label("guarantee:dead-lettering", "guarantee:no-loss", labelSharedInfra), func() {
		// Messages no consumer can take (invalid JSON, an empty body, a
		// JSON value that is not an object, invalid UTF-8, an oversized
		// body, and the description's own bad bodies) interleaved with
		// valid units: each lands in the dead-letter queue of every queue
		// that received it, every valid unit is processed, and the
		// consumers keep consuming.
		// Needs: an AMQP input whose queues have dead-letter queues.
		const valid = 21

		type setup struct {
			input  string
			queues []string // the input's queues with a dead-letter queue
			poison []workload.Poison
		}
		prepare := func(side string) setup {
			input := amqpInput()
			st := setup{input: input}
			for _, q := range sys.Inputs[input].AMQP.Queues {
				if sys.DeadLetterOf(q) != "" {
					st.queues = append(st.queues, q)
				}
			}
			if len(st.queues) == 0 {
				Skip(fmt.Sprintf("%s declares no dead-letter queue for the queues of %s", sys.Name, input))
			}
			var err error
			st.poison, err = workload.PoisonMessages(sys.Inputs[input].AMQP, "poison-"+side, rng())
			Expect(err).NotTo(HaveOccurred())
			return st
		}

		publish := func(ctx SpecContext, s *stack.Stack, h *history.History, st setup, side string) {
			units := load("poison-"+side, valid).Units()
			u, err := s.AMQPURL(ctx)
			Expect(err).NotTo(HaveOccurred())
			pub, err := broker.Dial(ctx, u)
			Expect(err).NotTo(HaveOccurred())
			defer pub.Close()
			By(fmt.Sprintf("publishing %d valid units with %d poison messages interleaved", valid, len(st.poison)))
			r := rng()
			next := 0
			for i, unit := range units {
				m, err := workload.Message(sys.Inputs[st.input].AMQP, unit, r)
				Expect(err).NotTo(HaveOccurred())
				op := h.Invoke(st.input, unit.ID)
				Expect(pub.Publish(ctx, m)[0]).To(Succeed())
				h.Complete(op, history.OK, "confirmed")
				for ; next < len(st.poison) && next*valid <= i*len(st.poison); next++ {
					Expect(pub.Publish(ctx, st.poison[next].Message)[0]).To(Succeed(), "poison %s", st.poison[next].Name)
				}
			}
			for ; next < len(st.poison); next++ {
				Expect(pub.Publish(ctx, st.poison[next].Message)[0]).To(Succeed(), "poison %s", st.poison[next].Name)
			}
		}

		It("holds: every poison message is dead-lettered with its reason", Label("safe"), func(ctx SpecContext) {
			st := prepare("safe")
			s := startStack(ctx, "poison-safe")
			h := &history.History{}
			started := time.Now()
			publish(ctx, s, h, st, "safe")
			obs := settled(ctx, s, time.Second, st.input)
			dead, err := settle.DeadLettered(ctx, s)
			Expect(err).NotTo(HaveOccurred())
			f := verdict(ctx, "poison messages", "safe", s, h, obs, started, []string{st.input},
				fmt.Sprintf("%d poison messages x %d queues", len(st.poison), len(st.queues)))
			for _, q := range st.queues {
				dlq := sys.DeadLetterOf(q)
				By("reading " + dlq)
				reasons := map[string]string{}
				for _, d := range dead[dlq] {
					reasons[d.MessageID] = d.Reason
				}
				for _, p := range st.poison {
					Expect(reasons).To(HaveKeyWithValue(p.Message.MessageID, Not(BeEmpty())), "poison %s not dead-lettered from %s", p.Name, q)
					GinkgoWriter.Printf("%s %-22s -> %s\n", q, p.Name, reasons[p.Message.MessageID])
				}
				Eventually(ctx, func(g Gomega) {
					info, err := s.Management().Queue(ctx, q)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(info.Consumers).To(BeNumerically(">=", 1), "the consumer of %s stopped", q)
				}).Should(Succeed())
			}
			expectHeld(f)
			expectProcessed(f, valid)
			Expect(f.DeadLettered).To(Equal(len(st.poison)*len(st.queues)), "%s", f)
		}, SpecTimeout(4*time.Minute))

		It("is caught when failures are requeued forever (control requeue-forever)", Label("unsafe"), func(ctx SpecContext) {
			st := prepare("unsafe")
			s := startStack(ctx, "poison-unsafe", control("requeue-forever"))
			h := &history.History{}
			started := time.Now()
			publish(ctx, s, h, st, "unsafe")
			consumerEffect := effectOf(st.input, sys.ConsumerOf(st.queues[0]).Name)
			By("waiting until every valid unit is processed")
			waitApplied(ctx, s, consumerEffect, valid, 200*time.Millisecond)
			By("seeing the poison messages cycle: never dead-lettered, never drained")
			// The management API's queue figures lag by a few seconds: first
			// wait until they show the cycling messages, then hold.
			Eventually(ctx, func() error { return settle.Stack(ctx, s) }).ShouldNot(Succeed())
			var stuck error
			Consistently(ctx, func(g Gomega) {
				dead, err := settle.DeadLettered(ctx, s)
				g.Expect(err).NotTo(HaveOccurred())
				for _, d := range dead {
					g.Expect(d).To(BeEmpty())
				}
				stuck = settle.Stack(ctx, s)
				g.Expect(stuck).To(HaveOccurred())
			}).Should(Succeed())
			obs, err := effect.ReadAll(ctx, s, sys.EffectsOf(st.input))
			Expect(err).NotTo(HaveOccurred())
			got, err := settle.DeadLetterCount(ctx, s)
			Expect(err).NotTo(HaveOccurred())
			var violations []string
			if want := len(st.poison) * len(st.queues); got < want {
				violations = append(violations, fmt.Sprintf("%d of %d poison messages dead-lettered, the rest cycling: %v", got, want, stuck))
			}
			f := verdictWith(ctx, "poison messages", "control: requeue-forever", s, h, obs, started, []string{st.input}, measured{violations: violations},
				fmt.Sprintf("%d poison messages sent to %d queues", len(st.poison), len(st.queues)))
			Expect(f.DeadLettered).To(BeZero())
			Expect(f.Held()).To(BeFalse(), "the control must report the violation: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
