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
func (s PGStore) Claim(ctx context.Context, limit int) ([]Row, func(context.Context, []int64, []Retry) error, error) {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, event_id, event_type, exchange, routing_key, body, attempts FROM outbox
		WHERE sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
		ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		_ = tx.Rollback(ctx)
		return nil, nil, fmt.Errorf("select pending: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Row, error) {
		var row Row
		err := r.Scan(&row.ID, &row.Event.ID, &row.Event.Type, &row.Event.Exchange, &row.Event.RoutingKey, &row.Event.Body, &row.Attempts)
		return row, err
	})
	if err != nil {
		_ = tx.Rollback(ctx)
		return nil, nil, fmt.Errorf("read pending: %w", err)
	}
	finish := func(ctx context.Context, sent []int64, later []Retry) error {
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
		if len(sent) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET sent_at = now() WHERE id = ANY($1)`, sent); err != nil {
				return fmt.Errorf("update sent: %w", err)
			}
		}
		if len(later) > 0 {
			ids, secs, reasons := make([]int64, len(later)), make([]float64, len(later)), make([]string, len(later))
			for i, r := range later {
				ids[i], secs[i], reasons[i] = r.ID, r.After.Seconds(), r.Reason
			}
			if _, err := tx.Exec(ctx, `UPDATE outbox o SET attempts = o.attempts + 1,
				next_attempt_at = now() + make_interval(secs => r.secs), last_error = r.reason
				FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS r(id, secs, reason) WHERE o.id = r.id`,
				ids, secs, reasons); err != nil {
				return fmt.Errorf("update postponed: %w", err)
			}
		}
		return tx.Commit(ctx)
	}
	return out, finish, nil
}
