package catalogue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func orderPerKey(d *decl) {
	d.Scenario("Order per key: the events of one entity are applied in the order they were published, whichever replica takes each", Label("guarantee:order-per-key", "fault:consumer", labelSharedInfra), Doc(`Each unit is several events of one key (an order placed, then
cancelled), published in order, each once the one before it is
confirmed. Two replicas compete on the consuming queue; one is
paused before the load, so the events it was handed wait in its
hands while the other takes the rest: a unit's later event often
reaches the running replica before its earlier one is applied.
After 2 s the paused replica resumes. The effect with an order
must show every unit's steps, each once, in order. The control
applies events as they come.`), Needs("an AMQP input with steps, and an effect with an order of that input's units."), func() {
		const (
			units = 200
			hold  = 2 * time.Second
		)

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input, e := t.orderedInput()
			svc := e.Service
			opts = append(opts, stack.Replicas(svc, 2))
			s := t.startStack(ctx, "order-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			paused := s.Replica(svc, 1)
			t.By("pausing " + paused.Name + ": what the broker hands it waits there")
			pause := fault.Pause(s.Engine(), paused.Target())
			t.inject(ctx, h, pause)
			steps := strings.Join(t.sys.Inputs[input].AMQP.StepNames(), " then ")
			t.By(fmt.Sprintf("publishing %d units through %s, each %s, in order", units, input, steps))
			l := t.load("order-"+side, units)
			l.Concurrency = 4
			t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed())
			t.By(fmt.Sprintf("holding the pause %s while %s works, then resuming %s", hold, s.Replica(svc, 2).Name, paused.Name))
			t.Expect(fault.Hold(ctx, hold)).To(Succeed())
			t.Expect(fault.Heal(ctx, h, pause)).To(Succeed())
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			return t.verdict(ctx, "order per key", side, s, h, obs, started, []string{input}, "effect in order: "+effect.Name(e))
		}

		d.It("holds with a lock per order and early events parked until their predecessor", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(5*time.Minute))

		d.It("is caught when events are applied as they come (control no-ordering)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: no-ordering", t.control("no-ordering"))
			out := f.OutOfOrder()
			t.Expect(len(out)).To(BeNumerically(">=", max(20, units/10)), "the control must report at least 10%% of the units (or 20) out of order: %s", f)
		}, SpecTimeout(5*time.Minute))
	})
}

// orderedInput is the system's first AMQP input with steps that an
// effect with an order judges, and that effect; the spec is skipped when
// the system has none.
func (t *T) orderedInput() (string, system.Effect) {
	for _, name := range t.sys.InputNames("amqp") {
		if len(t.sys.Inputs[name].AMQP.Steps) == 0 {
			continue
		}
		for _, e := range t.sys.EffectsOf(name) {
			if len(e.Order) > 0 && slices.Contains(e.Inputs, name) {
				return name, e
			}
		}
	}
	t.Skip(t.sys.Name + " has no AMQP input with steps judged by an effect with an order: it declares no order per key")
	return "", system.Effect{}
}
