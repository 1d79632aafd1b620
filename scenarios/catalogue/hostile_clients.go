package catalogue

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func hostileClients(d *decl) {
	d.Scenario("Hostile clients holding connections open do not starve honest ones", Label("guarantee:availability", "guarantee:no-loss", "fault:clients", labelSharedInfra), Doc(`Honest clients place orders over HTTP at a steady rate, each on
a connection of its own, as clients that come once do. Then a
crowd of hostile clients opens connections to the same service
at a steady rate and holds each as long as the server lets it:
half send their headers and then a body a byte a second, half
connect and send nothing. A server that bounds every phase of a
request and the connections it holds cuts each of them off in a
few seconds, so their number stays bounded and the honest
clients are served as before: no more errors, a p99 within a
stated margin of the 10 s before it, and every order stored and
applied once. A server without those limits keeps every hostile
connection: their number grows until the service can open no
more (its open files, as its description bounds them), and the
honest clients' requests wait unanswered. The figures give, per
kind of hostile connection, how the server ended it and after
how long: which limit cut it.`), Needs("an HTTP input, and a harness that reaches the containers' own addresses (on the Docker host, or in its network); the control needs the service's open files bounded (ulimits: nofile) above its connection limit."), func() {
		const (
			rate   = 20.0 // honest orders per second
			before = 10 * time.Second
			attack = 60 * time.Second
			after  = 5 * time.Second
			// Hostile connections opened per second, of each kind: held
			// for ever, 50 a second exhaust 1,024 open files in about 20
			// seconds; cut after 10 s (a slow body) and 5 s (a silent
			// one), about 375 are open at once.
			slowBodies, silent = 25.0, 25.0
			// The safe side's margins: honest requests failing under
			// attack, and the honest p99 under attack against the p99
			// before it.
			maxErrorShare = 0.01
			p99Factor     = 2.0
			p99Slack      = 100 * time.Millisecond
		)

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) (report.Figures, phaseLoad) {
			input := t.httpInput("hostile clients hold HTTP connections")
			svc := t.sys.Inputs[input].HTTP.Service
			s := t.startStack(ctx, "hostile-"+side, opts...)
			// The crowd goes to the container's own address: through
			// Docker's port proxy it would wear out the proxy first (it
			// stops listening when it can take no more connections).
			addr, err := s.Replica(svc, 1).Direct(ctx)
			t.Expect(err).NotTo(HaveOccurred())
			if conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr); err != nil {
				t.Skip(fmt.Sprintf("the harness cannot reach %s's container at %s (%v): run it on the Docker host, or in its network", svc, addr, err))
			} else {
				conn.Close()
			}
			h := &history.History{}
			started := time.Now()

			l := t.load("hostile-"+side, int(rate*(before+attack+after).Seconds()))
			l.Rate, l.Concurrency, l.NewConnections = rate, 512, true // enough in flight to keep the rate while requests wait 10 s
			t.By(fmt.Sprintf("placing %d orders through %s at %.0f/s, each on a new connection", l.Count, input, rate))
			loadStarted := time.Now()
			wait := t.Go(func() { t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })

			t.Expect(fault.Hold(ctx, before)).To(Succeed())
			crowd := &workload.Hostile{Service: svc, Addr: addr, Path: t.sys.Inputs[input].HTTP.Path, SlowBodies: slowBodies, Silent: silent}
			t.By(crowd.Name() + ", for " + attack.String())
			attacked := time.Now()
			t.Expect(fault.Inject(ctx, h, crowd)).To(Succeed())
			t.Expect(fault.Hold(ctx, attack)).To(Succeed())
			t.Expect(fault.Heal(ctx, h, crowd)).To(Succeed())
			healed := time.Now()
			wait()
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)

			var was, under phaseLoad
			for _, op := range opsOf(h, input) {
				switch {
				case op.Invoked.Before(loadStarted):
				case op.Invoked.Before(attacked):
					was.add(op)
				case op.Invoked.Before(healed):
					under.add(op)
				}
			}
			was.name, under.name = "before", "under attack"
			// Starvation is the violation: honest clients failing, or
			// waiting, past the margins.
			m := measured{offline: "honest clients' failures and latency under attack were judged by the scenario against its margins"}
			if share := under.errorShare(); share > maxErrorShare {
				m.violations = append(m.violations, fmt.Sprintf("starved: %d of %d honest requests under attack failed (%.1f%%, over %.0f%%)", under.errors, len(under.waits), 100*share, 100*maxErrorShare))
			}
			if limit := time.Duration(p99Factor*float64(was.p99())) + p99Slack; under.p99() > limit {
				m.violations = append(m.violations, fmt.Sprintf("slowed: honest p99 under attack %s, over %g× the %s before + %s", under.p99().Round(time.Millisecond), p99Factor, was.p99().Round(time.Millisecond), p99Slack))
			}
			m.latencies = []report.Latency{was.latency(input), under.latency(input)}
			ends := summarizeEnds(crowd.Ends())
			t.Entry("hostile connections", strings.Join(ends, "\n"))
			note := fmt.Sprintf("%s for %s; honest %s, %s; hostile: %s", crowd.Name(), attack, was, under, strings.Join(ends, "; "))
			return t.verdictWith(ctx, "hostile clients", side, s, h, obs, started, []string{input}, m, note), under
		}

		d.It("holds: honest clients served as before, nothing lost", Label("safe"), func(ctx context.Context, t *T) {
			f, _ := run(ctx, t, "safe")
			t.expectHeld(f)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when the service has no HTTP limits (control http-no-limits)", Label("unsafe"), func(ctx context.Context, t *T) {
			f, under := run(ctx, t, "control: http-no-limits", t.control("http-no-limits"))
			t.Expect(f.Violations).NotTo(BeEmpty(), "the control must starve the honest clients: %s", f)
			t.Expect(under.errorShare()).To(BeNumerically(">=", 25*maxErrorShare), "by a wide margin: at least 25 times the safe side's share of failed requests under attack (%s): %s", under, f)
		}, SpecTimeout(4*time.Minute))
	})
}

