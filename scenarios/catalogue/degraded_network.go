package catalogue

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func degradedNetwork(d *decl) {
	d.Scenario("Orders flow over a slow, narrow, sliced link: nothing lost or duplicated", Label("guarantee:no-loss", "guarantee:exactly-once-effect", "fault:network", labelSharedInfra), Doc(`Orders go in over HTTP at a steady rate while every service's
links to the broker and the database (each through its own
Toxiproxy) turn slow (latency with jitter), then narrow (a
bandwidth limit), then sliced (every frame in small pieces),
each held for a while and healed before the next. Such a link
delays bytes and loses none, so every order must still be
stored, applied and noticed once; the verdict judges exactly
that and fails on any loss or duplicate. The run also reports
what the faults cost: POST latency and end-to-end latency
(accepted, to applied by the consumer as it records the time)
as p50, p95 and p99 before and under each fault.
The control has timeouts and budgets sized for a quiet LAN (an
attempt 150 ms, a message 3 attempts, an outage 1 s): over the slow
link every transaction outlasts its attempt, and valid orders are
dead-lettered as failed.`), Needs("an HTTP input; end-to-end latency needs an `at:` on the consumer's effect (skipped from the figures without one); the control needs a switch that sizes the consumers' timeouts for a LAN."), func() {
		const (
			rate   = 20.0 // orders per second
			before = 5 * time.Second
			hold   = 8 * time.Second
			// The link's shapes: latency 100 ms ± 50 ms each way, 16 KB/s
			// each way and per connection, frames cut into 32 ± 16 bytes
			// a millisecond apart.
			latency, jitter = 100 * time.Millisecond, 50 * time.Millisecond
			kbPerSecond     = 16
			slice, vary     = 32, 16
			sliceDelay      = time.Millisecond
		)

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) (report.Figures, int) {
			input := t.httpInput("this scenario places orders over HTTP")
			svc, _ := t.consumer(input)
			applied := t.effectOf(input, svc)
			s := t.startStack(ctx, "degraded-"+side, append([]stack.Option{stack.WithToxiproxy()}, opts...)...)
			h := &history.History{}
			started := time.Now()

			var links []fault.Proxy
			for _, name := range t.sys.ServiceNames() {
				p, err := s.Proxy(name, stack.ProxyAMQP)
				t.Expect(err).NotTo(HaveOccurred())
				links = append(links, p)
				if t.sys.HasDatabase() {
					p, err := s.Proxy(name, stack.ProxyDatabase)
					t.Expect(err).NotTo(HaveOccurred())
					links = append(links, p)
				}
			}
			on := func(what string, one func(fault.Proxy) fault.Fault) fault.Fault {
				fs := make([]fault.Fault, len(links))
				for i, p := range links {
					fs[i] = one(p)
				}
				return fault.Together(fmt.Sprintf("%s on %d links", what, len(links)), fs...)
			}
			shapes := []struct {
				what  string
				fault fault.Fault
			}{
				{fmt.Sprintf("latency %s±%s", latency, jitter), on(fmt.Sprintf("latency %s±%s", latency, jitter), func(p fault.Proxy) fault.Fault {
					return fault.Latency(p, fault.Both, latency, jitter)
				})},
				{fmt.Sprintf("bandwidth %d KB/s", kbPerSecond), on(fmt.Sprintf("bandwidth %d KB/s", kbPerSecond), func(p fault.Proxy) fault.Fault {
					return fault.Bandwidth(p, fault.Both, kbPerSecond)
				})},
				{fmt.Sprintf("slicer %d±%d bytes every %s", slice, vary, sliceDelay), on(fmt.Sprintf("slicer %d±%d bytes every %s", slice, vary, sliceDelay), func(p fault.Proxy) fault.Fault {
					return fault.Slicer(p, fault.Both, slice, vary, sliceDelay)
				})},
			}

			total := before + time.Duration(len(shapes))*hold
			l := t.load("degraded-"+side, int(rate*total.Seconds()))
			l.Rate, l.Concurrency = rate, 64 // enough in flight to keep the rate on a slow link
			t.By(fmt.Sprintf("placing %d orders through %s at %.0f/s while the %d links of %s degrade", l.Count, input, rate, len(links), strings.Join(t.sys.ServiceNames(), ", ")))
			loadStarted := time.Now()
			wait := t.Go(func() { t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })

			// A phase runs from its start to the next one's: a request
			// belongs to the phase it was sent in. Each fault's phase starts
			// as its injection starts, right after the previous heal.
			type phase struct {
				name string
				from time.Time
			}
			phases := []phase{{name: "before", from: loadStarted}}
			t.Expect(fault.Hold(ctx, before)).To(Succeed())
			for _, sh := range shapes {
				t.By("degrading every link: " + sh.fault.Name() + ", for " + hold.String())
				phases = append(phases, phase{name: "under " + sh.what, from: time.Now()})
				t.inject(ctx, h, sh.fault)
				t.Expect(fault.Hold(ctx, hold)).To(Succeed())
				t.Expect(fault.Heal(ctx, h, sh.fault)).To(Succeed())
			}
			phases = append(phases, phase{name: "after the faults", from: time.Now()})
			wait()
			for _, r := range s.Replicas(svc) {
				t.Eventually(ctx, r.Ready).Should(Succeed())
			}
			obs := t.settled(ctx, s, 2*time.Second, input)

			t.By("measuring the latencies before and under each fault")
			at := obs[effect.Name(applied)].At
			post := make([][]time.Duration, len(phases))
			e2e := make([][]time.Duration, len(phases))
			early := 0
			for _, op := range opsOf(h, input) {
				if op.Outcome != history.OK {
					continue
				}
				i := 0
				for j, ph := range phases {
					if !op.Invoked.Before(ph.from) {
						i = j
					}
				}
				post[i] = append(post[i], op.Completed.Sub(op.Invoked))
				if t, ok := at[op.ID]; ok {
					d := t.Sub(op.Completed)
					if d < 0 { // applied before the harness read its answer
						d, early = 0, early+1
					}
					e2e[i] = append(e2e[i], d)
				}
			}
			var lats []report.Latency
			var p99s []string
			for i, ph := range phases {
				if len(post[i]) == 0 {
					continue // the load ended before this phase
				}
				p := report.LatencyOf(fmt.Sprintf("POST %s %s", input, ph.name), post[i])
				lats = append(lats, p)
				line := fmt.Sprintf("%s: POST p99 %.0fms", ph.name, p.P99)
				if at != nil {
					e := report.LatencyOf(fmt.Sprintf("end to end to %s %s", svc, ph.name), e2e[i])
					lats = append(lats, e)
					line += fmt.Sprintf(", end to end p99 %.0fms", e.P99)
				}
				p99s = append(p99s, line)
			}
			lines := make([]string, len(lats))
			for i, lt := range lats {
				lines[i] = lt.String()
			}
			if at == nil {
				lines = append(lines, fmt.Sprintf("no end-to-end latency: %s's effect %q declares no at:", svc, applied.What))
			} else if early > 0 {
				lines = append(lines, fmt.Sprintf("%d applied before the harness read the answer to their POST, counted as 0", early))
			}
			t.Entry("latency", strings.Join(lines, "\n"))
			var names []string
			for _, sh := range shapes {
				names = append(names, sh.what)
			}
			note := fmt.Sprintf("%s, each held %s on %d links; %s", strings.Join(names, ", "), hold, len(links), strings.Join(p99s, "; "))
			return t.verdictWith(ctx, "degraded network", side, s, h, obs, started, []string{input}, measured{latencies: lats}, note), l.Count
		}

		d.It("holds: every order stored, applied and noticed once, with its latencies", Label("safe"), func(ctx context.Context, t *T) {
			f, _ := run(ctx, t, "safe")
			t.expectHeld(f)
			t.Expect(f.DeadLettered).To(BeZero(), "a slow link is a transient condition: nothing may be dead-lettered")
		}, SpecTimeout(4*time.Minute))

		d.It("is caught with timeouts sized for a LAN (control lan-timeouts)", Label("unsafe"), func(ctx context.Context, t *T) {
			f, units := run(ctx, t, "control: lan-timeouts", t.control("lan-timeouts"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))
	})
}
