// Package report turns scenario verdicts into the suite's summary: a table
// for people and a JSON file for machines. Every figure is per effect
// (per service), never summed across services.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/mqchaos/mqchaos/harness/checker"
)

// Figures is one scenario run's verdict in numbers.
type Figures struct {
	Scenario string `json:"scenario"`
	Side     string `json:"side"` // "safe" or "control: <name>"
	System   string `json:"system"`
	// Broker is the broker's release the run was judged on, e.g.
	// "RabbitMQ 3.10.8 (Erlang 25.2.3)": behaviour differs by release.
	Broker string `json:"broker,omitempty"`
	Input  string `json:"input"`
	// Sent counts the units of work the harness sent, each once.
	Sent int `json:"sent"`
	// DeadLettered counts the messages in the system's dead-letter queues.
	DeadLettered int     `json:"dead_lettered"`
	Seconds      float64 `json:"seconds"`
	// Phases is where the spec's time went, in seconds: setup, run (load
	// and faults), settle, check.
	Phases map[string]float64 `json:"phases,omitempty"`
	Note   string             `json:"note,omitempty"` // e.g. drain rate
	Checks []checker.Result   `json:"checks"`         // one per effect
	// DeadLetters is one verdict per dead-letter queue read: poison
	// missing, repeated, without a reason, valid units there.
	DeadLetters []checker.DeadLetterResult `json:"dead_letters,omitempty"`
	// Violations are what was observed to break the guarantee besides the
	// checks' id sets, each in words with its figures (a poison message
	// never dead-lettered, a dead link never noticed).
	Violations []string `json:"violations,omitempty"`
	// Recovery is the checker's verdict on each recovery budget of the
	// run: how soon after a heal the system was ready and drained again.
	Recovery []checker.Recovery `json:"recovery,omitempty"`
	// Bounds is the checker's verdict on each bound of the run besides
	// the effects' id sets (checker.Bound): a margin kept under a fault,
	// a replica ready only with a consumer.
	Bounds []checker.Bound `json:"bounds,omitempty"`
	// Unseen are the queues that still held work when the run settled,
	// "unseen at the end" (checker.Verdict.Unseen): a violation. The
	// units found in them that an effect lacks are each check's Unseen.
	Unseen []checker.Left `json:"unseen,omitempty"`
	// DetectSeconds and RecoverSeconds, where a scenario measures them:
	// how long the system took to notice the fault, and to work again
	// after the heal.
	DetectSeconds  *float64 `json:"detect_seconds,omitempty"`
	RecoverSeconds *float64 `json:"recover_seconds,omitempty"`
	// Latencies, where a scenario measures them: percentiles of a kind of
	// latency per phase of the run (see LatencyOf).
	Latencies []Latency `json:"latencies,omitempty"`
	// History is the file the run's history was written to (JSON Lines,
	// see history.ReadJSONL), relative to the reports directory.
	History string `json:"history,omitempty"`
	// Replay is the command that runs it again as it ran, where the run
	// left a reproduction ("mqchaos replay reports/run-.../repro/x.json",
	// the path as the run printed it), else "".
	Replay string `json:"replay,omitempty"`
}

// Held reports whether no check found anything lost, unseen at the end,
// duplicated or unexpected, no queue held work at the end, every
// dead-letter queue read holds what it must, and nothing else was
// observed to break the guarantee.
func (f Figures) Held() bool {
	return checker.Verdict{Checks: f.Checks, Violations: f.Violations, DeadLetters: f.DeadLetters, Recovery: f.Recovery, Bounds: f.Bounds, Unseen: f.Unseen}.Held()
}

// Judged reports whether anything was judged: a check, a dead-letter
// queue, a recovery budget, a bound, a queue read holding work at the
// end, or an observed violation.
func (f Figures) Judged() bool {
	return len(f.Checks) > 0 || len(f.Violations) > 0 || len(f.DeadLetters) > 0 || len(f.Recovery) > 0 || len(f.Bounds) > 0 || len(f.Unseen) > 0
}

// Check is the result for the effect named name ("inventory: ..."), or a
// zero Result.
func (f Figures) Check(name string) checker.Result {
	for _, c := range f.Checks {
		if c.Service == name {
			return c
		}
	}
	return checker.Result{}
}

