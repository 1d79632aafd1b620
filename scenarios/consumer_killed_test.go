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
	"github.com/mqchaos/mqchaos/harness/workload"
)

var _ = Describe("Consumer killed before ack: the message is redelivered and applied once", Label("guarantee:no-loss", "guarantee:exactly-once-effect"), func() {
	// A consumer that dies after committing an effect and before acking it
	// gets the message again and does not apply it twice; one killed with
	// SIGKILL mid-stream loses nothing, because unacked messages go back to
	// the queue.

	When("inventory exits at the failpoint between commit and ack", func() {
		const orders = 40
		run := func(ctx SpecContext, side, idempotency string) report.Figures {
			s := startStack(ctx, "killed-failpoint-"+side, stack.Env("inventory", map[string]string{
				"IDEMPOTENCY": idempotency, "FAILPOINTS": "inventory.after-commit-before-ack=1",
			}))
			h := &history.History{}
			started := time.Now()
			By("placing 40 orders; inventory exits after committing the first")
			load := workload.Orders{Prefix: "killed-fp-" + side, Count: orders}
			load.Place(ctx, s.Orders(), h, load.Plan(rng()))
			inv := s.Replica("inventory", 1)
			Eventually(ctx, inv.Running).Should(BeFalse())
			Expect(inv.ExitCode(ctx)).To(Equal(3), "exit status of a failpoint")
			h.Event(history.KindFault, "failpoint inventory-1", "exited")
			By("starting inventory again")
			Expect(inv.StartAgain(ctx)).To(Succeed())
			Eventually(ctx, inv.Ready).Should(Succeed())
			snap := settle(ctx, s, 1500*time.Millisecond)
			return verdict(ctx, "killed at failpoint", side, s, h, history.KindPlace, snap, started)
		}

		It("holds with durable idempotency", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe", "durable")
			expectHeld(f)
			Expect(f.Processed).To(Equal(orders), f.Verdict)
		}, SpecTimeout(4*time.Minute))

		It("is caught without idempotency (IDEMPOTENCY=none)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "unsafe", "none")
			Expect(f.Duplicated).To(BeNumerically(">", 0), "the control must report a duplicated effect: %s", f.Verdict)
		}, SpecTimeout(4*time.Minute))
	})

	When("inventory is killed with SIGKILL in the middle of a stream", func() {
		const orders = 1000
		run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
			s := startStack(ctx, "killed-sigkill-"+side, append([]stack.Option{slowInventory}, opts...)...)
			h := &history.History{}
			started := time.Now()
			inv := s.Replica("inventory", 1)
			processed := streamBacklog(ctx, s, h, "killed-kill-"+side, orders)
			kill := fault.Kill(s.Docker(), inv.Target())
			Expect(fault.Inject(ctx, h, kill)).To(Succeed())
			By(fmt.Sprintf("killed inventory with SIGKILL, %d of %d orders seen processed just before", processed, orders))
			Expect(fault.Heal(ctx, h, kill)).To(Succeed())
			Eventually(ctx, inv.Ready).Should(Succeed())
			snap := settle(ctx, s, 1500*time.Millisecond)
			return verdict(ctx, "killed by SIGKILL", side, s, h, history.KindPublish, snap, started)
		}

		It("holds with manual acks", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe")
			expectHeld(f)
			Expect(f.Processed).To(Equal(orders), f.Verdict)
		}, SpecTimeout(4*time.Minute))

		It("is caught with auto-ack (UNSAFE_AUTO_ACK)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "unsafe", stack.Env("inventory", unsafe("UNSAFE_AUTO_ACK")))
			Expect(f.Lost).To(BeNumerically(">", 0), "the control must report lost orders: %s", f.Verdict)
		}, SpecTimeout(4*time.Minute))
	})
})
