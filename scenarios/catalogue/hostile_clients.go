package catalogue

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/checker"
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

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) (report.Figures, checker.Phase) {
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
			wait := t.Go(func() { t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed()) })

			t.Expect(fault.Hold(ctx, before)).To(Succeed())
			crowd := &workload.Hostile{Service: svc, Addr: addr, Path: t.sys.Inputs[input].HTTP.Path, SlowBodies: slowBodies, Silent: silent}
			t.By(crowd.Name() + ", for " + attack.String())
			t.inject(ctx, h, crowd)
			t.Expect(fault.Hold(ctx, attack)).To(Succeed())
			t.Expect(fault.Heal(ctx, h, crowd)).To(Succeed())
			wait()
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)

			// Starvation is the violation: honest clients failing, or
			// waiting, past the margins. The checker judges it from the
			// history, split at the crowd's injection and heal.
			h.Serve(input, history.Served{Fault: crowd.Name(), MaxErrorShare: maxErrorShare, P99Factor: p99Factor, P99Slack: p99Slack.Seconds()})
			was, under, _ := checker.ServedPhases(h.Ops(), input, crowd.Name())
			m := measured{latencies: []report.Latency{latencyOf(input, was), latencyOf(input, under)}}
			ends := summarizeEnds(crowd.Ends())
			t.Entry("hostile connections", strings.Join(ends, "\n"))
			note := fmt.Sprintf("%s for %s; honest %s, %s; hostile: %s", crowd.Name(), attack, was, under, strings.Join(ends, "; "))
			f := t.verdictWith(ctx, "hostile clients", side, s, h, obs, started, []string{input}, m, note)
			t.Expect(f.Bounds).NotTo(BeEmpty(), "the honest clients' margin was not judged: %s", f)
			return f, under
		}

		d.It("holds: honest clients served as before, nothing lost", Label("safe"), func(ctx context.Context, t *T) {
			f, _ := run(ctx, t, "safe")
			t.expectHeld(f)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when the service has no HTTP limits (control http-no-limits)", Label("unsafe"), func(ctx context.Context, t *T) {
			f, under := run(ctx, t, "control: http-no-limits", t.control("http-no-limits"))
			t.Expect(brokenBounds(f)).NotTo(BeEmpty(), "the control must starve the honest clients: %s", f)
			t.Expect(under.ErrorShare()).To(BeNumerically(">=", 25*maxErrorShare), "by a wide margin: at least 25 times the safe side's share of failed requests under attack (%s): %s", under, f)
		}, SpecTimeout(4*time.Minute))
	})
}

// latencyOf is the latency of the honest requests of one phase.
func latencyOf(input string, p checker.Phase) report.Latency {
	return report.LatencyOf(fmt.Sprintf("POST %s %s", input, p.Name), p.Waits)
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
