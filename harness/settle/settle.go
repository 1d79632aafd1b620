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

// Queues returns nil when every queue of the vhost, the skipped ones (the
// dead-letter queues) aside, has nothing ready and nothing unacked;
// otherwise an error that says which queue holds what. The management
// API's figures lag: call it until it holds for a while.
func Queues(ctx context.Context, m *broker.Management, skip []string) error {
	qs, err := m.Queues(ctx)
	if err != nil {
		return err
	}
	var busy []string
	for _, q := range qs {
		if slices.Contains(skip, q.Name) {
			continue
		}
		if q.Ready > 0 || q.Unacked > 0 {
			busy = append(busy, fmt.Sprintf("%s: %d ready, %d unacked", q.Name, q.Ready, q.Unacked))
		}
	}
	if len(busy) > 0 {
		return errors.New("not settled: " + strings.Join(busy, "; "))
	}
	return nil
}

// Stack is Queues for s's vhost, skipping the system's dead-letter queues.
func Stack(ctx context.Context, s *stack.Stack) error {
	return Queues(ctx, s.Management(), s.System.DeadLetterQueues())
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

// Judge checks each of the effects against what h says was sent through
// the inputs named kinds: one result per effect, named as effect.Name.
func Judge(h *history.History, kinds []string, effects []system.Effect, obs map[string]effect.Observed) []checker.Result {
	in := checker.FromHistory(h, kinds...)
	out := make([]checker.Result, 0, len(effects))
	for _, e := range effects {
		c := in
		c.Service = effect.Name(e)
		c.Effects = obs[effect.Name(e)].IDs
		out = append(out, checker.Check(c))
	}
	return out
}
