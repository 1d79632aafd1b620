package scenarios_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
	"github.com/mqchaos/mqchaos/services/contract"
)

var _ = Describe("Publisher crash between commit and publish: the outbox publishes after restart", Label("guarantee:no-loss", "guarantee:outbox"), func() {
	// order-service dies right after committing an order and before its
	// event leaves: the event is in the outbox, so after a restart it is
	// published and the order ends reserved.
	const orders = 20

	run := func(ctx SpecContext, side string, opts ...stack.Option) (report.Figures, string) {
		s := startStack(ctx, "pubcrash-"+side, append(opts,
			stack.Env("order", map[string]string{"FAILPOINTS": "order.after-commit-before-publish=1"}))...)
		h := &history.History{}
		started := time.Now()
		plan := workload.Orders{Prefix: "pubcrash-" + side, Count: orders}.Plan(rng())
		By("placing one order: order-service exits after committing it")
		first := workload.Orders{Concurrency: 1}
		first.Place(ctx, s.Orders(), h, plan[:1])
		ord := s.Replica("order", 1)
		Eventually(ctx, ord.Running).Should(BeFalse())
		h.Event(history.KindFault, "failpoint order-1", "exited")
		By("starting order-service again and placing the other 19")
		Expect(ord.StartAgain(ctx)).To(Succeed())
		Eventually(ctx, ord.Ready).Should(Succeed())
		rest := workload.Orders{Concurrency: 4}
		rest.Place(ctx, s.Orders(), h, plan[1:])
		snap := settle(ctx, s, 1500*time.Millisecond)
		f := verdict(ctx, "publisher crash", side, s, h, history.KindPlace, snap, started)
		return f, snap.Statuses[plan[0].OrderID]
	}

	It("holds with the transactional outbox", Label("safe"), func(ctx SpecContext) {
		f, status := run(ctx, "safe")
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders), f.Verdict)
		Expect(status).To(Equal(contract.StatusReserved), "the order committed before the crash")
	}, SpecTimeout(4*time.Minute))

	It("is caught when events are published after the commit (UNSAFE_NO_OUTBOX)", Label("unsafe"), func(ctx SpecContext) {
		f, status := run(ctx, "unsafe", stack.Env("order", unsafe("UNSAFE_NO_OUTBOX")))
		Expect(f.Lost).To(BeNumerically(">", 0), "the control must report the lost order: %s", f.Verdict)
		Expect(status).To(Equal(contract.StatusPending), "the order committed before the crash stays pending")
	}, SpecTimeout(4*time.Minute))
})
