package catalogue

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func brokerAlarm(d *decl) {
	// Serial: the alarm is held 8 s and the broker must see a publish in
	// it; with the other process's spec beside it on two cores (load
	// average 15, in a fresh-clone run) order-service accepted 60 orders
	// in 27 s instead of 2 and published nothing the broker could block.
	d.Scenario("A broker alarm: blocked publishers lose nothing, apply nothing twice, and flow again when it clears", Serial, Label("guarantee:no-loss", "guarantee:no-duplicate-effect", "fault:broker"), Doc(`Mid-stream the broker's memory (or disk) alarm goes off, and
RabbitMQ blocks every connection that publishes
(connection.blocked) while consumers go on. A service that
accepts work over HTTP must keep what it accepted until it can
publish it, and publish it once the alarm clears: with an
outbox, the events wait in the database. Control no-outbox: the
service publishes right after its commit, the broker does not
take the publish while it blocks the connection, and the
service gives up: every order accepted during the alarm is
stored and never reaches the other services. The POST latency
before, during and after the alarm is reported.`), Needs("an HTTP input; a broker of its own (an alarm blocks the whole node)."), func() {
		const (
			// 20 s of load: it goes on past the alarm's end (rabbitmqctl
			// takes a few seconds to raise and to clear it).
			units = 600
			rate  = 30
			// hold lets about 240 orders arrive while publishing is blocked.
			hold = 8 * time.Second
		)

		run := func(ctx context.Context, t *T, side string, alarm func(fault.Execer) fault.Fault, opts ...stack.Option) report.Figures {
			input := t.httpInput("an alarm blocks the services' own publishes")
			s := t.startIsolatedStack(ctx, "alarm-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			t.By(fmt.Sprintf("streaming %d units through %s at %d per second", units, input, rate))
			l := t.load("alarm-"+side, units)
			l.Rate = rate
			loaded := t.Go(func() { t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })
			t.Eventually(ctx, accepted(h, input)).Should(BeNumerically(">=", 2*rate))

			f := alarm(s.Infra.Broker)
			t.inject(ctx, h, f)
			raised := time.Now()
			t.By("waiting until the broker reports a publishing connection blocked")
			var blocked int
			t.Eventually(ctx, func(g Gomega) {
				cs, err := s.Management().Connections(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				blocked = len(slices.DeleteFunc(cs, func(c broker.Connection) bool { return c.State != "blocked" }))
				g.Expect(blocked).To(BeNumerically(">", 0))
			}).WithTimeout(hold).WithPolling(200 * time.Millisecond).Should(Succeed())
			detect := time.Since(raised)
			t.Expect(fault.Hold(ctx, hold-detect)).To(Succeed())
			t.Expect(fault.Heal(ctx, h, f)).To(Succeed())
			cleared := time.Now()
			t.By("waiting until no connection is blocked")
			t.Eventually(ctx, func(g Gomega) {
				cs, err := s.Management().Connections(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(slices.ContainsFunc(cs, func(c broker.Connection) bool { return c.State == "blocked" })).To(BeFalse())
			}).WithPolling(200 * time.Millisecond).Should(Succeed())
			recovery := time.Since(cleared)
			loaded()
			obs := t.settled(ctx, s, 2*time.Second, input)
			lat := latencies(h, input, f.Name(), raised, cleared)
			note := fmt.Sprintf("%s for %s: %d connections blocked %.1fs after it rose, none %.1fs after it cleared",
				f.Name(), hold, blocked, detect.Seconds(), recovery.Seconds())
			return t.verdictWith(ctx, "broker alarm", side, s, h, obs, started, []string{input}, measured{detect: &detect, recover: &recovery, latencies: lat}, note)
		}

		d.It("holds through a memory alarm with the outbox and idempotent consumers", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe: memory", fault.MemoryAlarm)
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("holds through a disk alarm with the outbox and idempotent consumers", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe: disk", fault.DiskAlarm)
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when the service publishes after its commit, without an outbox (control no-outbox)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: no-outbox", fault.MemoryAlarm, t.control("no-outbox"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught through a disk alarm when the service publishes after its commit, without an outbox (control no-outbox)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: no-outbox (disk)", fault.DiskAlarm, t.control("no-outbox"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))
	})
}

// latencies measures input's completed operations invoked before from,
// between from and to (during fault), and after to.
func latencies(h *history.History, input, faultName string, from, to time.Time) []report.Latency {
	var b, d, a []time.Duration
	for _, op := range opsOf(h, input) {
		if op.Completed.IsZero() {
			continue
		}
		took := op.Completed.Sub(op.Invoked)
		switch {
		case op.Invoked.Before(from):
			b = append(b, took)
		case op.Invoked.Before(to):
			d = append(d, took)
		default:
			a = append(a, took)
		}
	}
	return []report.Latency{report.LatencyOf(input+" before the "+faultName, b), report.LatencyOf(input+" during the "+faultName, d), report.LatencyOf(input+" after the "+faultName, a)}
}
