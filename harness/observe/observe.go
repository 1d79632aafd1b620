// Package observe reads a stack's state (services over HTTP, queues over
// the management API) into the sets the checker compares.
package observe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/services/contract"
)

// Snapshot is the state of a stack's services at one moment.
type Snapshot struct {
	Stored    []string            // order ids order-service stores
	Statuses  map[string]string   // order id -> status
	Inventory []string            // one order id per effect inventory applied
	Replicas  map[string]int      // inventory effects by replica
	Notified  map[string][]string // notification kind -> one order id per notification
	Stock     map[string]int
}

// Take reads a snapshot.
func Take(ctx context.Context, s *stack.Stack) (Snapshot, error) {
	snap := Snapshot{Statuses: map[string]string{}, Replicas: map[string]int{}, Notified: map[string][]string{}}
	orders, err := s.Orders().List(ctx)
	if err != nil {
		return snap, fmt.Errorf("read orders: %w", err)
	}
	for _, o := range orders {
		snap.Stored = append(snap.Stored, o.ID)
		snap.Statuses[o.ID] = o.Status
	}
	processed, err := s.Inventory().Processed(ctx)
	if err != nil {
		return snap, fmt.Errorf("read processed: %w", err)
	}
	for _, p := range processed {
		snap.Inventory = append(snap.Inventory, p.OrderID)
		snap.Replicas[p.Replica]++
	}
	if snap.Stock, err = s.Inventory().Stock(ctx); err != nil {
		return snap, fmt.Errorf("read stock: %w", err)
	}
	notes, err := s.Notifications().List(ctx)
	if err != nil {
		return snap, fmt.Errorf("read notifications: %w", err)
	}
	for _, n := range notes {
		snap.Notified[n.Kind] = append(snap.Notified[n.Kind], n.OrderID)
	}
	return snap, nil
}

// Distinct counts the distinct ids.
func Distinct(ids []string) int {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return len(m)
}

// Check judges the snapshot against the history's operations of kind, for
// inventory (each order applied once) and notification (each order's
// "received" recorded once). Orders found stored count as accepted.
func Check(h *history.History, kind string, snap Snapshot) []checker.Result {
	in := checker.FromHistory(h, kind, snap.Stored)
	inv, note := in, in
	inv.Service, inv.Effects = "inventory", snap.Inventory
	note.Service, note.Effects = "notification", snap.Notified[contract.KindReceived]
	return []checker.Result{checker.Check(inv), checker.Check(note)}
}

// Settled returns nil when every queue of the stack's vhost, dead-letter
// queues aside, has nothing ready and nothing unacked; otherwise an error
// that says which queue holds what.
func Settled(ctx context.Context, m *broker.Management) error {
	qs, err := m.Queues(ctx)
	if err != nil {
		return err
	}
	var busy []string
	for _, q := range qs {
		if strings.HasSuffix(q.Name, ".dlq") {
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

// DeadLettered counts the messages in every dead-letter queue of the
// vhost by reading them (and putting them back): exact, unlike the
// management statistics, which lag.
func DeadLettered(ctx context.Context, m *broker.Management) (int, error) {
	qs, err := m.Queues(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, q := range qs {
		if source, ok := strings.CutSuffix(q.Name, ".dlq"); ok {
			dead, err := m.DeadLetters(ctx, source, 100000)
			if err != nil {
				return 0, err
			}
			n += len(dead)
		}
	}
	return n, nil
}

// Fingerprint summarises the snapshot's figures, to see whether the state
// still changes between two reads.
func (s Snapshot) Fingerprint() string {
	pending := 0
	for _, st := range s.Statuses {
		if st == contract.StatusPending {
			pending++
		}
	}
	return fmt.Sprintf("stored=%d pending=%d inventory=%d received=%d confirmed=%d rejected=%d",
		len(s.Stored), pending, len(s.Inventory), len(s.Notified[contract.KindReceived]),
		len(s.Notified[contract.KindConfirmed]), len(s.Notified[contract.KindRejected]))
}
