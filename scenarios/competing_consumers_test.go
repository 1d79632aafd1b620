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

var _ = Describe("Competing consumers: replicas share a queue, each order is applied once", Label("guarantee:exactly-once-effect", "guarantee:competing-consumers"), func() {
	// Three inventory replicas consume one queue: every order is applied
	// exactly once across them, the work is spread over more than one
	// replica, and a replica that dies after its commit and before its ack
	// does not make another replica apply that order again.
	const orders = 150

	run := func(ctx SpecContext, side string, idempotency string) (report.Figures, map[string]int) {
		s := startStack(ctx, "competing-"+side,
			stack.Replicas("inventory", 3),
			stack.Env("inventory", map[string]string{
				"IDEMPOTENCY": idempotency,
				"FAILPOINTS":  "inventory.after-commit-before-ack=1",
				"PREFETCH":    "8",
			}))
		h := &history.History{}
		started := time.Now()
		By("placing 150 orders over HTTP; the first replica to commit one exits before its ack")
		load := workload.Orders{Prefix: "competing-" + side, Count: orders, Concurrency: 6}
		load.Place(ctx, s.Orders(), h, load.Plan(rng()))

		By("finding the replica that exited at the failpoint and starting it again")
		var crashed *stack.Replica
		Eventually(ctx, func(g Gomega) {
			for _, r := range s.Replicas("inventory") {
				running, err := r.Running(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				if !running {
					crashed = r
				}
			}
			g.Expect(crashed).NotTo(BeNil(), "no inventory replica exited")
		}).Should(Succeed())
		h.Event(history.KindFault, "failpoint "+crashed.Name, "exited")
		Expect(crashed.StartAgain(ctx)).To(Succeed())
		Eventually(ctx, crashed.Ready).Should(Succeed())
		h.Event(history.KindFault, "failpoint "+crashed.Name, "restarted")

		snap := settle(ctx, s, 1500*time.Millisecond)
		return verdict(ctx, "competing consumers", side, s, h, history.KindPlace, snap, started, describeSpread(snap.Replicas)), snap.Replicas
	}

	It("holds with durable idempotency", Label("safe"), func(ctx SpecContext) {
		f, byReplica := run(ctx, "safe", "durable")
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders), f.Verdict)
		Expect(len(byReplica)).To(BeNumerically(">", 1), "work went to one replica only: %v", byReplica)
	}, SpecTimeout(4*time.Minute))

	It("is caught with idempotency kept in each replica's memory (IDEMPOTENCY=memory)", Label("unsafe"), func(ctx SpecContext) {
		f, _ := run(ctx, "unsafe", "memory")
		Expect(f.Duplicated).To(BeNumerically(">", 0), "the control must report a duplicated effect: %s", f.Verdict)
	}, SpecTimeout(4*time.Minute))
})
