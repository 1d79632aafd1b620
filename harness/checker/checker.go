// Package checker judges a history against the effects a service shows,
// like Jepsen's total-queue checker, comparing sets of ids, never counts.
package checker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mqchaos/mqchaos/harness/history"
)

// Input is what one check compares.
type Input struct {
	Service string
	// Attempted: ids of every operation tried (ok, fail or info).
	Attempted []string
	// Accepted: ids that certainly took effect upstream (a 2xx response, a
	// broker confirm, or an order found stored) and so must be processed.
	Accepted []string
	// Unknown: ids whose outcome is unknown; processing them is allowed,
	// not required ("recovered" when it happened).
	Unknown []string
	// Effects: one id per effect the service applied; an id listed twice
	// was applied twice.
	Effects []string
}

// Result is the verdict of one check.
type Result struct {
	Service    string   `json:"service"`
	Attempted  int      `json:"attempted"`
	Accepted   int      `json:"accepted"`
	Unknown    int      `json:"unknown"`
	Processed  int      `json:"processed"`  // distinct ids with an effect
	Effects    int      `json:"effects"`    // effects in all
	Lost       []string `json:"lost"`       // accepted, never processed
	Duplicated []string `json:"duplicated"` // processed more than once
	Unexpected []string `json:"unexpected"` // processed, never accepted nor unknown
	Recovered  []string `json:"recovered"`  // unknown, and processed
}

// Check compares in's sets.
func Check(in Input) Result {
	count := map[string]int{}
	for _, id := range in.Effects {
		count[id]++
	}
	accepted := set(in.Accepted)
	unknown := set(in.Unknown)
	for id := range accepted {
		delete(unknown, id)
	}
	r := Result{
		Service: in.Service, Attempted: len(set(in.Attempted)), Accepted: len(accepted),
		Unknown: len(unknown), Processed: len(count), Effects: len(in.Effects),
	}
	for id := range accepted {
		if count[id] == 0 {
			r.Lost = append(r.Lost, id)
		}
	}
	for id, n := range count {
		if n > 1 {
			r.Duplicated = append(r.Duplicated, id)
		}
		switch {
		case accepted[id]:
		case unknown[id]:
			r.Recovered = append(r.Recovered, id)
		default:
			r.Unexpected = append(r.Unexpected, id)
		}
	}
	for _, s := range [][]string{r.Lost, r.Duplicated, r.Unexpected, r.Recovered} {
		slices.Sort(s)
	}
	return r
}

// OK reports whether nothing was lost, duplicated or unexpected.
func (r Result) OK() bool {
	return len(r.Lost) == 0 && len(r.Duplicated) == 0 && len(r.Unexpected) == 0
}

// String is the verdict as one line of figures.
func (r Result) String() string {
	verdict := "OK"
	if !r.OK() {
		verdict = "VIOLATED"
	}
	return fmt.Sprintf("%s %s: attempted %d, accepted %d, unknown %d, processed %d (%d effects), lost %d, duplicated %d, unexpected %d, recovered %d%s",
		r.Service, verdict, r.Attempted, r.Accepted, r.Unknown, r.Processed, r.Effects,
		len(r.Lost), len(r.Duplicated), len(r.Unexpected), len(r.Recovered), examples(r))
}

func examples(r Result) string {
	var parts []string
	for name, ids := range map[string][]string{"lost": r.Lost, "duplicated": r.Duplicated, "unexpected": r.Unexpected} {
		if len(ids) > 0 {
			parts = append(parts, fmt.Sprintf("%s e.g. %s", name, strings.Join(ids[:min(3, len(ids))], ",")))
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// FromHistory fills Attempted, Accepted and Unknown from h's operations of
// kind. Ids in stored (e.g. orders found in order-service) are accepted
// even if their operation's outcome was unknown or failed.
func FromHistory(h *history.History, kind string, stored []string) Input {
	in := Input{
		Accepted: h.IDs(kind, history.OK),
		Unknown:  append(h.IDs(kind, history.Info), h.IDs(kind, history.Pending)...),
	}
	for _, op := range h.Ops() {
		if op.Kind == kind {
			in.Attempted = append(in.Attempted, op.ID)
		}
	}
	in.Accepted = append(in.Accepted, stored...)
	return in
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
