package catalogue

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

func dependencyOutage() {
	Describe("Transient dependency failure: messages wait out a database outage", Label("guarantee:no-loss", "guarantee:retries", "fault:database"), func() {
		// The database is paused for 3 s while units flow: the consumers
		// retry, keep the messages unacked meanwhile, and succeed after
		// recovery. Nothing is dead-lettered and nothing is lost.
		// Needs: a database and an AMQP input.
		const units = 200

		run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
			if !sys.HasDatabase() {
				Skip(sys.Name + " has no database")
			}
			input := amqpInput()
			s := startIsolatedStack(ctx, "dbpause-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			By("streaming 200 units through " + input + " at 40 per second")
			l := load("dbpause-"+side, units)
			l.Rate, l.Concurrency = 40, 2
			loaded := inBackground(func() { Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })
			Eventually(ctx, accepted(h, input)).Should(BeNumerically(">=", 40))
			By("pausing the database for 3 s")
			pause := fault.Pause(s.Docker(), s.Infra.DatabaseTarget())
			Expect(fault.Inject(ctx, h, pause)).To(Succeed())
			Expect(fault.Hold(ctx, 3*time.Second)).To(Succeed())
			Expect(fault.Heal(ctx, h, pause)).To(Succeed())
			loaded()
			obs := settled(ctx, s, 1500*time.Millisecond, input)
			return verdict(ctx, "database paused", side, s, h, obs, started, []string{input})
		}

		It("holds with bounded retries and manual acks", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe")
			expectHeld(f)
			expectProcessed(f, units)
			Expect(f.DeadLettered).To(BeZero(), "a transient failure must not dead-letter")
		}, SpecTimeout(5*time.Minute))

		It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "control: auto-ack", control("auto-ack"))
			Expect(f.Lost()).NotTo(BeEmpty(), "the control must report lost units: %s", f)
		}, SpecTimeout(5*time.Minute))
	})
}
