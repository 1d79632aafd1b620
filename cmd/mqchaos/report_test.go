package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
)

// reportsDir writes what a suite run leaves behind: figures.json naming
// one history file per run.
func reportsDir(t *testing.T, scenario string, lost []string) string {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	for _, op := range []history.Op{
		{Kind: "order_http", ID: scenario + "-0001", Outcome: history.OK, Invoked: t0, Completed: t0.Add(3 * time.Second)},
		{Kind: history.KindFault, ID: "kill order-1", Outcome: history.OK, Detail: "injected", Invoked: t0.Add(time.Second), Completed: t0.Add(time.Second)},
		{Kind: history.KindFault, ID: "kill order-1", Outcome: history.OK, Detail: "healed", Invoked: t0.Add(2 * time.Second), Completed: t0.Add(2 * time.Second)},
	} {
		if err := enc.Encode(op); err != nil {
			t.Fatal(err)
		}
	}
	h, err := history.ReadJSONL(&lines)
	if err != nil {
		t.Fatal(err)
	}
	// named as the suite names them: scenario, side, start and process
	rel := filepath.Join("histories", report.Slug(scenario)+"--safe--20261124T030000.000Z-p1.jsonl")
	if err := os.MkdirAll(filepath.Join(dir, "histories"), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := h.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rel), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f := report.Figures{Scenario: scenario, Side: "safe", System: "reference", Input: "order_http", Sent: 1, History: rel,
		Checks: []checker.Result{{Service: "order: order stored", Attempted: 1, Accepted: 1, Processed: 1 - len(lost), Lost: lost}}}
	if err := report.WriteJSON(filepath.Join(dir, "figures.json"), []report.Figures{f}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportMergesReportsDirectories(t *testing.T) {
	a := reportsDir(t, "fanout", nil)
	b := reportsDir(t, "publisher crash", []string{"publisher crash-0001"})
	out := filepath.Join(t.TempDir(), "merged", "report.html")
	var warnings bytes.Buffer
	figs, err := drawReport([]string{a, " " + b, ""}, out, &warnings)
	if err != nil || len(figs) != 2 {
		t.Fatalf("run = %d, %v; want 2 runs", len(figs), err)
	}
	if warnings.Len() > 0 {
		t.Errorf("warnings: %s", warnings.String())
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="run-fanout-safe"`, `id="run-publisher-crash-safe"`, `href="#run-publisher-crash-safe-op-0"`, "kill order-1"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("merged report lacks %s", want)
		}
	}
}

func TestReportWarnsOfMissingHistory(t *testing.T) {
	dir := reportsDir(t, "fanout", nil)
	if err := os.RemoveAll(filepath.Join(dir, "histories")); err != nil {
		t.Fatal(err)
	}
	var warnings bytes.Buffer
	if figs, err := drawReport([]string{dir}, filepath.Join(dir, "report.html"), &warnings); err != nil || len(figs) != 1 {
		t.Fatalf("run = %d, %v; want the run drawn from its figures", len(figs), err)
	}
	if !strings.Contains(warnings.String(), "fanout (safe)") {
		t.Errorf("warnings %q do not name the run", warnings.String())
	}
	if _, err := drawReport([]string{t.TempDir()}, filepath.Join(dir, "x.html"), &warnings); err == nil {
		t.Error("a directory without figures.json gave no error")
	}
}

// TestRunMergesRunsOfTheSameName merges two soaks' reports directories:
// the same scenario and side, each run's history found in its own
// directory.
func TestReportMergesRunsOfTheSameName(t *testing.T) {
	a := reportsDir(t, "soak", nil)
	b := reportsDir(t, "soak", []string{"soak-0001"})
	out := filepath.Join(t.TempDir(), "report.html")
	var warnings bytes.Buffer
	if figs, err := drawReport([]string{a, b}, out, &warnings); err != nil || len(figs) != 2 || warnings.Len() > 0 {
		t.Fatalf("run = %d, %v, warnings %q; want 2 runs with their histories", len(figs), err, warnings.String())
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="run-soak-safe"`, `id="run-soak-safe-2"`, `href="#run-soak-safe-2-op-0"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("merged report lacks %s", want)
		}
	}
	if n := strings.Count(string(page), "kill order-1</td>"); n != 8 {
		t.Errorf("the faults of both histories: %d rows, want 8 (inject and heal of each run, in both tables)", n)
	}
}
