package catalogue

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func publisherCrash() {
	Describe("Publisher crash between commit and publish: the work is published after restart", Label("guarantee:no-loss", "guarantee:outbox", labelSharedInfra), func() {
		// The service that accepts work over HTTP dies right after storing
		// a unit and before its message leaves: kept in an outbox, the
		// message is published after a restart and the unit has every
		// effect.
		// Needs: the failpoint after-commit-before-publish, in the service
		// an HTTP input calls.
		const units = 20

		run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
			fp, spec := failpoint("after-commit-before-publish")
			input := ""
			for _, name := range sys.InputNames("http") {
				if sys.Inputs[name].HTTP.Service == spec.Service {
					input = name
				}
			}
			if input == "" {
				Skip(sys.Name + " has no HTTP input to " + spec.Service)
			}
			s := startStack(ctx, "pubcrash-"+side, append(opts, fp)...)
			h := &history.History{}
			started := time.Now()
			l := load("pubcrash-"+side, units)
			us := l.Units()
			By("sending one unit: " + spec.Service + " exits after storing it")
			l.Concurrency = 1
			Expect(workload.RunUnits(ctx, s, h, input, l, us[:1])).To(Succeed())
			r := s.Replica(spec.Service, 1)
			Eventually(ctx, r.Running).Should(BeFalse())
			h.Event(history.KindFault, "failpoint "+r.Name, "exited")
			By("starting " + r.Name + " again and sending the other 19")
			Expect(r.StartAgain(ctx)).To(Succeed())
			Eventually(ctx, r.Ready).Should(Succeed())
			l.Concurrency = 4
			Expect(workload.RunUnits(ctx, s, h, input, l, us[1:])).To(Succeed())
			obs := settled(ctx, s, 1500*time.Millisecond, input)
			return verdict(ctx, "publisher crash", side, s, h, obs, started, []string{input})
		}

		It("holds with the transactional outbox", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe")
			expectHeld(f)
			expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		It("is caught when messages are published after the commit (control no-outbox)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "control: no-outbox", control("no-outbox"))
			Expect(f.Lost()).NotTo(BeEmpty(), "the control must report the lost unit: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