// Lost is the distinct ids lost by any check.
func (f Figures) Lost() []string { return f.union(func(c checker.Result) []string { return c.Lost }) }

// UnseenIDs is the distinct ids any check counts as unseen at the end:
// still waiting in a queue when the run settled (checker.Result.Unseen).
func (f Figures) UnseenIDs() []string {
	return f.union(func(c checker.Result) []string { return c.Unseen })
}

// Destroyed is the distinct ids any check counts as destroyed by a
// fault's nature (lost with a deleted queue): expected, no violation
// (checker.Result.Destroyed).
func (f Figures) Destroyed() []string {
	return f.union(func(c checker.Result) []string { return c.DestroyedIDs() })
}

// Duplicated is the distinct ids any check counts as duplicated in
// violation: an at-least-once effect's duplicates are by design, and a
// control is not caught by them (checker.Result.DuplicatedViolations).
func (f Figures) Duplicated() []string {
	return f.union(func(c checker.Result) []string { return c.DuplicatedViolations() })
}

// Unexpected is the distinct ids unexpected by any check.
func (f Figures) Unexpected() []string {
	return f.union(func(c checker.Result) []string { return c.Unexpected })
}

// OutOfOrder is the distinct ids any check with an order found applied
// out of order.
func (f Figures) OutOfOrder() []string {
	return f.union(func(c checker.Result) []string { return c.OutOfOrder })
}

