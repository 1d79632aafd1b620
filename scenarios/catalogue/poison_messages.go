package catalogue

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

// poisonOffline is why a poison run's history cannot be judged again in
// full: the dead letters are read from the broker by the scenario.
const poisonOffline = "the poison messages' dead letters were read from the broker by the scenario"

func poisonMessages(d *decl) {
	d.Scenario("Poison messages: a bad message is dead-lettered with its reason and never stops a consumer", Label("guarantee:dead-lettering", "guarantee:no-loss", labelSharedInfra), Doc(`Messages no consumer can take (invalid JSON, an empty body, a
JSON value that is not an object, invalid UTF-8, an oversized
body, and the description's own bad bodies) interleaved with
valid units: each lands in the dead-letter queue of every queue
that received it, every valid unit is processed, and the
consumers keep consuming.`), Needs("an AMQP input whose queues have dead-letter queues."), func() {
		const valid = 21

		type setup struct {
			input  string
			queues []string // the input's queues with a dead-letter queue
			poison []workload.Poison
		}
		prepare := func(t *T, side string) setup {
			input := t.amqpInput()
			st := setup{input: input}
			for _, q := range t.sys.Inputs[input].AMQP.Queues {
				if t.sys.DeadLetterOf(q) != "" {
					st.queues = append(st.queues, q)
				}
			}
			if len(st.queues) == 0 {
				t.Skip(fmt.Sprintf("%s declares no dead-letter queue for the queues of %s", t.sys.Name, input))
			}
			var err error
			st.poison, err = workload.PoisonMessages(t.sys.Inputs[input].AMQP, "poison-"+side, t.rng())
			t.Expect(err).NotTo(HaveOccurred())
			return st
		}

		publish := func(ctx context.Context, t *T, s *stack.Stack, h *history.History, st setup, side string) {
			units := t.load("poison-"+side, valid).Units()
			// A system whose consumers declare the input's queues only
			// once they run may report ready first: a publish before then
			// is returned unroutable, the system not yet started, not a
			// poison message mishandled.
			t.Eventually(ctx, func(g Gomega) {
				for _, q := range t.sys.Inputs[st.input].AMQP.Queues {
					_, err := s.Management().Queue(ctx, q)
					g.Expect(err).NotTo(HaveOccurred(), "queue %s", q)
				}
			}).Should(Succeed(), "the queues of %s were never declared", st.input)
			u, err := s.AMQPURL(ctx)
			t.Expect(err).NotTo(HaveOccurred())
			pub, err := broker.Dial(ctx, u)
			t.Expect(err).NotTo(HaveOccurred())
			defer pub.Close()
			t.By(fmt.Sprintf("publishing %d valid units with %d poison messages interleaved", valid, len(st.poison)))
			r := t.rng()
			next := 0
			for i, unit := range units {
				m, err := workload.Message(t.sys.Inputs[st.input].AMQP, unit, r)
				t.Expect(err).NotTo(HaveOccurred())
				op := h.Invoke(st.input, unit.ID)
				t.Expect(pub.Publish(ctx, m)[0]).To(Succeed())
				h.Complete(op, history.OK, "confirmed")
				for ; next < len(st.poison) && next*valid <= i*len(st.poison); next++ {
					t.Expect(pub.Publish(ctx, st.poison[next].Message)[0]).To(Succeed(), "poison %s", st.poison[next].Name)
				}
			}
			for ; next < len(st.poison); next++ {
				t.Expect(pub.Publish(ctx, st.poison[next].Message)[0]).To(Succeed(), "poison %s", st.poison[next].Name)
			}
		}

		d.It("holds: every poison message is dead-lettered with its reason", Label("safe"), func(ctx context.Context, t *T) {
			st := prepare(t, "safe")
			s := t.startStack(ctx, "poison-safe")
			h := &history.History{}
			started := time.Now()
			publish(ctx, t, s, h, st, "safe")
			obs := t.settled(ctx, s, time.Second, st.input)
			dead, err := settle.DeadLettered(ctx, s)
			t.Expect(err).NotTo(HaveOccurred())
			// What is not dead-lettered, or a consumer that stopped, is
			// a violation in the figures, so that they and the spec say
			// the same.
			var violations []string
			for _, q := range st.queues {
				dlq := t.sys.DeadLetterOf(q)
				t.By("reading " + dlq)
				reasons := map[string]string{}
				for _, d := range dead[dlq] {
					reasons[d.MessageID] = d.Reason
				}
				var missing []string
				for _, p := range st.poison {
					if reasons[p.Message.MessageID] == "" {
						missing = append(missing, p.Name)
						continue
					}
					t.Printf("%s %-22s -> %s\n", q, p.Name, reasons[p.Message.MessageID])
				}
				if len(missing) > 0 {
					violations = append(violations, fmt.Sprintf("%d of %d poison messages not dead-lettered with a reason from %s: %s", len(missing), len(st.poison), q, strings.Join(missing, ", ")))
				}
				if !t.Quietly().Eventually(ctx, func(g Gomega) {
					info, err := s.Management().Queue(ctx, q)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(info.Consumers).To(BeNumerically(">=", 1))
				}).WithTimeout(10 * time.Second).Should(Succeed()) {
					violations = append(violations, "the consumer of "+q+" stopped")
				}
			}
			f := t.verdictWith(ctx, "poison messages", "safe", s, h, obs, started, []string{st.input}, measured{violations: violations, offline: poisonOffline},
				fmt.Sprintf("%d poison messages x %d queues", len(st.poison), len(st.queues)))
			t.expectHeld(f)
			t.expectProcessed(f, valid)
			t.Expect(f.DeadLettered).To(Equal(len(st.poison)*len(st.queues)), "%s", f)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when failures are requeued forever (control requeue-forever)", Label("unsafe"), func(ctx context.Context, t *T) {
			st := prepare(t, "unsafe")
			s := t.startStack(ctx, "poison-unsafe", t.control("requeue-forever"))
			h := &history.History{}
			started := time.Now()
			publish(ctx, t, s, h, st, "unsafe")
			consumerEffect := t.effectOf(st.input, t.sys.ConsumerOf(st.queues[0]).Name)
			t.By("waiting until every valid unit is processed")
			t.waitApplied(ctx, s, consumerEffect, valid, defaultWait, 200*time.Millisecond)
			t.By("seeing the poison messages cycle: never dead-lettered, never drained")
			// The management API's queue figures lag by a few seconds: first
			// wait until they show the cycling messages, then hold.
			t.Eventually(ctx, func() error { return settle.Stack(ctx, s) }).ShouldNot(Succeed())
			var stuck error
			t.Consistently(ctx, func(g Gomega) {
				dead, err := settle.DeadLettered(ctx, s)
				g.Expect(err).NotTo(HaveOccurred())
				for _, d := range dead {
					g.Expect(d).To(BeEmpty())
				}
				stuck = settle.Stack(ctx, s)
				g.Expect(stuck).To(HaveOccurred())
			}).Should(Succeed())
			obs, err := effect.ReadAll(ctx, s, t.sys.EffectsOf(st.input))
			t.Expect(err).NotTo(HaveOccurred())
			got, err := settle.DeadLetterCount(ctx, s)
			t.Expect(err).NotTo(HaveOccurred())
			var violations []string
			if want := len(st.poison) * len(st.queues); got < want {
				violations = append(violations, fmt.Sprintf("%d of %d poison messages dead-lettered, the rest cycling: %v", got, want, stuck))
			}
			f := t.verdictWith(ctx, "poison messages", "control: requeue-forever", s, h, obs, started, []string{st.input}, measured{violations: violations, offline: poisonOffline},
				fmt.Sprintf("%d poison messages sent to %d queues", len(st.poison), len(st.queues)))
			t.Expect(f.DeadLettered).To(BeZero())
			t.Expect(f.Held()).To(BeFalse(), "the control must report the violation: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
