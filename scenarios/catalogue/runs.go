package catalogue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
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

// samplers hold the state sampled over each stack's life (readiness of
// each replica, depth of each queue), for the runs' histories.
var (
	samplersMu sync.Mutex
	samplers   = map[*stack.Stack]*history.History{}
)

// sample records s's state every second into a history of its own until
// the returned stop is called.
func sample(s *stack.Stack) (stop func()) {
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
			for _, name := range sys.ServiceNames() {
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
