package catalogue

import (
	"context"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func publisherCrash(d *decl) {
	d.Scenario("Publisher crash between commit and publish: the work is published after restart", Label("guarantee:no-loss", "guarantee:outbox", labelSharedInfra), Doc(`The service that accepts work over HTTP dies right after storing
a unit and before its message leaves: kept in an outbox, the
message is published after a restart and the unit has every
effect.`), Needs("the failpoint after-commit-before-publish, in the service an HTTP input calls."), func() {
		const units = 20

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			fp, spec := t.failpoint("after-commit-before-publish")
			input := ""
			for _, name := range t.sys.InputNames("http") {
				if t.sys.Inputs[name].HTTP.Service == spec.Service {
					input = name
				}
			}
			if input == "" {
				t.Skip(t.sys.Name + " has no HTTP input to " + spec.Service)
			}
			s := t.startStack(ctx, "pubcrash-"+side, append(opts, fp)...)
			h := &history.History{}
			started := time.Now()
			l := t.load("pubcrash-"+side, units)
			us := l.Units()
			t.By("sending one unit: " + spec.Service + " exits after storing it")
			l.Concurrency = 1
			t.Expect(workload.RunUnits(ctx, s, h, input, l, us[:1])).To(Succeed())
			r := s.Replica(spec.Service, 1)
			t.Eventually(ctx, r.Running).Should(BeFalse())
			h.Event(history.KindFault, "failpoint "+r.Name, "exited")
			t.By("starting " + r.Name + " again and sending the other 19")
			t.Expect(r.StartAgain(ctx)).To(Succeed())
			t.Eventually(ctx, r.Ready).Should(Succeed())
			l.Concurrency = 4
			t.Expect(workload.RunUnits(ctx, s, h, input, l, us[1:])).To(Succeed())
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			return t.verdict(ctx, "publisher crash", side, s, h, obs, started, []string{input})
		}

		d.It("holds with the transactional outbox", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when messages are published after the commit (control no-outbox)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: no-outbox", t.control("no-outbox"))
			t.Expect(f.Lost()).NotTo(BeEmpty(), "the control must report the lost unit: %s", f)
		}, SpecTimeout(4*time.Minute))
	})
}
