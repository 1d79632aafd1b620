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
