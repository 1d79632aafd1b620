package catalogue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/harness/workload"
)

// The helpers scenarios share: starting the system, picking its inputs
// and consumers, settling, and the verdict.
// load is a run of n units with ids prefix-0001..., seeded by the spec;
// the prefix is slugged.
func (t *T) load(prefix string, n int) workload.Load {
	return workload.Load{Prefix: report.Slug(prefix), Count: n, Seed: uint64(t.Seed())}
}

// startStack starts the system on this process's shared broker and
// database, in a vhost and database of their own, and removes it after
// the spec.
func (t *T) startStack(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	t.wouldStart()
	what := "this process's shared broker" + map[bool]string{true: " and database"}[t.sys.HasDatabase()]
	switch {
	case !t.env.shared.started(): // a spec without the label: started now
		t.By(fmt.Sprintf("starting %s (not started during the set-up: label the scenario %s)", what, labelSharedInfra))
		t.env.StartShared(context.WithoutCancel(ctx), "in its first spec")
	case !t.env.shared.ended():
		t.By("waiting for " + what + ", starting since the suite's set-up")
	}
	began := time.Now()
	inf, err := t.env.shared.wait(ctx)
	t.spent().setup += time.Since(began)
	t.Expect(err).NotTo(HaveOccurred(), "start %s", what)
	return t.start(ctx, name, append([]stack.Option{stack.OnInfra(inf)}, opts...)...)
}

// timings is where one spec's time went.
type timings struct {
	began                time.Time
	setup, settle, check time.Duration
}

// recordTime reports where the spec's time went (its "time" entry, shown
// with a failure or -v; the summary has a line of it for every spec), and
// returns it in seconds.
func (t *T) recordTime() map[string]float64 {
	p := t.phases
	total := time.Since(p.began)
	run := total - p.setup - p.settle - p.check
	t.Entry(TimeEntry, SpecTime{Total: total.Seconds(), Setup: p.setup.Seconds(), Run: run.Seconds(), Settle: p.settle.Seconds(), Check: p.check.Seconds()})
	return map[string]float64{"setup": p.setup.Seconds(), "run": run.Seconds(), "settle": p.settle.Seconds(), "check": p.check.Seconds()}
}

// TimeEntry names a spec's report entry of where its time went
// (a SpecTime).
const TimeEntry = "time"

// FiguresEntry names a spec's report entry of a verdict (report.Figures).
const FiguresEntry = "figures"

// SpecTime is where a spec's time went until its verdict, in seconds:
// its stacks' start, the load and faults, settling and checking.
type SpecTime struct {
	Total, Setup, Run, Settle, Check float64
}

func (t SpecTime) String() string {
	return fmt.Sprintf("%.1fs: set-up %.1fs, load and faults %.1fs, settle %.1fs, check %.1fs", t.Total, t.Setup, t.Run, t.Settle, t.Check)
}

// startIsolatedStack starts a broker (and database) for this spec alone,
// for scenarios that break them.
func (t *T) startIsolatedStack(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	return t.start(ctx, name, opts...)
}

func (t *T) start(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	t.wouldStart()
	t.By("starting " + t.sys.Name + " as " + name)
	began := time.Now()
	s, err := stack.Start(ctx, t.sys, t.env.Images, append([]stack.Option{stack.Name(name), stack.InfraWith(t.env.infraOptions()...)}, opts...)...)
	t.spent().setup += time.Since(began)
	t.Cleanup(func(ctx context.Context) {
		if t.rt.Failed() {
			t.dumpLogs(ctx, s)
		}
		t.Expect(s.Terminate(ctx)).To(Succeed())
	})
	t.Expect(err).NotTo(HaveOccurred())
	// Cleanups run last-registered first: the sampler stops before the
	// stack is removed.
	stop := t.sample(s)
	t.Cleanup(func(context.Context) { stop() })
	return s
}

