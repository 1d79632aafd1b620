package catalogue

import (
	"context"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
	. "github.com/onsi/gomega"
)

func fanout(d *decl) {
	d.Scenario("Multi-service fanout: every service gets every unit of work", Label("guarantee:fanout", "guarantee:no-loss", labelSharedInfra), Doc(`Every accepted unit has every effect the description declares,
once: each consuming service has a queue of its own.`), Needs("an input whose units two or more services act on."), func() {
		const units = 60

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input := t.anyInput()
			services := map[string]bool{}
			for _, e := range t.sys.EffectsOf(input) {
				services[e.Service] = true
			}
			if len(services) < 2 {
				t.Skip(t.sys.Name + ": only one service acts on " + input)
			}
			s := t.startStack(ctx, "fanout-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			t.By("sending 60 units through " + input)
			t.Expect(workload.Run(ctx, s, h, input, t.load("fanout-"+side, units))).To(Succeed())
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			return t.verdict(ctx, "fanout", side, s, h, obs, started, []string{input})
		}

		d.It("holds with one queue per consuming service", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when two services share one queue (control shared-queue)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: shared-queue", t.control("shared-queue"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))
	})
}
