package scenarios_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

var _ = Describe("Broker restart: accepted orders survive RabbitMQ restarting mid-stream", Label("guarantee:no-loss", "guarantee:reconnect", "fault:broker"), func() {
	// RabbitMQ is restarted while orders stream in and while inventory is
	// down with a backlog waiting for it: the services reconnect by
	// themselves, and every accepted order is processed once. Durable
	// quorum queues and persistent messages keep the backlog; the outbox
	// keeps what order-service accepted while the broker was away.
	const orders = 200

	run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
		s := startIsolatedStack(ctx, "restart-"+side, opts...)
		h := &history.History{}
		started := time.Now()
		By("streaming 200 orders over HTTP at 40 per second")
		load := workload.Orders{Prefix: "restart-" + side, Count: orders, Rate: 40}
		loaded := inBackground(func() { load.Place(ctx, s.Orders(), h, load.Plan(rng())) })
		Eventually(ctx, func() int { return len(h.IDs(history.KindPlace, history.OK)) }).Should(BeNumerically(">=", 40))

		inv := s.Replica("inventory", 1)
		stopInventory := fault.Stop(s.Docker(), inv.Target(), 5*time.Second)
		By("stopping inventory, so a backlog waits in its queue")
		Expect(fault.Inject(ctx, h, stopInventory)).To(Succeed())
		Eventually(ctx, func() int { return len(h.IDs(history.KindPlace, history.OK)) }).Should(BeNumerically(">=", 80))
		By("restarting RabbitMQ")
		Expect(fault.Inject(ctx, h, fault.Restart(s.Docker(), s.Infra.BrokerTarget(), 10*time.Second))).To(Succeed())
		Expect(s.Infra.WaitBroker(ctx)).To(Succeed())
		By("starting inventory again")
		Expect(fault.Heal(ctx, h, stopInventory)).To(Succeed())
		By("waiting for every replica to reconnect by itself")
		for _, svc := range stack.Services {
			for _, r := range s.Replicas(svc) {
				Eventually(ctx, r.Ready).Should(Succeed(), "%s did not become ready", r.Name)
			}
		}
		loaded()
		snap := settle(ctx, s, 2*time.Second)
		return verdict(ctx, "broker restart", side, s, h, history.KindPlace, snap, started)
	}

	It("holds with durable queues, persistent messages and the outbox", Label("safe"), func(ctx SpecContext) {
		f := run(ctx, "safe")
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders), f.Verdict)
	}, SpecTimeout(5*time.Minute))

	It("is caught with transient, exclusive, auto-delete queues (UNSAFE_TRANSIENT_QUEUES)", Label("unsafe"), func(ctx SpecContext) {
		f := run(ctx, "unsafe", stack.Env("*", unsafe("UNSAFE_TRANSIENT_QUEUES")))
		Expect(f.Lost).To(BeNumerically(">", 0), "the control must report lost orders: %s", f.Verdict)
	}, SpecTimeout(5*time.Minute))
})
