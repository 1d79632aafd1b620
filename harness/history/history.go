// Package history records what a test did, as operations with outcomes in
// the style of Jepsen: a client operation is invoked, then completes ok,
// fail (it certainly had no effect) or info (unknown: it may or may not
// have taken effect, e.g. a request whose connection dropped).
//
// A History is safe for concurrent use.
package history

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Outcome of an operation.
type Outcome string

const (
	Pending Outcome = "invoke" // invoked, not completed yet
	OK      Outcome = "ok"     // took effect
	Fail    Outcome = "fail"   // certainly took no effect
	Info    Outcome = "info"   // unknown
)

// KindFault is the kind of a fault injected or healed (recorded by
// fault.Inject and fault.Heal as operations, invoked then completed) or of
// an event such as a process that exited. A unit of work's kind is the
// name of the input it was sent through.
const KindFault = "fault"

// KindInvariant is the kind of a check of one of the system's invariants
// (package invariant), named after it: ok when it held, fail when broken,
// info when its rows could not be read.
const KindInvariant = "invariant"

// Op is one operation.
type Op struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"` // the unit's id ("" while a system-made id is unknown), or the fault's name
	Outcome   Outcome   `json:"outcome"`
	Detail    string    `json:"detail,omitempty"`
	Invoked   time.Time `json:"invoked"`
	Completed time.Time `json:"completed,omitzero"`
	// Due, of a unit sent open-loop at a rate (workload.Load.Open): when
	// its schedule meant it to be sent. Invoked minus Due is how late it
	// was sent; latency is measured from Due, not from Invoked, so that a
	// system that falls behind cannot hide it by slowing the sender down.
	Due time.Time `json:"due,omitzero"`
	// Shown, of a KindRead op: the ids the effect showed, each with how
	// many times it was applied.
	Shown map[string]int `json:"shown,omitempty"`
	// Steps, of a KindRead op of an effect with an order (Judged.Order):
	// each id's steps, in the order the effect applied them.
	Steps map[string][]string `json:"steps,omitempty"`
	// Judged, of a KindRead op: how the effect read is judged.
	Judged *Judged `json:"judged,omitempty"`
	// Verdict, of a KindVerdict op: the run's verdict on one effect, as
	// the checker wrote it (package checker reads it back).
	Verdict json.RawMessage `json:"verdict,omitempty"`
	// Units, of a KindDestroyable op: the ids of the units a fault may
	// destroy by its nature; of a KindQueued op: the ids of the units
	// found waiting in the queue.
	Units []string `json:"units,omitempty"`
	// Input, of a KindPoison op: the input whose queues it was sent to.
	Input string `json:"input,omitempty"`
	// Message, of a unit of work sent over AMQP: the message id it was
	// published with, where that is not its id (a fresh event id). A
	// dead letter names its message by it (see KindDeadLetters).
	Message string `json:"message,omitempty"`
	// Letters, of a KindDeadLetters op: the messages the dead-letter
	// queue held, in the order read, a message held twice listed twice.
	Letters []Letter `json:"letters,omitempty"`
	// Budget, of a KindRecovery op: how soon after the heal the system
	// must be ready and drained again.
	Budget *Budget `json:"budget,omitempty"`
	// Depth, of a KindQueued op: what the queue held.
	Depth *Depth `json:"depth,omitempty"`
	// Served, of a KindServed op: the margin an input's requests must
	// keep while a fault is open.
	Served *Served `json:"served,omitempty"`
	// Watched, of a KindWatched op: what one look at a replica saw.
	Watched *Watched `json:"watched,omitempty"`
}

// Letter is one message read from a dead-letter queue.
type Letter struct {
	// ID is its message id.
	ID string `json:"id"`
	// Reason is why it was dead-lettered: the reason the service set, or
	// else the broker's ("rejected"); "" when it carries none.
	Reason string `json:"reason,omitempty"`
}

// History is an append-only log of operations.
type History struct {
	mu      sync.Mutex
	ops     []Op
	samples []Sample
}

// Invoke records the start of an operation and returns its handle.
func (h *History) Invoke(kind, id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, Op{Kind: kind, ID: id, Outcome: Pending, Invoked: time.Now()})
	return len(h.ops) - 1
}

// InvokeDue is Invoke for an operation its schedule meant to start at
// due (Op.Due).
func (h *History) InvokeDue(kind, id string, due time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, Op{Kind: kind, ID: id, Outcome: Pending, Invoked: time.Now(), Due: due})
	return len(h.ops) - 1
}

// Complete records how operation op ended.
func (h *History) Complete(op int, outcome Outcome, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops[op].Outcome = outcome
	h.ops[op].Detail = detail
	h.ops[op].Completed = time.Now()
}

// CompleteAs records how operation op ended and the id it turned out to
// have (for a system that makes the id itself and returns it).
func (h *History) CompleteAs(op int, id string, outcome Outcome, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops[op].ID = id
	h.ops[op].Outcome = outcome
	h.ops[op].Detail = detail
	h.ops[op].Completed = time.Now()
}

// Event records an instantaneous operation, such as a process seen to
// exit. An operation that takes time (a fault injected or healed) is
// recorded with Invoke and Complete instead.
func (h *History) Event(kind, id, detail string) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, Op{Kind: kind, ID: id, Outcome: OK, Detail: detail, Invoked: now, Completed: now})
}

// Ops returns a copy of the operations, in invocation order.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

// IDs returns the ids of kind's operations with outcome, deduplicated.
func (h *History) IDs(kind string, outcome Outcome) []string {
	seen := map[string]bool{}
	var ids []string
	for _, op := range h.Ops() {
		if op.Kind == kind && op.Outcome == outcome && op.ID != "" && !seen[op.ID] {
			seen[op.ID] = true
			ids = append(ids, op.ID)
		}
	}
	return ids
}

// Faults lists the fault operations as "name detail at +1.2s" relative
// to start, with how long the engine took where it took a while ("took
// 6.1s"), or "invoked, never completed".
func (h *History) Faults(start time.Time) []string {
	var out []string
	for _, op := range h.Ops() {
		if op.Kind != KindFault {
			continue
		}
		detail := op.Detail
		if op.Outcome == Pending {
			detail = "invoked, never completed"
		}
		line := fmt.Sprintf("%s %s at +%.1fs", op.ID, detail, op.Invoked.Sub(start).Seconds())
		if took := op.Completed.Sub(op.Invoked); !op.Completed.IsZero() && took >= 50*time.Millisecond {
			line += fmt.Sprintf(" (took %.1fs)", took.Seconds())
		}
		out = append(out, line)
	}
	return out
}
