package inventory

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/config"
	"github.com/mqchaos/mqchaos/services/internal/failpoint"
	"github.com/mqchaos/mqchaos/services/internal/idempotency"
	"github.com/mqchaos/mqchaos/services/internal/outbox"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

type consumer struct {
	rt    *runner.Runtime
	store *store
	// applying counts the orders taken to apply, for
	// UNSAFE_DUPLICATE_ONE_IN.
	applying atomic.Int64
}

// order is one decoded delivery of a batch.
type order struct {
	i      int // index in the batch
	placed contract.OrderPlaced
	event  string // the OrderPlaced's event id
	apply  bool   // its key was claimed: apply its effect
	reason string // after allocate: "" when reserved, else why not
	// twin, of the second copy UNSAFE_DUPLICATE_ONE_IN makes of an
	// order: the first, whose claim it follows.
	twin *order
}

// The statements of a batch, set-based, so that a batch costs a handful of
// statements and one new version of each stock row, however many orders
// it holds.
const (
	// lockStock locks the batch's stock rows in item order, so concurrent
	// batches (workers, replicas) cannot deadlock, and reads their levels.
	lockStock = `SELECT item, quantity FROM stock WHERE item = ANY($1) ORDER BY item FOR UPDATE`
	// claimKeys claims the order ids (idempotency keys) and returns those
	// that were new: the orders to apply.
	claimKeys = `WITH ` + idempotency.ClaimAll + ` SELECT key FROM claim`
	setStock  = `UPDATE stock SET quantity = v.q FROM unnest($1::text[], $2::int[]) AS v(item, q) WHERE stock.item = v.item`
	recordAll = `INSERT INTO processed (order_id, event_id, item, quantity, result, reason, replica)
		SELECT o, e, i, q, CASE r WHEN '' THEN 'reserved' ELSE 'failed' END, r, $6
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[]) AS v(o, e, i, q, r)`
	// recordConflicts records each duplicate of the batch ($1 order ids,
	// $2 event ids, $3 items, $4 quantities) whose item or quantity differs
	// from the order's first, applied event, once per event id, and
	// returns the order ids it recorded.
	recordConflicts = `INSERT INTO conflicts (order_id, event_id, item, quantity, first_event_id, first_item, first_quantity, replica)
		SELECT v.o, v.e, v.i, v.q, p.event_id, p.item, p.quantity, $5
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS v(o, e, i, q)
		JOIN processed p ON p.order_id = v.o AND p.event_id <> v.e
		WHERE (p.item, p.quantity) IS DISTINCT FROM (v.i, v.q)
		ON CONFLICT (order_id, event_id) DO NOTHING
		RETURNING order_id`
	storeEvents = `INSERT INTO outbox (event_id, event_type, exchange, routing_key, body)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])`
)

