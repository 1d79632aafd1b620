// Package expect holds a run of the catalogue to an expected-verdict
// table: for a system whose flaws are known (systems/pyshop,
// systems/warehouse), the table says, per scenario and side, whether the
// figures read held or violated, or the spec was skipped, and a run whose
// verdicts differ from it is a regression of the harness or of the
// system. It is pure: it reads a table and a run's outcomes
// (catalogue.Outcome, results.json), and starts nothing.
//
// A table is YAML:
//
//	system: warehouse
//	verdicts:
//	  - {scenario: fanout, side: safe, verdict: held}
//	  - {scenario: killed by SIGKILL, side: "control: auto-ack", verdict: [violated, held], note: "why it varies"}
//	  - {scenario: half-open connection, side: safe, verdict: error, failure: "still ready"}
//
// scenario and side are the figures' (figures.json). verdict is held,
// violated, skipped or error, or a list of them when runs differ (a list
// must say why in note). failure, only with error, is text the spec's
// first failure line must contain. note is free text the check ignores.
// Unknown fields, verdicts, and a scenario and side listed twice are
// refused with their line.
package expect

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// Verdict is what a run says of one spec.
type Verdict string

// The verdicts: the figures read held (nothing lost, duplicated or
// unexpected in any effect, nothing else observed to break the
// guarantee) or violated; the spec was skipped (the system lacks what it
// needs); or it failed before any figures (a settle timeout, a harness
// error): no verdict at all, never read as a violation.
const (
	Held     Verdict = "held"
	Violated Verdict = "violated"
	Skipped  Verdict = "skipped"
	Error    Verdict = "error"
)

var verdicts = []Verdict{Held, Violated, Skipped, Error}

// Entry is one line of a table: the verdicts a spec may read.
type Entry struct {
	catalogue.Key
	Verdicts []Verdict // one, or the several a flaky spec reads
	Failure  string    // with Error: text the first failure line contains
	Note     string
	Line     int // in the table's file
}

// Allows reports whether o's verdict is one the entry expects.
func (e Entry) Allows(o Observed) bool {
	if !slices.Contains(e.Verdicts, o.Verdict) {
		return false
	}
	return o.Verdict != Error || strings.Contains(o.Failure, e.Failure)
}

func (e Entry) want() string {
	var parts []string
	for _, v := range e.Verdicts {
		parts = append(parts, string(v))
	}
	s := strings.Join(parts, " or ")
	if e.Failure != "" {
		s += fmt.Sprintf(" (failure containing %q)", e.Failure)
	}
	return s
}

// Table is an expected-verdict table.
type Table struct {
	Path    string
	System  string
	Entries []Entry
}

// Load reads and parses the table at path.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("expected verdicts: %w", err)
	}
	return Parse(b, path)
}

