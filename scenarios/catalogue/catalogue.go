// Package catalogue is mqchaos's scenario catalogue as a Ginkgo suite any
// team can run against its own system: each scenario states the guarantee
// it proves, what it needs from a system (an AMQP input, replicas, a
// database, a failpoint), and is skipped with the reason when the system
// lacks it; each has a control that must catch the violation when the
// system's switch for it is turned off.
//
// A suite of your own needs a few lines:
//
//	func TestMySystem(t *testing.T) {
//		catalogue.Setup(t, "mqchaos/system.yaml")
//		RegisterFailHandler(Fail)
//		RunSpecs(t, "my system under mqchaos")
//	}
//
//	var _ = catalogue.Scenarios()
//
// Run it with `go tool ginkgo ./path/to/suite`; narrow it with labels
// (`--label-filter=safe`, `guarantee:no-loss`) or `--focus`.
package catalogue

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/harness/workload"
)

var (
	sys    *system.System
	images stack.Images
	// shared is this Ginkgo process's broker (and database). Scenarios
	// that do not break them run on it, each in a vhost and database of
	// their own.
	shared sharedInfra
	// reports is where the summary, the JUnit XML and figures.json go.
	reports string
	// suiteSetup is where process 1's suite set-up went, for the summary.
	suiteSetup struct {
		clean, build time.Duration
		built        []string // the images built; the others were up to date
		builds       int      // images with a build
	}
)

// labelSharedInfra marks the scenarios that run on the process's shared
// broker and database (startStack). When a spec that will run carries
// it, Setup starts them in the background, beside the suite's set-up;
// otherwise they are not started at all, or (a spec without the label
// that asks for them) started then.
const labelSharedInfra = "infra:shared"