// onOrderPlaced applies a batch of OrderPlaced, each once per order id, in
// one transaction: lock the stock rows, claim the order ids, reserve in
// delivery order, record every applied order and write its result event
// to the outbox. The first event of an order id wins; with durable
// idempotency a later one whose item or quantity differs is recorded as a
// conflict (GET /processed?conflicts=true, mqchaos_conflicts_total).
func (c *consumer) onOrderPlaced(ctx context.Context, ds []amqp.Delivery) []error {
	errs := make([]error, len(ds))
	idem := c.rt.Idem
	var orders []*order
	for i, d := range ds {
		env, o, err := contract.DecodeOrderPlacedDelivery(d.ContentType, d.ContentEncoding, d.Body)
		if err == nil && c.rt.Config.UnsafeStaleItemList && o.Item != config.StaleItemList {
			err = fmt.Errorf("%w: item %q is not in the item list (UNSAFE_STALE_ITEM_LIST)", contract.ErrInvalid, o.Item)
		}
		if err != nil {
			errs[i] = err
			continue
		}
		if !idem.Precheck(o.OrderID) {
			c.rt.Metrics.Duplicates.WithLabelValues(d.RoutingKey).Inc()
			continue
		}
		orders = append(orders, &order{i: i, placed: o, event: env.EventID, apply: true})
	}
	if len(orders) == 0 {
		return errs
	}
	if n := int64(c.rt.Config.UnsafeDuplicateOneIn); n > 0 {
		orders = duplicateOneIn(n, &c.applying, orders, c.rt.Log)
	}
	var (
		events    []outbox.Event
		conflicts int
	)
	err := postgres.InTx(ctx, c.store.pool, func(tx pgx.Tx) error {
		levels, err := c.lock(ctx, tx, orders)
		if err != nil {
			return err
		}
		if idem.Durable() {
			if err := c.claim(ctx, tx, orders); err != nil {
				return err
			}
		}
		for _, o := range orders {
			if o.twin != nil {
				o.apply = o.twin.apply
			}
		}
		changed := allocate(levels, orders)
		if events, err = c.record(ctx, tx, orders, changed); err != nil {
			return err
		}
		if idem.Durable() {
			conflicts, err = c.conflicts(ctx, tx, orders)
		}
		return err
	})
	if err != nil {
		for _, o := range orders {
			idem.Release(o.placed.OrderID)
			errs[o.i] = fmt.Errorf("apply order %s: %w", o.placed.OrderID, err)
		}
		return errs
	}
	c.rt.Failpoints.Hit(ctx, failpoint.InventoryAfterCommit)
	if conflicts > 0 {
		c.rt.Metrics.Conflicts.WithLabelValues(c.rt.OrdersQueue(contract.InventoryOrdersQueue)).Add(float64(conflicts))
		c.rt.Log.Warn("conflicting duplicates of orders recorded; the first event of each order stands", "conflicts", conflicts)
	}
	for _, o := range orders {
		if !o.apply {
			c.rt.Metrics.Duplicates.WithLabelValues(ds[o.i].RoutingKey).Inc()
		}
	}
	if err := c.rt.Outbox.Stored(ctx, events...); err != nil {
		c.rt.Log.Error("direct publish failed after commit: events lost", "events", len(events), "err", err)
	}
	return errs
}

// duplicateOneIn returns orders with a second copy of every nth order
// counted by taken, right after it (UNSAFE_DUPLICATE_ONE_IN): the copy
// follows its first's claim, so the one order is applied twice.
func duplicateOneIn(n int64, taken *atomic.Int64, orders []*order, log *slog.Logger) []*order {
	out := make([]*order, 0, len(orders)+1)
	for _, o := range orders {
		out = append(out, o)
		if taken.Add(1)%n == 0 {
			log.Error("UNSAFE_DUPLICATE_ONE_IN: order applied twice", "order_id", o.placed.OrderID)
			twin := *o
			twin.twin = o
			out = append(out, &twin)
		}
	}
	return out
}

// lock locks and reads the stock rows of the batch's items.
func (c *consumer) lock(ctx context.Context, tx pgx.Tx, orders []*order) (map[string]int, error) {
	var items []string
	for _, o := range orders {
		items = append(items, o.placed.Item)
	}
	slices.Sort(items)
	rows, err := tx.Query(ctx, lockStock, slices.Compact(items))
	if err != nil {
		return nil, fmt.Errorf("lock stock: %w", err)
	}
	levels := map[string]int{}
	var item string
	var qty int
	_, err = pgx.ForEachRow(rows, []any{&item, &qty}, func() error { levels[item] = qty; return nil })
	if err != nil {
		return nil, fmt.Errorf("lock stock: %w", err)
	}
	return levels, nil
}

