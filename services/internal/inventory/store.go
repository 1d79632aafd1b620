package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mqchaos/mqchaos/services/contract"
)

const schema = `CREATE TABLE IF NOT EXISTS stock (
	item text PRIMARY KEY,
	quantity integer NOT NULL CHECK (quantity >= 0)
);
CREATE TABLE IF NOT EXISTS processed (
	id bigserial PRIMARY KEY,
	order_id text NOT NULL,
	event_id text NOT NULL,
	item text NOT NULL,
	quantity integer NOT NULL,
	result text NOT NULL,
	reason text NOT NULL DEFAULT '',
	replica text NOT NULL,
	processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS processed_order ON processed (order_id);
CREATE TABLE IF NOT EXISTS conflicts (
	id bigserial PRIMARY KEY,
	order_id text NOT NULL,
	event_id text NOT NULL,
	item text NOT NULL,
	quantity integer NOT NULL,
	first_event_id text NOT NULL,
	first_item text NOT NULL,
	first_quantity integer NOT NULL,
	replica text NOT NULL,
	seen_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (order_id, event_id)
)`

type (
	Stock     = contract.Stock
	Processed = contract.Processed
	Conflict  = contract.Conflict
)

type store struct{ pool *pgxpool.Pool }

func (s *store) seed(ctx context.Context, stock map[string]int) error {
	for item, qty := range stock {
		if _, err := s.pool.Exec(ctx, `INSERT INTO stock (item, quantity) VALUES ($1, $2) ON CONFLICT DO NOTHING`, item, qty); err != nil {
			return fmt.Errorf("seed %s: %w", item, err)
		}
	}
	return nil
}

func (s *store) setStock(ctx context.Context, st Stock) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO stock (item, quantity) VALUES ($1, $2)
		ON CONFLICT (item) DO UPDATE SET quantity = EXCLUDED.quantity`, st.Item, st.Quantity)
	if err != nil {
		return fmt.Errorf("set stock of %s: %w", st.Item, err)
	}
	return nil
}

func (s *store) stock(ctx context.Context) ([]Stock, error) {
	rows, err := s.pool.Query(ctx, `SELECT item, quantity FROM stock ORDER BY item`)
	if err != nil {
		return nil, fmt.Errorf("list stock: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Stock])
}

// processed reads the applied orders (of orderID, or all); the caller
// streams and closes the rows.
func (s *store) processed(ctx context.Context, orderID string) (pgx.Rows, error) {
	rows, err := s.pool.Query(ctx, `SELECT order_id, event_id, item, quantity, result, reason, replica, processed_at
		FROM processed WHERE $1 = '' OR order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list processed: %w", err)
	}
	return rows, nil
}

// conflicts reads the recorded conflicting duplicates (of orderID, or
// all); the caller streams and closes the rows.
func (s *store) conflicts(ctx context.Context, orderID string) (pgx.Rows, error) {
	rows, err := s.pool.Query(ctx, `SELECT order_id, event_id, item, quantity, first_event_id, first_item, first_quantity, replica, seen_at
		FROM conflicts WHERE $1 = '' OR order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list conflicts: %w", err)
	}
	return rows, nil
}