// Setup loads the description at path (relative to the working
// directory) and sets the testcontainers and Gomega defaults the
// catalogue needs; call it before RunSpecs, after Scenarios. When a spec
// that will run (after --focus and --label-filter) is labelled
// infra:shared, it starts this process's shared broker and database in
// the background, so they come up while the suite's set-up builds the
// images; it does not block. To see which specs will run it calls
// PreviewSpecs, after which Ginkgo (v2.34) does not run a BeforeEach or
// a ReportBeforeEach declared outside every container (seen in a
// two-process run): declare yours in a Describe. The summary goes to
// reports/ in the module root, or in the working directory.
func Setup(t *testing.T, path string) {
	for k, v := range stack.TestcontainersDefaults(t.Context(), os.Getenv) {
		t.Setenv(k, v) // before testcontainers first reads its configuration
	}
	s, err := system.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sys = s
	// MQCHAOS_REPORTS keeps a run's reports apart from another's (a soak
	// beside a suite): a run clears the histories of the run before it in
	// the same directory.
	reports = os.Getenv("MQCHAOS_REPORTS")
	if reports == "" {
		reports = "reports"
		if root, err := stack.ModuleRoot("."); err == nil {
			reports = filepath.Join(root, "reports")
		}
	}
	tclog.SetDefault(log.New(GinkgoWriter, "", log.LstdFlags)) // container chatter only on failure or -v
	SetDefaultEventuallyTimeout(90 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	SetDefaultConsistentlyPollingInterval(250 * time.Millisecond)
	images = stack.ImagesFromEnv(t.Context(), os.Getenv)
	if cfg, _ := GinkgoConfiguration(); !cfg.DryRun && sharedInfraWillRun(PreviewSpecs("mqchaos preview")) {
		shared.start(t.Context(), "beside the suite's set-up")
	}
}

// sharedInfraWillRun reports whether a spec that will run is labelled
// infra:shared.
func sharedInfraWillRun(preview Report) bool {
	return slices.ContainsFunc(preview.SpecReports, func(r SpecReport) bool {
		return r.LeafNodeType == types.NodeTypeIt && r.State.Is(types.SpecStatePassed) && slices.Contains(r.Labels(), labelSharedInfra)
	})
}

// sharedInfra is a Ginkgo process's shared broker (and database),
// started once, in the background.
type sharedInfra struct {
	once sync.Once
	done chan struct{} // closed when the start has ended
	inf  *stack.Infra  // may be half-built when err is set
	err  error
	took time.Duration
	when string // "beside the suite's set-up", or in which spec
}

// start starts the infra in the background, once; it does not block.
// ctx bounds the start only; when says when it began, for the summary.
func (s *sharedInfra) start(ctx context.Context, when string) {
	s.once.Do(func() {
		s.done, s.when = make(chan struct{}), when
		go func() {
			defer close(s.done)
			began := time.Now()
			s.inf, s.err = stack.StartInfra(ctx, images, stack.WithDatabase(sys.HasDatabase()))
			s.took = time.Since(began)
		}()
	})
}

// wait blocks until the start has ended, or ctx ends.
func (s *sharedInfra) wait(ctx context.Context) (*stack.Infra, error) {
	select {
	case <-s.done:
		return s.inf, s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// started reports whether the start has begun.
func (s *sharedInfra) started() bool { return s.done != nil }

// ended reports whether the start has ended, well or not.
func (s *sharedInfra) ended() bool {
	if !s.started() {
		return false
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// terminate waits for a start in progress to end and removes the infra.
// Nil-safe: nothing to do when it was never started.
func (s *sharedInfra) terminate(ctx context.Context) error {
	if !s.started() {
		return nil
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("shared broker still starting: %w", ctx.Err())
	}
	return s.inf.Terminate(ctx)
}

// System is the description the suite runs against (nil before Run).
func System() *system.System { return sys }

// Scenarios declares the suite's set-up, its summary and every scenario
// of the catalogue. Call it once, at package level.
func Scenarios() bool {
	SynchronizedBeforeSuite(func(ctx SpecContext) {
		By("removing what interrupted runs left behind")
		began := time.Now()
		c, n, err := stack.Clean(ctx, true)
		suiteSetup.clean = time.Since(began)
		Expect(err).NotTo(HaveOccurred())
		if c+n > 0 {
			GinkgoWriter.Printf("removed %d containers and %d networks of earlier runs\n", c, n)
		}
		By(fmt.Sprintf("building the images of %s whose sources changed (broker %s, database %s)", sys.Name, images.RabbitMQ, images.Postgres))
		began = time.Now()
		built, err := stack.BuildImages(ctx, sys)
		suiteSetup.build, suiteSetup.built = time.Since(began), built
		withBuild := map[string]bool{}
		for _, svc := range sys.Services {
			if svc.Build != nil {
				withBuild[svc.Image] = true
			}
		}
		suiteSetup.builds = len(withBuild)
		Expect(err).NotTo(HaveOccurred())
	}, func() {}, NodeTimeout(10*time.Minute))
	AfterSuite(func(ctx SpecContext) {
		Expect(shared.terminate(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	ReportAfterSuite("summary", summary)

	fanout()
	competingConsumers()
	duplicateDelivery()
	poisonMessages()
	consumerKilled()
	brokerRestart()
	backlogDrain()
	networkPartition()
	connectionsClosed()
	dependencyOutage()
	longOutage()
	publisherCrash()
	halfOpen()
	brokerAlarm()
	publishReset()
	consumerTimeout()
	queueDeleted()
	unroutable()
	topologyDrift()
	httpIdempotency()
	degradedNetwork()
	clusterQueue()
	clusterPartition()
	clusterServices()
	soak()
	return true
}

const figuresEntry = "figures"

// controlsAsked is every control a scenario of the catalogue asks for.
var controlsAsked = []string{"shared-queue", "memory-idempotency", "no-idempotency", "requeue-forever", "auto-ack", "transient-queues", "classic-queues", "count-outage-retries", "no-outbox", "no-heartbeats", "no-confirms", "no-consumer-recovery", "no-mandatory", "ignore-topology-errors", "http-no-idempotency"}

// summary prints a table of every verdict, says which controls the system
// does not provide, and writes JUnit XML and the figures as JSON.
func summary(r Report) {
	if r.SuiteConfig.DryRun { // a preview (Setup) or ginkgo --dry-run: nothing ran
		return
	}
	var all []report.Figures
	for _, spec := range r.SpecReports {
		for _, e := range spec.ReportEntries {
			if e.Name != figuresEntry {
				continue
			}
			if f, ok := entryValue[report.Figures](e); ok {
				all = append(all, f)
			}
		}
	}
	name := "?"
	if sys != nil {
		name = sys.Name
	}
	var brokers []string
	for _, f := range all {
		if f.Broker != "" && !slices.Contains(brokers, f.Broker) {
			brokers = append(brokers, f.Broker)
		}
	}
	fmt.Fprintf(os.Stdout, "\nmqchaos verdicts for %s (%d runs) on %s\n%s\n", name, len(all), cmp.Or(strings.Join(brokers, ", "), "a broker of unknown version"), report.Table(all))
	var passed, failed, skipped int
	var skips []string
	for _, spec := range r.SpecReports {
		switch {
		case spec.LeafNodeType != types.NodeTypeIt:
		case spec.State.Is(types.SpecStatePassed):
			passed++
		case spec.State.Is(types.SpecStateFailureStates):
			failed++
		default:
			skipped++
			if msg := spec.Failure.Message; msg != "" && !slices.Contains(skips, msg) {
				skips = append(skips, msg)
			}
		}
	}
	for _, s := range skips {
		fmt.Fprintf(os.Stdout, "skipped: %s\n", s)
	}
	fmt.Fprint(os.Stdout, whereTheTimeWent(r))
	if sys != nil {
		var missing []string
		for _, c := range controlsAsked {
			if _, ok := sys.Controls[c]; !ok {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stdout, "controls %s does not provide: %s\n", sys.Name, strings.Join(missing, ", "))
		}
	}
	fmt.Fprintf(os.Stdout, "scenarios: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if _, err := clearHistories(reports, all); err != nil {
		fmt.Fprintln(os.Stderr, "histories of the previous run kept:", err)
	}
	if err := report.WriteJSON(filepath.Join(reports, "figures.json"), all); err != nil {
		fmt.Fprintln(os.Stderr, "write figures:", err)
	}
	if err := reporters.GenerateJUnitReportWithConfig(r, filepath.Join(reports, "scenarios-junit.xml"), reporters.JunitReportConfig{OmitTimelinesForSpecState: types.SpecStatePassed}); err != nil {
		fmt.Fprintln(os.Stderr, "write junit:", err)
	}
	writeHTMLReport(all)
}

// rng is this spec's seeded randomness (ginkgo --seed reproduces it).
func rng() *rand.Rand {
	seed := uint64(GinkgoRandomSeed())
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// load is a run of n units with ids prefix-0001..., seeded by the spec;
// the prefix is slugged.
func load(prefix string, n int) workload.Load {
	return workload.Load{Prefix: report.Slug(prefix), Count: n, Seed: uint64(GinkgoRandomSeed())}
}

// startStack starts the system on this process's shared broker and
// database, in a vhost and database of their own, and removes it after
// the spec.
func startStack(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	GinkgoHelper()
	what := "this process's shared broker" + map[bool]string{true: " and database"}[sys.HasDatabase()]
	switch {
	case !shared.started(): // a spec without the label: started now
		By(fmt.Sprintf("starting %s (not started during the set-up: label the scenario %s)", what, labelSharedInfra))
		shared.start(context.WithoutCancel(ctx), "in its first spec")
	case !shared.ended():
		By("waiting for " + what + ", starting since the suite's set-up")
	}
	began := time.Now()
	inf, err := shared.wait(ctx)
	spent().setup += time.Since(began)
	Expect(err).NotTo(HaveOccurred(), "start %s", what)
	return start(ctx, name, append([]stack.Option{stack.OnInfra(inf)}, opts...)...)
}

// timings is where one spec's time went.
type timings struct {
	began                time.Time
	setup, settle, check time.Duration
}

// phases is the running spec's (specs of one process run one at a time);
// read and add to it through spent.
var phases timings

// spent is the running spec's timings, begun afresh at the spec's start
// the first time a spec asks. No BeforeEach resets them: after Setup's
// PreviewSpecs, Ginkgo (v2.34) runs neither a top-level BeforeEach nor a
// top-level ReportBeforeEach, and every spec's time was counted from the
// process's first spec.
func spent() *timings {
	if start := CurrentSpecReport().StartTime; !phases.began.Equal(start) {
		phases = timings{began: start}
	}
	return &phases
}

// record reports where the spec's time went (its "time" entry, shown
// with a failure or -v; the summary has a line of it for every spec), and
// returns it in seconds.
func (t timings) record() map[string]float64 {
	total := time.Since(t.began)
	run := total - t.setup - t.settle - t.check
	AddReportEntry(timeEntry, specTime{Total: total.Seconds(), Setup: t.setup.Seconds(), Run: run.Seconds(), Settle: t.settle.Seconds(), Check: t.check.Seconds()},
		ReportEntryVisibilityFailureOrVerbose)
	return map[string]float64{"setup": t.setup.Seconds(), "run": run.Seconds(), "settle": t.settle.Seconds(), "check": t.check.Seconds()}
}

const timeEntry = "time"

// specTime is where a spec's time went until its verdict, in seconds:
// its stacks' start, the load and faults, settling and checking.
type specTime struct {
	Total, Setup, Run, Settle, Check float64
}

func (t specTime) String() string {
	return fmt.Sprintf("%.1fs: set-up %.1fs, load and faults %.1fs, settle %.1fs, check %.1fs", t.Total, t.Setup, t.Run, t.Settle, t.Check)
}

// startIsolatedStack starts a broker (and database) for this spec alone,
// for scenarios that break them.
func startIsolatedStack(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	GinkgoHelper()
	return start(ctx, name, opts...)
}

func start(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	GinkgoHelper()
	By("starting " + sys.Name + " as " + name)
	began := time.Now()
	s, err := stack.Start(ctx, sys, images, append([]stack.Option{stack.Name(name)}, opts...)...)
	spent().setup += time.Since(began)
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			dumpLogs(ctx, s)
		}
		Expect(s.Terminate(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	Expect(err).NotTo(HaveOccurred())
	// Cleanups run last-registered first: the sampler stops before the
	// stack is removed.
	DeferCleanup(sample(s))
	return s
}

// control is the stack option that turns the named safety mechanism off;
// the spec is skipped when the system provides no such switch.
func control(name string) stack.Option {
	GinkgoHelper()
	c, ok := sys.Controls[name]
	if !ok {
		Skip(fmt.Sprintf("%s provides no control %q, so this violation cannot be shown", sys.Name, name))
	}
	return stack.WithEnvSet(c.Env)
}

// failpoint is the stack option that arms the named failpoint, and the
// failpoint; the spec is skipped when the system has none.
func failpoint(name string) (stack.Option, system.Failpoint) {
	GinkgoHelper()
	fp, ok := sys.Failpoints[name]
	if !ok {
		Skip(fmt.Sprintf("%s declares no failpoint %q", sys.Name, name))
	}
	return stack.Env(fp.Service, fp.Env), fp
}

// tuning is the named tuning, or no option when the system has none.
func tuning(name string) stack.Option {
	return stack.WithEnvSet(sys.Tuning[name])
}

// anyInput is the system's first HTTP input, or else its first AMQP input.
func anyInput() string {
	GinkgoHelper()
	if in := sys.InputNames("http"); len(in) > 0 {
		return in[0]
	}
	return amqpInput()
}

// amqpInput is the system's first AMQP input; the spec is skipped when it
// has none.
func amqpInput() string {
	GinkgoHelper()
	in := sys.InputNames("amqp")
	if len(in) == 0 {
		Skip(sys.Name + " has no AMQP input: this scenario publishes to the broker")
	}
	return in[0]
}

// httpInput is the system's first HTTP input; the spec is skipped, saying
// why it needs one, when it has none.
func httpInput(why string) string {
	GinkgoHelper()
	in := sys.InputNames("http")
	if len(in) == 0 {
		Skip(sys.Name + " has no HTTP input: " + why)
	}
	return in[0]
}

// closeConnections has the broker close every connection of r, once the
// broker lists one (see waitListed).
func closeConnections(ctx context.Context, s *stack.Stack, h *history.History, r *stack.Replica) {
	GinkgoHelper()
	ips := waitListed(ctx, s, r)
	Expect(fault.Inject(ctx, h, fault.CloseConnections(s.Management(), r.Name, ips...))).To(Succeed())
}

// waitListed waits until the broker lists a connection of r, and returns
// r's addresses. The broker lists a connection a few seconds after it
// opened (3.7 s on a quiet machine): a scenario that must close it at a
// given moment waits for it beforehand, and again just before the close,
// which then returns at once unless r has connected anew meanwhile.
func waitListed(ctx context.Context, s *stack.Stack, r *stack.Replica) []string {
	GinkgoHelper()
	ips, err := r.Addresses(ctx)
	Expect(err).NotTo(HaveOccurred())
	By("waiting until the broker lists " + r.Name + "'s connections")
	Eventually(ctx, func(g Gomega) {
		cs, err := s.Management().Connections(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(slices.ContainsFunc(cs, func(c broker.Connection) bool { return slices.Contains(ips, c.PeerHost) })).To(BeTrue())
	}).WithPolling(100 * time.Millisecond).Should(Succeed())
	return ips
}

// consumer is the service that consumes what input sends (the first
// service with an effect of it that consumes a queue, other than the one
// an HTTP input calls), and the queue it consumes.
func consumer(input string) (string, string) {
	GinkgoHelper()
	in := sys.Inputs[input]
	if in.AMQP != nil {
		for _, q := range in.AMQP.Queues {
			if svc := sys.ConsumerOf(q); svc != nil {
				return svc.Name, q
			}
		}
	}
	for _, e := range sys.EffectsOf(input) {
		svc := sys.Service(e.Service)
		if len(svc.Consumes) > 0 && (in.HTTP == nil || svc.Name != in.HTTP.Service) {
			return svc.Name, svc.Consumes[0].Queue
		}
	}
	Skip(fmt.Sprintf("%s has no service consuming what %s sends", sys.Name, input))
	return "", ""
}

// effectOf is the first effect of input by service.
func effectOf(input, service string) system.Effect {
	GinkgoHelper()
	for _, e := range sys.EffectsOf(input) {
		if e.Service == service {
			return e
		}
	}
	Skip(fmt.Sprintf("%s declares no effect of %s for %s", sys.Name, service, input))
	return system.Effect{}
}

// waitApplied waits until e shows at least n effects, and returns how many.
func waitApplied(ctx context.Context, s *stack.Stack, e system.Effect, n int, poll time.Duration) int {
	GinkgoHelper()
	seen := 0
	Eventually(ctx, func(g Gomega) {
		o, err := effect.Read(ctx, s, e)
		g.Expect(err).NotTo(HaveOccurred())
		seen = len(o.IDs)
		g.Expect(seen).To(BeNumerically(">=", n))
	}).WithPolling(poll).Should(Succeed())
	return seen
}

// settled waits until every queue is drained, nothing is unacked, and the
// effects of input have not changed for quiet; it returns them.
func settled(ctx context.Context, s *stack.Stack, quiet time.Duration, inputs ...string) map[string]effect.Observed {
	GinkgoHelper()
	By("settling: queues drained, nothing unacked, effects unchanged for " + quiet.String())
	defer func(began time.Time) { spent().settle += time.Since(began) }(time.Now())
	var (
		obs   map[string]effect.Observed
		last  string
		since time.Time
	)
	effects := effectsOf(inputs)
	Eventually(ctx, func(g Gomega) {
		g.Expect(settle.Stack(ctx, s)).To(Succeed())
		cur, err := effect.ReadAll(ctx, s, effects)
		g.Expect(err).NotTo(HaveOccurred())
		if fp := settle.Fingerprint(cur); fp != last {
			last, since = fp, time.Now()
		}
		obs = cur
		g.Expect(time.Since(since)).To(BeNumerically(">=", quiet), "effects still changing: %s", last)
	}).WithTimeout(3 * time.Minute).Should(Succeed())
	return obs
}

func effectsOf(inputs []string) []system.Effect {
	var out []system.Effect
	for _, in := range inputs {
		for _, e := range sys.EffectsOf(in) {
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
func verdict(ctx context.Context, scenario, side string, s *stack.Stack, h *history.History, obs map[string]effect.Observed, started time.Time, inputs []string, note ...string) report.Figures {
	GinkgoHelper()
	return verdictWith(ctx, scenario, side, s, h, obs, started, inputs, measured{}, note...)
}

// measured is what a scenario observed besides the id sets: violations,
// each in words with its figures, and how long the system took to notice
// the fault and to recover from it.
type measured struct {
	violations      []string
	detect, recover *time.Duration
	tag             string // in the history's file name, e.g. "seed-11"
	latencies       []report.Latency
}

// verdictWith is verdict with what the scenario measured itself.
func verdictWith(ctx context.Context, scenario, side string, s *stack.Stack, h *history.History, obs map[string]effect.Observed, started time.Time, inputs []string, m measured, note ...string) report.Figures {
	GinkgoHelper()
	began := time.Now()
	f := report.Figures{Scenario: scenario, Side: side, System: sys.Name, Input: strings.Join(inputs, "+"), Note: strings.Join(note, "; "), Violations: m.violations, Latencies: m.latencies}
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
	f.Checks = settle.Judge(h, inputs, effectsOf(inputs), obs)
	var err error
	f.DeadLettered, err = settle.DeadLetterCount(ctx, s)
	Expect(err).NotTo(HaveOccurred())
	f.Broker = brokerVersion(ctx, s.Management())
	f.Seconds = time.Since(started).Seconds()
	for _, fault := range h.Faults(started) {
		By(fault)
	}
	spent().check += time.Since(began)
	f.Phases = spent().record()
	h.AddSamples(samplesOf(s))
	f.History = saveHistory(h, scenario, side, m.tag, started)
	AddReportEntry(figuresEntry, f, ReportEntryVisibilityFailureOrVerbose)
	GinkgoWriter.Println(f.String())
	return f
}

// brokerVersion is the release of the broker m reads, for the figures;
// "" if it cannot be read now (the verdict does not depend on it).
func brokerVersion(ctx context.Context, m *broker.Management) string {
	v, err := m.Version(ctx)
	if err != nil {
		GinkgoWriter.Println("broker version not read:", err)
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

// expectHeld asserts that no effect was lost, duplicated or unexpected,
// and that every effect processed all the accepted units.
func expectHeld(f report.Figures) {
	GinkgoHelper()
	Expect(f.Checks).NotTo(BeEmpty(), "nothing was judged")
	for _, c := range f.Checks {
		Expect(c.Lost).To(BeEmpty(), "%s", f)
		Expect(c.Duplicated).To(BeEmpty(), "%s", f)
		Expect(c.Unexpected).To(BeEmpty(), "%s", f)
		Expect(c.Accepted).To(BeNumerically(">", 0), "nothing was accepted: %s", f)
	}
}

// expectProcessed asserts that every effect processed n distinct units.
func expectProcessed(f report.Figures, n int) {
	GinkgoHelper()
	for _, c := range f.Checks {
		Expect(c.Processed).To(Equal(n), "%s: %s", c.Service, f)
	}
}

// dumpLogs writes the tail of every replica's log to the GinkgoWriter.
func dumpLogs(ctx context.Context, s *stack.Stack) {
	if s == nil {
		return
	}
	for _, svc := range sys.ServiceNames() {
		for _, r := range s.Replicas(svc) {
			b, err := r.Logs(ctx)
			if err != nil {
				continue
			}
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			fmt.Fprintf(GinkgoWriter, "--- %s log (tail)\n%s\n", r.Name, b)
		}
	}
}

// inBackground runs f in a goroutine (failing the spec if it asserts) and
// returns a func that waits for it to finish.
func inBackground(f func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		f()
	}()
	return func() { <-done }
}

// whereTheTimeWent is the summary's account of the run's time: the
// suite's set-up, then a line per spec that ran (the phases of its
// "time" entry, and its teardown after the verdict). The test binary's
// compile comes before the suite and is not in it.
func whereTheTimeWent(r Report) string {
	var b strings.Builder
	var setup time.Duration // the longest of the parallel processes
	for _, spec := range r.SpecReports {
		if spec.LeafNodeType == types.NodeTypeSynchronizedBeforeSuite {
			setup = max(setup, spec.RunTime)
		}
	}
	fmt.Fprintf(&b, "where the time went (besides compiling the test binary, before the suite):\n  suite set-up %.1fs: clean-up of earlier runs %.1fs, images %.1fs",
		setup.Seconds(), suiteSetup.clean.Seconds(), suiteSetup.build.Seconds())
	if suiteSetup.builds > 0 {
		fmt.Fprintf(&b, " (%d of %d built, the others up to date)", len(suiteSetup.built), suiteSetup.builds)
	}
	if shared.ended() {
		fmt.Fprintf(&b, "; process 1's shared broker took %.1fs to start, %s", shared.took.Seconds(), shared.when)
	}
	b.WriteString("\n")
	for _, spec := range r.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt || !spec.State.Is(types.SpecStatePassed|types.SpecStateFailureStates) {
			continue
		}
		name := spec.LeafNodeText
		var t *specTime
		for _, e := range spec.ReportEntries {
			switch e.Name {
			case figuresEntry:
				if f, ok := entryValue[report.Figures](e); ok {
					name = f.Scenario + " (" + f.Side + ")"
				}
			case timeEntry:
				if v, ok := entryValue[specTime](e); ok {
					t = &v
				}
			}
		}
		if t == nil {
			fmt.Fprintf(&b, "  %s: %.1fs, %s before any verdict\n", name, spec.RunTime.Seconds(), spec.State)
			continue
		}
		fmt.Fprintf(&b, "  %s: %s, teardown %.1fs\n", name, t, spec.RunTime.Seconds()-t.Total)
	}
	return b.String()
}

// entryValue is a report entry's value: its own, or, from another
// parallel process, decoded from JSON.
func entryValue[T any](e types.ReportEntry) (T, bool) {
	if v, ok := e.GetRawValue().(T); ok {
		return v, true
	}
	var v T
	err := json.Unmarshal([]byte(e.Value.AsJSON), &v)
	return v, err == nil
}
