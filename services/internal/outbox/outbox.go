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

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/internal/outage"
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
	// Database and Broker follow the relay's dependencies, so that an
	// outage logs a line when it starts and one when it ends, with the
	// failed passes counted in between. Nil: Run makes its own.
	Database, Broker *outage.Tracker

	wakeOnce sync.Once
	wake     chan struct{}
}

// Stored is called once the transaction that wrote events to the outbox
// table committed: it wakes the relay. With Direct, where nothing was
// written, it publishes the events now instead and returns what failed:
// the dual write that UNSAFE_NO_OUTBOX demonstrates.
func (o *Outbox) Stored(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	if !o.Direct {
		o.Wake()
		return nil
	}
	msgs := make([]rabbit.Message, len(events))
	for i, e := range events {
		msgs[i] = e.message()
	}
	return errors.Join(o.Pub.PublishBatch(ctx, msgs)...)
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
// After a failed pass it waits for the next tick. A failed pass is
// counted against the dependency that failed it (Database, Broker); only
// the first of an outage and the recovery are logged.
func (o *Outbox) Run(ctx context.Context) {
	if o.Direct {
		return
	}
	if o.Database == nil {
		o.Database = outage.New("database", "outbox relay", o.Log, outage.NewMetrics())
	}
	if o.Broker == nil {
		o.Broker = outage.New("broker", "outbox relay", o.Log, outage.NewMetrics())
	}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		n, err := o.Flush(ctx)
		if ctx.Err() == nil {
			o.report(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wakeChan():
		}
	}
}

// report tells the trackers what a pass showed: a database error, a
// broker error (the database answered), or success (the broker only
// proved itself if something was published).
func (o *Outbox) report(published int, err error) {
	var be *brokerError
	switch {
	case err == nil:
		o.Database.Succeeded()
		if published > 0 {
			o.Broker.Succeeded()
		}
	case errors.As(err, &be):
		o.Database.Succeeded()
		o.Broker.Failed(err)
	default:
		o.Database.Failed(err)
	}
}

// brokerError is a pass that failed at the broker: publishes unconfirmed.
type brokerError struct{ err error }

func (e *brokerError) Error() string { return e.err.Error() }
func (e *brokerError) Unwrap() error { return e.err }

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
		return len(ids), false, &brokerError{fmt.Errorf("%d of %d not confirmed: %w", len(failed), len(rows), failed[0])}
	}
	return len(ids), len(rows) == o.Batch, nil
}
