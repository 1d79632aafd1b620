package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func sensitivity(d *decl) {
	d.Scenario("Sensitivity: one unit lost in 10,000 is reported, and nothing when nothing is lost", Label("guarantee:no-loss", "guarantee:exactly-once-effect", "sensitivity", labelSharedInfra), Doc(`The smallest violation mqchaos must see. 10,000 units go through
an AMQP input with no fault. On the safe side every effect shows
every unit. The first control's consumer acks one delivery in
10,000 without applying it: exactly one unit must be reported
lost, every run. The second's applies one unit in 10,000 twice:
exactly one must be reported duplicated. Run it repeatedly (make
sensitivity) to state the rate at which a single lost or
duplicated unit is caught and a clean run is called clean.`), Needs("an AMQP input; the controls need a switch that loses one delivery in 10,000, and one that applies one unit in 10,000 twice."), func() {
		const units = 10000

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input := t.amqpInput()
			s := t.startStack(ctx, "sensitivity-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			t.By(fmt.Sprintf("sending %d units through %s", units, input))
			l := t.load("sensitivity-"+side, units)
			l.Concurrency = 8
			t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed())
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			return t.verdict(ctx, "sensitivity", side, s, h, obs, started, []string{input})
		}

		d.It("reports nothing when nothing is lost", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(6*time.Minute))

		d.It("reports the one unit lost when a consumer acks one delivery in 10,000 unapplied (control lose-one-in-10000)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: lose-one-in-10000", t.control("lose-one-in-10000"))
			t.Expect(f.Lost()).To(HaveLen(1), "exactly one unit of %d must be reported lost: %s", units, f)
			t.Expect(f.Duplicated()).To(BeEmpty(), "%s", f)
		}, SpecTimeout(6*time.Minute))

		d.It("reports the one unit duplicated when a consumer applies one unit in 10,000 twice (control duplicate-one-in-10000)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: duplicate-one-in-10000", t.control("duplicate-one-in-10000"))
			t.Expect(f.Duplicated()).To(HaveLen(1), "exactly one unit of %d must be reported duplicated: %s", units, f)
			t.Expect(f.Lost()).To(BeEmpty(), "%s", f)
		}, SpecTimeout(6*time.Minute))
	})
}