// Parse parses a table; path names it in errors, which read
// "path:line: what".
func Parse(b []byte, path string) (*Table, error) {
	t := &Table{Path: path}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: a table is a mapping with system and verdicts", path)
	}
	bad := func(n *yaml.Node, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n.Line, fmt.Sprintf(format, a...))
	}
	var errs []error
	var list *yaml.Node
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "system":
			t.System = v.Value
		case "verdicts":
			if v.Kind != yaml.SequenceNode {
				return nil, bad(v, "verdicts: a list of {scenario, side, verdict}")
			}
			list = v
		default:
			errs = append(errs, bad(k, "unknown field %q (system, verdicts)", k.Value))
		}
	}
	if list == nil {
		return nil, errors.Join(append(errs, fmt.Errorf("%s: no verdicts", path))...)
	}
	seen := map[catalogue.Key]int{}
	for _, n := range list.Content {
		e, err := parseEntry(n, bad)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first, ok := seen[e.Key]; ok {
			errs = append(errs, bad(n, "%s listed again (first at line %d)", e.Key, first))
			continue
		}
		seen[e.Key] = e.Line
		t.Entries = append(t.Entries, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

func parseEntry(n *yaml.Node, bad func(*yaml.Node, string, ...any) error) (Entry, error) {
	e := Entry{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return e, bad(n, "an entry is a mapping {scenario, side, verdict}")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "verdict" && v.Kind != yaml.ScalarNode {
			return e, bad(v, "%s: a string", k.Value)
		}
		switch k.Value {
		case "scenario":
			e.Scenario = v.Value
		case "side":
			e.Side = v.Value
		case "failure":
			e.Failure = v.Value
		case "note":
			e.Note = v.Value
		case "verdict":
			words := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				words = v.Content
			}
			for _, w := range words {
				if w.Kind != yaml.ScalarNode || !slices.Contains(verdicts, Verdict(w.Value)) {
					return e, bad(w, "verdict %q: one of held, violated, skipped, error, or a list of them", w.Value)
				}
				e.Verdicts = append(e.Verdicts, Verdict(w.Value))
			}
		default:
			return e, bad(k, "unknown field %q (scenario, side, verdict, failure, note)", k.Value)
		}
	}
	switch {
	case e.Scenario == "" || e.Side == "":
		return e, bad(n, "an entry names its scenario and side")
	case len(e.Verdicts) == 0:
		return e, bad(n, "%s: no verdict", e.Key)
	case len(e.Verdicts) > 1 && e.Note == "":
		return e, bad(n, "%s: several verdicts, and no note saying why they vary", e.Key)
	case e.Failure != "" && !slices.Contains(e.Verdicts, Error):
		return e, bad(n, "%s: failure is for the verdict error", e.Key)
	}
	return e, nil
}

// Observed is a spec's outcome with the verdict it reads.
type Observed struct {
	catalogue.Outcome
	Verdict Verdict
	Failure string // the spec's failure in a line, if it failed
}

// Observe reads o's verdict: from its figures when it has any (violated
// when any figures did not hold), skipped when it was skipped, otherwise
// Error with the line of its failure that says what went wrong
// (catalogue.Result.Headline).
func Observe(o catalogue.Outcome) Observed {
	obs := Observed{Outcome: o}
	if o.State == catalogue.Failed {
		obs.Failure = catalogue.Result{Message: o.Message}.Headline()
	}
	switch {
	case len(o.Figures) > 0:
		obs.Verdict = Held
		for _, f := range o.Figures {
			if !f.Held() {
				obs.Verdict = Violated
			}
		}
	case o.State == catalogue.Skipped:
		obs.Verdict = Skipped
	default:
		obs.Verdict = Error
		if obs.Failure == "" {
			obs.Failure = "ended without figures" // passed, yet judged nothing
		}
	}
	return obs
}

// String is the verdict with what it rests on: the failure, or the
// figures of each effect (lost, duplicated, unexpected, recovered).
func (o Observed) String() string {
	s := string(o.Verdict)
	if o.Verdict == Error || o.Verdict == Skipped && o.Message != "" {
		s += ": " + catalogue.Result{Message: cmp.Or(o.Failure, o.Message)}.Headline()
	}
	var figs []string
	for _, f := range o.Figures {
		for _, c := range f.Checks {
			figs = append(figs, fmt.Sprintf("%s lost %d, duplicated %d, unexpected %d, recovered %d of %d accepted",
				c.Service, len(c.Lost), len(c.DuplicatedViolations()), len(c.Unexpected), len(c.Recovered), c.Accepted))
		}
		for _, v := range f.Violations {
			figs = append(figs, "violated: "+v)
		}
		if f.DeadLettered > 0 {
			figs = append(figs, fmt.Sprintf("dead-lettered %d", f.DeadLettered))
		}
	}
	if len(figs) > 0 {
		s += "; " + strings.Join(figs, "; ")
	}
	if o.Verdict != Error && o.Failure != "" {
		s += "; the spec failed: " + o.Failure
	}
	return s
}

// Difference is a spec whose verdict is not what its table says, or that
// its table does not list (Entry nil).
type Difference struct {
	Entry    *Entry
	Observed Observed
}

func (d Difference) String() string {
	key := d.Observed.Key.String()
	if d.Observed.Scenario == "" {
		key = fmt.Sprintf("%q (no scenario and side known for it)", d.Observed.Spec)
	}
	if d.Entry == nil {
		return fmt.Sprintf("%s: not in the table; observed %s", key, d.Observed)
	}
	return fmt.Sprintf("%s: expected %s (line %d), observed %s", key, d.Entry.want(), d.Entry.Line, d.Observed)
}

// Comparison is a run held to its table.
type Comparison struct {
	Differences []Difference
	Compared    int // specs the run ran (or skipped) and the check compared
	// FailedByDesign counts the specs that failed with the verdict the
	// table expects of them: the system's known flaws.
	FailedByDesign int
}

// OK reports whether every verdict is as the table expects.
func (c Comparison) OK() bool { return len(c.Differences) == 0 }

// Summary is the comparison in one line: "verdicts as expected: 16 of 16
// (9 specs fail by design)", or how many differ.
func (c Comparison) Summary() string {
	design := ""
	if c.FailedByDesign > 0 {
		design = fmt.Sprintf(" (%d %s by design)", c.FailedByDesign, plural(c.FailedByDesign, "spec fails", "specs fail"))
	}
	if c.OK() {
		return fmt.Sprintf("verdicts as expected: %d of %d%s", c.Compared, c.Compared, design)
	}
	return fmt.Sprintf("verdicts not as expected: %d of %d differ%s", len(c.Differences), c.Compared, design)
}

// Compare holds the outcomes of a run to t. A spec the table lists but
// the run did not run (left out by -label or -scenario) is no difference;
// a spec the run ran that the table does not list is one.
func Compare(t *Table, outcomes []catalogue.Outcome) Comparison {
	var c Comparison
	for _, o := range outcomes {
		obs := Observe(o)
		c.Compared++
		i := slices.IndexFunc(t.Entries, func(e Entry) bool { return e.Key == o.Key })
		if i < 0 || o.Scenario == "" {
			c.Differences = append(c.Differences, Difference{Observed: obs})
			continue
		}
		e := &t.Entries[i]
		if !e.Allows(obs) {
			c.Differences = append(c.Differences, Difference{Entry: e, Observed: obs})
			continue
		}
		if o.State == catalogue.Failed {
			c.FailedByDesign++
		}
	}
	return c
}

// SystemOf is the system the outcomes' figures name, or "" when none do.
func SystemOf(outcomes []catalogue.Outcome) string {
	for _, o := range outcomes {
		for _, f := range o.Figures {
			if f.System != "" {
				return f.System
			}
		}
	}
	return ""
}

// Write writes a table of what the outcomes observed, for a system whose
// verdicts are not yet known: each entry as observed, an error with its
// failure's first line as the failure to expect. A person reads it over
// before it becomes the table.
func Write(system string, outcomes []catalogue.Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "system: %s\nverdicts:\n", quote(system))
	for _, o := range outcomes {
		obs := Observe(o)
		if o.Scenario == "" {
			fmt.Fprintf(&b, "  # %q: no scenario and side known for it\n", o.Spec)
			continue
		}
		fmt.Fprintf(&b, "  - {scenario: %s, side: %s, verdict: %s", quote(o.Scenario), quote(o.Side), obs.Verdict)
		if obs.Verdict == Error {
			fmt.Fprintf(&b, ", failure: %s", quote(obs.Failure))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// quote is s as a YAML flow scalar: plain when YAML reads it back as the
// same string, else double-quoted.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, ":{}[],#&*!|>'\"%@`") && strings.TrimSpace(s) == s {
		return s
	}
	return fmt.Sprintf("%q", s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
