package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// holdNoEffect holds a run of a build whose faults do nothing (go build
// -tags mqchaos_noop_faults) to what that mutation must give: every spec
// that injects a fault fails as fault.ErrNoEffect. A spec that failed
// otherwise, or passed with a fault recorded in its history, is a
// difference; one that passed with no fault injected, or was skipped,
// is none. It writes a line per spec and a summary to w, and returns
// errViolated on a difference, or when no spec was caught at all (not a
// run of that build).
func holdNoEffect(w io.Writer, dir string, outcomes []catalogue.Outcome) error {
	var caught, clean, skipped int
	var differ []string
	for _, o := range outcomes {
		switch {
		case o.State == catalogue.Skipped:
			skipped++
		case o.State == catalogue.Passed:
			injected, err := injectedIn(dir, o)
			if err != nil {
				return usageError{err}
			}
			if injected != "" {
				differ = append(differ, fmt.Sprintf("%s: passed with %q injected", o.Spec, injected))
				continue
			}
			clean++
			fmt.Fprintf(w, "no fault   %s\n", o.Spec)
		case strings.Contains(o.Message, fault.ErrNoEffect.Error()):
			caught++
			fmt.Fprintf(w, "caught     %s: %s\n", o.Spec, lineWith(o.Message, fault.ErrNoEffect.Error()))
		default:
			differ = append(differ, fmt.Sprintf("%s: %s, not as no effect: %s", o.Spec, o.State, firstLine(o.Message)))
		}
	}
	for _, d := range differ {
		fmt.Fprintf(w, "DIFFERS %s\n", d)
	}
	summary := fmt.Sprintf("%d specs: %d failed as no effect, %d injected no fault, %d skipped, %d differ", len(outcomes), caught, clean, skipped, len(differ))
	fmt.Fprintln(w, summary)
	switch {
	case len(differ) > 0:
		return fmt.Errorf("%w: %s", errViolated, summary)
	case caught == 0:
		return fmt.Errorf("%w: %s; was the run built with -tags mqchaos_noop_faults?", errViolated, summary)
	}
	return nil
}

// injectedIn is the first fault o's histories record as injected, or "".
func injectedIn(dir string, o catalogue.Outcome) (string, error) {
	for _, f := range o.Figures {
		if f.History == "" {
			continue
		}
		h, err := history.ReadFile(filepath.Join(dir, f.History))
		if err != nil {
			return "", err
		}
		for _, op := range h.Ops() {
			if op.Kind == history.KindFault && strings.HasPrefix(op.Detail, fault.Injected) {
				return op.ID, nil
			}
		}
	}
	return "", nil
}

// firstLine is s up to its first line break.
func firstLine(s string) string { return lineWith(s, "") }

// lineWith is the first line of s that holds sub, trimmed.
func lineWith(s, sub string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" && strings.Contains(line, sub) {
			return line
		}
	}
	return ""
}
