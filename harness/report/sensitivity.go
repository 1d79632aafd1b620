package report

import (
	"fmt"
	"slices"
	"strings"
)

// Sensitivity is what a set of runs shows of the smallest violation
// mqchaos reports, for one class of violation (the guarantee it
// breaks): the fewest units of the class a control was caught with, and
// how often that control and the safe sides were judged right.
type Sensitivity struct {
	Class     string `json:"class"`     // "lost"
	Guarantee string `json:"guarantee"` // "no loss"
	// Smallest is the fewest units of the class one control's run
	// showed, of Sent units; 0 when no control showed the class.
	Smallest int `json:"smallest"`
	Sent     int `json:"sent"`
	// Scenario and Control name that run's spec.
	Scenario string `json:"scenario,omitempty"`
	Control  string `json:"control,omitempty"`
	// Caught of Runs: that spec's runs that showed the class.
	Caught int `json:"caught"`
	Runs   int `json:"runs"`
	// SafeReported of SafeRuns: the safe sides, of every scenario in the
	// runs, that reported the class (each is a violation, or a false
	// alarm).
	SafeReported int `json:"safe_reported"`
	SafeRuns     int `json:"safe_runs"`
}

// sensitivityClasses are the classes of violation counted in units, each
// with the guarantee it breaks and the units of it a run's figures show.
var sensitivityClasses = []struct {
	class, guarantee string
	units            func(Figures) []string
}{
	{"lost", "no loss", Figures.Lost},
	{"duplicated", "exactly-once effect", Figures.Duplicated},
	{"unexpected", "nothing unexpected", Figures.Unexpected},
	{"out of order", "order per key", Figures.OutOfOrder},
	{"unseen at the end", "drained at the end", Figures.UnseenIDs},
	{"valid units dead-lettered", "dead-letter accounting", Figures.validDeadLettered},
}

// validDeadLettered is the valid units found in a dead-letter queue where
// none may be.
func (f Figures) validDeadLettered() []string {
	var out []string
	for _, d := range f.DeadLetters {
		out = append(out, d.ValidViolations()...)
	}
	return out
}

// SensitivityOf is one row per class of violation that a control or a
// safe side of figs showed, in the classes' order. A class's smallest
// is the run with the fewest units of it, the one with more units sent
// on a tie (one lost in 10,000 is finer than one in 40); its Caught
// and Runs count every run of that run's scenario and side in figs, so
// runs repeated (make sensitivity) state a rate.
func SensitivityOf(figs []Figures) []Sensitivity {
	var out []Sensitivity
	for _, c := range sensitivityClasses {
		row := Sensitivity{Class: c.class, Guarantee: c.guarantee}
		for _, f := range figs {
			n := len(c.units(f))
			control, isControl := strings.CutPrefix(f.Side, "control: ")
			switch {
			case f.Side == "safe":
				row.SafeRuns++
				if n > 0 {
					row.SafeReported++
				}
			case isControl && n > 0:
				if row.Smallest == 0 || n < row.Smallest || n == row.Smallest && f.Sent > row.Sent {
					row.Smallest, row.Sent, row.Scenario, row.Control = n, f.Sent, f.Scenario, control
				}
			}
		}
		if row.Smallest == 0 && row.SafeReported == 0 {
			continue
		}
		for _, f := range figs {
			if row.Smallest > 0 && f.Scenario == row.Scenario && f.Side == "control: "+row.Control {
				row.Runs++
				if len(c.units(f)) > 0 {
					row.Caught++
				}
			}
		}
		out = append(out, row)
	}
	return out
}

// SmallestText is the row's smallest violation in words: "1 of 10,000
// units", or "none caught".
func (s Sensitivity) SmallestText() string {
	if s.Smallest == 0 {
		return "none caught"
	}
	return fmt.Sprintf("%s of %s units", thousands(s.Smallest), thousands(s.Sent))
}

// SensitivityTable is rows as a Markdown table, as docs and a
// terminal show it.
func SensitivityTable(rows []Sensitivity) string {
	var b strings.Builder
	b.WriteString("| class (guarantee) | smallest caught | by | its runs caught | safe runs reporting it |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		by := "—"
		if r.Smallest > 0 {
			by = fmt.Sprintf("%s, control %s", r.Scenario, r.Control)
		}
		fmt.Fprintf(&b, "| %s (%s) | %s | %s | %d of %d | %d of %d |\n", r.Class, r.Guarantee, r.SmallestText(), by, r.Caught, r.Runs, r.SafeReported, r.SafeRuns)
	}
	return b.String()
}

// thousands is n with a comma between thousands: 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var parts []string
	for len(s) > 3 {
		parts = append(parts, s[len(s)-3:])
		s = s[:len(s)-3]
	}
	parts = append(parts, s)
	slices.Reverse(parts)
	return strings.Join(parts, ",")
}
