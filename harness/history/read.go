package history

import (
	"fmt"
	"time"
)

// A run ends with operations that are not units of work: the final read
// of each effect, as Jepsen's final reads, and the verdict the run drew,
// so that the history alone can be judged again (checker.Judge) and the
// judgement compared with the run's own (checker.Recorded).
const (
	// KindRead is a final read of one effect, named after it (effect.Name:
	// "inventory: stock reserved"): ok, with Shown and Judged.
	KindRead = "read"
	// KindVerdict is the run's verdict: one op per effect judged, named
	// after it, ok when it held and fail when violated, with Verdict; and
	// one op with no id for the run as a whole, whose Detail, when not
	// empty, says why the run cannot be judged again from its history
	// (a check the scenario made itself, outside the checker).
	KindVerdict = "verdict"
	// KindViolation is a violation the run observed besides the effects'
	// id sets (a queue still holding messages after the run settled), in
	// words in Detail: recorded, not judged again.
	KindViolation = "violation"
	// KindDestroyable names the units a fault may destroy by its nature
	// (the messages in flight towards a queue it deletes): Detail says
	// how, in the words the verdict counts them under ("lost with the
	// queue orders"), and Units lists their ids. A unit so named that an
	// effect lacks is counted apart from the lost ones, as expected
	// (checker.Result.Destroyed), and breaks nothing; any other lost unit
	// stays lost.
	KindDestroyable = "destroyable"
	// KindPoison is a poison message sent through an input: a body of
	// its shape that no consumer can take (invalid JSON, a missing
	// field), which must be dead-lettered. Its id is the message id,
	// Input the input, and it is ok once the broker confirmed it.
	KindPoison = "poison"
	// KindDeadLetters is a read of one dead-letter queue, named after
	// it, with every message it held (Letters) and how it is judged
	// (Judged: Inputs, whose poison must be there once each with a
	// reason, and whose valid units must not be, unless ValidExpected).
	KindDeadLetters = "dead-letters"
	// KindRecovery is how soon the system must recover from the fault
	// just healed: ID is the fault's kind as the description names it
	// ("half-open"), Budget the budget, Invoked the moment it was
	// recorded, just after the heal. The heal itself is the last fault
	// op completed ok before it (checker.Judge).
	KindRecovery = "recovery"
	// KindReady is a replica seen ready again after a heal, named after
	// it: ok at Invoked, when its readiness check first passed; fail when
	// it was not ready within the wait Detail states.
	KindReady = "ready"
	// KindBack is a fault's target seen ready again after the heal (the
	// nemesis records it): ID is the fault's name, as its injection and
	// heal have it ("restart rabbitmq"), and Invoked the moment the
	// target's readiness check first passed. It is the fault's observed
	// end: a broker restart is healed when the engine restarted the
	// container, and back about 20 s later, when it takes connections.
	KindBack = "back"
	// KindDrained is the moment the work was drained: every queue empty
	// with nothing unacked, and every effect showing what its final read
	// showed (the start of the quiet stretch that settled the run).
	KindDrained = "drained"
	// KindQueued is a final read of one queue, named after it, taken once
	// the run settled: Depth says what the broker's figures showed it
	// holding (ready and unacked), and Units the ids of the units found in
	// the messages a peek read from it (ready ones only: an unacked message
	// is out at a consumer). A queue read holding anything is "unseen at
	// the end" (checker.Verdict.Unseen): work the system never took; a
	// unit an effect lacks that a queue read names is counted unseen
	// rather than lost (checker.Result.Unseen).
	KindQueued = "queued"
)

// Budget is how soon after a heal the system must be ready and drained
// again, in seconds.
type Budget struct {
	Ready   float64 `json:"ready"`
	Drained float64 `json:"drained"`
}

// Depth, of a KindQueued op, is what the queue held at the end.
type Depth struct {
	// Ready and Unacked are the management API's figures, read until
	// they agreed with each other over the statistics' lag (see
	// settle.ReadQueues).
	Ready   int `json:"ready"`
	Unacked int `json:"unacked"`
	// Peeked counts the messages the peek read (and put back): up to
	// Ready, fewer if the peek was capped. Units holds the ids found in
	// them; a message whose unit could not be told is counted here only.
	Peeked int `json:"peeked"`
}

