package outbox

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGStore keeps the outbox in the service's PostgreSQL schema.
type PGStore struct{ Pool *pgxpool.Pool }

// Claim implements Store with SELECT ... FOR UPDATE SKIP LOCKED.
func (s PGStore) Claim(ctx context.Context, limit int) ([]Row, func(context.Context, []int64) error, error) {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, event_id, event_type, exchange, routing_key, body FROM outbox
		WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		_ = tx.Rollback(ctx)
		return nil, nil, fmt.Errorf("select pending: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Row, error) {
		var row Row
		err := r.Scan(&row.ID, &row.Event.ID, &row.Event.Type, &row.Event.Exchange, &row.Event.RoutingKey, &row.Event.Body)
		return row, err
	})
	if err != nil {
		_ = tx.Rollback(ctx)
		return nil, nil, fmt.Errorf("read pending: %w", err)
	}
	finish := func(ctx context.Context, sent []int64) error {
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
		if len(sent) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET sent_at = now() WHERE id = ANY($1)`, sent); err != nil {
				return fmt.Errorf("update sent: %w", err)
			}
		}
		return tx.Commit(ctx)
	}
	return out, finish, nil
}
