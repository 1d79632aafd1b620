package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/checker"
)

// run is a run's figures with lost and duplicated units at inventory.
func run(scenario, side string, sent, lost, duplicated int) Figures {
	c := checker.Result{Service: "inventory: applied"}
	for i := range lost {
		c.Lost = append(c.Lost, fmt.Sprintf("l-%d", i))
	}
	for i := range duplicated {
		c.Duplicated = append(c.Duplicated, fmt.Sprintf("d-%d", i))
	}
	return Figures{Scenario: scenario, Side: side, Sent: sent, Checks: []checker.Result{c}}
}

// The smallest violation of a class is the run with the fewest units
// of it, the one of more units sent on a tie; its rate counts every run
// of that scenario's control, and the safe sides of every scenario.
func TestSensitivityIsTheSmallestCaughtAndItsRate(t *testing.T) {
	var figs []Figures
	for i := range 3 {
		figs = append(figs,
			run("sensitivity", "safe", 10000, 0, 0),
			run("sensitivity", "control: lose-one-in-10000", 10000, 1, 0),
			run("sensitivity", "control: duplicate-one-in-10000", 10000, 0, i%2), // shown in 2 of 3
		)
	}
	figs = append(figs,
		run("fanout", "control: shared-queue", 40, 1, 0), // one lost too, of fewer sent
		run("fanout", "safe", 40, 0, 0),
		run("broker restart", "safe", 200, 3, 0), // a safe side that lost
	)
	rows := SensitivityOf(figs)
	want := []Sensitivity{
		{Class: "lost", Guarantee: "no loss", Smallest: 1, Sent: 10000, Scenario: "sensitivity", Control: "lose-one-in-10000", Caught: 3, Runs: 3, SafeReported: 1, SafeRuns: 5},
		{Class: "duplicated", Guarantee: "exactly-once effect", Smallest: 1, Sent: 10000, Scenario: "sensitivity", Control: "duplicate-one-in-10000", Caught: 1, Runs: 3, SafeReported: 0, SafeRuns: 5},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows:\n%+v\nwant:\n%+v", rows, want)
	}
	table := SensitivityTable(rows)
	if !strings.Contains(table, "| lost (no loss) | 1 of 10,000 units | sensitivity, control lose-one-in-10000 | 3 of 3 | 1 of 5 |") {
		t.Errorf("table:\n%s", table)
	}
}

// A class only a safe side showed is listed, with no control caught; a
// class nothing showed is not.
func TestSensitivityListsAFalseAlarmWithoutAControl(t *testing.T) {
	rows := SensitivityOf([]Figures{run("fanout", "safe", 40, 2, 0)})
	if len(rows) != 1 || rows[0].Class != "lost" || rows[0].SmallestText() != "none caught" || rows[0].SafeReported != 1 {
		t.Errorf("rows: %+v", rows)
	}
}

// The HTML report shows the table of the runs it draws.
func TestReportShowsTheSensitivity(t *testing.T) {
	var b bytes.Buffer
	runs := []Run{{Figures: run("sensitivity", "safe", 10000, 0, 0)}, {Figures: run("sensitivity", "control: lose-one-in-10000", 10000, 1, 0)}}
	if err := WriteHTML(&b, runs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="sensitivity"`, "1 of 10,000 units", "sensitivity, control lose-one-in-10000", "1 of 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
