package scenarios_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
	"github.com/mqchaos/mqchaos/services/contract"
)

var _ = Describe("Backlog drain: a consumer that was down works off its whole backlog", Label("guarantee:no-loss", "guarantee:backlog"), func() {
	// With inventory stopped, 1,000 orders queue up; started again, it
	// drains the queue to zero and processes every order once. The drain
	// rate is reported.
	const orders = 1000

	// backlog stops inventory and places the orders over HTTP.
	backlog := func(ctx SpecContext, side string, opts ...stack.Option) (*stack.Stack, *history.History, *stack.Replica, fault.Fault, time.Time) {
		s := startStack(ctx, "backlog-"+side, opts...)
		h := &history.History{}
		started := time.Now()
		inv := s.Replica("inventory", 1)
		stopInventory := fault.Stop(s.Docker(), inv.Target(), 5*time.Second)
		By("stopping inventory")
		Expect(fault.Inject(ctx, h, stopInventory)).To(Succeed())
		By("placing 1,000 orders over HTTP")
		load := workload.Orders{Prefix: "backlog-" + side, Count: orders, Concurrency: 8}
		load.Place(ctx, s.Orders(), h, load.Plan(rng()))
		return s, h, inv, stopInventory, started
	}

	It("holds with a durable queue", Label("safe"), func(ctx SpecContext) {
		s, h, _, stopInventory, started := backlog(ctx, "safe")
		By("seeing the inventory queue grow to 1,000")
		Eventually(ctx, func(g Gomega) {
			q, err := s.Management().Queue(ctx, contract.InventoryOrdersQueue)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(q.Ready).To(Equal(orders))
		}).Should(Succeed())

		By("starting inventory and timing the drain")
		Expect(fault.Heal(ctx, h, stopInventory)).To(Succeed())
		healed := time.Now()
		Eventually(ctx, func(g Gomega) {
			done, err := s.Inventory().Processed(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(len(done)).To(BeNumerically(">=", orders))
		}).WithPolling(50 * time.Millisecond).Should(Succeed())
		drain := time.Since(healed)
		snap := settle(ctx, s, 1500*time.Millisecond)
		rate := fmt.Sprintf("drained %d in %.2fs from start: %.0f orders/s", orders, drain.Seconds(), float64(orders)/drain.Seconds())
		f := verdict(ctx, "backlog drain", "safe", s, h, history.KindPlace, snap, started, rate)
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders), f.Verdict)
	}, SpecTimeout(4*time.Minute))

	It("is caught when the queue goes away with its consumer (UNSAFE_TRANSIENT_QUEUES)", Label("unsafe"), func(ctx SpecContext) {
		s, h, inv, stopInventory, started := backlog(ctx, "unsafe", stack.Env("*", unsafe("UNSAFE_TRANSIENT_QUEUES")))
		By("waiting until notification has every order, so every event was published")
		Eventually(ctx, func(g Gomega) {
			notes, err := s.Notifications().List(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			received := 0
			for _, n := range notes {
				if n.Kind == contract.KindReceived {
					received++
				}
			}
			g.Expect(received).To(Equal(orders))
		}).Should(Succeed())
		q, err := s.Management().Queue(ctx, contract.InventoryOrdersQueue)
		Expect(err).NotTo(HaveOccurred())
		depth := fmt.Sprintf("inventory queue with inventory down: exists %v, %d ready", q.Exists, q.Ready)
		By(depth)
		Expect(fault.Heal(ctx, h, stopInventory)).To(Succeed())
		Eventually(ctx, inv.Ready).Should(Succeed())
		snap := settle(ctx, s, 1500*time.Millisecond)
		f := verdict(ctx, "backlog drain", "unsafe", s, h, history.KindPlace, snap, started, depth)
		Expect(f.Lost).To(BeNumerically(">", 0), "the control must report lost orders: %s", f.Verdict)
	}, SpecTimeout(4*time.Minute))
})