// control is the stack option that turns the named safety mechanism off;
// the spec is skipped when the system provides no such switch.
func (t *T) control(name string) stack.Option {
	t.asked = append(t.asked, name)
	c, ok := t.sys.Controls[name]
	if !ok {
		t.Skip(fmt.Sprintf("%s provides no control %q, so this violation cannot be shown", t.sys.Name, name))
	}
	return stack.WithControl(c)
}

// failpoint is the stack option that arms the named failpoint, and the
// failpoint; the spec is skipped when the system has none.
func (t *T) failpoint(name string) (stack.Option, system.Failpoint) {
	fp, ok := t.sys.Failpoints[name]
	if !ok {
		t.Skip(fmt.Sprintf("%s declares no failpoint %q", t.sys.Name, name))
	}
	return stack.Env(fp.Service, fp.Env), fp
}

// tuning is the named tuning, or no option when the system has none.
func (t *T) tuning(name string) stack.Option {
	return stack.WithEnvSet(t.sys.Tuning[name])
}

// anyInput is the system's first HTTP input, or else its first AMQP input.
func (t *T) anyInput() string {
	if in := t.sys.InputNames("http"); len(in) > 0 {
		return in[0]
	}
	return t.amqpInput()
}

// amqpInput is the system's first AMQP input; the spec is skipped when it
// has none.
func (t *T) amqpInput() string {
	in := t.sys.InputNames("amqp")
	if len(in) == 0 {
		t.Skip(t.sys.Name + " has no AMQP input: this scenario publishes to the broker")
	}
	return in[0]
}

// httpInput is the system's first HTTP input; the spec is skipped, saying
// why it needs one, when it has none.
func (t *T) httpInput(why string) string {
	in := t.sys.InputNames("http")
	if len(in) == 0 {
		t.Skip(t.sys.Name + " has no HTTP input: " + why)
	}
	return in[0]
}

// readinessCanDrop skips the spec, saying why, unless svc's readiness is
// an HTTP check: a scenario that times a service's notice of a broken
// link by its readiness going false needs one, and a log line says once
// that it started, never that it stopped.
func (t *T) readinessCanDrop(svc string) {
	if t.sys.Service(svc).Ready.HTTP == "" {
		t.Skip(fmt.Sprintf("%s's readiness is a log line, which cannot go false: this scenario times its notice of a broken link by its readiness (give it ready: {http: PATH})", svc))
	}
}

// closeConnections has the broker close every connection of r, once the
// broker lists one (see waitListed).
func (t *T) closeConnections(ctx context.Context, s *stack.Stack, h *history.History, r *stack.Replica) {
	ips := t.waitListed(ctx, s, r)
	t.inject(ctx, h, fault.CloseConnections(s.Management(), r.Name, ips...))
}

