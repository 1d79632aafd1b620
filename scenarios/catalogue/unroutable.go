package catalogue

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func unroutable(d *decl) {
	d.Scenario("Publishes that no queue receives are noticed and sent again, not silently dropped", Label("guarantee:no-loss", "fault:broker", labelSharedInfra), Doc(`While a service accepts work over HTTP, the queues its events
feed lose their bindings (a botched deployment, a hand edit):
the broker routes those events to no queue, confirms them, and
drops them. A publisher that asks for them back (mandatory)
learns that each was returned and keeps it to publish again;
once the bindings are back, every unit is applied once. Control
no-mandatory: the confirm is all the publisher sees, and every
event published while the bindings were missing is lost.
A publish that reaches some of its queues is not returned, so
the bindings are removed and restored while the publisher's
replicas are paused: each publish finds all of them or none, as
when the only queue for an event loses its binding. Only the
publisher: a consumer frozen past its heartbeat reconnects and
declares its bindings again, which would undo half the fault.`), Needs("an HTTP input whose effects other services apply from a queue."), func() {
		const (
			units = 400
			rate  = 40
			hold  = 6 * time.Second
		)

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input := t.httpInput("the publisher under test is a service")
			var queues []string
			for _, e := range t.sys.EffectsOf(input) {
				svc := t.sys.Service(e.Service)
				if svc.Name == t.sys.Inputs[input].HTTP.Service {
					continue
				}
				for _, c := range svc.Consumes {
					if !slices.Contains(queues, c.Queue) {
						queues = append(queues, c.Queue)
					}
				}
			}
			if len(queues) == 0 {
				t.Skip(fmt.Sprintf("no service of %s applies what %s accepts from a queue", t.sys.Name, input))
			}
			s := t.startStack(ctx, "unroutable-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			t.By(fmt.Sprintf("streaming %d units through %s at %d per second", units, input, rate))
			l := t.load("unroutable-"+side, units)
			l.Rate = rate
			loaded := t.Go(func() { t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })
			t.Eventually(ctx, accepted(h, input)).Should(BeNumerically(">=", rate))
			unbind := fault.Unbind(s.Management(), queues...)
			publisher := t.sys.Inputs[input].HTTP.Service
			whilePaused(ctx, t, s, h, publisher, func() { t.inject(ctx, h, unbind) })
			during := accepted(h, input)()
			t.Expect(fault.Hold(ctx, hold)).To(Succeed())
			whilePaused(ctx, t, s, h, publisher, func() { t.Expect(fault.Heal(ctx, h, unbind)).To(Succeed()) })
			during = accepted(h, input)() - during
			loaded()
			obs := t.settled(ctx, s, 2*time.Second, input)
			return t.verdict(ctx, "unroutable publish", side, s, h, obs, started, []string{input},
				fmt.Sprintf("%s unbound for %s, %d units accepted meanwhile", queues, hold, during))
		}

		d.It("holds with mandatory publishes and returns handled", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectAnswered(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught without mandatory: events routed nowhere are lost (control no-mandatory)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: no-mandatory", t.control("no-mandatory"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))
	})
}

// whilePaused runs f with every replica of service paused, so that
// nothing it does sees a change f makes half done.
func whilePaused(ctx context.Context, t *T, s *stack.Stack, h *history.History, service string, f func()) {
	var paused []fault.Fault
	for _, r := range s.Replicas(service) {
		p := fault.Pause(s.Engine(), r.Target())
		t.inject(ctx, h, p)
		paused = append(paused, p)
	}
	f()
	for _, p := range paused {
		t.Expect(fault.Heal(ctx, h, p)).To(Succeed())
	}
}
