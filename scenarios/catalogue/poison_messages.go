package catalogue

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func poisonMessages(d *decl) {
	d.Scenario("Poison messages: a bad message is dead-lettered with its reason and never stops a consumer", Label("guarantee:dead-lettering", "guarantee:no-loss", labelSharedInfra), Doc(`Messages no consumer can take (invalid JSON, an empty body, a
JSON value that is not an object, invalid UTF-8, an oversized
body, and the description's own bad bodies) interleaved with
valid units: each lands in the dead-letter queue of every queue
that received it, every valid unit is processed and none is
dead-lettered, and the consumers keep consuming.`), Needs("an AMQP input whose queues have dead-letter queues."), func() {
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
				h.SentAs(op, m.MessageID)
				t.Expect(pub.Publish(ctx, m)[0]).To(Succeed())
				h.Complete(op, history.OK, "confirmed")
				for ; next < len(st.poison) && next*valid <= i*len(st.poison); next++ {
					poison(ctx, t, pub, h, st.input, st.poison[next])
				}
			}
			for ; next < len(st.poison); next++ {
				poison(ctx, t, pub, h, st.input, st.poison[next])
			}
		}

		d.It("holds: every poison message is dead-lettered with its reason", Label("safe"), func(ctx context.Context, t *T) {
			st := prepare(t, "safe")
			s := t.startStack(ctx, "poison-safe")
			h := &history.History{}
			started := time.Now()
			publish(ctx, t, s, h, st, "safe")
			obs := t.settled(ctx, s, time.Second, st.input)
			t.readDeadLetters(ctx, s, h, st.input, st.queues)
			// A consumer that stopped is a violation in the figures, so
			// that they and the spec say the same; what is not
			// dead-lettered the checker finds in the reads.
			var violations []string
			for _, q := range st.queues {
				if !t.Quietly().Eventually(ctx, func(g Gomega) {
					info, err := s.Management().Queue(ctx, q)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(info.Consumers).To(BeNumerically(">=", 1))
				}).WithTimeout(10 * time.Second).Should(Succeed()) {
					violations = append(violations, "the consumer of "+q+" stopped")
				}
			}
			f := t.verdictWith(ctx, "poison messages", "safe", s, h, obs, started, []string{st.input}, measured{violations: violations},
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
			t.Consistently(ctx, func() error {
				stuck = settle.Stack(ctx, s)
				return stuck
			}).Should(HaveOccurred())
			t.By(fmt.Sprintf("still cycling: %v", stuck))
			obs, err := effect.ReadAll(ctx, s, t.sys.EffectsOf(st.input))
			t.Expect(err).NotTo(HaveOccurred())
			t.readDeadLetters(ctx, s, h, st.input, st.queues)
			f := t.verdictWith(ctx, "poison messages", "control: requeue-forever", s, h, obs, started, []string{st.input}, measured{},
				fmt.Sprintf("%d poison messages sent to %d queues", len(st.poison), len(st.queues)))
			t.Expect(f.Held()).To(BeFalse(), "the control must report the violation: %s", f)
			missing := 0
			for _, d := range f.DeadLetters {
				missing += len(d.Missing)
			}
			// Every poison message cycles: none reaches a dead-letter queue.
			t.Expect(missing).To(Equal(len(st.poison)*len(st.queues)), "%s", f)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when valid units are dead-lettered too (control stale-item-list)", Label("unsafe"), func(ctx context.Context, t *T) {
			st := prepare(t, "stale")
			s := t.startStack(ctx, "poison-stale", t.control("stale-item-list"))
			h := &history.History{}
			started := time.Now()
			publish(ctx, t, s, h, st, "stale")
			obs := t.settled(ctx, s, time.Second, st.input)
			t.readDeadLetters(ctx, s, h, st.input, st.queues)
			f := t.verdictWith(ctx, "poison messages", "control: stale-item-list", s, h, obs, started, []string{st.input}, measured{},
				fmt.Sprintf("%d poison messages x %d queues", len(st.poison), len(st.queues)))
			t.Expect(f.Held()).To(BeFalse(), "the control must report the violation: %s", f)
			var dead []string
			for _, d := range f.DeadLetters {
				dead = append(dead, d.ValidViolations()...)
			}
			t.expectCaught(f, "dead-lettered", dead, valid)
		}, SpecTimeout(4*time.Minute))
	})
}

// poison publishes p through input, recorded in h (history.KindPoison):
// ok once confirmed, fail if not.
func poison(ctx context.Context, t *T, pub *broker.Publisher, h *history.History, input string, p workload.Poison) {
	op := h.Poison(input, p.Message.MessageID)
	if err := pub.Publish(ctx, p.Message)[0]; err != nil {
		h.Complete(op, history.Fail, err.Error())
		t.Expect(err).NotTo(HaveOccurred(), "poison %s", p.Name)
		return
	}
	h.Complete(op, history.OK, "confirmed "+p.Name)
}

// readDeadLetters reads the dead-letter queue of each of queues (input's
// queues) and records each read in h (history.KindDeadLetters), for the
// checker to judge: input's poison there once each with a reason, none
// of its valid units.
func (t *T) readDeadLetters(ctx context.Context, s *stack.Stack, h *history.History, input string, queues []string) {
	var dlqs []string
	for _, q := range queues {
		if dlq := t.sys.DeadLetterOf(q); dlq != "" && !slices.Contains(dlqs, dlq) {
			dlqs = append(dlqs, dlq)
		}
	}
	for _, dlq := range dlqs {
		t.By("reading " + dlq)
		began := time.Now()
		dead, err := s.Management().DeadLetters(ctx, dlq, t.sys.ReasonHeader, 100000)
		t.Expect(err).NotTo(HaveOccurred())
		letters := make([]history.Letter, len(dead))
		for i, d := range dead {
			letters[i] = history.Letter{ID: d.MessageID, Reason: d.Reason}
			t.Printf("%s %s -> %s\n", dlq, d.MessageID, d.Reason)
		}
		h.DeadLetters(dlq, letters, history.Judged{Inputs: []string{input}}, began, time.Now())
	}
}
