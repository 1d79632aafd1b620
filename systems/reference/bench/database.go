package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mqchaos/mqchaos/services/contract"
)

// Database is the drain's database baseline: inventory's transactions
// without the broker. Workers goroutines apply N orders, ConsumeBatch at a
// time, each batch in one transaction of inventory's statements (lock the
// stock rows in item order, claim the order ids, write stock levels,
// processed rows and outbox rows with one statement each), while one relay
// claims pending outbox rows OutboxBatch at a time and marks them sent, as
// inventory's relay does, only without publishing. It runs in a schema of
// its own in the stack's database, dropped afterwards.
type Database struct {
	URL    string
	Orders int
	Items  []string
	Shape  Shape
}

// The schema: inventory's tables, the durable key table and the outbox.
const dbSchema = `CREATE TABLE stock (item text PRIMARY KEY, quantity integer NOT NULL CHECK (quantity >= 0));
CREATE TABLE processed (id bigserial PRIMARY KEY, order_id text NOT NULL, event_id text NOT NULL, item text NOT NULL,
	quantity integer NOT NULL, result text NOT NULL, reason text NOT NULL DEFAULT '', replica text NOT NULL,
	processed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX processed_order ON processed (order_id);
CREATE TABLE processed_keys (key text PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE outbox (id bigserial PRIMARY KEY, event_id text NOT NULL, event_type text NOT NULL, exchange text NOT NULL,
	routing_key text NOT NULL, body bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL`

// inventory's statements (services/internal/inventory/messaging.go).
const (
	dbLockStock = `SELECT item, quantity FROM stock WHERE item = ANY($1) ORDER BY item FOR UPDATE`
	dbClaimKeys = `WITH claim AS (
	INSERT INTO processed_keys (key) SELECT k FROM unnest($1::text[]) AS k WHERE $2 ORDER BY k
	ON CONFLICT DO NOTHING RETURNING key
) SELECT key FROM claim`
	dbSetStock  = `UPDATE stock SET quantity = v.q FROM unnest($1::text[], $2::int[]) AS v(item, q) WHERE stock.item = v.item`
	dbRecordAll = `INSERT INTO processed (order_id, event_id, item, quantity, result, reason, replica)
		SELECT o, e, i, q, CASE r WHEN '' THEN 'reserved' ELSE 'failed' END, r, $6
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[]) AS v(o, e, i, q, r)`
	dbStoreEvents = `INSERT INTO outbox (event_id, event_type, exchange, routing_key, body)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) RETURNING id, event_id`
	dbClaimOutbox = `SELECT id, event_id, event_type, exchange, routing_key, body FROM outbox
		WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`
	dbMarkSent = `UPDATE outbox SET sent_at = now() WHERE id = ANY($1)`
)

// Run creates the schema, then times from the first batch until every
// order's outbox row is marked sent, in orders per second.
func (d Database) Run(ctx context.Context) (Rate, error) {
	pool, drop, err := benchSchema(ctx, d.URL, d.Items, d.Shape.Workers+2)
	if drop != nil {
		defer drop()
	}
	if err != nil {
		return Rate{}, err
	}
	orders := make([]contract.OrderPlaced, d.Orders)
	for i := range orders {
		orders[i] = contract.OrderPlaced{OrderID: contract.NewID(), Item: d.Items[i%len(d.Items)], Quantity: 1}
	}
	batches := make(chan []contract.OrderPlaced, len(orders)/d.Shape.ConsumeBatch+1)
	for b := range slices.Chunk(orders, d.Shape.ConsumeBatch) {
		batches <- b
	}
	close(batches)

	p := newPipeline(ctx, d.Orders)
	var cpu cpuWindow
	cpu.begin()
	start := time.Now()
	var applied sync.WaitGroup
	for range d.Shape.Workers {
		applied.Add(1)
		p.run(func() error {
			defer applied.Done()
			for b := range batches {
				if _, err := applyBatch(p.ctx, pool, b); err != nil {
					return err
				}
			}
			return nil
		})
	}
	p.run(func() error { return relayRows(p.ctx, pool, d.Shape.OutboxBatch, p.count) })
	if err := p.wait(); err != nil {
		return Rate{}, err
	}
	return Rate{PerSec: float64(d.Orders) / time.Since(start).Seconds(), Cores: cpu.cores()}, nil
}

// benchSchema connects a pool of conns to url with its search path set to
// a new schema of its own, and creates inventory's tables there with
// items in stock. drop, when not nil, drops the schema and closes the
// pool, and is to be called whatever the error.
func benchSchema(ctx context.Context, url string, items []string, conns int) (pool *pgxpool.Pool, drop func(), err error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("parse database url: %w", err)
	}
	schema := "bench_raw_" + contract.NewID()[:8]
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = int32(conns)
	if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	drop = func() {
		pool.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) //nolint:errcheck // best effort
		pool.Close()
	}
	if _, err := pool.Exec(ctx, `CREATE SCHEMA `+schema+`;`+dbSchema); err != nil {
		return pool, drop, fmt.Errorf("create schema: %w", err)
	}
	for _, item := range items {
		if _, err := pool.Exec(ctx, `INSERT INTO stock VALUES ($1, 100000000)`, item); err != nil {
			return pool, drop, fmt.Errorf("stock %s: %w", item, err)
		}
	}
	return pool, drop, nil
}

