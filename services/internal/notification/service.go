// Package notification is notification-service: it records one
// notification per order and kind of notice, whatever the events that
// carry it: order received (OrderPlaced), cancelled (OrderCancelled),
// confirmed (InventoryReserved) or rejected (InventoryFailed). A customer
// is told once that an order was received, even when the order comes
// again under a new event id, and told of its cancellation only after
// its receipt: a cancellation that arrives first waits for it.
package notification

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/failpoint"
	"github.com/mqchaos/mqchaos/services/internal/httpserver"
	"github.com/mqchaos/mqchaos/services/internal/idempotency"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

// Notification kinds.
const (
	KindReceived  = contract.KindReceived
	KindConfirmed = contract.KindConfirmed
	KindRejected  = contract.KindRejected
	KindCancelled = contract.KindCancelled
)

// Service is notification-service, for runner.Main.
var Service = runner.Service{Name: "notification", Migrations: []string{schema}, Setup: setup}

const schema = `CREATE TABLE IF NOT EXISTS notifications (
	id bigserial PRIMARY KEY,
	event_id text NOT NULL,
	order_id text NOT NULL,
	kind text NOT NULL,
	replica text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notifications_order ON notifications (order_id);
CREATE TABLE IF NOT EXISTS parked (
	order_id text NOT NULL,
	kind text NOT NULL,
	event_id text NOT NULL,
	replica text NOT NULL,
	parked_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (order_id, kind)
)`

// Notification is one recorded notification.
type Notification = contract.Notification

type service struct {
	rt   *runner.Runtime
	pool *pgxpool.Pool
}

func setup(_ context.Context, rt *runner.Runtime) error {
	s := &service{rt: rt, pool: rt.Pool}
	rt.Mux.HandleFunc("GET /notifications", s.list)
	rt.Consume(rabbit.Binding{
		Queue: rt.OrdersQueue(contract.NotificationOrdersQueue), Exchange: contract.OrdersExchange,
		Keys: []string{contract.RouteOrderPlaced, contract.RouteOrderCancelled},
	}, s.onOrderEvent)
	rt.Consume(rabbit.Binding{
		Queue: contract.NotificationInventoryQueue, Exchange: contract.InventoryExchange,
		Keys: []string{contract.BindAllInventoryResults},
	}, s.onInventoryResult)
	return nil
}

// note is one notification to record, decoded from delivery i of a batch.
type note struct {
	i                      int
	eventID, orderID, kind string
}

// key is the idempotency key of a notice: its kind and its order, not the
// event that carried it.
func (n note) key() string { return n.kind + "/" + n.orderID }

// onOrderEvent records an order's receipt (OrderPlaced) or its
// cancellation (OrderCancelled), in that order: see record.
func (s *service) onOrderEvent(ctx context.Context, ds []amqp.Delivery) []error {
	return s.record(ctx, ds, func(d amqp.Delivery) (note, error) {
		env, orderID, err := contract.DecodeOrderEventDelivery(d.ContentType, d.ContentEncoding, d.Body)
		kind := KindReceived
		if env.Type == contract.TypeOrderCancelled {
			kind = KindCancelled
		}
		return note{eventID: env.EventID, orderID: orderID, kind: kind}, err
	})
}

func (s *service) onInventoryResult(ctx context.Context, ds []amqp.Delivery) []error {
	return s.record(ctx, ds, func(d amqp.Delivery) (note, error) {
		env, r, err := contract.DecodeInventoryResultDelivery(d.ContentType, d.ContentEncoding, d.Body)
		if err != nil {
			return note{}, err
		}
		kind := KindConfirmed
		if env.Type == contract.TypeInventoryFailed {
			kind = KindRejected
		}
		return note{eventID: env.EventID, orderID: r.OrderID, kind: kind}, err
	})
}

// recordAll stores the batch's notifications ($1 keys, $6 event ids, $3
// order ids, $4 kinds) in one statement, claiming each key (note.key)
// first when $2 (durable idempotency), and returns the event ids it
// recorded. In durable mode the keys must be distinct.
const recordAll = `WITH ` + idempotency.ClaimAll + `
INSERT INTO notifications (event_id, order_id, kind, replica)
SELECT e, o, k, $5 FROM unnest($1::text[], $6::text[], $3::text[], $4::text[]) WITH ORDINALITY AS v(nk, e, o, k, n)
WHERE NOT $2 OR nk IN (SELECT key FROM claim)
ORDER BY n
RETURNING event_id`

