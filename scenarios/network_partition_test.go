package scenarios_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

var _ = Describe("Network partition: a consumer cut off mid-stream reconnects and loses nothing", Label("guarantee:no-loss", "guarantee:reconnect", "fault:network"), func() {
	// inventory-service is cut off from the stack's network, broker and
	// database both, while it works through a backlog. What it had not
	// acked stays the broker's; after the heal it reconnects by itself,
	// finishes the backlog and applies every order once. One worker
	// applying one message per transaction keeps the stream going for
	// seconds, so the cut lands mid-stream on both sides.
	const orders = 1000

	run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
		s := startStack(ctx, "partition-"+side, append([]stack.Option{slowInventory}, opts...)...)
		h := &history.History{}
		started := time.Now()
		inv := s.Replica("inventory", 1)
		processed := streamBacklog(ctx, s, h, "partition-"+side, orders)
		cut := fault.Disconnect(s.Docker(), inv.Target())
		Expect(fault.Inject(ctx, h, cut)).To(Succeed())
		By(fmt.Sprintf("cut inventory off the network, %d of %d orders seen processed just before; holding it for 6 s, three heartbeats", processed, orders))
		Expect(fault.Hold(ctx, 6*time.Second)).To(Succeed())
		Expect(fault.Heal(ctx, h, cut)).To(Succeed())

		By("waiting for inventory to reconnect by itself")
		Eventually(ctx, inv.Ready).Should(Succeed())
		snap := settle(ctx, s, 2*time.Second)
		return verdict(ctx, "network partition", side, s, h, history.KindPublish, snap, started)
	}

	It("holds with manual acks and durable idempotency", Label("safe"), func(ctx SpecContext) {
		f := run(ctx, "safe")
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders), f.Verdict)
		Expect(f.DeadLettered).To(BeZero(), "a partition is a transient failure: nothing may be dead-lettered")
	}, SpecTimeout(4*time.Minute))

	It("is caught with auto-ack (UNSAFE_AUTO_ACK)", Label("unsafe"), func(ctx SpecContext) {
		f := run(ctx, "unsafe", stack.Env("inventory", unsafe("UNSAFE_AUTO_ACK")))
		Expect(f.Lost).To(BeNumerically(">", 0), "the control must report lost orders: %s", f.Verdict)
	}, SpecTimeout(4*time.Minute))
})
