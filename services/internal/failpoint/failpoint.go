// Package failpoint makes a service exit abruptly at a named point of its
// code, so that a test can hit a crash window (after the commit, before
// the ack) deterministically.
//
// FAILPOINTS="name=n" arms a point to fire on its first n hits across every
// replica and restart of the service: the budget is kept in PostgreSQL, so
// a replica restarted with the same environment does not crash again.
package failpoint

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Points a service can be armed at.
const (
	// InventoryAfterCommit: inventory committed an effect and has not acked.
	InventoryAfterCommit = "inventory.after-commit-before-ack"
	// NotificationAfterCommit: notification committed and has not acked.
	NotificationAfterCommit = "notification.after-commit-before-ack"
	// OrderAfterCommit: order-service committed an order and has not published it.
	OrderAfterCommit = "order.after-commit-before-publish"
	// RelayAfterPublish: the outbox relay published and has not marked the rows sent.
	RelayAfterPublish = "outbox.after-publish-before-mark"
)

// Migration creates the budget table in the service's schema.
const Migration = `CREATE TABLE IF NOT EXISTS failpoints (
	name text PRIMARY KEY,
	remaining integer NOT NULL
)`

// Set is the armed points of one process. A nil *Set never fires.
type Set struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	armed map[string]bool
	exit  func(code int)
}

// Arm records each point's budget (once per database: a restarted replica
// keeps what is left) and returns the set.
func Arm(ctx context.Context, log *slog.Logger, pool *pgxpool.Pool, budgets map[string]int) (*Set, error) {
	s := &Set{pool: pool, log: log, armed: map[string]bool{}, exit: os.Exit}
	for name, n := range budgets {
		if _, err := pool.Exec(ctx, `INSERT INTO failpoints (name, remaining) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, n); err != nil {
			return nil, fmt.Errorf("arm failpoint %s: %w", name, err)
		}
		s.armed[name] = true
		log.Warn("failpoint armed: this service will exit at it", "failpoint", name, "times", n)
	}
	return s, nil
}

// Hit exits the process with status 3, without cleanup, if point is armed
// and has budget left. It returns otherwise.
func (s *Set) Hit(ctx context.Context, point string) {
	if s == nil || !s.armed[point] {
		return
	}
	var left int
	err := s.pool.QueryRow(ctx, `UPDATE failpoints SET remaining = remaining - 1 WHERE name = $1 AND remaining > 0 RETURNING remaining`, point).Scan(&left)
	if err == pgx.ErrNoRows {
		return
	}
	if err != nil {
		s.log.Error("failpoint budget unreadable, not firing", "failpoint", point, "err", err)
		return
	}
	s.log.Error("failpoint hit: exiting abruptly", "failpoint", point, "remaining", left)
	s.exit(3)
}
