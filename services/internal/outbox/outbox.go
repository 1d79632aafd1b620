// Package outbox makes a service's events leave with its state: an event is
// written to the outbox table in the transaction that changes the state,
// and a relay publishes pending rows with publisher confirms and marks
// them sent only once confirmed. A row whose publish was not confirmed is
// published again on the next pass, so delivery is at least once and
// consumers deduplicate by event id.
//
// With Direct set (the unsafe UNSAFE_NO_OUTBOX), events are instead
// published after the commit: a crash or a broker outage between the two
// loses them.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/internal/rabbit"
)

// Migration creates the outbox table in the service's schema.
const Migration = `CREATE TABLE IF NOT EXISTS outbox (
	id bigserial PRIMARY KEY,
	event_id text NOT NULL,
	event_type text NOT NULL,
	exchange text NOT NULL,
	routing_key text NOT NULL,
	body bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE sent_at IS NULL`

// Event is one message to publish.
type Event struct {
	ID         string
	Type       string
	Exchange   string
	RoutingKey string
	Body       []byte
}

func (e Event) message() rabbit.Message {
	return rabbit.Message{Exchange: e.Exchange, RoutingKey: e.RoutingKey, Publishing: amqp.Publishing{
		ContentType: "application/json", MessageId: e.ID, Type: e.Type, Timestamp: time.Now().UTC(), Body: e.Body,
	}}
}

// Publisher publishes a batch and reports, per message, whether it was confirmed.
type Publisher interface {
	PublishBatch(ctx context.Context, msgs []rabbit.Message) []error
}

// Row is a pending outbox row.
type Row struct {
	ID    int64
	Event Event
}

// Store is where pending rows are kept. Claim locks up to limit pending
// rows in a transaction that Finish ends, marking the given ids sent;
// concurrent relays (replicas) skip each other's locked rows.
type Store interface {
	Claim(ctx context.Context, limit int) ([]Row, func(ctx context.Context, sent []int64) error, error)
}

// Outbox writes events and relays them. Safe for concurrent use.
type Outbox struct {
	Store    Store
	Pub      Publisher
	Log      *slog.Logger
	Interval time.Duration // relay poll interval, besides wake-ups
	Batch    int
	Direct   bool // unsafe: publish after commit instead of storing
	// AfterPublish, if set, runs after a batch is published and before it
	// is marked sent (a failpoint).
	AfterPublish func(ctx context.Context)

	wakeOnce sync.Once
	wake     chan struct{}
}

// Tx collects the events of one transaction.
type Tx struct {
	o      *Outbox
	events []Event
}

// Begin starts collecting events for a transaction.
func (o *Outbox) Begin() *Tx { return &Tx{o: o} }

// Add stores e in tx (or, with Direct, holds it for Committed).
func (t *Tx) Add(ctx context.Context, tx pgx.Tx, e Event) error {
	t.events = append(t.events, e)
	if t.o.Direct {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, event_type, exchange, routing_key, body) VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.Type, e.Exchange, e.RoutingKey, e.Body)
	if err != nil {
		return fmt.Errorf("outbox insert %s: %w", e.Type, err)
	}
	return nil
}

// Committed is called after the transaction committed: it wakes the relay,
// or, with Direct, publishes the events now and returns what failed.
func (t *Tx) Committed(ctx context.Context) error {
	if len(t.events) == 0 {
		return nil
	}
	if !t.o.Direct {
		t.o.Wake()
		return nil
	}
	msgs := make([]rabbit.Message, len(t.events))
	for i, e := range t.events {
		msgs[i] = e.message()
	}
	return errors.Join(t.o.Pub.PublishBatch(ctx, msgs)...)
}

// PublishDirect publishes e now, for a statement that wrote no outbox row
// (only with Direct, the unsafe dual write).
func (o *Outbox) PublishDirect(ctx context.Context, e Event) error {
	return o.Pub.PublishBatch(ctx, []rabbit.Message{e.message()})[0]
}

// Wake asks the relay for a pass now. It does not block.
func (o *Outbox) Wake() {
	select {
	case o.wakeChan() <- struct{}{}:
	default:
	}
}

func (o *Outbox) wakeChan() chan struct{} {
	o.wakeOnce.Do(func() { o.wake = make(chan struct{}, 1) })
	return o.wake
}

// Run relays until ctx ends, a pass on every wake-up and every Interval.
// After a failed pass it waits for the next tick.
func (o *Outbox) Run(ctx context.Context) {
	if o.Direct {
		return
	}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		if _, err := o.Flush(ctx); err != nil && ctx.Err() == nil {
			o.Log.Warn("outbox relay pass failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wakeChan():
		}
	}
}

// Flush publishes pending rows until none are left or a pass fails. It
// returns how many rows it marked sent.
func (o *Outbox) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := o.pass(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// pass publishes one batch and marks the confirmed rows sent.
func (o *Outbox) pass(ctx context.Context) (sent int, more bool, err error) {
	rows, finish, err := o.Store.Claim(ctx, o.Batch)
	if err != nil {
		return 0, false, fmt.Errorf("claim outbox rows: %w", err)
	}
	if len(rows) == 0 {
		return 0, false, finish(ctx, nil)
	}
	msgs := make([]rabbit.Message, len(rows))
	for i, r := range rows {
		msgs[i] = r.Event.message()
	}
	errs := o.Pub.PublishBatch(ctx, msgs)
	if o.AfterPublish != nil {
		o.AfterPublish(ctx)
	}
	var ids []int64
	var failed []error
	for i, e := range errs {
		if e == nil {
			ids = append(ids, rows[i].ID)
		} else {
			failed = append(failed, e)
		}
	}
	if err := finish(ctx, ids); err != nil {
		return 0, false, fmt.Errorf("mark %d outbox rows sent: %w", len(ids), err)
	}
	if len(failed) > 0 {
		return len(ids), false, fmt.Errorf("%d of %d not confirmed: %w", len(failed), len(rows), failed[0])
	}
	return len(ids), len(rows) == o.Batch, nil
}
