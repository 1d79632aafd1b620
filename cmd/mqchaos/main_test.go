package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// mqchaos exits 2 with one line saying what and where when it cannot
// run: an unknown command, a bad flag, a missing or bad description, a
// filter that picks nothing, a run directory with another run in it.
func TestExitTwoWhenItCannotRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nservices: [{name: a}]\n"), 0o644)
	badType := filepath.Join(dir, "badtype.yaml")
	os.WriteFile(badType, []byte("name: x\nservices: [{name: a, port: nope}]\n"), 0o644)
	full := filepath.Join(dir, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "figures.json"), []byte("[]"), 0o644)
	ref, _ := filepath.Abs("../../systems/reference/system.yaml")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `no command "frobnicate"`},
		{[]string{"run", "-nope"}, "flag provided but not defined"},
		{[]string{"run", "-system", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"check", "-system", bad}, "bad.yaml"},
		{[]string{"check", "-system", badType}, "badtype.yaml"},
		{[]string{"run", "-system", ref, "-scenario", "no such scenario"}, "no spec matches"},
		{[]string{"run", "-system", ref, "-scenario", "fanout", "-out", full}, "not empty"},
		{[]string{"soak", "-system", ref, "-schedule", filepath.Join(dir, "nosuch.json")}, "nosuch.json"},
	} {
		var out, errb bytes.Buffer
		code := mainArgs(context.Background(), c.args, &out, &errb)
		if code != exitCannot || !strings.Contains(errb.String(), c.want) || (len(c.args) > 1 && !strings.HasPrefix(c.args[1], "-") && strings.Count(errb.String(), "\n") != 1) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}

// check says of every spec whether it runs or why it is skipped, from the
// spec's own checks: pyshop has no controls and no database.
func TestCheckSaysWhatRunsAndWhy(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainArgs(context.Background(), []string{"check", "-system", "../../systems/pyshop/system.yaml", "-label", "!soak && !cluster"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"runs     holds with one queue per consuming service",
		`skipped  is caught when two services share one queue (control shared-queue): pyshop provides no control "shared-queue"`,
		"controls the catalogue asks for that pyshop does not provide: shared-queue",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}

// A run directory is new every time: never one that holds another run.
func TestNewRunDirNeverReusesOne(t *testing.T) {
	t.Chdir(t.TempDir())
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	a, err := newRunDir("", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newRunDir("", now)
	if err != nil || a == b {
		t.Fatalf("two runs in one second got %q and %q (%v)", a, b, err)
	}
}

func results() []catalogue.Result {
	return []catalogue.Result{
		{Scenario: "Fanout: every service gets every unit", Spec: "Fanout: every service gets every unit holds", State: catalogue.Passed, RunTime: 3 * time.Second,
			Figures: []report.Figures{{Scenario: "fanout", Side: "safe", Sent: 60}}},
		{Scenario: "Fanout: every service gets every unit", Spec: "Fanout: every service gets every unit is caught (control shared-queue)", State: catalogue.Failed,
			Message: "the control must report lost units\nmore", RunTime: 4 * time.Second, Figures: []report.Figures{{Scenario: "fanout", Side: "control: shared-queue", Sent: 60}}},
		{Scenario: "Soak", Spec: "Soak holds", State: catalogue.Skipped, Message: "soak: set a duration"},
	}
}

// The JUnit XML has a case per spec, the failure with its figures and
// the command that reproduces it.
func TestJUnitHasACasePerSpec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	rep := reproducer{system: "system.yaml", seed: 7}
	if err := writeJUnit(path, "shop", results(), rep); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var got junitSuites
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	s := got.Suites[0]
	if s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 || len(s.Cases) != 3 {
		t.Fatalf("suite %+v", s)
	}
	f := s.Cases[1].Failure
	if f == nil || f.Message != "the control must report lost units" || !strings.Contains(f.Body, "-scenario '^Fanout: every service gets every unit is caught \\(control shared-queue\\)$' -label= -seed 7") {
		t.Errorf("failure %+v", f)
	}
	if s.Cases[1].Class != "Fanout: every service gets every unit" || s.Cases[1].Name != "is caught (control shared-queue)" {
		t.Errorf("case named %q / %q", s.Cases[1].Class, s.Cases[1].Name)
	}
}

// Under GitHub Actions: an annotation per failed spec, escaped as the
// workflow commands want, and the verdict table in the step summary.
func TestGitHubAnnotationsAndStepSummary(t *testing.T) {
	sum := filepath.Join(t.TempDir(), "summary.md")
	var out bytes.Buffer
	if err := githubOutputs(&out, sum, "shop", results(), reproducer{system: "system.yaml", seed: 7}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "::error title=mqchaos%3A Fanout%3A every service gets every unit is caught (control shared-queue)::the control must report lost units%0Amore%0A") || !strings.Contains(lines[0], "reproduce: mqchaos run") {
		t.Errorf("annotations:\n%s", out.String())
	}
	b, _ := os.ReadFile(sum)
	for _, want := range []string{"1 as they must be, 1 not, 1 skipped", "| Fanout: every service gets every unit | holds | as it must be |", "**not as it must be**", "mqchaos run -system system.yaml"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %q in the step summary:\n%s", want, b)
		}
	}
}
