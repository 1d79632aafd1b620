package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func longOutage(d *decl) {
	d.Scenario("Long dependency outage: valid work waits out 30 s without its database, and nothing valid is dead-lettered", Label("guarantee:no-loss", "guarantee:retries", "fault:database"), Doc(`The database is killed for 30 s, many times a consumer's retry
budget (tuning few-retries), while units stream in: a consumer holds its delivery
while its dependency is down instead of spending its retries, so
nothing valid reaches a dead-letter queue and nothing is lost.
Valid work that was dead-lettered anyway (the control) comes back
with mqchaos-dlq-replay, even when the replay is interrupted
half-way: each message leaves the dead-letter queue only after
its republish was confirmed.`), Needs("a database and an AMQP input."), func() {
		// The sizes each spec exposes to replay and shrink (Knobs): 120
		// units at 20 a second, the database down 30 s.
		const (
			units  = 120
			rate   = 20
			outage = 30 * time.Second
		)

		type run struct {
			s       *stack.Stack
			h       *history.History
			input   string
			started time.Time
			units   int
			outage  time.Duration
		}
		outageRun := func(ctx context.Context, t *T, side string, opts ...stack.Option) run {
			if !t.sys.HasDatabase() {
				t.Skip(t.sys.Name + " has no database")
			}
			r := run{input: t.amqpInput(), h: &history.History{}, units: t.units(units), outage: t.hold(outage)}
			rate := t.rate(rate)
			r.s = t.startIsolatedStack(ctx, "outage-"+side, append([]stack.Option{t.tuning("few-retries")}, opts...)...)
			r.started = time.Now()
			t.By(fmt.Sprintf("streaming %d units through %s at %g per second", r.units, r.input, rate))
			l := t.load("outage-"+side, r.units)
			l.Rate, l.Concurrency = rate, 2
			loaded := t.Go(func() { t.Expect(workload.Run(ctx, r.s, r.h, r.input, l)).To(Succeed()) })
			// A second's units first, or all of them when there are fewer.
			t.Eventually(ctx, accepted(r.h, r.input)).Should(BeNumerically(">=", min(int(rate), r.units)))
			t.By(fmt.Sprintf("killing the database and holding it down for %s", r.outage))
			kill := fault.Kill(r.s.Engine(), r.s.Infra.DatabaseTarget())
			t.inject(ctx, r.h, kill)
			t.Expect(fault.Hold(ctx, r.outage)).To(Succeed())
			t.Expect(fault.Heal(ctx, r.h, kill)).To(Succeed())
			t.Expect(r.s.Infra.WaitDatabase(ctx)).To(Succeed())
			loaded()
			return r
		}

		d.It("holds: consumers wait for the database, nothing is dead-lettered or lost", Label("safe"), func(ctx context.Context, t *T) {
			r := outageRun(ctx, t, "safe")
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			f := t.verdict(ctx, "long database outage", "safe", r.s, r.h, obs, r.started, []string{r.input}, fmt.Sprintf("database down %s", r.outage))
			t.expectHeld(f)
			t.expectProcessed(f, r.units)
			t.Expect(f.DeadLettered).To(BeZero(), "valid work was dead-lettered: %s", f)
		}, SpecTimeout(5*time.Minute))

		d.It("is caught when every failure counts against the retry budget (control count-outage-retries)", Label("unsafe"), func(ctx context.Context, t *T) {
			r := outageRun(ctx, t, "control: count-outage-retries", t.control("count-outage-retries"))
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			f := t.verdict(ctx, "long database outage", "control: count-outage-retries", r.s, r.h, obs, r.started, []string{r.input}, fmt.Sprintf("database down %s", r.outage))
			t.Expect(f.DeadLettered).To(BeNumerically(">", 0), "the control must dead-letter valid work: %s", f)
			t.expectCaught(f, "lost", f.Lost(), r.units)
		}, SpecTimeout(5*time.Minute))

		d.It("recovers what was dead-lettered with mqchaos dlq-replay, interrupted half-way (control count-outage-retries dead-letters the work first)", Label("safe", "guarantee:dlq-replay"), func(ctx context.Context, t *T) {
			r := outageRun(ctx, t, "replay", t.control("count-outage-retries"))
			t.settled(ctx, r.s, 2*time.Second, r.input)
			dead, err := settle.DeadLetterCount(ctx, r.s)
			t.Expect(err).NotTo(HaveOccurred())
			t.Expect(dead).To(BeNumerically(">", 1), "the outage dead-lettered nothing to replay")
			u, err := r.s.AMQPURL(ctx)
			t.Expect(err).NotTo(HaveOccurred())
			opts := broker.ReplayOptions{ReasonHeader: t.sys.ReasonHeader, SourceHeader: t.sys.SourceHeader}

			half := dead / 2
			t.By(fmt.Sprintf("replaying %d dead letters, and interrupting the replay after %d", dead, half))
			interrupted, stop := context.WithCancel(ctx)
			opts.Moved = func(broker.DeadLetter) {
				if half--; half == 0 {
					stop()
				}
			}
			moved := 0
			for _, dlq := range t.sys.DeadLetterQueues() {
				n, _ := broker.Replay(interrupted, u, dlq, opts)
				moved += n
			}
			stop()
			r.h.Event(history.KindFault, "dlq-replay", fmt.Sprintf("interrupted after %d", moved))
			t.By(fmt.Sprintf("running the replay again to the end (%d moved before the interruption)", moved))
			opts.Moved = nil
			for _, dlq := range t.sys.DeadLetterQueues() {
				n, err := broker.Replay(ctx, u, dlq, opts)
				t.Expect(err).NotTo(HaveOccurred())
				moved += n
			}
			obs := t.settled(ctx, r.s, 2*time.Second, r.input)
			f := t.verdict(ctx, "long database outage", "replayed", r.s, r.h, obs, r.started, []string{r.input},
				fmt.Sprintf("%d dead letters replayed in two runs", moved))
			t.expectHeld(f)
			t.expectProcessed(f, r.units)
			t.Expect(f.DeadLettered).To(BeZero(), "dead letters left after the replay: %s", f)
		}, SpecTimeout(5*time.Minute))
	})
}
