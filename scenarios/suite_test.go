// Package scenarios_test proves mqchaos's messaging guarantees on real
// containers: each file is one guarantee, shown to hold with the safe
// configuration (label "safe") and shown to be caught when the mechanism
// behind it is switched off (label "unsafe").
//
//	ginkgo ./scenarios                          # everything
//	ginkgo --label-filter=safe ./scenarios      # the guarantees
//	ginkgo --label-filter='guarantee:no-loss' ./scenarios
package scenarios_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

func TestScenarios(t *testing.T) {
	// Before testcontainers first reads its configuration.
	for k, v := range stack.TestcontainersDefaults(t.Context(), os.Getenv) {
		t.Setenv(k, v)
	}
	RegisterFailHandler(Fail)
	tclog.SetDefault(log.New(GinkgoWriter, "", log.LstdFlags)) // container chatter only on failure or -v
	SetDefaultEventuallyTimeout(90 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	SetDefaultConsistentlyPollingInterval(250 * time.Millisecond)
	RunSpecs(t, "mqchaos scenarios")
}

var (
	images stack.Images
	// shared is this Ginkgo process's broker and database. Scenarios that
	// do not break them run on it, each in its own vhost and database.
	shared *stack.Infra
)

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	By("removing what interrupted runs left behind")
	c, n, err := stack.Clean(ctx, true)
	Expect(err).NotTo(HaveOccurred())
	if c+n > 0 {
		GinkgoWriter.Printf("removed %d containers and %d networks of earlier runs\n", c, n)
	}
	imgs := stack.ImagesFromEnv(ctx, os.Getenv)
	By(fmt.Sprintf("building the service images (broker %s, database %s)", imgs.RabbitMQ, imgs.Postgres))
	root, err := stack.ModuleRoot(".")
	Expect(err).NotTo(HaveOccurred())
	Expect(stack.BuildServiceImages(ctx, root, imgs)).To(Succeed())
	b, err := json.Marshal(imgs)
	Expect(err).NotTo(HaveOccurred())
	return b
}, func(ctx SpecContext, b []byte) {
	Expect(json.Unmarshal(b, &images)).To(Succeed())
	By("starting this process's shared broker and database")
	inf, err := stack.StartInfra(ctx, images)
	DeferCleanup(func(ctx SpecContext) {
		Expect(inf.Terminate(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	Expect(err).NotTo(HaveOccurred())
	shared = inf
}, NodeTimeout(5*time.Minute))

// The summary: a table on standard output, and JUnit XML and the figures
// as JSON in reports/.
var _ = ReportAfterSuite("summary", func(r Report) {
	var all []report.Figures
	for _, spec := range r.SpecReports {
		for _, e := range spec.ReportEntries {
			if e.Name != figuresEntry {
				continue
			}
			if f, ok := e.GetRawValue().(report.Figures); ok {
				all = append(all, f) // this process's own spec
				continue
			}
			var f report.Figures // a spec of another parallel process, as JSON
			if err := json.Unmarshal([]byte(e.Value.AsJSON), &f); err == nil {
				all = append(all, f)
			}
		}
	}
	fmt.Fprintf(os.Stdout, "\nmqchaos verdicts (%d runs)\n%s\n", len(all), report.Table(all))
	var passed, failed, skipped int
	for _, spec := range r.SpecReports {
		switch {
		case spec.LeafNodeType != types.NodeTypeIt:
		case spec.State.Is(types.SpecStatePassed):
			passed++
		case spec.State.Is(types.SpecStateFailureStates):
			failed++
		default:
			skipped++
		}
	}
	fmt.Fprintf(os.Stdout, "scenarios: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	root, err := stack.ModuleRoot(".")
	if err != nil {
		return
	}
	dir := filepath.Join(root, "reports")
	if err := report.WriteJSON(filepath.Join(dir, "figures.json"), all); err != nil {
		fmt.Fprintln(os.Stderr, "write figures:", err)
	}
	if err := reporters.GenerateJUnitReportWithConfig(r, filepath.Join(dir, "scenarios-junit.xml"), reporters.JunitReportConfig{OmitTimelinesForSpecState: types.SpecStatePassed}); err != nil {
		fmt.Fprintln(os.Stderr, "write junit:", err)
	}
})

const figuresEntry = "figures"

// rng is this spec's seeded randomness (ginkgo --seed reproduces it).
func rng() *rand.Rand {
	seed := uint64(GinkgoRandomSeed())
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// startStack starts the services on this process's shared broker and
// database, in a vhost and database of their own, and removes them after
// the spec.
func startStack(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	return start(ctx, name, append([]stack.Option{stack.OnInfra(shared)}, opts...)...)
}

// startIsolatedStack starts a broker and a database for this spec alone,
// for scenarios that break them.
func startIsolatedStack(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	return start(ctx, name, opts...)
}

func start(ctx context.Context, name string, opts ...stack.Option) *stack.Stack {
	GinkgoHelper()
	By("starting stack " + name)
	s, err := stack.Start(ctx, images, append([]stack.Option{stack.Name(name)}, opts...)...)
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			dumpLogs(ctx, s)
		}
		Expect(s.Terminate(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	Expect(err).NotTo(HaveOccurred())
	return s
}

// unsafe turns the named switches on.
func unsafe(switches ...string) map[string]string {
	env := map[string]string{}
	for _, s := range switches {
		env[s] = "true"
	}
	return env
}
