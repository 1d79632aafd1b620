package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/mqchaos/mqchaos/scenarios/catalogue"
	"github.com/mqchaos/mqchaos/scenarios/catalogue/expect"
)

// cmdExpect holds a finished run (its directory's results.json, written
// by mqchaos run and by the Ginkgo suite) to an expected-verdict table,
// running nothing: exit 0 when every verdict is as the table says, 1
// when one differs, 2 for a bad table or a directory without results.
// -write prints a table of what the run observed instead; -no-effect
// holds the run to what a build whose faults do nothing must give.
func cmdExpect(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("expect", stderr)
	table := fs.String("table", "", "the expected-verdict table (e.g. systems/warehouse/expected-verdicts.yaml)")
	dir := fs.String("run", "reports", "the run's directory: mqchaos run's -out, or the Ginkgo suite's reports/")
	write := fs.Bool("write", false, "print a table of the run's observed verdicts (to read over, then keep) instead of comparing")
	noEffect := fs.Bool("no-effect", false, "hold a run of a build whose faults do nothing (-tags mqchaos_noop_faults) to what it must give: every spec that injects a fault fails with \"fault did not take effect\"")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	outcomes, err := readOutcomes(*dir)
	if err != nil {
		return usageError{err}
	}
	if *noEffect {
		return holdNoEffect(stdout, *dir, outcomes)
	}
	if *write {
		fmt.Fprint(stdout, expect.Write(expect.SystemOf(outcomes), outcomes))
		return nil
	}
	if *table == "" {
		return cannot("-table: name the expected-verdict table (or -write one)")
	}
	t, err := expect.Load(*table)
	if err != nil {
		return usageError{err}
	}
	return compareRun(stdout, t, outcomes)
}

// readOutcomes reads a run directory's results.json.
func readOutcomes(dir string) ([]catalogue.Outcome, error) {
	path := filepath.Join(dir, catalogue.OutcomesFile)
	outcomes, err := catalogue.ReadOutcomes(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no %s (not a run's directory, or a run from before mqchaos wrote it)", dir, catalogue.OutcomesFile)
	}
	return outcomes, err
}

// compareRun holds outcomes to t, writes a line per difference and the
// summary to w, and returns errViolated when a verdict differs.
func compareRun(w io.Writer, t *expect.Table, outcomes []catalogue.Outcome) error {
	c, err := holdTo(t, outcomes)
	if err != nil {
		return err
	}
	return compared(w, t, c)
}

// holdTo compares outcomes with t, which must be the table of their
// system.
func holdTo(t *expect.Table, outcomes []catalogue.Outcome) (expect.Comparison, error) {
	if sys := expect.SystemOf(outcomes); t.System != "" && sys != "" && sys != t.System {
		return expect.Comparison{}, cannot("%s is the table of %s, and the run is of %s", t.Path, t.System, sys)
	}
	return expect.Compare(t, outcomes), nil
}

// compared prints c, a run held to t, and fails when a verdict differs.
func compared(w io.Writer, t *expect.Table, c expect.Comparison) error {
	for _, d := range c.Differences {
		fmt.Fprintf(w, "DIFFERS %s\n", d)
	}
	fmt.Fprintf(w, "%s; table %s\n", c.Summary(), t.Path)
	if !c.OK() {
		return fmt.Errorf("%w: %s", errViolated, c.Summary())
	}
	return nil
}