// waitListed waits until the broker lists a connection of r, and returns
// r's addresses. The broker lists a connection a few seconds after it
// opened (3.7 s on a quiet machine): a scenario that must close it at a
// given moment waits for it beforehand, and again just before the close,
// which then returns at once unless r has connected anew meanwhile.
func (t *T) waitListed(ctx context.Context, s *stack.Stack, r *stack.Replica) []string {
	ips, err := r.Addresses(ctx)
	t.Expect(err).NotTo(HaveOccurred())
	t.By("waiting until the broker lists " + r.Name + "'s connections")
	t.Eventually(ctx, func(g Gomega) {
		cs, err := s.Management().Connections(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(slices.ContainsFunc(cs, func(c broker.Connection) bool { return slices.Contains(ips, c.PeerHost) })).To(BeTrue())
	}).WithPolling(100 * time.Millisecond).Should(Succeed())
	return ips
}

// consumer is the service that consumes what input sends (the first
// service with an effect of it that consumes a queue, other than the one
// an HTTP input calls), and the queue it consumes.
func (t *T) consumer(input string) (string, string) {
	in := t.sys.Inputs[input]
	if in.AMQP != nil {
		for _, q := range in.AMQP.Queues {
			if svc := t.sys.ConsumerOf(q); svc != nil {
				return svc.Name, q
			}
		}
	}
	for _, e := range t.sys.EffectsOf(input) {
		svc := t.sys.Service(e.Service)
		if len(svc.Consumes) > 0 && (in.HTTP == nil || svc.Name != in.HTTP.Service) {
			return svc.Name, svc.Consumes[0].Queue
		}
	}
	t.Skip(fmt.Sprintf("%s has no service consuming what %s sends", t.sys.Name, input))
	return "", ""
}

// effectOf is the first effect of input by service.
func (t *T) effectOf(input, service string) system.Effect {
	for _, e := range t.sys.EffectsOf(input) {
		if e.Service == service {
			return e
		}
	}
	t.Skip(fmt.Sprintf("%s declares no effect of %s for %s", t.sys.Name, service, input))
	return system.Effect{}
}

// waitApplied waits up to within until e shows at least n effects, and
// returns how many.
func (t *T) waitApplied(ctx context.Context, s *stack.Stack, e system.Effect, n int, within, poll time.Duration) int {
	seen := 0
	t.Eventually(ctx, func(g Gomega) {
		o, err := effect.Read(ctx, s, e)
		g.Expect(err).NotTo(HaveOccurred())
		seen = len(o.IDs)
		g.Expect(seen).To(BeNumerically(">=", n))
	}).WithTimeout(within).WithPolling(poll).Should(Succeed())
	return seen
}

// settled waits until the queues are drained with nothing unacked and
// the effects have not changed for quiet, and returns them. A queue that
// still holds messages when neither it nor the effects have changed for
// stuckFor is left so: the system will not take them, and the verdict
// classes them "unseen at the end" (checker.Verdict.Unseen), instead of
// the spec timing out with no verdict.
//
// The management API's figures lag, so no single read of them is
// trusted: they must have shown the same for figuresLag (empty) or
// stuckFor (holding), and then a peek of every queue, exact for what is
// ready, must agree with them. A peek that reads more than they show
// proves them stale, and settling goes on. The last read of each queue
// is kept for the verdict's history (history.KindQueued).
func (t *T) settled(ctx context.Context, s *stack.Stack, quiet time.Duration, inputs ...string) map[string]effect.Observed {
	t.By("settling: queues drained, nothing unacked, effects unchanged for " + quiet.String())
	defer func(began time.Time) { t.spent().settle += time.Since(began) }(time.Now())
	var (
		obs              map[string]effect.Observed
		finals           []settle.Final
		read             [2]time.Time
		last, held       string
		since, heldSince time.Time
		// drained is when the queues were first seen empty with the
		// effects as they are now: reset by any change.
		drained time.Time
	)
	effects := t.effectsOf(inputs)
	t.Eventually(ctx, func(g Gomega) {
		hs, err := settle.StackHolding(ctx, s)
		g.Expect(err).NotTo(HaveOccurred())
		cur, err := effect.ReadAll(ctx, s, effects)
		g.Expect(err).NotTo(HaveOccurred())
		if fp := settle.Fingerprint(cur); fp != last {
			last, since = fp, time.Now()
			drained = time.Time{}
		}
		if len(hs) > 0 {
			drained = time.Time{}
		} else if drained.IsZero() {
			drained = time.Now()
		}
		// Ready and unacked apart, a message requeued in a loop moves
		// between them: only what each queue holds in all counts.
		var totals []string
		for _, h := range hs {
			totals = append(totals, fmt.Sprintf("%s=%d", h.Queue, h.Ready+h.Unacked))
		}
		if fp := strings.Join(totals, ","); fp != held {
			held, heldSince = fp, time.Now()
		}
		obs = cur
		if len(hs) == 0 {
			g.Expect(time.Since(since)).To(BeNumerically(">=", quiet), "effects still changing: %s", last)
			g.Expect(time.Since(heldSince)).To(BeNumerically(">=", figuresLag), "queues' figures empty for less than %s", figuresLag)
		} else {
			g.Expect(min(time.Since(since), time.Since(heldSince))).To(BeNumerically(">=", stuckFor), "not settled: %s", settle.Describe(hs))
		}
		began := time.Now()
		fs, err := settle.StackQueues(ctx, s)
		g.Expect(err).NotTo(HaveOccurred())
		for _, f := range fs {
			if !f.Agrees() {
				heldSince = time.Now() // wait for the figures again before the next peek
				g.Expect(f.Agrees()).To(BeTrue(), "the figures lag: a peek read more than they show in %s", f)
			}
			if len(hs) == 0 {
				g.Expect(f.Held()).To(BeFalse(), "the figures showed every queue empty, the read found %s", f)
			}
		}
		finals, read = fs, [2]time.Time{began, time.Now()}
	}).WithTimeout(3 * time.Minute).Should(Succeed())
	t.queues, t.queuesRead, t.drained = finals, read, drained
	for _, f := range finals {
		if f.Held() {
			t.drained = time.Time{}
			t.By(fmt.Sprintf("unseen at the end: %s, unchanged for %s while nothing took effect", f, stuckFor))
		}
	}
	return obs
}

// stuckFor is how long a queue that is not drained, and the effects,
// must stay unchanged before settled takes what the queue holds as left
// there for good: several of the management API's 5-second samples.
const stuckFor = 30 * time.Second

// figuresLag is how long the management API's figures must show every
// queue empty before settled checks them by a peek: they lag the broker
// by up to a few seconds (3 s seen on RabbitMQ 3.10, with the harness's
// 500 ms statistics interval).
const figuresLag = 3 * time.Second

// recordQueues records in h the final reads of the queues that settled
// took last (history.KindQueued), with the units of h found in each, and
// forgets them.
func (t *T) recordQueues(h *history.History) {
	if t.queues == nil {
		return
	}
	known := map[string]bool{}
	for _, op := range h.Ops() {
		if op.IsWork() && op.ID != "" {
			known[op.ID] = true
		}
	}
	for _, f := range t.queues {
		ids, _ := settle.UnitsIn(f.Messages, known)
		h.Queued(f.Queue, history.Depth{Ready: f.Ready, Unacked: f.Unacked, Peeked: len(f.Messages)}, ids, t.queuesRead[0], t.queuesRead[1])
	}
	t.queues = nil
}

func (t *T) effectsOf(inputs []string) []system.Effect {
	var out []system.Effect
	for _, in := range inputs {
		for _, e := range t.sys.EffectsOf(in) {
			if !slices.ContainsFunc(out, func(o system.Effect) bool { return effect.Name(o) == effect.Name(e) }) {
				out = append(out, e)
			}
		}
	}
	return out
}

// verdict judges every effect of the inputs against the history, records
// the figures for the summary (with an optional note, such as a drain
// rate) and returns them.
func (t *T) verdict(ctx context.Context, scenario, side string, s *stack.Stack, h *history.History, obs map[string]effect.Observed, started time.Time, inputs []string, note ...string) report.Figures {
	return t.verdictWith(ctx, scenario, side, s, h, obs, started, inputs, measured{}, note...)
}

// measured is what a scenario observed besides the id sets: violations,
// each in words with its figures, and how long the system took to notice
// the fault and to recover from it.
type measured struct {
	violations      []string
	detect, recover *time.Duration
	tag             string // in the history's file name, e.g. "seed-11"
	latencies       []report.Latency
	// offline says, for a scenario that judges something itself besides
	// the effects' id sets, what that is: its history can be judged again
	// for the effects, not for the rest (mqchaos judge says so).
	offline string
}

// verdictWith is verdict with what the scenario measured itself.
func (t *T) verdictWith(ctx context.Context, scenario, side string, s *stack.Stack, h *history.History, obs map[string]effect.Observed, started time.Time, inputs []string, m measured, note ...string) report.Figures {
	began := time.Now()
	f := report.Figures{Scenario: scenario, Side: side, System: t.sys.Name, Input: strings.Join(inputs, "+"), Note: strings.Join(note, "; "), Latencies: m.latencies}
	if m.detect != nil {
		d := m.detect.Seconds()
		f.DetectSeconds = &d
	}
	if m.recover != nil {
		r := m.recover.Seconds()
		f.RecoverSeconds = &r
	}
	for _, in := range inputs {
		f.Sent += len(opsOf(h, in))
	}
	// The final reads and what the scenario observed go into the history,
	// and the verdict is drawn from the history alone, as mqchaos judge
	// draws it again from the file.
	effect.RecordReads(h, inputs, t.effectsOf(inputs), obs)
	t.recordQueues(h)
	for _, v := range m.violations {
		h.Violation(v)
	}
	if !t.drained.IsZero() {
		h.Drained(t.drained)
		t.drained = time.Time{}
	}
	v := checker.Judge(h.Ops())
	v.Offline = m.offline
	f.Checks, f.Violations, f.DeadLetters, f.Recovery, f.Bounds, f.Unseen = v.Checks, v.Violations, v.DeadLetters, v.Recovery, v.Bounds, v.Unseen
	for _, r := range v.Recovery {
		t.By(r.String())
	}
	var err error
	f.DeadLettered, err = settle.DeadLetterCount(ctx, s)
	t.Expect(err).NotTo(HaveOccurred())
	f.Broker = t.brokerVersion(ctx, s.Management())
	f.Seconds = time.Since(started).Seconds()
	for _, fault := range h.Faults(started) {
		t.By(fault)
	}
	t.spent().check += time.Since(began)
	f.Phases = t.recordTime()
	h.AddSamples(samplesOf(s))
	t.Expect(checker.Record(h, v)).To(Succeed())
	f.History = t.saveHistory(h, scenario, side, m.tag, started)
	t.recordFigures(f)
	t.Println(f.String())
	return f
}

// brokenBounds is what the run broke of the bounds the checker judged
// besides the effects' id sets (checker.Bound), in words.
func brokenBounds(f report.Figures) []string {
	var out []string
	for _, b := range f.Bounds {
		out = append(out, b.Broken...)
	}
	return out
}

// keepUnjudged records in h the verdict f that a scenario drew by hand,
// outside checker.Judge, with why (mqchaos judge says that this history
// cannot be judged again, and why), and keeps h as f's history.
func (t *T) keepUnjudged(h *history.History, f *report.Figures, why string, started time.Time) {
	t.recordQueues(h)
	for _, v := range f.Violations {
		h.Violation(v)
	}
	f.Unseen = checker.Judge(h.Ops()).Unseen
	t.Expect(checker.Record(h, checker.Verdict{Checks: f.Checks, Violations: f.Violations, Unseen: f.Unseen, Offline: why})).To(Succeed())
	f.History = t.saveHistory(h, f.Scenario, f.Side, "", started)
}

// brokerVersion is the release of the broker m reads, for the figures;
// "" if it cannot be read now (the verdict does not depend on it).
func (t *T) brokerVersion(ctx context.Context, m *broker.Management) string {
	v, err := m.Version(ctx)
	if err != nil {
		t.Println("broker version not read:", err)
		return ""
	}
	return v.String()
}

// opsOf is every operation of input, an id-less one counted too.
func opsOf(h *history.History, input string) []history.Op {
	var out []history.Op
	for _, op := range h.Ops() {
		if op.Kind == input {
			out = append(out, op)
		}
	}
	return out
}

// accepted counts input's operations the system accepted so far.
func accepted(h *history.History, input string) func() int {
	return func() int { return len(h.IDs(input, history.OK)) }
}

// expectHeld asserts that the scenario observed no violation of its own,
// no queue held work at the end, no effect was lost, unseen at the end,
// duplicated or unexpected, every dead-letter queue read holds what it
// must, and that every effect saw some accepted
// units: what the figures' verdict says, asserted.
func (t *T) expectHeld(f report.Figures) {
	t.Expect(f.Checks).NotTo(BeEmpty(), "nothing was judged")
	t.Expect(f.Violations).To(BeEmpty(), "%s", f)
	t.Expect(f.Unseen).To(BeEmpty(), "%s", f)
	for _, c := range f.Checks {
		t.Expect(c.Lost).To(BeEmpty(), "%s", f)
		t.Expect(c.Unseen).To(BeEmpty(), "%s", f)
		t.Expect(c.DuplicatedViolations()).To(BeEmpty(), "%s", f)
		t.Expect(c.Unexpected).To(BeEmpty(), "%s", f)
		t.Expect(c.Accepted).To(BeNumerically(">", 0), "nothing was accepted: %s", f)
	}
	for _, d := range f.DeadLetters {
		t.Expect(d.OK()).To(BeTrue(), "%s", f)
	}
}

// expectCaught asserts that a control was caught by a wide margin: ids,
// the units it reports as what (lost, duplicated), are at least the
// catalogue's floor for a scenario of units units: 10 % of them or 20,
// whichever is fewer. A control that shows one unit is caught by luck as
// much as by design; the floor is what "every run" can rest on.
func (t *T) expectCaught(f report.Figures, what string, ids []string, units int) {
	floor := min((units+9)/10, 20)
	t.Expect(len(ids)).To(BeNumerically(">=", floor), "the control must report %s units: at least %d of %d (10 %% or 20 units), not %d: %s", what, floor, units, len(ids), f)
}

// expectProcessed asserts that every effect processed n distinct units.
func (t *T) expectProcessed(f report.Figures, n int) {
	for _, c := range f.Checks {
		t.Expect(c.Processed).To(Equal(n), "%s: %s", c.Service, f)
	}
}

// expectAnswered asserts that no unit of n was refused and at least 90 %
// were accepted, for a spec that pauses the service taking them: a
// request held past the client's timeout has an unknown outcome, which
// the checker already judges (applied: recovered; not applied: allowed),
// so it cannot be asked to have been processed.
func (t *T) expectAnswered(f report.Figures, n int) {
	for _, c := range f.Checks {
		t.Expect(c.Attempted).To(Equal(n), "%s: %s", c.Service, f)
		t.Expect(c.Accepted+c.Unknown).To(Equal(n), "%s: units refused: %s", c.Service, f)
		t.Expect(c.Accepted).To(BeNumerically(">=", n-n/10), "%s: fewer than 90 %% accepted: %s", c.Service, f)
	}
}

// dumpLogs writes the tail of every replica's log to the t.Out().
func (t *T) dumpLogs(ctx context.Context, s *stack.Stack) {
	if s == nil {
		return
	}
	for _, svc := range t.sys.ServiceNames() {
		for _, r := range s.Replicas(svc) {
			b, err := r.Logs(ctx)
			if err != nil {
				continue
			}
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			fmt.Fprintf(t.Out(), "--- %s log (tail)\n%s\n", r.Name, b)
		}
	}
}

// inject injects f, recorded in h. A fault its platform cannot make
// (fault.ErrUnsupported: a partition on Kubernetes) skips the spec with
// the reason: the run shows what it could not test rather than a
// failure of the system.
func (t *T) inject(ctx context.Context, h *history.History, f fault.Fault) {
	err := fault.Inject(ctx, h, f)
	t.skipUnsupported(err)
	t.Expect(err).To(Succeed())
}

// skipUnsupported skips the spec when err says its platform cannot make
// what it needs (fault.ErrUnsupported), with the reason.
func (t *T) skipUnsupported(err error) {
	if errors.Is(err, fault.ErrUnsupported) {
		t.Skip(fmt.Sprintf("this platform cannot make what the spec needs: %v", err))
	}
}
