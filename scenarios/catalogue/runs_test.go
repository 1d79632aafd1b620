package catalogue

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
)

func TestHistoryNamesDifferByRunProcessAndSeed(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 41, 0, 123e6, time.FixedZone("CET", 3600))
	if got, want := historyName("soak", "safe", "seed-11", t0, 1), "soak--safe--seed-11--20261129T114100.123Z-p1.jsonl"; got != want {
		t.Errorf("historyName = %q, want %q", got, want)
	}
	seen := map[string]bool{}
	for _, n := range []string{
		historyName("soak", "safe", "seed-11", t0, 1),
		historyName("soak", "safe", "seed-12", t0, 1),                       // another seed
		historyName("soak", "safe", "seed-11", t0, 2),                       // another process
		historyName("soak", "safe", "seed-11", t0.Add(time.Millisecond), 1), // a later run
		historyName("soak", "control: auto-ack", "seed-11", t0, 1),
		historyName("broker restart", "safe", "", t0, 1),
	} {
		if seen[n] {
			t.Errorf("%s given twice", n)
		}
		seen[n] = true
	}
}

func TestWriteHistoryNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	h := &history.History{}
	h.Event(history.KindFault, "kill order-1", "exited")
	var rels []string
	for range 3 {
		rel, err := writeHistory(dir, "fanout--safe--x.jsonl", h)
		if err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	want := []string{"histories/fanout--safe--x.jsonl", "histories/fanout--safe--x-2.jsonl", "histories/fanout--safe--x-3.jsonl"}
	for i := range want {
		if rels[i] != want[i] {
			t.Errorf("write %d went to %s, want %s", i+1, rels[i], want[i])
		}
		b, err := os.ReadFile(filepath.Join(dir, rels[i]))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", rels[i], len(b), err)
		}
	}
}

func TestClearHistoriesRemovesOnlyThePreviousRunsOwn(t *testing.T) {
	dir := t.TempDir()
	if n, err := clearHistories(dir, nil); n != 0 || err != nil {
		t.Fatalf("without figures.json: removed %d, %v", n, err)
	}
	write := func(rel string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{"histories/previous-1.jsonl", "histories/previous-2.jsonl", "histories/in-progress.jsonl", "histories/this-run.jsonl", "elsewhere.jsonl"} {
		write(rel)
	}
	figs := []report.Figures{
		{Scenario: "a", History: "histories/previous-1.jsonl"},
		{Scenario: "b", History: "histories/previous-2.jsonl"},
		{Scenario: "c", History: "histories/gone-already.jsonl"},
		{Scenario: "d", History: "elsewhere.jsonl"},           // not in histories/: left alone
		{Scenario: "e", History: "histories/../figures.json"}, // not a history: left alone
		{Scenario: "f"},
		{Scenario: "g", History: "histories/this-run.jsonl"}, // named by the run now ending too: kept
	}
	if err := report.WriteJSON(filepath.Join(dir, "figures.json"), figs); err != nil {
		t.Fatal(err)
	}
	n, err := clearHistories(dir, []report.Figures{{Scenario: "g", History: "histories/this-run.jsonl"}, {Scenario: "h", History: "histories/in-progress.jsonl"}})
	if n != 2 || err != nil {
		t.Errorf("removed %d, %v; want the 2 files the previous run named", n, err)
	}
	for rel, kept := range map[string]bool{"histories/previous-1.jsonl": false, "histories/previous-2.jsonl": false,
		"histories/in-progress.jsonl": true, "histories/this-run.jsonl": true, "elsewhere.jsonl": true, "figures.json": true} {
		if _, err := os.Stat(filepath.Join(dir, rel)); (err == nil) != kept {
			t.Errorf("%s kept %v, want %v", rel, err == nil, kept)
		}
	}
}

func TestHeadlineSaysWhatWentWrong(t *testing.T) {
	for msg, want := range map[string]string{
		"lost 3 of 40\nmore": "lost 3 of 40",
		"Unexpected error:\n    <*fmt.wrapError | 0x26>: \n    read effect \"x\": no running replica\n    {": `read effect "x": no running replica`,
		"Unexpected error:": "Unexpected error:",
		"":                  "",
	} {
		if got := (Result{Message: msg}).Headline(); got != want {
			t.Errorf("Headline of %q = %q, want %q", msg, got, want)
		}
	}
}
