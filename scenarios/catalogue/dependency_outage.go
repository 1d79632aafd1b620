package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func dependencyOutage(d *decl) {
	d.Scenario("Transient dependency failure: messages wait out a database outage", Label("guarantee:no-loss", "guarantee:retries", "fault:database"), Doc(`The database is paused for 10 s while units flow: the consumers
retry, keep the messages unacked meanwhile, and succeed after
recovery. Nothing is dead-lettered and nothing is lost.`), Needs("a database and an AMQP input."), func() {
		// The sizes each spec exposes to replay and shrink (Knobs).
		const (
			units = 200
			rate  = 40
			// hold is five of the reference's HANDLER_TIMEOUT (2 s): with
			// 3 s, only an attempt begun in the pause's first second timed
			// out, and the auto-ack control lost 2 of 200 in one run and
			// none in another.
			hold = 10 * time.Second
		)

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			if !t.sys.HasDatabase() {
				t.Skip(t.sys.Name + " has no database")
			}
			input := t.amqpInput()
			units, rate, hold := t.units(units), t.rate(rate), t.hold(hold)
			s := t.startIsolatedStack(ctx, "dbpause-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			t.By(fmt.Sprintf("streaming %d units through %s at %g per second", units, input, rate))
			l := t.load("dbpause-"+side, units)
			l.Rate, l.Concurrency = rate, 2
			loaded := t.Go(func() { t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })
			// A second's units first, or all of them when there are fewer.
			t.Eventually(ctx, accepted(h, input)).Should(BeNumerically(">=", min(int(rate), units)))
			t.By(fmt.Sprintf("pausing the database for %s", hold))
			pause := fault.Pause(s.Engine(), s.Infra.DatabaseTarget())
			t.inject(ctx, h, pause)
			t.Expect(fault.Hold(ctx, hold)).To(Succeed())
			t.Expect(fault.Heal(ctx, h, pause)).To(Succeed())
			loaded()
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			return t.verdict(ctx, "database paused", side, s, h, obs, started, []string{input})
		}

		d.It("holds with bounded retries and manual acks", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, t.Knobs().Units)
			t.Expect(f.DeadLettered).To(BeZero(), "a transient failure must not dead-letter")
		}, SpecTimeout(5*time.Minute))

		d.It("is caught with auto-ack (control auto-ack)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: auto-ack", t.control("auto-ack"))
			t.expectCaught(f, "lost", f.Lost(), t.Knobs().Units)
		}, SpecTimeout(5*time.Minute))
	})
}
