package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"
	"k8s.io/klog/v2"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/kube"
	"github.com/mqchaos/mqchaos/harness/schedule"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
	"github.com/mqchaos/mqchaos/scenarios/catalogue/expect"
)

// getenv is the process's environment, read here and only here.
var getenv = os.Getenv

// runConfig is a run of the catalogue, from run's or soak's flags.
type runConfig struct {
	system, scenario, label, out string
	expect                       string // an expected-verdict table: exit by it
	seed                         int64
	procs                        int
	rabbitmq, postgres           string
	// target is where the system runs: "docker", or "kubernetes" in
	// namespaces named after namespace, on the cluster of kubeconfig.
	target, namespace, kubeconfig string
	// described is the description as the run read it, for the
	// reproductions' digest: it may change while the run goes on.
	described []byte
	// knobs set the sizes the specs expose (a replay's, a shrink's).
	knobs catalogue.Knobs
}

func (c *runConfig) flags(fs *flag.FlagSet, label string) {
	fs.StringVar(&c.system, "system", "system.yaml", "the system description")
	fs.StringVar(&c.scenario, "scenario", "", "run only the specs whose full name matches this regular expression")
	fs.StringVar(&c.label, "label", label, "a label filter (safe, unsafe, guarantee:no-loss, cluster, soak; && || ! and parentheses); empty: every spec")
	fs.Int64Var(&c.seed, "seed", time.Now().UnixNano()%1_000_000_000, "the random seed of loads and schedules; the same seed gives the same ones")
	fs.IntVar(&c.procs, "procs", 2, "specs run side by side, each process with a broker of its own")
	fs.StringVar(&c.out, "out", "", "the run's directory, new or empty (default: reports/run-<UTC time>)")
	fs.StringVar(&c.rabbitmq, "rabbitmq-image", "", "the broker's image (default $RABBITMQ_IMAGE, else rabbitmq:4-management, else a local build)")
	fs.StringVar(&c.postgres, "postgres-image", "", "the database's image (default $POSTGRES_IMAGE, else postgres:15)")
	fs.StringVar(&c.target, "target", "docker", "where the system runs: docker (the local engine), or kubernetes (the cluster of -kubeconfig)")
	fs.StringVar(&c.namespace, "namespace", "run", "with -target kubernetes: each broker's namespace is mqchaos-<this>-<id>, deleted at its end")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "with -target kubernetes: the kubeconfig (default: as kubectl finds it)")
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("run", stderr)
	var c runConfig
	c.flags(fs, "!soak && !cluster")
	fs.StringVar(&c.expect, "expect", "", "an expected-verdict table (systems/warehouse/expected-verdicts.yaml): exit 1 only when a verdict differs from it")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	return runCatalogue(ctx, c, "run", stdout, stderr)
}

func cmdSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("soak", stderr)
	var c runConfig
	c.flags(fs, "soak")
	duration := fs.Duration("duration", 10*time.Minute, "how long the load and the faults go on (30s or more)")
	control := fs.String("control", "", "run against this control of the system, which must show its violation")
	rate := fs.Float64("rate", 5, "units per second through each input")
	overlap := fs.Float64("overlap", 0.25, "the chance (0 to 1) that a fault starts while the one before it is held, on another target")
	hold := fs.Duration("hold", 8*time.Second, "the longest a fault is held; holds are drawn from a quarter of it to all of it")
	mix := fs.String("mix", "", "the kinds of fault and their weights, kind=weight,... (kill-replica, stop-replica, pause-replica, disconnect-replica, restart-broker, pause-database, kill-database); default every kind, 1 each")
	plan := fs.String("schedule", "", "run this schedule file (a soak's soak-<seed>-schedule.json, or shrink's) instead of drawing one: its seed and length are the run's")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *plan != "" {
		// The run's seed is the schedule's, in its header and its
		// reproduction too.
		s, err := schedule.Read(*plan)
		if err != nil {
			return usageError{fmt.Errorf("soak -schedule: %w", err)}
		}
		c.seed = int64(s.Seed)
	}
	for k, v := range map[string]string{
		"MQCHAOS_SOAK_DURATION": duration.String(), "MQCHAOS_SOAK_SEED": strconv.FormatInt(c.seed, 10),
		"MQCHAOS_SOAK_CONTROL": *control, "MQCHAOS_SOAK_RATE": strconv.FormatFloat(*rate, 'f', -1, 64),
		"MQCHAOS_SOAK_SCHEDULE": *plan, "MQCHAOS_SOAK_OVERLAP": strconv.FormatFloat(*overlap, 'f', -1, 64), "MQCHAOS_SOAK_MIX": *mix, "MQCHAOS_SOAK_HOLD": hold.String(),
	} {
		os.Setenv(k, v)
	}
	if _, err := catalogue.SoakFromEnv(os.Getenv, uint64(c.seed)); err != nil {
		return usageError{err}
	}
	return runCatalogue(ctx, c, "soak", stdout, stderr)
}