// outboxRow is a result event applyBatch wrote to the outbox.
type outboxRow struct {
	id                int64
	eventID, typ, key string
	body              []byte
}

// applyBatch is one of inventory's batch transactions. It returns the
// outbox rows it wrote (Whole publishes them; Database leaves them to its
// relay).
func applyBatch(ctx context.Context, pool *pgxpool.Pool, orders []contract.OrderPlaced) ([]outboxRow, error) {
	var out []outboxRow
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		out = out[:0]
		var items, keys []string
		for _, o := range orders {
			items, keys = append(items, o.Item), append(keys, o.OrderID)
		}
		slices.Sort(items)
		rows, err := tx.Query(ctx, dbLockStock, slices.Compact(items))
		if err != nil {
			return fmt.Errorf("lock stock: %w", err)
		}
		levels := map[string]int{}
		var item string
		var qty int
		if _, err := pgx.ForEachRow(rows, []any{&item, &qty}, func() error { levels[item] = qty; return nil }); err != nil {
			return fmt.Errorf("lock stock: %w", err)
		}
		rows, err = tx.Query(ctx, dbClaimKeys, keys, true)
		if err != nil {
			return fmt.Errorf("claim order ids: %w", err)
		}
		if _, err := pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("claim order ids: %w", err)
		}
		var rec struct {
			orders, eventIDs, items, reasons []string // processed rows
			ids, types, exchanges, keys      []string // outbox rows
			qtys                             []int
			bodies                           [][]byte
		}
		now := time.Now()
		for _, o := range orders {
			levels[o.Item] -= o.Quantity
			id := contract.NewID()
			body, err := contract.NewEvent(id, contract.TypeInventoryReserved, now, contract.InventoryResult{OrderID: o.OrderID, Item: o.Item, Quantity: o.Quantity})
			if err != nil {
				return err
			}
			rec.orders, rec.eventIDs, rec.items, rec.qtys, rec.reasons = append(rec.orders, o.OrderID), append(rec.eventIDs, contract.NewID()), append(rec.items, o.Item), append(rec.qtys, o.Quantity), append(rec.reasons, "")
			rec.ids, rec.types, rec.exchanges, rec.keys, rec.bodies = append(rec.ids, id), append(rec.types, contract.TypeInventoryReserved), append(rec.exchanges, contract.InventoryExchange), append(rec.keys, contract.RouteInventoryReserved), append(rec.bodies, body)
		}
		var stockItems []string
		var stockQtys []int
		for item, q := range levels {
			stockItems, stockQtys = append(stockItems, item), append(stockQtys, q)
		}
		b := &pgx.Batch{}
		b.Queue(dbSetStock, stockItems, stockQtys)
		b.Queue(dbRecordAll, rec.orders, rec.eventIDs, rec.items, rec.qtys, rec.reasons, "bench")
		b.Queue(dbStoreEvents, rec.ids, rec.types, rec.exchanges, rec.keys, rec.bodies).Query(func(rows pgx.Rows) error {
			at := make(map[string]int, len(rec.ids))
			for i, id := range rec.ids {
				at[id] = i
			}
			var id int64
			var event string
			_, err := pgx.ForEachRow(rows, []any{&id, &event}, func() error {
				i := at[event]
				out = append(out, outboxRow{id: id, eventID: event, typ: rec.types[i], key: rec.keys[i], body: rec.bodies[i]})
				return nil
			})
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("record %d orders: %w", len(orders), err)
		}
		return nil
	})
	return out, err
}

// relayRows claims pending outbox rows and marks them sent, a transaction
// per batch as inventory's relay does, until ctx ends; sent counts them.
func relayRows(ctx context.Context, pool *pgxpool.Pool, batch int, sent func(int)) error {
	for ctx.Err() == nil {
		var n int
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, dbClaimOutbox, batch)
			if err != nil {
				return fmt.Errorf("claim outbox rows: %w", err)
			}
			var ids []int64
			var row struct {
				id                  int64
				event, typ, ex, key string
				body                []byte
			}
			if _, err := pgx.ForEachRow(rows, []any{&row.id, &row.event, &row.typ, &row.ex, &row.key, &row.body}, func() error {
				ids = append(ids, row.id)
				return nil
			}); err != nil {
				return fmt.Errorf("claim outbox rows: %w", err)
			}
			n = len(ids)
			if n == 0 {
				return nil
			}
			_, err = tx.Exec(ctx, dbMarkSent, ids)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		sent(n)
		if n < batch { // caught up: wait for the workers, as the relay waits for a wake-up
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	return nil
}
