// Package rabbit is the services' AMQP client: one connection, kept alive
// by a reconnect loop, that declares the service's topology, runs its
// consumers and publishes with confirms.
//
// amqp091-go v1.16 ships an experimental automatic recovery (Config.Recovery).
// This package uses its own loop around NotifyClose instead, as in the
// library's client example: the service must know when it is disconnected
// (readiness goes false), every session redeclares the topology from the
// service's own description rather than from a record of past calls, and a
// publish that was in flight when the connection died must surface as an
// error to the outbox, which republishes it, rather than be retried by a
// layer that cannot see the database.
//
// A Client is safe for concurrent use.
package rabbit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/internal/metrics"
	"github.com/mqchaos/mqchaos/services/internal/outage"
)

// batchLinger is how long a worker holding a delivery waits for more to
// apply with it in one transaction.
const batchLinger = 2 * time.Millisecond

// ErrNotConnected is returned by a publish while no connection is open.
var ErrNotConnected = errors.New("amqp not connected")

// ErrNotConfirmed is returned for a publish the broker nacked, or did not
// confirm in time, or whose connection closed before the confirm.
var ErrNotConfirmed = errors.New("publish not confirmed")

// Options configure a Client.
type Options struct {
	URL            string
	Name           string // connection name shown by the broker
	Heartbeat      time.Duration
	ReconnectMin   time.Duration
	ReconnectMax   time.Duration
	ConfirmTimeout time.Duration
	Prefetch       int // unacked deliveries per worker
	Workers        int // workers per consumed queue, each an AMQP consumer on a channel of its own
	Batch          int // deliveries a worker takes at once, when they are waiting
	Topology       Topology

	AutoAck   bool // unsafe: deliveries are acked by the broker on send
	NoConfirm bool // unsafe: publishes are not confirmed
}

// Message is one publish.
type Message struct {
	Exchange   string
	RoutingKey string
	Publishing amqp.Publishing
}

// Handler processes deliveries (one, or a batch of those already waiting)
// and settles each (ack, nack, reject) itself. stop is closed when the
// client stops consuming: a handler waiting to retry should give its
// deliveries back then.
//
// The deliveries of one call come from one channel, in delivery-tag order,
// and every earlier delivery of that channel went to an earlier call of the
// same worker, which has returned. So a handler that settled everything
// it was given before may settle a whole batch with one multiple ack of
// its last delivery.
type Handler func(ctx context.Context, stop <-chan struct{}, ds []amqp.Delivery)

type consumer struct {
	queue   string
	handler Handler
}

// Client keeps one AMQP connection open until its Run context ends.
type Client struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics.Metrics

	consumers []consumer
	outage    *outage.Tracker
	ready     atomic.Bool
	sessions  atomic.Int64
	workers   sync.WaitGroup
	stopOnce  sync.Once
	stop      chan struct{} // closed by StopConsuming

	mu     sync.Mutex
	conn   *corkConn     // the current session's connection, under amqp091-go
	pub    *amqp.Channel // publishing channel of the current session
	pubMu  sync.Mutex    // serialises publishes on pub, so confirm order is kept
	cancel func()        // cancels the current session's consumers
}

// New returns a Client; Consume registers consumers before Run.
func New(opts Options, log *slog.Logger, m *metrics.Metrics) *Client {
	return &Client{opts: opts, log: log, metrics: m, stop: make(chan struct{}),
		outage: outage.New("broker", "amqp connection", log, m.Outages)}
}

// SetTopology sets what every session declares. It must be called before Run.
func (c *Client) SetTopology(t Topology) { c.opts.Topology = t }

// Consume registers h for queue. It must be called before Run.
func (c *Client) Consume(queue string, h Handler) {
	c.consumers = append(c.consumers, consumer{queue: queue, handler: h})
}

// Ready reports whether a connection is open with the topology declared
// and consumers started.
func (c *Client) Ready() bool { return c.ready.Load() }

// Run connects, and reconnects with exponential backoff whenever the
// connection is lost, until ctx ends. It blocks; it returns nil after ctx ends.
func (c *Client) Run(ctx context.Context) error {
	delay := c.opts.ReconnectMin
	for {
		started := time.Now()
		err := c.session(ctx)
		c.ready.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > c.opts.ReconnectMax {
			delay = c.opts.ReconnectMin
		}
		c.outage.Failed(err) // logged once per outage; every failed session counted
		c.log.Debug("amqp connection lost; reconnecting", "err", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, c.opts.ReconnectMax)
	}
}

// session runs one connection until it closes or ctx ends.
func (c *Client) session(ctx context.Context) error {
	var corked *corkConn
	dial := amqp.DefaultDial(5 * time.Second)
	conn, err := amqp.DialConfig(c.opts.URL, amqp.Config{
		Heartbeat:  c.opts.Heartbeat,
		Properties: amqp.Table{"connection_name": c.opts.Name},
		Dial: func(network, addr string) (net.Conn, error) {
			nc, err := dial(network, addr)
			if err != nil {
				return nil, err
			}
			corked = &corkConn{Conn: nc}
			return corked, nil
		},
	})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))

	if err := c.declare(conn); err != nil {
		return err
	}
	pub, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open publish channel: %w", err)
	}
	if !c.opts.NoConfirm {
		if err := pub.Confirm(false); err != nil {
			return fmt.Errorf("confirm.select: %w", err)
		}
	}
	cancel, err := c.startConsumers(ctx, conn)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pub, c.conn, c.cancel = pub, corked, cancel
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.pub, c.conn, c.cancel = nil, nil, nil
		c.mu.Unlock()
	}()

	if c.sessions.Add(1) > 1 {
		c.metrics.Reconnects.Inc()
	}
	c.ready.Store(true)
	if c.sessions.Load() == 1 {
		c.log.Info("amqp connected", "consumers", len(c.consumers))
	}
	c.outage.Succeeded() // after a loss: one line, with how long it lasted

	select {
	case amqpErr, ok := <-closed:
		if !ok || amqpErr == nil {
			return errors.New("connection closed")
		}
		return amqpErr
	case <-ctx.Done():
		return nil
	}
}