// platform is c's target: nil for Docker, or the Kubernetes cluster,
// connected to, with what earlier runs whose process is gone left there
// deleted.
func (c runConfig) platform(ctx context.Context) (stack.Platform, error) {
	switch c.target {
	case "docker":
		return nil, nil
	case "kubernetes":
		cluster, err := kube.Connect(c.kubeconfig)
		if err != nil {
			return nil, cannot("-target kubernetes: %v", err)
		}
		if _, err := cluster.Clean(ctx, true); err != nil {
			return nil, cannot("-target kubernetes: %v", err)
		}
		return stack.Kubernetes(cluster, c.namespace), nil
	}
	return nil, usageError{fmt.Errorf("-target %q: want docker or kubernetes", c.target)}
}

// runCatalogue runs the specs c picks against c's system and writes what
// CI reads: the summary, JUnit XML, figures, histories, the report and,
// under GitHub Actions, a step summary and an annotation per failure.
func runCatalogue(ctx context.Context, c runConfig, how string, stdout, stderr io.Writer) error {
	_, err := runResults(ctx, c, how, stdout, stderr)
	return err
}

// runResults is runCatalogue, with the run's directory and results.
func runResults(ctx context.Context, c runConfig, how string, stdout, stderr io.Writer) (ran, error) {
	sys, err := system.Load(c.system)
	if err != nil {
		return ran{}, usageError{err}
	}
	if c.described, err = os.ReadFile(c.system); err != nil {
		return ran{}, usageError{err}
	}
	var table *expect.Table
	if c.expect != "" {
		if table, err = expect.Load(c.expect); err != nil {
			return ran{}, usageError{err}
		}
	}
	var focus *regexp.Regexp
	if c.scenario != "" {
		if focus, err = regexp.Compile(c.scenario); err != nil {
			return ran{}, cannot("-scenario: %v", err)
		}
	}
	picked, err := catalogue.Select(catalogue.All(), focus, c.label)
	if err != nil {
		return ran{}, usageError{err}
	}
	if len(picked) == 0 {
		return ran{}, cannot("no spec matches -scenario %q and -label %q", c.scenario, c.label)
	}
	out, err := newRunDir(c.out, time.Now())
	done := ran{dir: out}
	if err != nil {
		return ran{}, usageError{err}
	}
	// testcontainers' and client-go's chatter go to the run's
	// directory, not the log (client-go reports each broken port-forward
	// of a pod that exited or restarted, as it should).
	if f, err := os.Create(filepath.Join(out, "containers.log")); err == nil {
		defer f.Close()
		tclog.SetDefault(log.New(f, "", log.LstdFlags))
		klog.SetSlogLogger(slog.New(slog.NewTextHandler(f, nil)))
	}
	for k, v := range stack.TestcontainersDefaults(ctx, getenv) {
		os.Setenv(k, v) // before testcontainers first reads its configuration
	}
	if c.rabbitmq != "" {
		os.Setenv("RABBITMQ_IMAGE", c.rabbitmq)
	}
	if c.postgres != "" {
		os.Setenv("POSTGRES_IMAGE", c.postgres)
	}
	images := stack.ImagesFromEnv(ctx, os.Getenv)
	if fault.NoOp {
		fmt.Fprintln(stdout, "this build injects no fault (-tags mqchaos_noop_faults): every spec that injects one must fail with \"fault did not take effect\"")
	}
	fmt.Fprintf(stdout, "mqchaos %s %s: %d specs against %s (%s), seed %d, %d processes; broker %s, database %s; results in %s\n",
		how, version(), len(picked), sys.Name, c.system, c.seed, c.procs, images.RabbitMQ, images.Postgres, out)

	var setup catalogue.SetupTimes
	began := time.Now()
	platform, err := c.platform(ctx)
	if err != nil {
		return ran{}, err
	}
	if _, _, err := stack.Clean(ctx, true); err != nil {
		return ran{}, cannot("docker: %v", err)
	}
	setup.Clean = time.Since(began)
	built, err := stack.BuildImages(ctx, sys)
	setup.Build, setup.Built, setup.Builds = time.Since(began)-setup.Clean, built, catalogue.Builds(sys)
	setup.Total = time.Since(began)
	if err != nil {
		return ran{}, cannot("images of %s: %v", c.system, err)
	}
	needed := []string{images.RabbitMQ}
	if sys.HasDatabase() {
		needed = append(needed, images.Postgres)
	}
	for _, img := range needed {
		if platform != nil {
			break // the cluster's nodes must have them: a pod without its image fails at once
		}
		if err := ensureImage(ctx, img); err != nil {
			return ran{}, cannot("%v", err)
		}
	}

	results := catalogue.Run(ctx, sys, images, picked, catalogue.RunOptions{Seed: c.seed, Procs: c.procs, Reports: out, Progress: newLines(stdout), Platform: platform, Knobs: c.knobs})
	catalogue.Summarize(stdout, sys, results, setup)
	// Each verdict not as it must be (a failed spec; with a table, one
	// that differs from it) leaves a reproduction, which the report,
	// JUnit, the CI annotations and the last lines name.
	unexpected := map[string]string{}
	for _, r := range results {
		if r.State == catalogue.Failed {
			unexpected[r.Spec] = r.Headline()
		}
	}
	var comparison *expect.Comparison
	if table != nil {
		cmp, err := holdTo(table, catalogue.Outcomes(results))
		if err != nil {
			catalogue.WriteOutputs(out, results, stdout) // what ran, though no table judges it
			return ran{}, err
		}
		comparison, unexpected = &cmp, map[string]string{}
		for _, d := range cmp.Differences {
			unexpected[d.Observed.Spec] = d.String()
		}
	}
	// A soak that found a violation leaves one too, even against a
	// control that must show one: it is what shrink cuts down.
	for _, r := range results {
		for _, f := range r.Figures {
			if _, ok := unexpected[r.Spec]; !ok && f.Scenario == "soak" && !f.Held() {
				unexpected[r.Spec] = "soak (" + f.Side + ") violated: " + f.Broken()[0].Kind
			}
		}
	}
	rep := writeResults(out, c, images, results, withCaught(results, unexpected), ctx.Err() != nil, stdout, stderr)
	if err := writeJUnit(filepath.Join(out, "junit.xml"), sys.Name, results, rep); err != nil {
		fmt.Fprintln(stderr, "junit:", err)
	} else {
		fmt.Fprintf(stdout, "junit: %s\n", filepath.Join(out, "junit.xml"))
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		if err := githubOutputs(stdout, getenv("GITHUB_STEP_SUMMARY"), sys.Name, results, rep); err != nil {
			fmt.Fprintln(stderr, "github step summary:", err)
		}
	}
	_, failed, _ := catalogue.Counts(results)
	for _, r := range results {
		if _, ok := unexpected[r.Spec]; ok {
			fmt.Fprintf(stdout, "reproduce %q: %s\n", r.Spec, rep.command(r))
		}
	}
	done.results = results
	if ctx.Err() != nil {
		return done, cannot("interrupted: %v", ctx.Err())
	}
	if comparison != nil {
		return done, compared(stdout, table, *comparison)
	}
	if failed > 0 {
		return done, fmt.Errorf("%w: %d of %d specs failed", errViolated, failed, len(results))
	}
	return done, nil
}

