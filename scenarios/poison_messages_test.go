package scenarios_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/observe"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
	"github.com/mqchaos/mqchaos/services/contract"
)

var _ = Describe("Poison messages: a bad message is dead-lettered with its reason and never stops a consumer", Label("guarantee:dead-lettering", "guarantee:no-loss"), func() {
	// Invalid JSON, missing fields, wrong types, a non-positive quantity, an
	// unknown event type, invalid UTF-8 and an oversized body, interleaved
	// with valid orders: each poison message lands in the dead-letter queue
	// of every queue that received it, with its reason; every valid order
	// is processed; the consumers keep consuming.
	const valid = 21
	queues := []string{contract.InventoryOrdersQueue, contract.NotificationOrdersQueue}

	publish := func(ctx SpecContext, s *stack.Stack, h *history.History, side string) []broker.Poison {
		poison := broker.PoisonMessages("poison-" + side)
		plan := workload.Orders{Prefix: "poison-" + side, Count: valid}.Plan(rng())
		u, err := s.AMQPURL(ctx)
		Expect(err).NotTo(HaveOccurred())
		pub, err := broker.Dial(ctx, u)
		Expect(err).NotTo(HaveOccurred())
		defer pub.Close()
		By(fmt.Sprintf("publishing %d valid orders with %d poison messages interleaved", valid, len(poison)))
		for i, p := range plan {
			m, err := broker.OrderPlaced(p.OrderID, p.Item, p.Quantity)
			Expect(err).NotTo(HaveOccurred())
			op := h.Invoke(history.KindPublish, p.OrderID)
			Expect(pub.Publish(ctx, m)[0]).To(Succeed())
			h.Complete(op, history.OK, "confirmed")
			if i%3 == 2 && i/3 < len(poison) {
				Expect(pub.Publish(ctx, poison[i/3].Message)[0]).To(Succeed())
			}
		}
		return poison
	}

	It("holds: every poison message is dead-lettered with its reason", Label("safe"), func(ctx SpecContext) {
		s := startStack(ctx, "poison-safe")
		h := &history.History{}
		started := time.Now()
		poison := publish(ctx, s, h, "safe")
		snap := settle(ctx, s, time.Second)
		f := verdict(ctx, "poison messages", "safe", s, h, history.KindPublish, snap, started,
			fmt.Sprintf("%d poison messages x %d queues", len(poison), len(queues)))
		expectHeld(f)
		Expect(f.Processed).To(Equal(valid), f.Verdict)
		for _, q := range queues {
			By("reading the dead-letter queue of " + q)
			dead, err := s.Management().DeadLetters(ctx, q, 100)
			Expect(err).NotTo(HaveOccurred())
			reasons := map[string]string{}
			for _, d := range dead {
				reasons[d.MessageID] = d.Reason
				Expect(d.Class).To(Equal("permanent"), "message %s", d.MessageID)
				Expect(d.SourceQueue).To(Equal(q))
			}
			for _, p := range poison {
				Expect(reasons).To(HaveKeyWithValue(p.Message.MessageID, Not(BeEmpty())), "poison %s not dead-lettered from %s", p.Name, q)
				GinkgoWriter.Printf("%s %-22s -> %s\n", q, p.Name, reasons[p.Message.MessageID])
			}
			Eventually(ctx, func(g Gomega) {
				info, err := s.Management().Queue(ctx, q)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(info.Consumers).To(BeNumerically(">=", 1), "the consumer of %s stopped", q)
			}).Should(Succeed())
		}
		Expect(f.DeadLettered).To(Equal(len(poison) * len(queues)))
	}, SpecTimeout(4*time.Minute))

	It("is caught when failures are requeued forever (UNSAFE_REQUEUE_FOREVER)", Label("unsafe"), func(ctx SpecContext) {
		s := startStack(ctx, "poison-unsafe", stack.Env("*", unsafe("UNSAFE_REQUEUE_FOREVER")))
		h := &history.History{}
		started := time.Now()
		poison := publish(ctx, s, h, "unsafe")
		By("waiting until every valid order is processed")
		Eventually(ctx, func(g Gomega) {
			snap, err := observe.Take(ctx, s)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(observe.Distinct(snap.Inventory)).To(Equal(valid))
		}).Should(Succeed())
		By("seeing the poison messages cycle: never dead-lettered, never drained")
		// The management API's queue figures lag by a few seconds: first
		// wait until they show the cycling messages, then hold.
		Eventually(ctx, func() error { return observe.Settled(ctx, s.Management()) }).ShouldNot(Succeed())
		Consistently(ctx, func(g Gomega) {
			g.Expect(observe.DeadLettered(ctx, s.Management())).To(BeZero())
			g.Expect(observe.Settled(ctx, s.Management())).NotTo(Succeed())
		}).Should(Succeed())
		snap, err := observe.Take(ctx, s)
		Expect(err).NotTo(HaveOccurred())
		f := verdict(ctx, "poison messages", "unsafe", s, h, history.KindPublish, snap, started,
			fmt.Sprintf("VIOLATED: %d poison messages never dead-lettered, cycling in the queues", len(poison)*len(queues)))
		Expect(f.DeadLettered).To(BeZero())
	}, SpecTimeout(4*time.Minute))
})
