// Package suite is the Ginkgo front end of mqchaos's catalogue: it
// declares every scenario of catalogue.All as a Describe, its cases as
// When and its sides as It, with their labels and timeouts, so that
// `ginkgo` runs them with its parallel processes, label filters and JUnit,
// and gives the same verdicts as `mqchaos run`.
//
// A suite of your own needs a few lines:
//
//	func TestMySystem(t *testing.T) {
//		suite.Setup(t, "mqchaos/system.yaml")
//		RegisterFailHandler(Fail)
//		RunSpecs(t, "my system under mqchaos")
//	}
//
//	var _ = suite.Declare()
//
// Run it with `go tool ginkgo ./path/to/suite`; narrow it with labels
// (`--label-filter=safe`, `guarantee:no-loss`) or `--focus`.
package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

var (
	// env is this Ginkgo process's environment: the system, the images,
	// the reports directory and the shared broker.
	env *catalogue.Env
	// setup is where process 1's suite set-up went, for the summary.
	setup catalogue.SetupTimes
)

// Setup loads the description at path (relative to the working
// directory) and sets the testcontainers defaults the catalogue needs;
// call it before RunSpecs, after Declare. When a spec that will run
// (after --focus and --label-filter) runs on the shared broker, it starts
// this process's shared broker and database in the background, so they
// come up while the suite's set-up builds the images; it does not block.
// To see which specs will run it calls PreviewSpecs, after which Ginkgo
// (v2.34) does not run a BeforeEach or a ReportBeforeEach declared
// outside every container (seen in a two-process run): declare yours in
// a Describe. Reports go to MQCHAOS_REPORTS, or reports/ in the module
// root, or in the working directory.
func Setup(t *testing.T, path string) {
	for k, v := range stack.TestcontainersDefaults(t.Context(), os.Getenv) {
		t.Setenv(k, v) // before testcontainers first reads its configuration
	}
	sys, err := system.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	reports := os.Getenv("MQCHAOS_REPORTS")
	if reports == "" {
		reports = "reports"
		if root, err := stack.ModuleRoot("."); err == nil {
			reports = filepath.Join(root, "reports")
		}
	}
	tclog.SetDefault(log.New(GinkgoWriter, "", log.LstdFlags)) // container chatter only on failure or -v
	env = catalogue.NewEnv(sys, stack.ImagesFromEnv(t.Context(), os.Getenv), reports)
	if cfg, _ := GinkgoConfiguration(); !cfg.DryRun && sharedInfraWillRun(PreviewSpecs("mqchaos preview")) {
		env.StartShared(t.Context(), "beside the suite's set-up")
	}
}

// System is the description the suite runs against (nil before Setup).
func System() *system.System {
	if env == nil {
		return nil
	}
	return env.System
}

// sharedInfraWillRun reports whether a spec that will run runs on the
// shared broker.
func sharedInfraWillRun(preview Report) bool {
	return slices.ContainsFunc(preview.SpecReports, func(r SpecReport) bool {
		return r.LeafNodeType == types.NodeTypeIt && r.State.Is(types.SpecStatePassed) && catalogue.UsesSharedInfra(r.Labels())
	})
}

