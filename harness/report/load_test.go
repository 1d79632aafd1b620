package report

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadRunsReadsTheHistoriesFiguresName(t *testing.T) {
	dir := t.TempDir()
	runs := sampleRuns()
	var figs []Figures
	for _, r := range runs {
		path := filepath.Join(dir, r.Figures.History)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := historyOf(r.Ops).WriteJSONL(fh); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		figs = append(figs, r.Figures)
	}
	gone := Figures{Scenario: "fanout", Side: "safe", History: "histories/fanout--safe.jsonl"}
	if err := WriteJSON(filepath.Join(dir, "figures.json"), append(figs, gone)); err != nil {
		t.Fatal(err)
	}

	read, err := ReadJSON(filepath.Join(dir, "figures.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadRuns(dir, read)
	if err == nil || !strings.Contains(err.Error(), "fanout (safe)") {
		t.Errorf("err = %v, want one naming the run whose history is missing", err)
	}
	if len(got) != 3 || len(got[0].Ops) != len(runs[0].Ops) || len(got[1].Ops) != len(runs[1].Ops) || got[2].Ops != nil {
		t.Fatalf("runs with %d, %d, %d ops", len(got[0].Ops), len(got[1].Ops), len(got[2].Ops))
	}
	if err := WriteHTMLFile(filepath.Join(dir, "out", "report.html"), got); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRunsReadsHistoriesOfFaultsAsEvents reads a history as the suite
// wrote it before faults were recorded as invoke and completion: each
// injection and heal one instant, ok. Its band is drawn as before.
func TestLoadRunsReadsHistoriesOfFaultsAsEvents(t *testing.T) {
	dir := t.TempDir()
	old := `{"kind":"order_http","id":"o-1","outcome":"ok","invoked":"2026-11-20T10:00:00Z","completed":"2026-11-20T10:00:00.1Z"}
{"kind":"fault","id":"restart rabbitmq","outcome":"ok","detail":"injected","invoked":"2026-11-20T10:00:06Z","completed":"2026-11-20T10:00:06Z"}
{"kind":"fault","id":"restart rabbitmq","outcome":"ok","detail":"healed","invoked":"2026-11-20T10:00:06Z","completed":"2026-11-20T10:00:06Z"}
{"kind":"fault","id":"kill inventory-1","outcome":"ok","detail":"injected","invoked":"2026-11-20T10:00:08Z","completed":"2026-11-20T10:00:08Z"}
{"kind":"fault","id":"kill inventory-1","outcome":"ok","detail":"healed","invoked":"2026-11-20T10:00:11Z","completed":"2026-11-20T10:00:11Z"}
{"kind":"order_http","id":"o-2","outcome":"ok","invoked":"2026-11-20T10:00:19Z","completed":"2026-11-20T10:00:20Z"}
`
	if err := os.MkdirAll(filepath.Join(dir, "histories"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "histories", "old.jsonl"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := LoadRuns(dir, []Figures{{Scenario: "broker restart", Side: "safe", History: "histories/old.jsonl"}})
	if err != nil || len(runs) != 1 || len(runs[0].Ops) != 6 {
		t.Fatalf("runs %+v, err %v", runs, err)
	}
	start, end := span(runs[0].Ops)
	bands := faultBands(runs[0].Ops, start, end)
	want := []Band{
		{Name: "restart rabbitmq", Detail: "injected, healed", From: 6 * time.Second, To: 6 * time.Second},
		{Name: "kill inventory-1", Detail: "injected, healed", From: 8 * time.Second, To: 11 * time.Second},
	}
	if !reflect.DeepEqual(bands, want) {
		t.Errorf("bands\n got %+v\nwant %+v", bands, want)
	}
}