// claim claims the orders' ids and marks those claimed before as not to apply.
func (c *consumer) claim(ctx context.Context, tx pgx.Tx, orders []*order) error {
	keys := make([]string, len(orders))
	for i, o := range orders {
		keys[i] = o.placed.OrderID
	}
	rows, err := tx.Query(ctx, claimKeys, keys, true)
	if err != nil {
		return fmt.Errorf("claim order ids: %w", err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("claim order ids: %w", err)
	}
	fresh := map[string]bool{}
	for _, k := range claimed {
		fresh[k] = true
	}
	for _, o := range orders {
		// An id twice in one batch is claimed once: the first applies.
		o.apply = fresh[o.placed.OrderID]
		delete(fresh, o.placed.OrderID)
	}
	return nil
}

// conflicts records the duplicates of the batch (orders not applied) that
// differ from their order's first event, and returns how many it recorded.
// It runs after record, so the first of an order id twice in one batch is
// in processed already.
func (c *consumer) conflicts(ctx context.Context, tx pgx.Tx, orders []*order) (int, error) {
	var ids, events, items []string
	var qtys []int
	for _, o := range orders {
		if !o.apply {
			p := o.placed
			ids, events, items, qtys = append(ids, p.OrderID), append(events, o.event), append(items, p.Item), append(qtys, p.Quantity)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, recordConflicts, ids, events, items, qtys, c.rt.Config.Replica)
	if err != nil {
		return 0, fmt.Errorf("record conflicts: %w", err)
	}
	recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("record conflicts: %w", err)
	}
	return len(recorded), nil
}

// allocate reserves stock for the orders to apply, in delivery order, from
// levels, and sets each one's reason: "" when reserved, else unknown item
// or insufficient stock. It returns the new levels of the items it changed.
func allocate(levels map[string]int, orders []*order) map[string]int {
	changed := map[string]int{}
	for _, o := range orders {
		if !o.apply {
			continue
		}
		p := o.placed
		have, known := levels[p.Item]
		switch {
		case !known:
			o.reason = contract.ReasonUnknownItem
		case have < p.Quantity:
			o.reason = contract.ReasonInsufficientStock
		default:
			levels[p.Item] = have - p.Quantity
			changed[p.Item] = have - p.Quantity
		}
	}
	return changed
}

// record writes the new stock levels, a processed row per applied order and
// its result event (to the outbox unless it is Direct), in one round trip.
// It returns the events, for the relay or the direct publish.
func (c *consumer) record(ctx context.Context, tx pgx.Tx, orders []*order, levels map[string]int) ([]outbox.Event, error) {
	var (
		items  []string
		qtys   []int
		events []outbox.Event
		rec    struct {
			orders, eventIDs, items, reasons []string
			qtys                             []int
		}
		ev struct {
			ids, types, exchanges, keys []string
			bodies                      [][]byte
		}
	)
	for item, q := range levels {
		items, qtys = append(items, item), append(qtys, q)
	}
	now := time.Now()
	for _, o := range orders {
		if !o.apply {
			continue
		}
		p := o.placed
		rec.orders, rec.eventIDs, rec.items = append(rec.orders, p.OrderID), append(rec.eventIDs, o.event), append(rec.items, p.Item)
		rec.qtys, rec.reasons = append(rec.qtys, p.Quantity), append(rec.reasons, o.reason)
		e, err := resultEvent(p, o.reason, now)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
		ev.ids, ev.types, ev.exchanges, ev.keys = append(ev.ids, e.ID), append(ev.types, e.Type), append(ev.exchanges, e.Exchange), append(ev.keys, e.RoutingKey)
		ev.bodies = append(ev.bodies, e.Body)
	}
	if len(events) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	if len(items) > 0 {
		b.Queue(setStock, items, qtys)
	}
	b.Queue(recordAll, rec.orders, rec.eventIDs, rec.items, rec.qtys, rec.reasons, c.rt.Config.Replica)
	if !c.rt.Outbox.Direct {
		b.Queue(storeEvents, ev.ids, ev.types, ev.exchanges, ev.keys, ev.bodies)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("record %d orders: %w", len(events), err)
	}
	return events, nil
}

// resultEvent is the InventoryReserved (reason "") or InventoryFailed event
// of an applied order.
func resultEvent(o contract.OrderPlaced, reason string, at time.Time) (outbox.Event, error) {
	typ, key := contract.TypeInventoryReserved, contract.RouteInventoryReserved
	if reason != "" {
		typ, key = contract.TypeInventoryFailed, contract.RouteInventoryFailed
	}
	id := contract.NewID()
	body, err := contract.NewEvent(id, typ, at, contract.InventoryResult{OrderID: o.OrderID, Item: o.Item, Quantity: o.Quantity, Reason: reason})
	if err != nil {
		return outbox.Event{}, err
	}
	return outbox.Event{ID: id, Type: typ, Exchange: contract.InventoryExchange, RoutingKey: key, Body: body}, nil
}
