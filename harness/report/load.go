package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mqchaos/mqchaos/harness/history"
)

// ReadJSON reads the figures WriteJSON wrote to path.
func ReadJSON(path string) ([]Figures, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read figures: %w", err)
	}
	var all []Figures
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("read figures %s: %w", path, err)
	}
	return all, nil
}

// LoadRuns pairs each of figs with its history, read from the file its
// History names relative to dir. A run whose history is missing or
// unreadable is kept without operations, and the reasons are returned,
// joined, beside the runs.
func LoadRuns(dir string, figs []Figures) ([]Run, error) {
	runs := make([]Run, 0, len(figs))
	var errs []error
	for _, f := range figs {
		r := Run{Figures: f}
		if f.History != "" {
			h, err := history.ReadFile(filepath.Join(dir, f.History))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", f.Scenario, f.Side, err))
			} else {
				r.Ops, r.Samples = h.Ops(), h.Samples()
			}
		}
		runs = append(runs, r)
	}
	return runs, errors.Join(errs...)
}

// WriteHTMLFile writes the HTML report of runs to path, creating its
// directory.
func WriteHTMLFile(path string, runs []Run) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteHTML(fh, runs); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
