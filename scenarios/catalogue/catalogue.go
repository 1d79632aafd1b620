// Package catalogue is mqchaos's scenario catalogue: each scenario is a
// plain value (All) that states the guarantee it proves, what it needs
// from a system (an AMQP input, replicas, a database, a failpoint), and
// is skipped with the reason when the system lacks it; each has a control
// that must catch the violation when the system's switch for it is turned
// off. Front ends run them against a described system: Run (the mqchaos
// command) and the Ginkgo suite in scenarios/ give the same verdicts, and
// both end with Summarize and WriteOutputs.
package catalogue

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/system"
)

// ControlsAsked is every control the scenarios' specs name, in order
// ("is caught ... (control no-outbox)"); a test holds each spec's name to
// the control it asks the system for.
func ControlsAsked(scenarios []Scenario) []string {
	var out []string
	for _, sc := range scenarios {
		for _, c := range controls(sc) {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// MissingControls is every control the catalogue asks for that sys does
// not provide.
func MissingControls(sys *system.System) []string {
	var missing []string
	for _, c := range ControlsAsked(All()) {
		if _, ok := sys.Controls[c]; !ok {
			missing = append(missing, c)
		}
	}
	return missing
}

// State is how a spec ended.
type State string

// A spec passed (its verdict is as it must be), failed (a guarantee
// violated, a control not caught, or the run broke off), or was skipped.
const (
	Passed  State = "passed"
	Failed  State = "failed"
	Skipped State = "skipped"
)

// Result is how one spec of a run ended, with the verdicts it recorded.
type Result struct {
	Scenario string // the scenario's name
	Spec     string // the spec's full text
	Labels   []string
	State    State
	Message  string // the failure, or the reason for the skip
	Figures  []report.Figures
	Time     *SpecTime // nil when the spec ended before its verdict
	RunTime  time.Duration
	// Output is what a failed spec wrote (its steps and its own lines).
	Output string
	// Knobs are the sizes the spec exposes, as it ran them.
	Knobs Knobs
}

// SetupTimes is where a run's set-up went, for the summary.
type SetupTimes struct {
	Total, Clean, Build time.Duration
	Built               []string // the images built; the others were up to date
	Builds              int      // images with a build
	// SharedStart is how long the first process's shared broker took to
	// start, and when it began ("" when it did not start).
	SharedStart time.Duration
	SharedWhen  string
}

// Counts is how many specs passed, failed and were skipped.
func Counts(results []Result) (passed, failed, skipped int) {
	for _, r := range results {
		switch r.State {
		case Passed:
			passed++
		case Failed:
			failed++
		default:
			skipped++
		}
	}
	return
}

// AllFigures is every verdict of the results, in order.
func AllFigures(results []Result) []report.Figures {
	var all []report.Figures
	for _, r := range results {
		all = append(all, r.Figures...)
	}
	return all
}

// Summarize writes the table of every verdict, the reasons for skips,
// where the time went, the controls sys does not provide and the counts.
func Summarize(w io.Writer, sys *system.System, results []Result, setup SetupTimes) {
	all := AllFigures(results)
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
	fmt.Fprintf(w, "\nmqchaos verdicts for %s (%d runs) on %s\n%s\n", name, len(all), cmp.Or(strings.Join(brokers, ", "), "a broker of unknown version"), report.Table(all))
	var skips []string
	for _, r := range results {
		if r.State == Skipped && r.Message != "" && !slices.Contains(skips, r.Message) {
			skips = append(skips, r.Message)
		}
	}
	for _, s := range skips {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	fmt.Fprint(w, whereTheTimeWent(results, setup))
	if sys != nil {
		if missing := MissingControls(sys); len(missing) > 0 {
			fmt.Fprintf(w, "controls %s does not provide: %s\n", sys.Name, strings.Join(missing, ", "))
		}
	}
	passed, failed, skipped := Counts(results)
	// Last, so that a log's tail keeps them: what each failed spec said,
	// and its figures.
	for _, r := range results {
		if r.State != Failed {
			continue
		}
		fmt.Fprintf(w, "FAILED %s\n  %s\n", r.Spec, r.Headline())
		for _, f := range r.Figures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	fmt.Fprintf(w, "scenarios: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
}

// Headline is the line of the spec's failure message that says what went
// wrong: its first, or for an unexpected error the error's own text
// rather than Gomega's "Unexpected error:" and the error's type.
func (r Result) Headline() string {
	lines := strings.Split(r.Message, "\n")
	if strings.TrimSpace(lines[0]) != "Unexpected error:" {
		return lines[0]
	}
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "<") {
			return l
		}
	}
	return lines[0]
}

// WriteOutputs writes dir/figures.json, dir/results.json (each spec's
// outcome, see Outcome) and dir/report.html from the results and the
// histories their figures name, after removing the histories of the
// previous run in dir (see clearHistories). Errors go to errw: the
// verdicts stand without these files.
func WriteOutputs(dir string, results []Result, errw io.Writer) {
	all := AllFigures(results)
	if _, err := clearHistories(dir, all); err != nil {
		fmt.Fprintln(errw, "histories of the previous run kept:", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(errw, "write figures:", err)
		return
	}
	if err := report.WriteJSON(filepath.Join(dir, "figures.json"), all); err != nil {
		fmt.Fprintln(errw, "write figures:", err)
	}
	if err := WriteOutcomes(filepath.Join(dir, OutcomesFile), results); err != nil {
		fmt.Fprintln(errw, "write outcomes:", err)
	}
	runs, err := report.LoadRuns(dir, all)
	if err != nil {
		fmt.Fprintln(errw, "report without some histories:", err)
	}
	path := filepath.Join(dir, "report.html")
	if err := report.WriteHTMLFile(path, runs); err != nil {
		fmt.Fprintln(errw, "write html report:", err)
		return
	}
	fmt.Fprintf(errw, "report: %s\n", path)
}

// whereTheTimeWent is the summary's account of the run's time: the
// run's set-up, then a line per spec that ran (the phases of its time,
// and its teardown after the verdict).
func whereTheTimeWent(results []Result, setup SetupTimes) string {
	var b strings.Builder
	fmt.Fprintf(&b, "where the time went (besides compiling, before the run):\n  set-up %.1fs: clean-up of earlier runs %.1fs, images %.1fs",
		setup.Total.Seconds(), setup.Clean.Seconds(), setup.Build.Seconds())
	if setup.Builds > 0 {
		fmt.Fprintf(&b, " (%d of %d built, the others up to date)", len(setup.Built), setup.Builds)
	}
	if setup.SharedWhen != "" {
		fmt.Fprintf(&b, "; process 1's shared broker took %.1fs to start, %s", setup.SharedStart.Seconds(), setup.SharedWhen)
	}
	b.WriteString("\n")
	for _, r := range results {
		if r.State == Skipped {
			continue
		}
		name := r.Spec
		if len(r.Figures) > 0 {
			f := r.Figures[len(r.Figures)-1]
			name = f.Scenario + " (" + f.Side + ")"
		}
		if r.Time == nil {
			fmt.Fprintf(&b, "  %s: %.1fs, %s before any verdict\n", name, r.RunTime.Seconds(), r.State)
			continue
		}
		fmt.Fprintf(&b, "  %s: %s, teardown %.1fs\n", name, r.Time, r.RunTime.Seconds()-r.Time.Total)
	}
	return b.String()
}

// Builds is how many images of sys have a build, for the summary.
func Builds(sys *system.System) int {
	with := map[string]bool{}
	for _, svc := range sys.Services {
		if svc.Build != nil {
			with[svc.Image] = true
		}
	}
	return len(with)
}
