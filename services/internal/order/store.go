package order

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// addRequestKey and fillRequestKey record the client's key of each order
// (see contract.Order.RequestKey) in every mode; orders stored before the
// column existed take their id. Idempotent, like schema.
const (
	addRequestKey  = `ALTER TABLE orders ADD COLUMN IF NOT EXISTS request_key text NOT NULL DEFAULT ''`
	fillRequestKey = `UPDATE orders SET request_key = id WHERE request_key = ''`
)

// Order is an order as stored and served.
type Order = contract.Order

var (
	errNotFound = errors.New("order not found")
	// errConflict: an order with this id exists with other contents.
	errConflict = errors.New("order id already used for another order")
)

type store interface {
	// Create stores o with its event ev in one transaction and reports
	// whether it is new. An existing identical order is returned with
	// created false; one with other contents is errConflict.
	Create(ctx context.Context, o Order, ev outbox.Event) (saved Order, created bool, err error)
	Get(ctx context.Context, id string) (Order, error)
	List(ctx context.Context, status string) ([]Order, error)
}

// pgStore keeps orders in PostgreSQL. Its Create commits concurrent
// requests together (group commit): each of a few committers takes every
// request waiting, up to maxGroup, and stores them in one transaction:
// one round trip and one WAL flush for all. A group that a statement
// error fails is retried one request per transaction, so a bad request
// fails alone. Safe for concurrent use; the committers run for the life of
// the process, so that requests still draining at shutdown are served.
type pgStore struct {
	pool    *pgxpool.Pool
	outbox  bool          // write the event to the outbox (false only with UNSAFE_NO_OUTBOX)
	timeout time.Duration // deadline of one group's transaction

	startOnce sync.Once
	requests  chan *pendingCreate
}

const (
	committers = 4
	maxGroup   = 128
)

// pendingCreate is one Create waiting for its group's commit.
type pendingCreate struct {
	order   Order
	event   outbox.Event
	saved   Order
	created bool
	done    chan error // receives once, when the group committed or failed
}

const columns = `id, request_key, item, quantity, status, reason, created_at, updated_at`

func scanOrder(row pgx.CollectableRow) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.RequestKey, &o.Item, &o.Quantity, &o.Status, &o.Reason, &o.CreatedAt, &o.UpdatedAt)
	return o, err
}

// createOrder inserts order $1 (its request key $11) and, when $10, its event into the outbox, as
// one statement, and returns the stored row and whether this statement
// created it. It returns no row when a concurrent transaction stored the
// same id after this statement's snapshot was taken: run it again.
const createOrder = `WITH ins AS (
	INSERT INTO orders (id, item, quantity, status, request_key) VALUES ($1, $2, $3, $4, $11)
	ON CONFLICT (id) DO NOTHING RETURNING ` + columns + `
), event AS (
	INSERT INTO outbox (event_id, event_type, exchange, routing_key, body)
	SELECT $5, $6, $7, $8, $9 FROM ins WHERE $10
)
SELECT ` + columns + `, true FROM ins
UNION ALL
SELECT ` + columns + `, false FROM orders WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ins)`

func (s *pgStore) Create(ctx context.Context, o Order, ev outbox.Event) (Order, bool, error) {
	s.startOnce.Do(s.start)
	req := &pendingCreate{order: o, event: ev, done: make(chan error, 1)}
	select {
	case s.requests <- req:
	case <-ctx.Done():
		return Order{}, false, ctx.Err()
	}
	// Once handed over, the request commits or fails whatever happens to
	// ctx: wait for the outcome rather than report a stored order as failed.
	if err := <-req.done; err != nil {
		return Order{}, false, err
	}
	if !req.created && (req.saved.Item != o.Item || req.saved.Quantity != o.Quantity) {
		return Order{}, false, errConflict
	}
	return req.saved, req.created, nil
}

func (s *pgStore) start() {
	s.requests = make(chan *pendingCreate)
	for range committers {
		go s.commit()
	}
}

// commit stores groups of requests until the process ends.
func (s *pgStore) commit() {
	for first := range s.requests {
		group := []*pendingCreate{first}
	gather:
		for len(group) < maxGroup {
			select {
			case r := <-s.requests:
				group = append(group, r)
			default:
				break gather
			}
		}
		err := s.store(group)
		var statement *pgconn.PgError
		if errors.As(err, &statement) && len(group) > 1 {
			for _, r := range group {
				r.done <- s.store([]*pendingCreate{r})
			}
			continue
		}
		for _, r := range group {
			r.done <- err
		}
	}
}

// store runs createOrder for every request of group in one transaction.
func (s *pgStore) store(group []*pendingCreate) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		pending := group
		for len(pending) > 0 {
			b := &pgx.Batch{}
			var again []*pendingCreate
			for _, r := range pending {
				o, e := r.order, r.event
				b.Queue(createOrder, o.ID, o.Item, o.Quantity, o.Status, e.ID, e.Type, e.Exchange, e.RoutingKey, e.Body, s.outbox, o.RequestKey).
					Query(func(rows pgx.Rows) error {
						stored, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (createdOrder, error) {
							var c createdOrder
							err := row.Scan(&c.ID, &c.RequestKey, &c.Item, &c.Quantity, &c.Status, &c.Reason, &c.CreatedAt, &c.UpdatedAt, &c.created)
							return c, err
						})
						if err != nil {
							return fmt.Errorf("store order %s: %w", o.ID, err)
						}
						if len(stored) == 0 {
							again = append(again, r)
							return nil
						}
						r.saved, r.created = stored[0].Order, stored[0].created
						return nil
					})
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			pending = again
		}
		return nil
	})
}

type createdOrder struct {
	Order
	created bool
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

// setStatuses moves pending orders ($1 ids) to their final status ($2,
// reasons $3); a repeated or late result changes nothing. It returns the
// ids of the orders that exist.
const setStatuses = `WITH v AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, status, reason)
), upd AS (
	UPDATE orders SET status = v.status, reason = v.reason, updated_at = now()
	FROM v WHERE orders.id = v.id AND orders.status = 'pending'
)
SELECT DISTINCT orders.id FROM orders JOIN v ON orders.id = v.id`
