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
	// Accepted: ids the system accepted (a 2xx response, a broker
	// confirm), which so must be processed.
	Accepted []string
	// Unknown: ids whose outcome is unknown; processing them is allowed,
	// not required ("recovered" when it happened).
	Unknown []string
	// Evidenced: unknown ids that another effect shows the system took
	// in (a request left unanswered whose unit was stored): they must be
	// processed here too, lost if not, recovered if so.
	Evidenced []string
	// UnknownWithoutID counts operations whose outcome is unknown and
	// whose id the harness never learnt (a request to a system that makes
	// the id itself, left unanswered): up to that many unexpected ids are
	// taken as theirs and reported recovered.
	UnknownWithoutID int
	// Effects: one id per effect the service applied; an id listed twice
	// was applied twice.
	Effects []string
	// AtLeastOnce: the effect is declared at-least-once, so an id applied
	// more than once is by design. Duplicated still lists such ids; they
	// are no violation (see Result.OK).
	AtLeastOnce bool
	// Order, if set, are the steps each unit's effect goes through, in
	// the order they must be applied, and Steps (not Effects) is what
	// the effect applied: each id's steps in the order applied. A unit
	// counts as applied as often as its most applied step; one with a
	// step missing is lost, one with a step applied after a later one is
	// out of order.
	Order []string
	Steps map[string][]string
	// Destroyable maps the ids of units a fault may destroy by its
	// nature to how ("lost with the queue orders"; history.KindDestroyable):
	// such a unit that would be lost is counted in Result.Destroyed
	// instead, expected.
	Destroyable map[string]string
	// Queued maps the ids of units found waiting in a queue when the run
	// settled to that queue (history.KindQueued): such a unit that would
	// be lost is counted in Result.Unseen instead, still a violation.
	Queued map[string]string
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
	Duplicated []string `json:"duplicated"` // processed more than once (a violation unless AtLeastOnce)
	Unexpected []string `json:"unexpected"` // processed, never accepted nor unknown
	Recovered  []string `json:"recovered"`  // unknown, and processed
	// OutOfOrder, of an effect with an order, are the ids with a step
	// applied after a step that must follow it.
	OutOfOrder []string `json:"out_of_order,omitempty"`
	// Order is the effect's order of steps, if it has one.
	Order []string `json:"order,omitempty"`
	// UnknownWithoutID counts operations of unknown outcome and id.
	UnknownWithoutID int `json:"unknown_without_id,omitempty"`
	// Unattributed counts the recovered ids that were unexpected but are
	// explained by operations of unknown outcome and unknown id.
	Unattributed int `json:"unattributed,omitempty"`
	// AtLeastOnce: the effect is declared at-least-once; its duplicates
	// are counted in Duplicated and are no violation.
	AtLeastOnce bool `json:"at_least_once,omitempty"`
	// Destroyed are the units that would be lost but that a fault
	// destroyed by its nature (Input.Destroyable), sorted, by how ("lost
	// with the queue orders"): expected, shown, and no violation.
	Destroyed map[string][]string `json:"destroyed,omitempty"`
	// Unseen are the units that would be lost but that were still waiting
	// in a queue when the run settled (Input.Queued), sorted: "unseen at
	// the end", a violation named for what it is. The system never took
	// them, which is not the same failure as taking them and dropping
	// them.
	Unseen []string `json:"unseen,omitempty"`
}

