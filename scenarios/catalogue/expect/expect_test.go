package expect

import (
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

const table = `# a header
system: shop
verdicts:
  - {scenario: fanout, side: safe, verdict: held}
  - {scenario: fanout, side: "control: shared-queue", verdict: violated}
  - {scenario: broker restart, side: safe, verdict: error, failure: settle timeout}
  - {scenario: killed by SIGKILL, side: "control: auto-ack", verdict: [violated, held], note: "the kill may land after the backlog"}
  - {scenario: publisher crash, side: safe, verdict: skipped}
  - {scenario: soak, side: safe, verdict: held}
`

func outcome(scenario, side string, state catalogue.State, msg string, figs ...report.Figures) catalogue.Outcome {
	for i := range figs {
		figs[i].Scenario, figs[i].Side, figs[i].System = scenario, side, "shop"
	}
	return catalogue.Outcome{Key: catalogue.Key{Scenario: scenario, Side: side}, Spec: scenario + " " + side, State: state, Message: msg, Figures: figs}
}

func held() report.Figures {
	return report.Figures{Sent: 60, Checks: []checker.Result{{Service: "inventory", Accepted: 60, Processed: 60}}}
}

func lost(ids ...string) report.Figures {
	return report.Figures{Sent: 60, Checks: []checker.Result{{Service: "inventory", Accepted: 60, Processed: 60 - len(ids), Lost: ids}}}
}

func parse(t *testing.T, s string) *Table {
	t.Helper()
	tb, err := Parse([]byte(s), "expected.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// A run whose verdicts are the table's matches, failed specs and all; a
// spec the run left out is no difference.
func TestARunAsExpected(t *testing.T) {
	c := Compare(parse(t, table), []catalogue.Outcome{
		outcome("fanout", "safe", catalogue.Passed, "", held()),
		outcome("fanout", "control: shared-queue", catalogue.Passed, "", lost("u1")),
		outcome("broker restart", "safe", catalogue.Failed, "settle timeout after 180s: 1 ready\nmore"),
		outcome("killed by SIGKILL", "control: auto-ack", catalogue.Failed, "the control must show a violation", held()),
		outcome("publisher crash", "safe", catalogue.Skipped, "no failpoint"),
	})
	if !c.OK() || c.Compared != 5 || c.FailedByDesign != 2 {
		t.Fatalf("%+v", c)
	}
	if got, want := c.Summary(), "verdicts as expected: 5 of 5 (2 specs fail by design)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// A verdict other than the table's is a difference, told with the
// figures of each effect; so is a spec the table does not list.
func TestADifferenceIsFoundWithItsFigures(t *testing.T) {
	c := Compare(parse(t, table), []catalogue.Outcome{
		outcome("fanout", "safe", catalogue.Failed, "lost 2 units", lost("u1", "u2")),
		outcome("fanout", "control: shared-queue", catalogue.Failed, "the control must report lost units", held()),
		outcome("retried POST", "safe", catalogue.Passed, "", held()),
	})
	if len(c.Differences) != 3 || c.OK() {
		t.Fatalf("%+v", c)
	}
	for i, want := range []string{
		"fanout (safe): expected held (line 4), observed violated; inventory lost 2, duplicated 0, unexpected 0, recovered 0 of 60 accepted; the spec failed: lost 2 units",
		"fanout (control: shared-queue): expected violated (line 5), observed held; inventory lost 0,",
		"retried POST (safe): not in the table; observed held",
	} {
		if got := c.Differences[i].String(); !strings.HasPrefix(got, want) {
			t.Errorf("difference %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if got := c.Summary(); got != "verdicts not as expected: 3 of 3 differ" {
		t.Errorf("summary %q", got)
	}
}

// A spec that failed before any figures is an error, never a violation:
// a harness that breaks reads as broken, not as the system's flaw. An
// expected error must carry the expected failure.
func TestAHarnessErrorIsNeverAViolation(t *testing.T) {
	tb := parse(t, table)
	errored := outcome("fanout", "control: shared-queue", catalogue.Failed, "docker: no such image\nstack")
	if o := Observe(errored); o.Verdict != Error || o.Failure != "docker: no such image" {
		t.Fatalf("observed %+v", o)
	}
	gomega := outcome("fanout", "safe", catalogue.Failed, "Unexpected error:\n    <*errors.errorString | 0xc0>: \n    settle: not settled: 9 unacked\n    {s: \"...\"}")
	if o := Observe(gomega); o.Verdict != Error || o.Failure != "settle: not settled: 9 unacked" {
		t.Errorf("an unexpected error observed as %+v", o)
	}
	c := Compare(tb, []catalogue.Outcome{errored, outcome("broker restart", "safe", catalogue.Failed, "docker: no such image")})
	if len(c.Differences) != 2 {
		t.Fatalf("%+v", c)
	}
	if got := c.Differences[0].String(); !strings.Contains(got, "expected violated (line 5), observed error: docker: no such image") {
		t.Errorf("difference: %s", got)
	}
	if got := c.Differences[1].String(); !strings.Contains(got, `expected error (failure containing "settle timeout")`) {
		t.Errorf("difference: %s", got)
	}
}

// A bad table is refused with the line of each mistake.
func TestABadTableIsRefusedWithItsLine(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"system: shop\nverdicts:\n  - {scenario: fanout, side: safe, verdict: held}\n  - {scenario: fanout, side: safe2, verdict: passed}\n", `expected.yaml:4: verdict "passed": one of held, violated, skipped, error`},
		{"system: shop\nverdicts:\n  - {scenario: fanout, side: safe, verdict: held, by: figures}\n", `expected.yaml:3: unknown field "by"`},
		{"system: shop\nverdicts:\n  - {scenario: fanout, side: safe, verdict: [held, violated]}\n", "expected.yaml:3: fanout (safe): several verdicts, and no note"},
		{"system: shop\nverdicts:\n  - {scenario: fanout, side: safe, verdict: held}\n  - {scenario: fanout, side: safe, verdict: held}\n", "expected.yaml:4: fanout (safe) listed again (first at line 3)"},
		{"system: shop\nverdicts:\n  - {scenario: fanout, verdict: held}\n", "expected.yaml:3: an entry names its scenario and side"},
		{"system: shop\nverdicts:\n  - {scenario: fanout, side: safe, verdict: held, failure: x}\n", "expected.yaml:3: fanout (safe): failure is for the verdict error"},
		{"system: shop\nverdict: []\n", `expected.yaml:2: unknown field "verdict"`},
		{"system: [\n", "expected.yaml: yaml:"},
	} {
		_, err := Parse([]byte(c.yaml), "expected.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.yaml, err, c.want)
		}
	}
}

// A table written from a run's outcomes reads back as a table the run
// matches.
func TestAWrittenTableMatchesItsRun(t *testing.T) {
	run := []catalogue.Outcome{
		outcome("fanout", "safe", catalogue.Passed, "", held()),
		outcome("fanout", "control: shared-queue", catalogue.Passed, "", lost("u1")),
		outcome("half-open connection", "safe", catalogue.Failed, `readiness: still ready 10 s into the "black hole"`),
		outcome("publisher crash", "safe", catalogue.Skipped, "no failpoint"),
	}
	tb, err := Parse([]byte(Write("shop", run)), "written.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, Write("shop", run))
	}
	if c := Compare(tb, run); !c.OK() || c.Compared != 4 {
		t.Errorf("%+v\n%s", c, Write("shop", run))
	}
}

// The systems' tables parse, and every entry names a spec of the
// catalogue by its key: a typo would be a spec "not in the table".
func TestTheSystemsTablesNameCatalogueSpecs(t *testing.T) {
	keys := map[catalogue.Key]bool{}
	for _, sc := range catalogue.All() {
		for _, sp := range sc.Specs {
			if k, ok := catalogue.SpecKey(sc, sp); ok {
				keys[k] = true
			}
		}
	}
	for _, system := range []string{"warehouse", "pyshop"} {
		tb, err := Load("../../../systems/" + system + "/expected-verdicts.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if tb.System != system {
			t.Errorf("%s: system %q", tb.Path, tb.System)
		}
		for _, e := range tb.Entries {
			if !keys[e.Key] {
				t.Errorf("%s:%d: %s is no spec of the catalogue", tb.Path, e.Line, e.Key)
			}
		}
	}
}
