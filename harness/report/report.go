// Package report turns scenario verdicts into the suite's summary: a table
// for people and a JSON file for machines.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mqchaos/mqchaos/harness/checker"
)

// Figures is one scenario run's verdict in numbers.
type Figures struct {
	Scenario     string           `json:"scenario"`
	Side         string           `json:"side"` // "safe" or "unsafe"
	Published    int              `json:"published"`
	Processed    int              `json:"processed"`
	Lost         int              `json:"lost"`
	Duplicated   int              `json:"duplicated"`
	Unexpected   int              `json:"unexpected"`
	DeadLettered int              `json:"dead_lettered"`
	Seconds      float64          `json:"seconds"`
	Extra        string           `json:"extra,omitempty"` // e.g. drain rate
	Verdict      string           `json:"verdict"`         // the line of figures
	Checks       []checker.Result `json:"checks,omitempty"`
}

// String is the verdict line, prefixed with the scenario and side.
func (f Figures) String() string {
	return fmt.Sprintf("%s (%s): %s", f.Scenario, f.Side, f.Verdict)
}

// FromChecks sums a scenario's checks into Figures: lost, duplicated and
// unexpected are the distinct ids over every check.
func FromChecks(scenario, side string, published int, checks []checker.Result) Figures {
	f := Figures{Scenario: scenario, Side: side, Published: published, Checks: checks}
	lost, dup, unexp := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var lines []string
	for _, c := range checks {
		for _, id := range c.Lost {
			lost[id] = true
		}
		for _, id := range c.Duplicated {
			dup[id] = true
		}
		for _, id := range c.Unexpected {
			unexp[id] = true
		}
		if c.Service == "inventory" {
			f.Processed = c.Processed
		}
		lines = append(lines, c.String())
	}
	f.Lost, f.Duplicated, f.Unexpected = len(lost), len(dup), len(unexp)
	f.Verdict = strings.Join(lines, " | ")
	return f
}

// Table renders figures as an aligned table.
func Table(all []Figures) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tside\tpublished\tprocessed\tlost\tduplicated\tunexpected\tdead-lettered\ttime\tnote")
	for _, f := range all {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1fs\t%s\n", f.Scenario, f.Side, f.Published, f.Processed,
			f.Lost, f.Duplicated, f.Unexpected, f.DeadLettered, f.Seconds, f.Extra)
	}
	w.Flush()
	return b.String()
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
