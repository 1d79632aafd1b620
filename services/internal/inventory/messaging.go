package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/failpoint"
	"github.com/mqchaos/mqchaos/services/internal/idempotency"
	"github.com/mqchaos/mqchaos/services/internal/outbox"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

type consumer struct {
	rt    *runner.Runtime
	store *store
}

// applyOrder is the whole effect of one OrderPlaced as one statement: claim
// the order id ($1, when $2), reserve the stock or find why not, record it,
// and write the result event to the outbox (when $11). It returns the
// failure reason (” when reserved), or no row when the order was applied
// before.
const applyOrder = `WITH ` + idempotency.ClaimCTE + `, reserved AS (
	UPDATE stock SET quantity = quantity - $4
	WHERE item = $3 AND quantity >= $4 AND EXISTS (SELECT 1 FROM proceed)
	RETURNING 1
), outcome AS (
	SELECT CASE WHEN EXISTS (SELECT 1 FROM reserved) THEN ''
	            WHEN EXISTS (SELECT 1 FROM stock WHERE item = $3) THEN '` + contract.ReasonInsufficientStock + `'
	            ELSE '` + contract.ReasonUnknownItem + `' END AS reason
	FROM proceed
), rec AS (
	INSERT INTO processed (order_id, event_id, item, quantity, result, reason, replica)
	SELECT $1, $5, $3, $4, CASE reason WHEN '' THEN 'reserved' ELSE 'failed' END, reason, $6 FROM outcome
	RETURNING reason
), event AS (
	INSERT INTO outbox (event_id, event_type, exchange, routing_key, body)
	SELECT $7, CASE reason WHEN '' THEN $12 ELSE $13 END, $14,
	       CASE reason WHEN '' THEN $15 ELSE $16 END,
	       CASE reason WHEN '' THEN $8::bytea WHEN '` + contract.ReasonInsufficientStock + `' THEN $9::bytea ELSE $10::bytea END
	FROM rec WHERE $11
	RETURNING 1
)
SELECT reason FROM rec`

// order is one decoded delivery of a batch.
type order struct {
	i      int // index in the batch
	placed contract.OrderPlaced
	event  string // the OrderPlaced's event id
	result map[string]outbox.Event
	reason string
	dup    bool
}

// onOrderPlaced applies a batch of OrderPlaced, each once per order id, in
// one transaction: one round trip for all the statements, one commit.
// Stock rows are locked in item order, so concurrent batches cannot deadlock.
func (c *consumer) onOrderPlaced(ctx context.Context, ds []amqp.Delivery) []error {
	errs := make([]error, len(ds))
	idem := c.rt.Idem
	var orders []*order
	for i, d := range ds {
		env, err := contract.DecodeEnvelope(d.Body, contract.TypeOrderPlaced)
		if err != nil {
			errs[i] = err
			continue
		}
		o, err := contract.DecodeOrderPlaced(env)
		if err != nil {
			errs[i] = err
			continue
		}
		if !idem.Precheck(o.OrderID) {
			c.rt.Metrics.Duplicates.WithLabelValues(d.RoutingKey).Inc()
			continue
		}
		events, err := resultEvents(o)
		if err != nil {
			idem.Release(o.OrderID)
			errs[i] = err
			continue
		}
		orders = append(orders, &order{i: i, placed: o, event: env.EventID, result: events})
	}
	if len(orders) == 0 {
		return errs
	}
	slices.SortStableFunc(orders, func(a, b *order) int { return cmp.Compare(a.placed.Item, b.placed.Item) })

	err := postgres.InTx(ctx, c.store.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, o := range orders {
			p := o.placed
			b.Queue(applyOrder, p.OrderID, idem.Durable(), p.Item, p.Quantity, o.event, c.rt.Config.Replica,
				o.result[""].ID, o.result[""].Body, o.result[contract.ReasonInsufficientStock].Body, o.result[contract.ReasonUnknownItem].Body,
				!c.rt.Outbox.Direct, contract.TypeInventoryReserved, contract.TypeInventoryFailed, contract.InventoryExchange,
				contract.RouteInventoryReserved, contract.RouteInventoryFailed,
			).QueryRow(func(row pgx.Row) error {
				err := row.Scan(&o.reason)
				if errors.Is(err, pgx.ErrNoRows) {
					o.dup = true
					return nil
				}
				return err
			})
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		for _, o := range orders {
			idem.Release(o.placed.OrderID)
			errs[o.i] = fmt.Errorf("apply order %s: %w", o.placed.OrderID, err)
		}
		return errs
	}
	c.rt.Failpoints.Hit(ctx, failpoint.InventoryAfterCommit)
	for _, o := range orders {
		if o.dup {
			c.rt.Metrics.Duplicates.WithLabelValues(ds[o.i].RoutingKey).Inc()
			continue
		}
		if c.rt.Outbox.Direct {
			if err := c.rt.Outbox.PublishDirect(ctx, o.result[o.reason]); err != nil {
				c.rt.Log.Error("direct publish failed after commit: event lost", "order_id", o.placed.OrderID, "err", err)
			}
		}
	}
	c.rt.Outbox.Wake()
	return errs
}

// resultEvents builds the three possible result events of an order (by
// failure reason, "" for reserved), sharing one event id: the statement
// stores the one that happened.
func resultEvents(o contract.OrderPlaced) (map[string]outbox.Event, error) {
	id := contract.NewID()
	now := time.Now()
	out := map[string]outbox.Event{}
	for _, reason := range []string{"", contract.ReasonInsufficientStock, contract.ReasonUnknownItem} {
		typ, key := contract.TypeInventoryReserved, contract.RouteInventoryReserved
		if reason != "" {
			typ, key = contract.TypeInventoryFailed, contract.RouteInventoryFailed
		}
		body, err := contract.NewEvent(id, typ, now, contract.InventoryResult{OrderID: o.OrderID, Item: o.Item, Quantity: o.Quantity, Reason: reason})
		if err != nil {
			return nil, err
		}
		out[reason] = outbox.Event{ID: id, Type: typ, Exchange: contract.InventoryExchange, RoutingKey: key, Body: body}
	}
	return out, nil
}