// writeResults writes what a finished run leaves in out: the
// reproduction of each result in unexpected (none when the run was
// interrupted), then the figures, outcomes and report, the figures of
// each result that left one carrying the command that replays it. It
// returns the reproducer that names the reproductions.
func writeResults(out string, c runConfig, images stack.Images, results []catalogue.Result, unexpected map[string]string, interrupted bool, stdout, stderr io.Writer) reproducer {
	rep := reproducer{system: c.system, seed: c.seed}
	if !interrupted {
		rep.files = writeReproductions(out, c, images, results, unexpected, stderr)
	}
	for k, r := range results {
		if _, ok := rep.files[r.Spec]; !ok {
			continue
		}
		for i := range r.Figures {
			results[k].Figures[i].Replay = rep.command(r)
		}
	}
	catalogue.WriteOutputs(out, results, stdout)
	return rep
}

// ran is a finished run: its directory and its results.
type ran struct {
	dir     string
	results []catalogue.Result
}

// newRunDir makes a run's directory: dir, which must not exist or be
// empty, or a new reports/run-<UTC time> (with -2, -3... if taken). It
// never reuses a directory that holds another run's files.
func newRunDir(dir string, now time.Time) (string, error) {
	if dir != "" {
		entries, err := os.ReadDir(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return dir, os.MkdirAll(dir, 0o755)
		case err != nil:
			return "", fmt.Errorf("-out %s: %w", dir, err)
		case len(entries) > 0:
			return "", fmt.Errorf("-out %s: not empty; a run never writes over another run's files", dir)
		}
		return dir, nil
	}
	if err := os.MkdirAll("reports", 0o755); err != nil {
		return "", fmt.Errorf("reports: %w", err)
	}
	base := filepath.Join("reports", "run-"+now.UTC().Format("20060102T150405Z"))
	for n := 1; ; n++ {
		d := base
		if n > 1 {
			d = fmt.Sprintf("%s-%d", base, n)
		}
		switch err := os.Mkdir(d, 0o755); {
		case err == nil:
			return d, nil
		case !errors.Is(err, fs.ErrExist):
			return "", fmt.Errorf("reports: %w", err)
		}
	}
}