// phaseLoad is the honest requests sent in one phase of a run.
type phaseLoad struct {
	name   string
	waits  []time.Duration // every completed request's, answered or not
	errors int             // not answered 2xx
}

func (p *phaseLoad) add(op history.Op) {
	if op.Completed.IsZero() {
		return
	}
	p.waits = append(p.waits, op.Completed.Sub(op.Invoked))
	if op.Outcome != history.OK {
		p.errors++
	}
}

func (p phaseLoad) errorShare() float64 {
	if len(p.waits) == 0 {
		return 0
	}
	return float64(p.errors) / float64(len(p.waits))
}

func (p phaseLoad) p99() time.Duration {
	return time.Duration(report.LatencyOf("", p.waits).P99 * float64(time.Millisecond))
}

func (p phaseLoad) latency(input string) report.Latency {
	return report.LatencyOf(fmt.Sprintf("POST %s %s", input, p.name), p.waits)
}

func (p phaseLoad) String() string {
	return fmt.Sprintf("%s: %d requests, %d failed, p99 %s", p.name, len(p.waits), p.errors, p.p99().Round(time.Millisecond))
}

// summarizeEnds counts hostile connections by kind and end, with the
// median time each lasted: "slow body: 250 answered 408 after 10.0s".
func summarizeEnds(ends []workload.HostileEnd) []string {
	type group struct{ kind, how string }
	lasted := map[group][]time.Duration{}
	for _, e := range ends {
		g := group{e.Kind, e.How}
		lasted[g] = append(lasted[g], e.After)
	}
	var out []string
	for g, ds := range lasted {
		slices.Sort(ds)
		out = append(out, fmt.Sprintf("%s: %d %s after %.1fs (median)", g.kind, len(ds), g.how, ds[len(ds)/2].Seconds()))
	}
	slices.Sort(out)
	return out
}