// Held reports whether the queue held anything: a message by its
// figures or by the peek.
func (d Depth) Held() bool { return d.Ready > 0 || d.Unacked > 0 || d.Peeked > 0 }

// Judged is how an effect's read is judged.
type Judged struct {
	// Inputs are the kinds of operation (the inputs) whose units the
	// effect must show: those of the run that the effect applies to.
	Inputs []string `json:"inputs"`
	// AtLeastOnce: the effect is declared at-least-once, so an id applied
	// twice is no violation.
	AtLeastOnce bool `json:"at_least_once,omitempty"`
	// Order, if set, are the steps each unit's effect goes through, in
	// the order they must be applied; the read's Steps say in which
	// order they were.
	Order []string `json:"order,omitempty"`
	// ValidExpected, of a KindDeadLetters read: the scenario expects
	// valid units of the inputs in the dead-letter queue (a fault that
	// makes them fail for good), so that is no violation.
	ValidExpected bool `json:"valid_expected,omitempty"`
}

// Read records a final read of the effect named effect, begun at began and
// ended at ended: the ids it showed, one per time applied (an id listed
// twice was applied twice), and how it is judged.
func (h *History) Read(effect string, ids []string, j Judged, began, ended time.Time) {
	h.ReadSteps(effect, ids, nil, j, began, ended)
}

// ReadSteps is Read for an effect with an order (j.Order): steps[i] is
// the step that ids[i] applied, the items listed in the order applied.
func (h *History) ReadSteps(effect string, ids, steps []string, j Judged, began, ended time.Time) {
	shown := make(map[string]int, len(ids))
	var bySteps map[string][]string
	if len(j.Order) > 0 {
		bySteps = map[string][]string{}
	}
	for i, id := range ids {
		shown[id]++
		if bySteps != nil && i < len(steps) {
			bySteps[id] = append(bySteps[id], steps[i])
		}
	}
	j.Inputs = append([]string(nil), j.Inputs...)
	j.Order = append([]string(nil), j.Order...)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, Op{Kind: KindRead, ID: effect, Outcome: OK, Invoked: began, Completed: ended, Shown: shown, Steps: bySteps, Judged: &j})
}

// DeadLetters records a read of the dead-letter queue dlq, begun at
// began and ended at ended: every message it held, and how it is judged
// (KindDeadLetters, ok).
func (h *History) DeadLetters(dlq string, letters []Letter, j Judged, began, ended time.Time) {
	j.Inputs = append([]string(nil), j.Inputs...)
	j.Order = nil
	h.Append(Op{Kind: KindDeadLetters, ID: dlq, Outcome: OK, Invoked: began, Completed: ended, Letters: append([]Letter{}, letters...), Judged: &j})
}

// Poison records the start of sending a poison message of id through
// input (KindPoison) and returns its handle for Complete.
func (h *History) Poison(input, id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, Op{Kind: KindPoison, ID: id, Input: input, Outcome: Pending, Invoked: time.Now()})
	return len(h.ops) - 1
}

// SentAs records that operation op's message was published with the
// message id message (Op.Message).
func (h *History) SentAs(op int, message string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops[op].Message = message
}

// Violation records a violation observed now besides the effects' id
// sets, in words (KindViolation, fail).
func (h *History) Violation(detail string) {
	now := time.Now()
	h.Append(Op{Kind: KindViolation, Outcome: Fail, Detail: detail, Invoked: now, Completed: now})
}

// Destroyable records, now, that a fault may destroy the units ids by
// its nature, and how (KindDestroyable, ok): "lost with the queue
// orders". Record it beside the fault, with the ids of the units that
// were in flight towards what the fault destroys.
func (h *History) Destroyable(how string, ids []string) {
	now := time.Now()
	h.Append(Op{Kind: KindDestroyable, Outcome: OK, Detail: how, Invoked: now, Completed: now, Units: append([]string(nil), ids...)})
}

// Recovery records, now, just after a fault of the given kind was
// healed, how soon the system must be ready and drained again
// (KindRecovery, ok).
func (h *History) Recovery(kind string, b Budget) {
	now := time.Now()
	h.Append(Op{Kind: KindRecovery, ID: kind, Outcome: OK, Invoked: now, Completed: now, Budget: &b})
}