// reproducer makes the command that runs one spec again as it ran:
// replay of its reproduction file where the run wrote one.
type reproducer struct {
	system string
	seed   int64
	files  map[string]string // reproduction files by spec
}

func (r reproducer) command(res catalogue.Result) string {
	if f, ok := r.files[res.Spec]; ok {
		return "mqchaos replay " + f
	}
	return fmt.Sprintf("mqchaos run -system %s -scenario '^%s$' -label= -seed %d -procs 1", r.system, regexp.QuoteMeta(res.Spec), r.seed)
}

// withCaught is unexpected and, for each control that caught its
// violation in a spec that exposes its sizes (catalogue.Knobs), what it
// caught: such a run leaves a reproduction too, for shrink to cut its
// sizes down, though its verdict was as it must be.
func withCaught(results []catalogue.Result, unexpected map[string]string) map[string]string {
	out := maps.Clone(unexpected)
	for _, r := range results {
		if _, ok := out[r.Spec]; ok || r.State != catalogue.Passed || !r.Knobs.Exposed() {
			continue
		}
		for _, f := range r.Figures {
			if b := f.Broken(); !f.Held() && len(b) > 0 {
				out[r.Spec] = "caught (" + f.Side + "): " + b[0].Kind
				break
			}
		}
	}
	return out
}
