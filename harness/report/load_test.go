package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
