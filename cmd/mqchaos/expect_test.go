package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// mqchaos expect holds a finished run to a table: 0 when every verdict
// is the table's (failed specs or not), 1 with a line per difference, 2
// for a bad table or a directory that holds no run.
func TestExpectHoldsAFinishedRunToItsTable(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	if err := catalogue.WriteOutcomes(filepath.Join(run, catalogue.OutcomesFile), results()); err != nil {
		t.Fatal(err)
	}
	table := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	// results(): fanout safe held; its control failed with figures that
	// held (nothing lost); the soak skipped (no figures, keyed by the
	// catalogue when it knows the spec, here it does not).
	same := table("same.yaml", `verdicts:
  - {scenario: fanout, side: safe, verdict: held}
  - {scenario: fanout, side: "control: shared-queue", verdict: held}
`)
	differs := table("differs.yaml", `verdicts:
  - {scenario: fanout, side: safe, verdict: held}
  - {scenario: fanout, side: "control: shared-queue", verdict: violated}
`)
	bad := table("bad.yaml", "verdicts:\n  - {scenario: fanout, side: safe, verdict: fine}\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"expect", "-table", differs, "-run", run}, exitViolated, `DIFFERS fanout (control: shared-queue): expected violated (line 3), observed held; `},
		{[]string{"expect", "-table", same, "-run", run}, exitViolated, `DIFFERS "Soak holds" (no scenario and side known for it): not in the table; observed skipped: soak: set a duration`},
		{[]string{"expect", "-table", bad, "-run", run}, exitCannot, `bad.yaml:2: verdict "fine"`},
		{[]string{"expect", "-table", same, "-run", dir}, exitCannot, "no results.json"},
		{[]string{"run", "-system", "../../systems/reference/system.yaml", "-expect", bad}, exitCannot, `bad.yaml:2: verdict "fine"`},
		{[]string{"expect", "-write", "-run", run}, exitHeld, `- {scenario: fanout, side: "control: shared-queue", verdict: held}`},
	} {
		var out, errb bytes.Buffer
		code := mainArgs(context.Background(), c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String()+errb.String(), c.want) {
			t.Errorf("%v: exit %d, want %d and %q in\n%s%s", c.args, code, c.code, c.want, out.String(), errb.String())
		}
	}
}

// The soak, known to the catalogue, is keyed without figures; a table
// that lists it is met, and the summary counts the failure by design.
func TestExpectAllAsExpected(t *testing.T) {
	dir := t.TempDir()
	rs := results()
	sc := catalogue.All()[len(catalogue.All())-1]
	rs[2].Spec = sc.Specs[0].FullText(sc)
	if err := catalogue.WriteOutcomes(filepath.Join(dir, catalogue.OutcomesFile), rs); err != nil {
		t.Fatal(err)
	}
	tb := filepath.Join(dir, "t.yaml")
	os.WriteFile(tb, []byte(`system: shop
verdicts:
  - {scenario: fanout, side: safe, verdict: held}
  - {scenario: fanout, side: "control: shared-queue", verdict: held}
  - {scenario: soak, side: safe, verdict: skipped}
  - {scenario: broker restart, side: safe, verdict: violated}
`), 0o644)
	var out, errb bytes.Buffer
	if code := mainArgs(context.Background(), []string{"expect", "-table", tb, "-run", dir}, &out, &errb); code != exitHeld {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errb.String())
	}
	if want := "verdicts as expected: 3 of 3 (1 spec fails by design); table " + tb; !strings.Contains(out.String(), want) {
		t.Errorf("no %q in\n%s", want, out.String())
	}
}