func (c *Client) declare(conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open topology channel: %w", err)
	}
	defer ch.Close()
	return c.opts.Topology.Declare(ch)
}

// startConsumers opens Workers channels per consumer, each with its own
// basic.consume and one worker goroutine, and starts them. One worker per
// channel keeps the Handler's ordering promise. The returned func cancels
// them all; workers finish the deliveries in hand.
func (c *Client) startConsumers(ctx context.Context, conn *amqp.Connection) (func(), error) {
	select {
	case <-c.stop:
		return func() {}, nil
	default:
	}
	var cancels []func()
	cancelAll := func() {
		for _, f := range cancels {
			f()
		}
	}
	for _, cons := range c.consumers {
		for w := range c.opts.Workers {
			tag := fmt.Sprintf("%s/%s/%d", c.opts.Name, cons.queue, w+1)
			ch, deliveries, err := c.consumeOn(conn, cons.queue, tag)
			if err != nil {
				cancelAll()
				return nil, err
			}
			cancels = append(cancels, func() { _ = ch.Cancel(tag, false) })
			c.workers.Add(1)
			go func() {
				defer c.workers.Done()
				c.work(ctx, cons, deliveries)
			}()
		}
	}
	return cancelAll, nil
}

// consumeOn opens a channel with the prefetch set and starts consuming queue on it.
func (c *Client) consumeOn(conn *amqp.Connection, queue, tag string) (*amqp.Channel, <-chan amqp.Delivery, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("open channel for %s: %w", queue, err)
	}
	if err := ch.Qos(c.opts.Prefetch, 0, false); err != nil {
		return nil, nil, fmt.Errorf("basic.qos on %s: %w", queue, err)
	}
	deliveries, err := ch.Consume(queue, tag, c.opts.AutoAck, false, false, false, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("basic.consume %s: %w", queue, err)
	}
	return ch, deliveries, nil
}

// work hands deliveries to the consumer's handler, a batch at a time,
// until the channel closes.
func (c *Client) work(ctx context.Context, cons consumer, deliveries <-chan amqp.Delivery) {
	for d := range deliveries {
		batch := []amqp.Delivery{d}
		// Take what arrives within batchLinger, up to Batch: the library
		// hands deliveries over one at a time.
		linger := time.NewTimer(batchLinger)
	fill:
		for len(batch) < c.opts.Batch {
			select {
			case more, ok := <-deliveries:
				if !ok {
					break fill
				}
				batch = append(batch, more)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		c.metrics.Consumed.WithLabelValues(cons.queue).Add(float64(len(batch)))
		cons.handler(ctx, c.stop, batch)
	}
}

// StopConsuming cancels every consumer, now and for later sessions, and
// waits until the deliveries in hand are settled or ctx ends. The
// connection stays open for publishing.
func (c *Client) StopConsuming(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop consuming: %w", ctx.Err())
	}
}

// Publish publishes one message and waits for its confirm.
func (c *Client) Publish(ctx context.Context, m Message) error {
	return c.PublishBatch(ctx, []Message{m})[0]
}

// PublishBatch publishes msgs in order on one channel, in one write to the
// connection, then waits for all their confirms (at most ConfirmTimeout).
// errs[i] is nil when msgs[i] was confirmed; with NoConfirm it is nil once
// the message is written.
func (c *Client) PublishBatch(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	c.mu.Lock()
	ch, conn := c.pub, c.conn
	c.mu.Unlock()
	if ch == nil {
		for i := range errs {
			errs[i] = ErrNotConnected
		}
		return errs
	}
	confirms := make([]*amqp.DeferredConfirmation, len(msgs))
	c.pubMu.Lock()
	conn.cork()
	for i, m := range msgs {
		p := m.Publishing
		p.DeliveryMode = amqp.Persistent
		if c.opts.Topology.Transient {
			p.DeliveryMode = amqp.Transient
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.RoutingKey, false, false, p)
		if err != nil {
			errs[i] = fmt.Errorf("basic.publish to %s: %w", m.Exchange, err)
			continue
		}
		c.metrics.Published.WithLabelValues(m.Exchange).Inc()
		confirms[i] = dc
	}
	if err := conn.uncork(); err != nil {
		for i := range confirms {
			if confirms[i] != nil {
				confirms[i], errs[i] = nil, fmt.Errorf("basic.publish to %s: %w", msgs[i].Exchange, err)
			}
		}
	}
	c.pubMu.Unlock()
	if c.opts.NoConfirm {
		return errs
	}
	wctx, cancel := context.WithTimeout(ctx, c.opts.ConfirmTimeout)
	defer cancel()
	for i, dc := range confirms {
		if dc == nil {
			continue
		}
		ok, err := dc.WaitContext(wctx)
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("%w: %s: %w", ErrNotConfirmed, msgs[i].Exchange, err)
		case !ok:
			errs[i] = fmt.Errorf("%w: %s: nacked", ErrNotConfirmed, msgs[i].Exchange)
		}
		if errs[i] != nil {
			c.metrics.Nacked.WithLabelValues(msgs[i].Exchange).Inc()
		} else {
			c.metrics.Confirmed.WithLabelValues(msgs[i].Exchange).Inc()
		}
	}
	return errs
}
