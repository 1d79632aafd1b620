// Package settle decides when a run is over and judges it: the queues are
// drained with nothing unacked, the effects have stopped changing, and
// then every effect the description declares is checked against the
// history, per service.
package settle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
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

// Judge checks each effect against what h says was sent through the
// inputs named kinds that the effect applies to (an effect limited to
// other inputs is not judged): one result per effect, named as
// effect.Name.
//
// A unit whose outcome was unknown to the harness but that one effect
// shows was taken in (an unanswered request whose unit was stored) must
// have every other effect too: where it lacks one, it is lost there.
//
// An effect declared at-least-once (system.Effect.AllowsDuplicates) gives
// a result with AtLeastOnce set: its duplicates are listed and counted,
// and are no violation (checker.Result.OK, DuplicatedViolations).
func Judge(h *history.History, kinds []string, effects []system.Effect, obs map[string]effect.Observed) []checker.Result {
	var out []checker.Result
	evidenced := map[string][]string{} // per input kind
	for _, k := range kinds {
		in := checker.FromHistory(h, k)
		for _, e := range effects {
			if len(e.Inputs) > 0 && !slices.Contains(e.Inputs, k) {
				continue
			}
			shown := map[string]bool{}
			for _, id := range obs[effect.Name(e)].IDs {
				shown[id] = true
			}
			for _, id := range in.Unknown {
				if shown[id] && !slices.Contains(evidenced[k], id) {
					evidenced[k] = append(evidenced[k], id)
				}
			}
			if in.UnknownWithoutID > 0 {
				// Ids the harness never learnt, from requests left
				// unanswered: what an effect shows of them was taken in.
				attempted := map[string]bool{}
				for _, id := range in.Attempted {
					attempted[id] = true
				}
				for id := range shown {
					if !attempted[id] && !slices.Contains(evidenced[k], id) {
						evidenced[k] = append(evidenced[k], id)
					}
				}
			}
		}
	}
	for _, e := range effects {
		var ks []string
		for _, k := range kinds {
			if len(e.Inputs) == 0 || slices.Contains(e.Inputs, k) {
				ks = append(ks, k)
			}
		}
		if len(ks) == 0 {
			continue
		}
		in := checker.FromHistory(h, ks...)
		for _, k := range ks {
			in.Evidenced = append(in.Evidenced, evidenced[k]...)
		}
		in.Service = effect.Name(e)
		in.Effects = obs[effect.Name(e)].IDs
		in.AtLeastOnce = e.AllowsDuplicates()
		out = append(out, checker.Check(in))
	}
	return out
}
