package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/outbox"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
)

const schema = `CREATE TABLE IF NOT EXISTS orders (
	id text PRIMARY KEY,
	item text NOT NULL,
	quantity integer NOT NULL,
	status text NOT NULL,
	reason text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
)`

// Order is an order as stored and served.
type Order = contract.Order

var (
	errNotFound = errors.New("order not found")
	// errConflict: an order with this id exists with other contents.
	errConflict = errors.New("order id already used for another order")
)

type store interface {
	// Create stores o with its event in one transaction and reports whether
	// it is new. An existing identical order is returned with created false.
	Create(ctx context.Context, o Order, ob *outbox.Tx, ev outbox.Event) (saved Order, created bool, err error)
	Get(ctx context.Context, id string) (Order, error)
	List(ctx context.Context, status string) ([]Order, error)
}

type pgStore struct{ pool *pgxpool.Pool }

const columns = `id, item, quantity, status, reason, created_at, updated_at`

func scanOrder(row pgx.CollectableRow) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.Item, &o.Quantity, &o.Status, &o.Reason, &o.CreatedAt, &o.UpdatedAt)
	return o, err
}

func (s *pgStore) Create(ctx context.Context, o Order, ob *outbox.Tx, ev outbox.Event) (Order, bool, error) {
	var saved Order
	created := false
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO orders (id, item, quantity, status) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING RETURNING `+columns, o.ID, o.Item, o.Quantity, o.Status)
		if err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		inserted, err := pgx.CollectRows(rows, scanOrder)
		if err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		if len(inserted) == 1 {
			saved, created = inserted[0], true
			return ob.Add(ctx, tx, ev)
		}
		rows, err = tx.Query(ctx, `SELECT `+columns+` FROM orders WHERE id = $1`, o.ID)
		if err != nil {
			return fmt.Errorf("read existing order: %w", err)
		}
		if saved, err = pgx.CollectExactlyOneRow(rows, scanOrder); err != nil {
			return fmt.Errorf("read existing order: %w", err)
		}
		if saved.Item != o.Item || saved.Quantity != o.Quantity {
			return errConflict
		}
		return nil
	})
	return saved, created, err
}

func (s *pgStore) Get(ctx context.Context, id string) (Order, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM orders WHERE id = $1`, id)
	if err != nil {
		return Order{}, fmt.Errorf("get order: %w", err)
	}
	o, err := pgx.CollectExactlyOneRow(rows, scanOrder)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, errNotFound
	}
	return o, err
}

func (s *pgStore) List(ctx context.Context, status string) ([]Order, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM orders WHERE $1 = '' OR status = $1 ORDER BY created_at, id`, status)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return pgx.CollectRows(rows, scanOrder)
}

// setStatus moves a pending order ($1) to its final status ($2, reason $3);
// a repeated or late result changes nothing. It returns whether the order
// exists.
const setStatus = `WITH upd AS (
	UPDATE orders SET status = $2, reason = $3, updated_at = now() WHERE id = $1 AND status = 'pending' RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)`