// The statements that keep an order's notices in order. Every
// transaction that records a receipt or a cancellation first locks its
// orders (lockOrder, in order id order, so that two batches cannot
// deadlock): whether an order was received, and what is parked for it,
// cannot change under it until it commits.
const (
	lockOrder = `SELECT pg_advisory_xact_lock(hashtext('notification/' || $1))`
	// receivedOf returns which of the order ids ($1) have their
	// order_received notice recorded.
	receivedOf = `SELECT DISTINCT order_id FROM notifications WHERE kind = 'order_received' AND order_id = ANY($1)`
	// park keeps notices ($1 order ids, $2 kinds, $3 event ids) that
	// came before their order's receipt, once per order and kind.
	park = `INSERT INTO parked (order_id, kind, event_id, replica)
		SELECT o, k, e, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS v(o, k, e)
		ON CONFLICT (order_id, kind) DO NOTHING`
	// unpark removes and returns the notices parked for the orders
	// received ($1), oldest first.
	unpark = `WITH gone AS (DELETE FROM parked WHERE order_id = ANY($1) RETURNING order_id, kind, event_id, parked_at)
		SELECT order_id, kind, event_id FROM gone ORDER BY parked_at, order_id`
)

// record stores one notification per order and kind for a batch, in one
// transaction. With IDEMPOTENCY=none every delivery is recorded (the
// unsafe control); with memory the key is held in this process only.
//
// An order's cancellation is recorded only after its receipt: one that
// comes first (its OrderPlaced is in another worker's or replica's hands,
// or was redelivered behind it) is parked in the database and acked, and
// the receipt's transaction records it right after itself. With
// UNSAFE_NO_ORDERING notices are recorded as they come, a cancellation
// before its receipt too.
func (s *service) record(ctx context.Context, ds []amqp.Delivery, decode func(amqp.Delivery) (note, error)) []error {
	durable := s.rt.Idem.Durable()
	notes, errs := s.plan(ds, decode)
	if len(notes) == 0 {
		return errs
	}
	recorded, parked, unparked := 0, 0, 0
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		apply, later, err := s.inOrder(ctx, tx, notes)
		if err != nil {
			return err
		}
		if parked, err = s.park(ctx, tx, later); err != nil {
			return err
		}
		if recorded, err = s.insert(ctx, tx, apply, durable); err != nil {
			return err
		}
		unparked, err = s.unpark(ctx, tx, apply, durable)
		return err
	})
	if err != nil {
		for _, n := range notes {
			s.rt.Idem.Release(n.key())
			errs[n.i] = fmt.Errorf("record %s for order %s: %w", n.kind, n.orderID, err)
		}
		return errs
	}
	if parked > 0 || unparked > 0 {
		s.rt.Log.Info("cancellations kept in order", "parked", parked, "recorded_after_their_receipt", unparked)
	}
	if dups := len(notes) - parked - recorded; dups > 0 {
		s.rt.Metrics.Duplicates.WithLabelValues(ds[notes[0].i].RoutingKey).Add(float64(dups))
	}
	s.rt.Failpoints.Hit(ctx, failpoint.NotificationAfterCommit)
	return errs
}

