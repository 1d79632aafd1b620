// Package settle decides when a run is over: the queues are drained with
// nothing unacked and the effects have stopped changing. What the effects
// show then is recorded in the history as its final reads
// (effect.RecordReads) and judged from there by checker.Judge.
package settle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/stack"
)

// Held is what a queue holds by the management API's figures.
type Held struct {
	Queue          string
	Ready, Unacked int
}

func (h Held) String() string {
	return fmt.Sprintf("%s: %d ready, %d unacked", h.Queue, h.Ready, h.Unacked)
}

// Holding lists the queues of m's vhost, the skipped ones (the dead-letter
// queues) aside, that hold anything ready or unacked. The management
// API's figures lag: a queue drained a moment ago may still be listed.
func Holding(ctx context.Context, m *broker.Management, skip []string) ([]Held, error) {
	qs, err := m.Queues(ctx)
	if err != nil {
		return nil, err
	}
	var out []Held
	for _, q := range qs {
		if slices.Contains(skip, q.Name) {
			continue
		}
		if q.Ready > 0 || q.Unacked > 0 {
			out = append(out, Held{Queue: q.Name, Ready: q.Ready, Unacked: q.Unacked})
		}
	}
	return out, nil
}

// Queues returns nil when every queue of the vhost, the skipped ones (the
// dead-letter queues) aside, has nothing ready and nothing unacked;
// otherwise an error that says which queue holds what. The management
// API's figures lag: call it until it holds for a while.
func Queues(ctx context.Context, m *broker.Management, skip []string) error {
	held, err := Holding(ctx, m, skip)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return errors.New("not settled: " + Describe(held))
	}
	return nil
}

// Describe says what the queues hold: "q1: 2 ready, 0 unacked; q2: ...".
func Describe(held []Held) string {
	s := make([]string, len(held))
	for i, h := range held {
		s[i] = h.String()
	}
	return strings.Join(s, "; ")
}

// Stack is Queues for s's vhost, skipping the system's dead-letter queues.
func Stack(ctx context.Context, s *stack.Stack) error {
	return Queues(ctx, s.Management(), s.System.DeadLetterQueues())
}

// StackHolding is Holding for s's vhost, skipping the system's
// dead-letter queues.
func StackHolding(ctx context.Context, s *stack.Stack) ([]Held, error) {
	return Holding(ctx, s.Management(), s.System.DeadLetterQueues())
}

// DeadLettered reads every dead-letter queue of the system (and puts the
// messages back): exact, unlike the management statistics, which lag.
func DeadLettered(ctx context.Context, s *stack.Stack) (map[string][]broker.DeadLetter, error) {
	out := map[string][]broker.DeadLetter{}
	for _, q := range s.System.DeadLetterQueues() {
		dead, err := s.Management().DeadLetters(ctx, q, s.System.ReasonHeader, 100000)
		if err != nil {
			return nil, err
		}
		out[q] = dead
	}
	return out, nil
}

// DeadLetterCount is how many messages the system's dead-letter queues
// hold, all together, read as DeadLettered reads them.
func DeadLetterCount(ctx context.Context, s *stack.Stack) (int, error) {
	dead, err := DeadLettered(ctx, s)
	n := 0
	for _, d := range dead {
		n += len(d)
	}
	return n, err
}

// Fingerprint summarises observed effects, to see whether they still
// change between two reads.
func Fingerprint(obs map[string]effect.Observed) string {
	keys := make([]string, 0, len(obs))
	for k := range obs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, len(obs[k].IDs))
	}
	return strings.Join(parts, " ")
}

// Final is the final read of one queue: what the management API's
// figures show it holding, and the ready messages a peek read from it
// (and put back).
type Final struct {
	Queue          string
	Ready, Unacked int
	Messages       []broker.Peeked
}

// Held reports whether the queue held anything, by its figures or by
// the peek.
func (f Final) Held() bool { return f.Ready > 0 || f.Unacked > 0 || len(f.Messages) > 0 }

// Agrees reports whether the peek agrees with the figures: it read no
// more messages than they show in all. The figures lag; a peek is exact
// for what is ready, so a peek that reads more shows them stale. (Ready
// and unacked together: a message requeued in a loop moves between
// them.)
func (f Final) Agrees() bool { return len(f.Messages) <= f.Ready+f.Unacked }

func (f Final) String() string {
	return fmt.Sprintf("%s: %d ready, %d unacked (%d read by a peek)", f.Queue, f.Ready, f.Unacked, len(f.Messages))
}

// PeekMax is how many messages ReadQueues reads from one queue at most.
const PeekMax = 10000

// ReadQueues reads every queue of m's vhost, the skipped ones (the
// dead-letter queues) aside: its figures, and up to PeekMax of its ready
// messages by a peek (Management.Peek), exact where the figures lag; an
// exclusive queue, which only its owner may read, by its figures alone. A
// peek counts as a delivery on a quorum queue: read queues this way once
// the run looks settled, not in a polling loop.
func ReadQueues(ctx context.Context, m *broker.Management, skip []string) ([]Final, error) {
	qs, err := m.Queues(ctx)
	if err != nil {
		return nil, err
	}
	var out []Final
	for _, q := range qs {
		if slices.Contains(skip, q.Name) {
			continue
		}
		// Only an exclusive queue's own connection may read it (the broker
		// answers RESOURCE_LOCKED): its figures stand alone.
		var msgs []broker.Peeked
		if !q.Exclusive {
			if msgs, err = m.Peek(ctx, q.Name, PeekMax); err != nil {
				return nil, err
			}
		}
		out = append(out, Final{Queue: q.Name, Ready: q.Ready, Unacked: q.Unacked, Messages: msgs})
	}
	return out, nil
}

// StackQueues is ReadQueues for s's vhost, skipping the system's
// dead-letter queues.
func StackQueues(ctx context.Context, s *stack.Stack) ([]Final, error) {
	return ReadQueues(ctx, s.Management(), s.System.DeadLetterQueues())
}

// UnitsIn is the ids of the units, among known, that msgs carry, each
// once, and how many messages carry none. A message's unit is its
// message id if known holds it, else the first word of its payload, then
// of its headers' text values, that known holds; a word is a run of
// letters, digits and ".:_-" (a unit id as a JSON string, a header
// value).
func UnitsIn(msgs []broker.Peeked, known map[string]bool) (ids []string, none int) {
	seen := map[string]bool{}
	for _, m := range msgs {
		id := unitOf(m, known)
		switch {
		case id == "":
			none++
		case !seen[id]:
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, none
}

func unitOf(m broker.Peeked, known map[string]bool) string {
	if known[m.MessageID] {
		return m.MessageID
	}
	texts := []string{m.Payload}
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v, ok := m.Headers[k].(string); ok {
			texts = append(texts, v)
		}
	}
	for _, text := range texts {
		for _, w := range strings.FieldsFunc(text, notWord) {
			if known[w] {
				return w
			}
		}
	}
	return ""
}

func notWord(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".:_-", r))
}
