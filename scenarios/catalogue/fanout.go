package catalogue

import (
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
	. "github.com/onsi/gomega"
)

func fanout() {
	Describe("Multi-service fanout: every service gets every unit of work", Label("guarantee:fanout", "guarantee:no-loss", labelSharedInfra), func() {
		// Every accepted unit has every effect the description declares,
		// once: each consuming service has a queue of its own.
		// Needs: an input whose units two or more services act on.
		const units = 60

		run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
			input := anyInput()
			services := map[string]bool{}
			for _, e := range sys.EffectsOf(input) {
				services[e.Service] = true
			}
			if len(services) < 2 {
				Skip(sys.Name + ": only one service acts on " + input)
			}
			s := startStack(ctx, "fanout-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			By("sending 60 units through " + input)
			Expect(workload.Run(ctx, s, h, input, load("fanout-"+side, units))).To(Succeed())
			obs := settled(ctx, s, 1500*time.Millisecond, input)
			return verdict(ctx, "fanout", side, s, h, obs, started, []string{input})
		}

		It("holds with one queue per consuming service", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe")
			expectHeld(f)
			expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		It("is caught when two services share one queue (control shared-queue)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "control: shared-queue", control("shared-queue"))
			Expect(f.Lost()).NotTo(BeEmpty(), "the control must report lost units: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
