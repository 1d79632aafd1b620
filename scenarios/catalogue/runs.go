package catalogue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

// This file keeps every run's history and draws the suite's HTML report
// from them; a report can be drawn again offline with mqchaos report.

// saveHistory writes h as JSON Lines to reports/histories under a name of
// its own (see historyName) and returns that path relative to reports,
// for Figures.History; "" when it could not be written (the verdict
// stands without it; the reason goes to the spec's output).
func (t *T) saveHistory(h *history.History, scenario, side, tag string, started time.Time) string {
	name := historyName(scenario, side, tag, started, t.rt.Process())
	rel, err := writeHistory(t.env.Reports, name, h)
	if err != nil {
		t.Printf("history not kept: %v\n", err)
		return ""
	}
	return rel
}

// historyName is a run's history file name: its scenario, side, an
// optional tag (the soak's seed, "seed-11"), when the run started (UTC, to
// the millisecond) and the Ginkgo process that ran it, so that no run
// overwrites another's: not a later run of the suite, not a parallel
// process, not a soak with another seed.
//
//	soak--safe--seed-11--20261129T124100.123Z-p1.jsonl
func historyName(scenario, side, tag string, started time.Time, proc int) string {
	parts := []string{report.Slug(scenario), report.Slug(side)}
	if tag != "" {
		parts = append(parts, report.Slug(tag))
	}
	stamp := started.UTC().Format("20060102T150405.000Z")
	return strings.Join(append(parts, fmt.Sprintf("%s-p%d", stamp, proc)), "--") + ".jsonl"
}

// historiesDir is where a reports directory keeps its runs' histories.
const historiesDir = "histories"

// writeHistory writes h to dir/histories/name, never over an existing
// file (a second run of the same name gets "-2" before the extension,
// and so on), and returns the path it wrote relative to dir.
func writeHistory(dir, name string, h *history.History) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, historiesDir), 0o755); err != nil {
		return "", fmt.Errorf("write history: %w", err)
	}
	base := strings.TrimSuffix(name, ".jsonl")
	for n := 1; ; n++ {
		rel := filepath.Join(historiesDir, name)
		if n > 1 {
			rel = filepath.Join(historiesDir, fmt.Sprintf("%s-%d.jsonl", base, n))
		}
		fh, err := os.OpenFile(filepath.Join(dir, rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("write history: %w", err)
		}
		if err := h.WriteJSONL(fh); err != nil {
			fh.Close()
			return "", fmt.Errorf("write history %s: %w", rel, err)
		}
		return rel, fh.Close()
	}
}

// clearHistories removes from dir/histories the files that dir's
// figures.json names and the figures next written there (next) do not:
// the histories of the suite's previous run in dir, whose figures are
// about to be replaced. It is called just before they are, so a
// figures.json and the histories it names stay together: until a run
// ends, the previous run's report can still be drawn again. Nothing else
// is removed: not the files of a run still in progress (its figures are
// not written yet), not those of other reports directories merged by
// mqchaos report. It returns how many files it removed; a missing
// figures.json removes nothing.
func clearHistories(dir string, next []report.Figures) (int, error) {
	figs, err := report.ReadJSON(filepath.Join(dir, "figures.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("clear histories: %w", err)
	}
	keep := map[string]bool{}
	for _, f := range next {
		keep[filepath.Clean(f.History)] = true
	}
	n := 0
	var errs []error
	for _, f := range figs {
		rel := filepath.Clean(f.History)
		if f.History == "" || keep[rel] || filepath.Dir(rel) != historiesDir || filepath.Ext(rel) != ".jsonl" {
			continue // only a file of the histories directory itself
		}
		switch err := os.Remove(filepath.Join(dir, rel)); {
		case err == nil:
			n++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("clear histories: %w", errors.Join(errs...))
	}
	return n, nil
}

// samplers hold the state sampled over each stack's life (readiness of
// each replica, depth of each queue), for the runs' histories.
var (
	samplersMu sync.Mutex
	samplers   = map[*stack.Stack]*history.History{}
)

// sample records s's state every second into a history of its own until
// the returned stop is called.
func (t *T) sample(s *stack.Stack) (stop func()) {
	h := &history.History{}
	samplersMu.Lock()
	samplers[s] = h
	samplersMu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			for _, name := range t.sys.ServiceNames() {
				for _, r := range s.Replicas(name) {
					rctx, rcancel := context.WithTimeout(ctx, time.Second)
					ready := 0.0
					if r.Ready(rctx) == nil {
						ready = 1
					}
					rcancel()
					h.Observe(history.SampleReady, r.Name, ready)
				}
			}
			qctx, qcancel := context.WithTimeout(ctx, time.Second)
			if qs, err := s.Management().Queues(qctx); err == nil {
				for _, q := range qs {
					h.Observe(history.SampleDepth, q.Name, float64(q.Ready+q.Unacked))
				}
			}
			qcancel()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		samplersMu.Lock()
		delete(samplers, s)
		samplersMu.Unlock()
	}
}

// samplesOf is what the sampler of s recorded so far.
func samplesOf(s *stack.Stack) []history.Sample {
	samplersMu.Lock()
	h := samplers[s]
	samplersMu.Unlock()
	if h == nil {
		return nil
	}
	return h.Samples()
}
