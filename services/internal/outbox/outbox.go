// Package outbox makes a service's events leave with its state: an event is
// written to the outbox table in the transaction that changes the state,
// and a relay publishes pending rows with publisher confirms and marks
// them sent only once confirmed. A row whose publish was not confirmed is
// published again on the next pass, so delivery is at least once and
// consumers deduplicate by event id.
//
// A row the broker returned as unroutable (no queue bound to its routing
// key: rabbit.ErrUnroutable) is kept and postponed, with a backoff per
// row recorded in the table, so it neither blocks the rows behind it nor
// is published on every pass; it is published again once due, and goes
// out once a binding receives it. Each such cause (exchange and routing
// key) is logged once when it starts and once when it ends.
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
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE sent_at IS NULL;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS last_error text`

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
	ID       int64
	Event    Event
	Attempts int // publishes of it that failed for the row's own sake (unroutable)
}

// Retry postpones a pending row.
type Retry struct {
	ID     int64
	After  time.Duration // from now
	Reason string
}

// Store is where pending rows are kept. Claim locks up to limit pending
// rows that are due, oldest first, in a transaction that finish ends,
// marking the sent ids sent and postponing the later ones (their
// attempts counted); concurrent relays (replicas) skip each other's
// locked rows.
type Store interface {
	Claim(ctx context.Context, limit int) ([]Row, func(ctx context.Context, sent []int64, later []Retry) error, error)
}

// Backoff of an unroutable row: RetryBase after its first failure,
// doubling, at most RetryMax.
const (
	DefaultRetryBase = time.Second
	DefaultRetryMax  = 30 * time.Second
)

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
	// RetryBase and RetryMax bound the backoff of an unroutable row
	// (zero: DefaultRetryBase, DefaultRetryMax).
	RetryBase, RetryMax time.Duration

	wakeOnce sync.Once
	wake     chan struct{}

	mu         sync.Mutex
	unroutable map[string]*unroutableCause // by exchange and routing key
}

// unroutableCause is a route no queue receives, from its first return.
type unroutableCause struct {
	since   time.Time
	returns int
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

// pass publishes one batch, marks the confirmed rows sent and postpones
// the unroutable ones.
func (o *Outbox) pass(ctx context.Context) (sent int, more bool, err error) {
	rows, finish, err := o.Store.Claim(ctx, o.Batch)
	if err != nil {
		return 0, false, fmt.Errorf("claim outbox rows: %w", err)
	}
	if len(rows) == 0 {
		return 0, false, finish(ctx, nil, nil)
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
	var later []Retry
	var failed []error
	for i, e := range errs {
		switch {
		case e == nil:
			ids = append(ids, rows[i].ID)
			o.routed(rows[i])
		case errors.Is(e, rabbit.ErrUnroutable):
			// The broker is fine; this row's route is not.
			later = append(later, Retry{ID: rows[i].ID, After: o.backoff(rows[i].Attempts + 1), Reason: e.Error()})
			o.returned(rows[i], e)
		default:
			failed = append(failed, e)
		}
	}
	if err := finish(ctx, ids, later); err != nil {
		return 0, false, fmt.Errorf("mark %d outbox rows sent, postpone %d: %w", len(ids), len(later), err)
	}
	if len(failed) > 0 {
		return len(ids), false, &brokerError{fmt.Errorf("%d of %d not confirmed: %w", len(failed), len(rows), failed[0])}
	}
	return len(ids), len(rows) == o.Batch, nil
}

// backoff is the wait after a row's nth unroutable publish.
func (o *Outbox) backoff(n int) time.Duration {
	base, limit := o.RetryBase, o.RetryMax
	if base <= 0 {
		base = DefaultRetryBase
	}
	if limit <= 0 {
		limit = DefaultRetryMax
	}
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func route(e Event) string { return e.Exchange + " " + e.RoutingKey }

// returned counts an unroutable publish of r; the first of its route is
// logged, the rest only counted.
func (o *Outbox) returned(r Row, err error) {
	o.mu.Lock()
	if o.unroutable == nil {
		o.unroutable = map[string]*unroutableCause{}
	}
	c, seen := o.unroutable[route(r.Event)]
	if !seen {
		c = &unroutableCause{since: time.Now()}
		o.unroutable[route(r.Event)] = c
	}
	c.returns++
	o.mu.Unlock()
	if !seen {
		o.Log.Warn("outbox events unroutable: no queue bound to their routing key; kept and published again with backoff",
			"exchange", r.Event.Exchange, "routing_key", r.Event.RoutingKey, "event_id", r.Event.ID, "err", err)
		return
	}
	o.Log.Debug("outbox event still unroutable", "exchange", r.Event.Exchange, "routing_key", r.Event.RoutingKey, "event_id", r.Event.ID, "attempts", r.Attempts+1)
}

// routed ends the unroutable cause of r's route, if any, with a line.
func (o *Outbox) routed(r Row) {
	o.mu.Lock()
	c, seen := o.unroutable[route(r.Event)]
	delete(o.unroutable, route(r.Event))
	o.mu.Unlock()
	if seen {
		o.Log.Info("outbox events routable again", "exchange", r.Event.Exchange, "routing_key", r.Event.RoutingKey,
			"unroutable_for", time.Since(c.since).Round(time.Millisecond).String(), "returns", c.returns)
	}
}