func (f Figures) union(pick func(checker.Result) []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range f.Checks {
		for _, id := range pick(c) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// Broken is one kind of violation at one place: "lost at inventory:
// stock reserved", with the ids of the units it concerns where it has
// any.
type Broken struct {
	Kind string   `json:"kind"`
	IDs  []string `json:"ids,omitempty"`
}

// Broken is every kind of violation f shows, the checks' first in their
// order (lost, unseen at the end, duplicated, unexpected, out of
// order), then the dead-letter queues' (poison missing, repeated, without
// a reason, valid units there), then each recovery budget gone over
// ("recovery over budget after half-open"), then the queues that held
// work at the end ("unseen at the end in orders.inventory"), then the
// observed ones by the words before their figures: "invariant "stock
// never negative" (always) broken". Units a fault
// destroyed by its nature (lost with a deleted queue) are no violation
// and not listed.
func (f Figures) Broken() []Broken {
	var out []Broken
	for _, c := range f.Checks {
		for _, b := range []Broken{{"lost at " + c.Service, c.Lost}, {"unseen at the end at " + c.Service, c.Unseen}, {"duplicated at " + c.Service, c.DuplicatedViolations()}, {"unexpected at " + c.Service, c.Unexpected}, {"out of order at " + c.Service, c.OutOfOrder}} {
			if len(b.IDs) > 0 {
				out = append(out, b)
			}
		}
	}
	for _, d := range f.DeadLetters {
		for _, b := range []Broken{{"poison missing from " + d.Queue, d.Missing}, {"poison repeated in " + d.Queue, d.Repeated}, {"poison without a reason in " + d.Queue, d.NoReason}, {"valid units in " + d.Queue, d.ValidViolations()}} {
			if len(b.IDs) > 0 {
				out = append(out, b)
			}
		}
	}
	for _, r := range f.Recovery {
		if !r.OK() {
			out = append(out, Broken{Kind: "recovery over budget after " + r.Kind})
		}
	}
	for _, b := range f.Bounds {
		if !b.OK() {
			out = append(out, Broken{Kind: "broken: " + b.What})
		}
	}
	for _, l := range f.Unseen {
		out = append(out, Broken{Kind: "unseen at the end in " + l.Queue, IDs: l.Units})
	}
	for _, v := range f.Violations {
		kind, _, _ := strings.Cut(v, ":")
		if i := strings.Index(kind, " broken"); strings.HasPrefix(kind, "invariant ") && i > 0 {
			kind = kind[:i+len(" broken")]
		}
		out = append(out, Broken{Kind: kind})
	}
	return out
}

// String is the verdict: one line per check, computed from the figures.
func (f Figures) String() string {
	lines := make([]string, len(f.Checks))
	for i, c := range f.Checks {
		lines[i] = c.String()
	}
	head := fmt.Sprintf("%s (%s) on %s: sent %d through %s, dead-lettered %d", f.Scenario, f.Side, f.System, f.Sent, f.Input, f.DeadLettered)
	if f.Note != "" {
		head += "; " + f.Note
	}
	for _, d := range f.DeadLetters {
		lines = append(lines, d.String())
	}
	for _, l := range f.Latencies {
		lines = append(lines, "latency "+l.String())
	}
	for _, r := range f.Recovery {
		lines = append(lines, r.String())
	}
	for _, b := range f.Bounds {
		lines = append(lines, b.String())
	}
	for _, l := range f.Unseen {
		lines = append(lines, "VIOLATED: unseen at the end: "+l.String())
	}
	for _, v := range f.Violations {
		lines = append(lines, "VIOLATED: "+v)
	}
	return head + "\n  " + strings.Join(lines, "\n  ")
}

// Table renders figures as an aligned table, a row per check, a run's
// violated checks first, so that the row naming the run shows what broke.
func Table(all []Figures) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tside\teffect\tsent\taccepted\tprocessed\tlost\tduplicated\tunexpected\trecovered\tdead-lettered\tdetect\trecover\ttime\tnote")
	for _, f := range all {
		checks := slices.Clone(f.Checks)
		slices.SortStableFunc(checks, func(a, b checker.Result) int {
			switch {
			case !a.OK() && b.OK():
				return -1
			case a.OK() && !b.OK():
				return 1
			}
			return 0
		})
		for i, c := range checks {
			scenario, side, note, dead, secs := f.Scenario, f.Side, f.Note, fmt.Sprint(f.DeadLettered), fmt.Sprintf("%.1fs", f.Seconds)
			detect, recover := seconds(f.DetectSeconds), seconds(f.RecoverSeconds)
			if i > 0 {
				scenario, side, note, dead, secs, detect, recover = "", "", "", "", "", "", ""
			} else {
				for _, r := range f.Recovery {
					if !r.OK() {
						note = strings.Join(slices.DeleteFunc([]string{"recovery over budget after " + r.Kind, note}, func(s string) bool { return s == "" }), "; ")
					}
				}
			}
			// No columns of their own: most effects have no order, and
			// few runs have units a fault destroyed by its nature.
			var extra []string
			if len(c.Unseen) > 0 {
				extra = append(extra, fmt.Sprintf("unseen at the end %d", len(c.Unseen)))
			}
			if len(c.OutOfOrder) > 0 {
				extra = append(extra, fmt.Sprintf("out of order %d", len(c.OutOfOrder)))
			}
			for _, how := range c.DestroyedHow() {
				extra = append(extra, fmt.Sprintf("%s %d, expected", how, len(c.Destroyed[how])))
			}
			if i == 0 {
				extra = append(extra, deadLetterNotes(f.DeadLetters)...)
			}
			if len(extra) > 0 {
				note = strings.Join(slices.DeleteFunc(append(extra, note), func(s string) bool { return s == "" }), "; ")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", scenario, side, c.Service, f.Sent, c.Accepted, c.Processed,
				len(c.Lost), len(c.Duplicated), len(c.Unexpected), len(c.Recovered), dead, detect, recover, secs, note)
		}
		if len(f.Checks) == 0 {
			fmt.Fprintf(w, "%s\t%s\t-\t%d\t\t\t\t\t\t\t%d\t%s\t%s\t%.1fs\t%s\n", f.Scenario, f.Side, f.Sent, f.DeadLettered,
				seconds(f.DetectSeconds), seconds(f.RecoverSeconds), f.Seconds, strings.Join(append([]string{f.Note}, f.Violations...), "; "))
		}
	}
	w.Flush()
	return b.String()
}

// deadLetterNotes is a short line per dead-letter queue read, for the
// table's note: "q.dlq: poison 10, missing 10, repeated 0, no reason 0,
// valid 0".
func deadLetterNotes(ds []checker.DeadLetterResult) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%s: poison %d, missing %d, repeated %d, no reason %d, valid %d", d.Queue, d.Poison, len(d.Missing), len(d.Repeated), len(d.NoReason), len(d.Valid))
	}
	return out
}

// seconds renders a measured duration, or "-" where none was measured.
func seconds(s *float64) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.1fs", *s)
}

// WriteJSON writes figures to path, creating its directory.
func WriteJSON(path string, all []Figures) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