// inOrder locks the orders of the batch's receipts and cancellations and
// splits the notes: those to record now, and the cancellations whose
// order's receipt is neither recorded nor earlier in the batch, to park.
// With UNSAFE_NO_ORDERING every note is to record now.
func (s *service) inOrder(ctx context.Context, tx pgx.Tx, notes []*note) (apply, later []*note, err error) {
	var locked, cancelled []string
	for _, n := range notes {
		if n.kind == KindReceived || n.kind == KindCancelled {
			locked = append(locked, n.orderID)
		}
		if n.kind == KindCancelled {
			cancelled = append(cancelled, n.orderID)
		}
	}
	if s.rt.Config.UnsafeNoOrdering || len(locked) == 0 {
		return notes, nil, nil
	}
	slices.Sort(locked)
	b := &pgx.Batch{}
	for _, id := range slices.Compact(locked) {
		b.Queue(lockOrder, id)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("lock orders: %w", err)
	}
	received := map[string]bool{}
	if len(cancelled) > 0 {
		rows, err := tx.Query(ctx, receivedOf, cancelled)
		if err != nil {
			return nil, nil, fmt.Errorf("read receipts: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, nil, fmt.Errorf("read receipts: %w", err)
		}
		for _, id := range ids {
			received[id] = true
		}
	}
	for _, n := range notes {
		switch {
		case n.kind == KindReceived:
			received[n.orderID] = true
		case n.kind == KindCancelled && !received[n.orderID]:
			later = append(later, n)
			continue
		}
		apply = append(apply, n)
	}
	return apply, later, nil
}

// park keeps notes until their order is received, and returns how many.
func (s *service) park(ctx context.Context, tx pgx.Tx, notes []*note) (int, error) {
	if len(notes) == 0 {
		return 0, nil
	}
	var orderIDs, kinds, eventIDs []string
	for _, n := range notes {
		orderIDs, kinds, eventIDs = append(orderIDs, n.orderID), append(kinds, n.kind), append(eventIDs, n.eventID)
	}
	if _, err := tx.Exec(ctx, park, orderIDs, kinds, eventIDs, s.rt.Config.Replica); err != nil {
		return 0, fmt.Errorf("park %d notices: %w", len(notes), err)
	}
	return len(notes), nil
}

// insert records notes in one statement, claiming their keys first when
// durable, and returns how many it recorded.
func (s *service) insert(ctx context.Context, tx pgx.Tx, notes []*note, durable bool) (int, error) {
	if len(notes) == 0 {
		return 0, nil
	}
	var keys, eventIDs, orderIDs, kinds []string
	for _, n := range notes {
		keys, eventIDs, orderIDs, kinds = append(keys, n.key()), append(eventIDs, n.eventID), append(orderIDs, n.orderID), append(kinds, n.kind)
	}
	rows, err := tx.Query(ctx, recordAll, keys, durable, orderIDs, kinds, s.rt.Config.Replica, eventIDs)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return len(ids), err
}

// unpark records, after the receipts among notes, the notices parked for
// their orders, and returns how many it recorded.
func (s *service) unpark(ctx context.Context, tx pgx.Tx, notes []*note, durable bool) (int, error) {
	var received []string
	for _, n := range notes {
		if n.kind == KindReceived {
			received = append(received, n.orderID)
		}
	}
	if s.rt.Config.UnsafeNoOrdering || len(received) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, unpark, received)
	if err != nil {
		return 0, fmt.Errorf("unpark: %w", err)
	}
	var waiting []*note
	var n note
	_, err = pgx.ForEachRow(rows, []any{&n.orderID, &n.kind, &n.eventID}, func() error {
		w := n
		waiting = append(waiting, &w)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("unpark: %w", err)
	}
	return s.insert(ctx, tx, waiting, durable)
}

// plan decodes a batch into the notes to record: errs[i] for a delivery
// that is invalid, and no note for one whose order and kind came earlier
// in the batch (durable mode) or in this process (memory mode).
func (s *service) plan(ds []amqp.Delivery, decode func(amqp.Delivery) (note, error)) ([]*note, []error) {
	errs := make([]error, len(ds))
	durable := s.rt.Idem.Durable()
	var notes []*note
	inBatch := map[string]bool{}
	for i, d := range ds {
		n, err := decode(d)
		if err != nil {
			errs[i] = err
			continue
		}
		// A notice of an order and kind earlier in this batch is a
		// duplicate: the statement claims each key once.
		if (durable && inBatch[n.key()]) || !s.rt.Idem.Precheck(n.key()) {
			s.rt.Metrics.Duplicates.WithLabelValues(d.RoutingKey).Inc()
			continue
		}
		inBatch[n.key()] = true
		n.i = i
		notes = append(notes, &n)
	}
	return notes, errs
}

// list serves GET /notifications[?order_id=].
func (s *service) list(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("order_id")
	if id != "" {
		if err := httpserver.Text("order_id", id); err != nil {
			httpserver.Respond(w, err)
			return
		}
	}
	rows, err := s.pool.Query(r.Context(), `SELECT event_id, order_id, kind, replica, created_at FROM notifications
		WHERE $1 = '' OR order_id = $1 ORDER BY id`, id)
	if err != nil {
		httpserver.WriteError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	if err := httpserver.StreamJSON(w, rows, pgx.RowToStructByPos[Notification]); err != nil {
		s.rt.Log.Error("list notifications cut short", "err", err)
	}
}