// Ready records that replica was first seen ready at at (KindReady, ok),
// or, with ok false, that it was not ready within the wait detail states
// (fail, at the end of the wait).
func (h *History) Ready(replica string, at time.Time, ok bool, detail string) {
	outcome := OK
	if !ok {
		outcome = Fail
	}
	h.Append(Op{Kind: KindReady, ID: replica, Outcome: outcome, Detail: detail, Invoked: at, Completed: at})
}

// Back records that the target of the fault named name was ready again
// at at (KindBack, ok).
func (h *History) Back(name string, at time.Time) {
	h.Append(Op{Kind: KindBack, ID: name, Outcome: OK, Invoked: at, Completed: at})
}

// Drained records that the work was drained at at (KindDrained, ok).
func (h *History) Drained(at time.Time) {
	h.Append(Op{Kind: KindDrained, Outcome: OK, Invoked: at, Completed: at})
}

// Queued records a final read of queue, begun at began and ended at
// ended: what it held (d) and the ids of the units found in it
// (KindQueued, ok).
func (h *History) Queued(queue string, d Depth, ids []string, began, ended time.Time) {
	h.Append(Op{Kind: KindQueued, ID: queue, Outcome: OK, Detail: fmt.Sprintf("%d ready, %d unacked", d.Ready, d.Unacked),
		Invoked: began, Completed: ended, Depth: &d, Units: append([]string(nil), ids...)})
}

// Append records ops made elsewhere as they are (a verdict, see
// checker.Record).
func (h *History) Append(ops ...Op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, ops...)
}

// IsWork reports whether op is a unit of work sent through an input (a
// poison message too): not a fault, an invariant's check, a read of an
// effect, of a queue or of a dead-letter queue, a verdict, a violation,
// the units a fault may destroy, a recovery budget, a replica or a
// fault's target ready again, the work drained, a margin to keep or a
// look at a replica.
func (op Op) IsWork() bool {
	switch op.Kind {
	case KindFault, KindInvariant, KindRead, KindVerdict, KindViolation, KindDestroyable, KindDeadLetters, KindRecovery, KindReady, KindBack, KindDrained, KindQueued, KindServed, KindWatched:
		return false
	}
	return true
}

// Bounds a run records on what it observed besides the effects' id sets,
// judged by the checker from the history (checker.Bound), so that such a
// verdict is drawn again offline like any other.
const (
	// KindServed is how an input's requests must be served while a fault
	// is open, against before it (Served): ID is the input, Invoked the
	// moment it was recorded. The checker splits the input's requests at
	// the fault's injection and heal.
	KindServed = "served"
	// KindWatched is one look at a replica while a queue it must consume
	// from is watched (Watched): ID is the replica, Detail what its
	// readiness check answered when not ready. A replica that says it is
	// ready while its queue has no consumer breaks the bound.
	KindWatched = "watched"
)

// Served, of a KindServed op, is the margin an input's requests must
// keep while the fault named Fault is open: at most MaxErrorShare of them
// failing, and a p99 latency within P99Factor times the p99 before the
// fault plus P99Slack seconds.
type Served struct {
	Fault         string  `json:"fault"`
	MaxErrorShare float64 `json:"max_error_share"`
	P99Factor     float64 `json:"p99_factor"`
	P99Slack      float64 `json:"p99_slack"`
}

// Watched, of a KindWatched op, is what one look saw: whether the
// replica said it was ready, and how many consumers its queue had.
type Watched struct {
	Queue     string `json:"queue"`
	Ready     bool   `json:"ready"`
	Consumers int    `json:"consumers"`
}

// Serve records, now, the margin input's requests must keep while a
// fault is open (KindServed, ok).
func (h *History) Serve(input string, s Served) {
	now := time.Now()
	h.Append(Op{Kind: KindServed, ID: input, Outcome: OK, Invoked: now, Completed: now, Served: &s})
}

// Watch records one look at replica, begun at began and ended now
// (KindWatched, ok): what it saw, and its readiness check's answer.
func (h *History) Watch(replica string, w Watched, answer string, began time.Time) {
	h.Append(Op{Kind: KindWatched, ID: replica, Outcome: OK, Detail: answer, Invoked: began, Completed: time.Now(), Watched: &w})
}