// Check compares in's sets.
func Check(in Input) Result {
	count := map[string]int{}
	effects := len(in.Effects)
	var incomplete map[string]bool
	var outOfOrder []string
	if len(in.Order) > 0 {
		count, incomplete, outOfOrder = ordered(in.Order, in.Steps)
		effects = 0
		for _, st := range in.Steps {
			effects += len(st)
		}
	} else {
		for _, id := range in.Effects {
			count[id]++
		}
	}
	accepted := set(in.Accepted)
	unknown := set(in.Unknown)
	for id := range accepted {
		delete(unknown, id)
	}
	r := Result{
		Service: in.Service, Attempted: len(set(in.Attempted)), Accepted: len(accepted),
		Unknown: len(unknown), Processed: len(count), Effects: effects,
		UnknownWithoutID: in.UnknownWithoutID, AtLeastOnce: in.AtLeastOnce,
		OutOfOrder: outOfOrder, Order: in.Order,
	}
	lose := func(id string) {
		if _, ok := in.Queued[id]; ok {
			r.Unseen = append(r.Unseen, id)
			return
		}
		how, ok := in.Destroyable[id]
		if !ok {
			r.Lost = append(r.Lost, id)
			return
		}
		if r.Destroyed == nil {
			r.Destroyed = map[string][]string{}
		}
		r.Destroyed[how] = append(r.Destroyed[how], id)
	}
	for id := range accepted {
		if count[id] == 0 || incomplete[id] {
			lose(id)
		}
	}
	for id := range set(in.Evidenced) {
		if !accepted[id] && (count[id] == 0 || incomplete[id]) {
			lose(id)
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
	for _, s := range [][]string{r.Lost, r.Duplicated, r.Unexpected, r.Recovered, r.Unseen} {
		slices.Sort(s)
	}
	for _, ids := range r.Destroyed {
		slices.Sort(ids)
	}
	if n := len(r.Unexpected); n > 0 && n <= in.UnknownWithoutID {
		r.Recovered = append(r.Recovered, r.Unexpected...)
		slices.Sort(r.Recovered)
		r.Unattributed, r.Unexpected = n, nil
	}
	return r
}

// ordered reads an ordered effect's steps: how often each id was
// applied (its most applied step), the ids with a step of order missing,
// and the ids, sorted, with a step applied after one that must follow it
// (a duplicate of a step applied again after a later step too).
func ordered(order []string, steps map[string][]string) (count map[string]int, incomplete map[string]bool, outOfOrder []string) {
	rank := map[string]int{}
	for i, st := range order {
		rank[st] = i
	}
	count, incomplete = map[string]int{}, map[string]bool{}
	for id, seq := range steps {
		if len(seq) == 0 {
			continue
		}
		per := map[string]int{}
		late, out := -1, false
		for _, st := range seq {
			per[st]++
			count[id] = max(count[id], per[st])
			out = out || rank[st] < late
			late = max(late, rank[st])
		}
		if out {
			outOfOrder = append(outOfOrder, id)
		}
		for _, st := range order {
			if per[st] == 0 {
				incomplete[id] = true
			}
		}
	}
	slices.Sort(outOfOrder)
	return count, incomplete, outOfOrder
}

// OK reports whether nothing was lost, unseen at the end, duplicated,
// unexpected or applied out of order; for an at-least-once effect,
// duplicates aside. Units a fault destroyed by its nature (Destroyed) are
// no violation.
func (r Result) OK() bool {
	return len(r.Lost) == 0 && len(r.Unseen) == 0 && len(r.DuplicatedViolations()) == 0 && len(r.Unexpected) == 0 && len(r.OutOfOrder) == 0
}

// DuplicatedViolations is the duplicated ids that break the effect's
// promise: Duplicated, or none for an at-least-once effect. A verdict
// that asserts "nothing duplicated" asserts this.
func (r Result) DuplicatedViolations() []string {
	if r.AtLeastOnce {
		return nil
	}
	return r.Duplicated
}

// String is the verdict as one line of figures.
func (r Result) String() string {
	verdict := "OK"
	if !r.OK() {
		verdict = "VIOLATED"
	}
	noID := ""
	if r.UnknownWithoutID > 0 {
		noID = fmt.Sprintf(" (and %d without an id)", r.UnknownWithoutID)
	}
	allowed := ""
	if r.AtLeastOnce {
		allowed = " (allowed: at-least-once)"
	}
	order := ""
	if len(r.Order) > 0 {
		order = fmt.Sprintf(", out of order %d", len(r.OutOfOrder))
	}
	unseen := ""
	if len(r.Unseen) > 0 {
		unseen = fmt.Sprintf(", unseen at the end %d", len(r.Unseen))
	}
	return fmt.Sprintf("%s %s: attempted %d, accepted %d, unknown %d%s, processed %d (%d effects), lost %d%s%s, duplicated %d%s, unexpected %d%s, recovered %d%s",
		r.Service, verdict, r.Attempted, r.Accepted, r.Unknown, noID, r.Processed, r.Effects,
		len(r.Lost), unseen, destroyed(r), len(r.Duplicated), allowed, len(r.Unexpected), order, len(r.Recovered), unattributed(r)+examples(r))
}

// destroyed is ", lost with the queue orders 57, expected" for each way
// units were destroyed by a fault's nature, in the order of its words.
func destroyed(r Result) string {
	var b strings.Builder
	for _, how := range r.DestroyedHow() {
		fmt.Fprintf(&b, ", %s %d, expected", how, len(r.Destroyed[how]))
	}
	return b.String()
}

// DestroyedHow is how units were destroyed by a fault's nature
// (Destroyed's keys), sorted.
func (r Result) DestroyedHow() []string {
	hows := make([]string, 0, len(r.Destroyed))
	for how := range r.Destroyed {
		hows = append(hows, how)
	}
	slices.Sort(hows)
	return hows
}

// DestroyedIDs is every unit a fault destroyed by its nature, sorted.
func (r Result) DestroyedIDs() []string {
	var ids []string
	for _, s := range r.Destroyed {
		ids = append(ids, s...)
	}
	slices.Sort(ids)
	return ids
}

func unattributed(r Result) string {
	if r.Unattributed == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of them from requests left unanswered)", r.Unattributed)
}

func examples(r Result) string {
	var parts []string
	for name, ids := range map[string][]string{"lost": r.Lost, "unseen at the end": r.Unseen, "duplicated": r.DuplicatedViolations(), "unexpected": r.Unexpected, "out of order": r.OutOfOrder} {
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

// FromHistory fills Attempted, Accepted, Unknown and UnknownWithoutID
// from h's operations of the given kinds: what the harness was told, and
// nothing the system shows afterwards. An id whose operation failed is in
// Attempted only, so an effect of it is unexpected.
func FromHistory(h *history.History, kinds ...string) Input {
	return fromOps(h.Ops(), kinds...)
}

func fromOps(ops []history.Op, kinds ...string) Input {
	var in Input
	for _, op := range ops {
		if !slices.Contains(kinds, op.Kind) {
			continue
		}
		unknown := op.Outcome == history.Info || op.Outcome == history.Pending
		if op.ID == "" {
			if unknown {
				in.UnknownWithoutID++
			}
			continue
		}
		in.Attempted = append(in.Attempted, op.ID)
		switch {
		case op.Outcome == history.OK:
			in.Accepted = append(in.Accepted, op.ID)
		case unknown:
			in.Unknown = append(in.Unknown, op.ID)
		}
	}
	return in
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
