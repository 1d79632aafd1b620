package catalogue

import (
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
)

// This file keeps every run's history and draws the suite's HTML report
// from them; a report can be drawn again offline with mqchaos-report.

// saveHistory writes h as JSON Lines to
// reports/histories/<scenario>--<side>.jsonl and returns that path
// relative to reports, for Figures.History; "" when it could not be
// written (the verdict stands without it; the reason goes to the spec's
// output).
func saveHistory(h *history.History, scenario, side string) string {
	rel := filepath.Join("histories", report.Slug(scenario)+"--"+report.Slug(side)+".jsonl")
	path := filepath.Join(reports, rel)
	if err := writeHistory(path, h); err != nil {
		GinkgoWriter.Printf("history not kept: %v\n", err)
		return ""
	}
	return rel
}

func writeHistory(path string, h *history.History) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	if err := h.WriteJSONL(fh); err != nil {
		fh.Close()
		return fmt.Errorf("write history %s: %w", path, err)
	}
	return fh.Close()
}

// writeHTMLReport draws reports/report.html from the figures and the
// histories they name, and prints its path.
func writeHTMLReport(all []report.Figures) {
	runs, err := report.LoadRuns(reports, all)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report without some histories:", err)
	}
	path := filepath.Join(reports, "report.html")
	if err := report.WriteHTMLFile(path, runs); err != nil {
		fmt.Fprintln(os.Stderr, "write html report:", err)
		return
	}
	fmt.Fprintf(os.Stdout, "report: %s\n", path)
}
