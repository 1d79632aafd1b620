package scenarios_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

var _ = Describe("Multi-service fanout: every service gets every order", Label("guarantee:fanout", "guarantee:no-loss"), func() {
	// Every accepted order is processed once by inventory-service and
	// notified once by notification-service: each consuming service has a
	// queue of its own bound to the orders exchange.
	const orders = 60

	run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
		s := startStack(ctx, "fanout-"+side, opts...)
		h := &history.History{}
		started := time.Now()
		By("placing 60 orders over HTTP")
		load := workload.Orders{Prefix: "fanout-" + side, Count: orders}
		load.Place(ctx, s.Orders(), h, load.Plan(rng()))
		snap := settle(ctx, s, 1500*time.Millisecond)
		return verdict(ctx, "fanout", side, s, h, history.KindPlace, snap, started)
	}

	It("holds with one queue per consuming service", Label("safe"), func(ctx SpecContext) {
		f := run(ctx, "safe")
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders), f.Verdict)
	}, SpecTimeout(4*time.Minute))

	It("is caught when inventory and notification share one queue (UNSAFE_SHARED_QUEUE)", Label("unsafe"), func(ctx SpecContext) {
		f := run(ctx, "unsafe", stack.Env("*", unsafe("UNSAFE_SHARED_QUEUE")))
		Expect(f.Lost).To(BeNumerically(">", 0), "the control must report lost orders: %s", f.Verdict)
	}, SpecTimeout(4*time.Minute))
})