// Declare declares the suite's set-up, its summary and every scenario of
// the catalogue. Call it once, at package level.
func Declare() bool {
	SynchronizedBeforeSuite(func(ctx SpecContext) {
		sys := env.System
		By("removing what interrupted runs left behind")
		began := time.Now()
		c, n, err := stack.Clean(ctx, true)
		setup.Clean = time.Since(began)
		Expect(err).NotTo(HaveOccurred())
		if c+n > 0 {
			GinkgoWriter.Printf("removed %d containers and %d networks of earlier runs\n", c, n)
		}
		By(fmt.Sprintf("building the images of %s whose sources changed (broker %s, database %s)", sys.Name, env.Images.RabbitMQ, env.Images.Postgres))
		began = time.Now()
		built, err := stack.BuildImages(ctx, sys)
		setup.Build, setup.Built, setup.Builds = time.Since(began), built, catalogue.Builds(sys)
		Expect(err).NotTo(HaveOccurred())
	}, func() {}, NodeTimeout(10*time.Minute))
	AfterSuite(func(ctx SpecContext) {
		Expect(env.Terminate(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	ReportAfterSuite("summary", summary)
	for _, sc := range catalogue.All() {
		declare(sc)
	}
	return true
}

// declare declares one scenario: a Describe, a When for each run of
// specs of one case, an It for each spec.
func declare(sc catalogue.Scenario) {
	args := []any{Label(sc.Labels...)}
	if sc.Serial {
		args = append(args, Serial)
	}
	args = append(args, func() {
		specs := sc.Specs
		for len(specs) > 0 {
			n := 1
			for n < len(specs) && specs[n].When == specs[0].When {
				n++
			}
			group := specs[:n]
			specs = specs[n:]
			if group[0].When == "" {
				for _, sp := range group {
					it(sp)
				}
				continue
			}
			When(group[0].When, func() {
				for _, sp := range group {
					it(sp)
				}
			})
		}
	})
	Describe(sc.Name, args...)
}

func it(sp catalogue.Spec) {
	It(sp.Text, Label(sp.Labels...), func(ctx SpecContext) {
		sp.Run(ctx, catalogue.NewT(ginkgoRuntime{}, env))
	}, SpecTimeout(sp.Timeout))
}

// ginkgoRuntime is the catalogue's Runtime on Ginkgo.
type ginkgoRuntime struct{}

func (ginkgoRuntime) By(text string)     { By(text) }
func (ginkgoRuntime) Skip(reason string) { Skip(reason, 2) }
func (ginkgoRuntime) Fail(message string, callerSkip ...int) {
	skip := 1
	if len(callerSkip) > 0 {
		skip += callerSkip[0]
	}
	Fail(message, skip)
}
func (ginkgoRuntime) Cleanup(f func(ctx context.Context)) {
	DeferCleanup(func(ctx SpecContext) { f(ctx) }, NodeTimeout(time.Minute))
}
func (ginkgoRuntime) Go(f func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		f()
	}()
	return func() { <-done }
}
func (ginkgoRuntime) Out() io.Writer { return GinkgoWriter }
func (ginkgoRuntime) Entry(name string, value any, visible bool) {
	v := ReportEntryVisibilityFailureOrVerbose
	if visible {
		v = ReportEntryVisibilityAlways
	}
	AddReportEntry(name, value, v)
}
func (ginkgoRuntime) Seed() int64        { return GinkgoRandomSeed() }
func (ginkgoRuntime) Process() int       { return GinkgoParallelProcess() }
func (ginkgoRuntime) Failed() bool       { return CurrentSpecReport().Failed() }
func (ginkgoRuntime) Started() time.Time { return CurrentSpecReport().StartTime }

// summary prints the table of every verdict and where the time went, and
// writes JUnit XML, the figures as JSON and the HTML report.
func summary(r Report) {
	if r.SuiteConfig.DryRun || env == nil { // a preview (Setup) or ginkgo --dry-run: nothing ran
		return
	}
	results := results(r)
	for _, spec := range r.SpecReports {
		if spec.LeafNodeType == types.NodeTypeSynchronizedBeforeSuite {
			setup.Total = max(setup.Total, spec.RunTime)
		}
	}
	if took, when, ok := env.SharedStart(); ok {
		setup.SharedStart, setup.SharedWhen = took, when
	}
	catalogue.Summarize(os.Stdout, env.System, results, setup)
	catalogue.WriteOutputs(env.Reports, results, os.Stdout)
	if err := reporters.GenerateJUnitReportWithConfig(r, filepath.Join(env.Reports, "scenarios-junit.xml"), reporters.JunitReportConfig{OmitTimelinesForSpecState: types.SpecStatePassed}); err != nil {
		fmt.Fprintln(os.Stderr, "write junit:", err)
	}
}

// results is every It of the report as the catalogue's results, with the
// verdicts and times their entries carry, this process's or, from
// another parallel process, as JSON.
func results(r Report) []catalogue.Result {
	var out []catalogue.Result
	for _, spec := range r.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			continue
		}
		res := catalogue.Result{Spec: spec.FullText(), Labels: spec.Labels(), RunTime: spec.RunTime, Message: spec.Failure.Message}
		if len(spec.ContainerHierarchyTexts) > 0 {
			res.Scenario = spec.ContainerHierarchyTexts[0]
		}
		switch {
		case spec.State.Is(types.SpecStatePassed):
			res.State = catalogue.Passed
		case spec.State.Is(types.SpecStateFailureStates):
			res.State = catalogue.Failed
		default:
			res.State = catalogue.Skipped
		}
		for _, e := range spec.ReportEntries {
			switch e.Name {
			case catalogue.FiguresEntry:
				if f, ok := entryValue[report.Figures](e); ok {
					res.Figures = append(res.Figures, f)
				}
			case catalogue.TimeEntry:
				if v, ok := entryValue[catalogue.SpecTime](e); ok {
					res.Time = &v
				}
			}
		}
		out = append(out, res)
	}
	return out
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
