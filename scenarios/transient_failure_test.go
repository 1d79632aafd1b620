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

var _ = Describe("Transient dependency failure: messages wait out a database outage", Label("guarantee:no-loss", "guarantee:retries", "fault:database"), func() {
	// PostgreSQL is paused for 3 s while orders flow: the consumers retry
	// with backoff, keep the messages unacked meanwhile, and succeed after
	// recovery. Nothing is dead-lettered and nothing is lost.
	const orders = 200

	run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
		s := startIsolatedStack(ctx, "dbpause-"+side, opts...)
		h := &history.History{}
		started := time.Now()
		By("streaming 200 orders straight to the broker at 40 per second")
		load := workload.Orders{Prefix: "dbpause-" + side, Count: orders, Rate: 40, Concurrency: 2}
		loaded := inBackground(func() { load.Publish(ctx, s.AMQPURL, h, load.Plan(rng())) })
		Eventually(ctx, func() int { return len(h.IDs(history.KindPublish, history.OK)) }).Should(BeNumerically(">=", 40))
		By("pausing PostgreSQL for 3 s")
		pause := fault.Pause(s.Docker(), s.Infra.DatabaseTarget())
		Expect(fault.Inject(ctx, h, pause)).To(Succeed())
		Expect(fault.Hold(ctx, 3*time.Second)).To(Succeed())
		Expect(fault.Heal(ctx, h, pause)).To(Succeed())
		loaded()
		snap := settle(ctx, s, 1500*time.Millisecond)
		return verdict(ctx, "database paused", side, s, h, history.KindPublish, snap, started)
	}

	It("holds with bounded retries and manual acks", Label("safe"), func(ctx SpecContext) {
		f := run(ctx, "safe")
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders), f.Verdict)
		Expect(f.DeadLettered).To(BeZero(), "a transient failure must not dead-letter")
	}, SpecTimeout(5*time.Minute))

	It("is caught with auto-ack (UNSAFE_AUTO_ACK)", Label("unsafe"), func(ctx SpecContext) {
		f := run(ctx, "unsafe", stack.Env("*", unsafe("UNSAFE_AUTO_ACK")))
		Expect(f.Lost).To(BeNumerically(">", 0), "the control must report lost orders: %s", f.Verdict)
	}, SpecTimeout(5*time.Minute))
})
