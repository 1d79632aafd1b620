package checker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mqchaos/mqchaos/harness/history"
)

// DeadLetterResult is the verdict on one dead-letter queue: what it must
// hold (every poison message sent through its inputs, once, with a
// reason) against what a read of it showed (history.KindDeadLetters).
// Ids are message ids for poison, unit ids for valid units.
type DeadLetterResult struct {
	Queue string `json:"queue"`
	// Poison counts the poison messages the queue must hold: those of
	// its inputs that the broker confirmed.
	Poison int `json:"poison"`
	// Letters counts the messages read from the queue.
	Letters int `json:"letters"`
	// Missing: poison never dead-lettered here.
	Missing []string `json:"missing,omitempty"`
	// Repeated: poison dead-lettered here more than once.
	Repeated []string `json:"repeated,omitempty"`
	// NoReason: poison dead-lettered here without a reason.
	NoReason []string `json:"no_reason,omitempty"`
	// Valid: valid units of the inputs dead-lettered here, a violation
	// unless ValidExpected.
	Valid         []string `json:"valid,omitempty"`
	ValidExpected bool     `json:"valid_expected,omitempty"`
	// Other: messages here that are neither poison nor a unit of the
	// inputs (another input's): shown, no violation.
	Other []string `json:"other,omitempty"`
}

// OK reports whether every poison message is here once with a reason,
// and no valid unit is here unless the scenario expects it.
func (r DeadLetterResult) OK() bool {
	return len(r.Missing) == 0 && len(r.Repeated) == 0 && len(r.NoReason) == 0 && len(r.ValidViolations()) == 0
}

// ValidViolations is the valid units dead-lettered in violation: Valid,
// or none when the scenario expects them.
func (r DeadLetterResult) ValidViolations() []string {
	if r.ValidExpected {
		return nil
	}
	return r.Valid
}

// String is the verdict as one line of figures.
func (r DeadLetterResult) String() string {
	verdict := "OK"
	if !r.OK() {
		verdict = "VIOLATED"
	}
	allowed := ""
	if r.ValidExpected && len(r.Valid) > 0 {
		allowed = " (expected)"
	}
	var ex []string
	for _, e := range []struct {
		what string
		ids  []string
	}{{"missing", r.Missing}, {"repeated", r.Repeated}, {"no reason", r.NoReason}, {"valid", r.ValidViolations()}} {
		if len(e.ids) > 0 {
			ex = append(ex, fmt.Sprintf("%s e.g. %s", e.what, strings.Join(e.ids[:min(3, len(e.ids))], ",")))
		}
	}
	examples := ""
	if len(ex) > 0 {
		examples = " (" + strings.Join(ex, "; ") + ")"
	}
	return fmt.Sprintf("dead letters %s %s: poison %d, held %d, poison missing %d, repeated %d, without a reason %d, valid units %d%s, other %d%s",
		r.Queue, verdict, r.Poison, r.Letters, len(r.Missing), len(r.Repeated), len(r.NoReason), len(r.Valid), allowed, len(r.Other), examples)
}

// judgeDeadLetters judges the last read of each dead-letter queue in ops
// (history.KindDeadLetters), in the order first read: each poison
// message of the read's inputs that the broker confirmed
// (history.KindPoison, ok) must be there exactly once with a reason; a
// poison message of unknown outcome may be there, once, and need not.
// A valid unit of the inputs (an op of their kind, known by its id or
// by the message id it was sent as) must not be there unless the read
// says the scenario expects it.
func judgeDeadLetters(ops []history.Op) []DeadLetterResult {
	reads := map[string]history.Op{}
	var order []string
	for _, op := range ops {
		if op.Kind == history.KindDeadLetters && op.Judged != nil {
			if _, ok := reads[op.ID]; !ok {
				order = append(order, op.ID)
			}
			reads[op.ID] = op
		}
	}
	var out []DeadLetterResult
	for _, q := range order {
		read := reads[q]
		var must []string
		poison := map[string]bool{}
		unit := map[string]string{} // message id or unit id → unit id
		for _, op := range ops {
			switch {
			case op.Kind == history.KindPoison && slices.Contains(read.Judged.Inputs, op.Input):
				if op.Outcome == history.Fail {
					continue
				}
				poison[op.ID] = true
				if op.Outcome == history.OK && !slices.Contains(must, op.ID) {
					must = append(must, op.ID)
				}
			case slices.Contains(read.Judged.Inputs, op.Kind) && op.ID != "":
				unit[op.ID] = op.ID
				if op.Message != "" {
					unit[op.Message] = op.ID
				}
			}
		}
		r := DeadLetterResult{Queue: q, Poison: len(must), Letters: len(read.Letters), ValidExpected: read.Judged.ValidExpected}
		held, reasoned := map[string]int{}, map[string]bool{}
		valid := map[string]bool{}
		for _, l := range read.Letters {
			switch {
			case poison[l.ID]:
				held[l.ID]++
				reasoned[l.ID] = reasoned[l.ID] || l.Reason != ""
			case unit[l.ID] != "":
				if id := unit[l.ID]; !valid[id] {
					valid[id] = true
					r.Valid = append(r.Valid, id)
				}
			default:
				r.Other = append(r.Other, l.ID)
			}
		}
		for _, id := range must {
			if held[id] == 0 {
				r.Missing = append(r.Missing, id)
			}
		}
		for id, n := range held {
			if n > 1 {
				r.Repeated = append(r.Repeated, id)
			}
			if !reasoned[id] {
				r.NoReason = append(r.NoReason, id)
			}
		}
		for _, s := range [][]string{r.Missing, r.Repeated, r.NoReason, r.Valid, r.Other} {
			slices.Sort(s)
		}
		out = append(out, r)
	}
	return out
}
