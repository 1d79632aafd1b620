// Package rabbit is the services' AMQP client: one connection, kept alive
// by a reconnect loop, that declares the service's topology, runs its
// consumers and publishes with confirms. Given the nodes of a cluster, the
// loop fails over: each reconnect dials the node after the one it lost.
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
// The broker can also end parts of a session while the connection lives
// on, and the client recovers from each:
//
//   - A consumer the broker ends (its channel closed, e.g. by
//     consumer_timeout: PRECONDITION_FAILED; or basic.cancel, e.g. its
//     queue was deleted) ends the session with an error naming the queue
//     and the broker's reason, so the next session redeclares the topology
//     and consumes again. Readiness is false in between.
//   - Publishes are mandatory: a message no queue receives comes back
//     (basic.return) and its publish fails with ErrUnroutable instead of
//     being confirmed and dropped.
//   - A connection the broker blocks (connection.blocked: a memory or disk
//     alarm) is recorded with the broker's reason (Status, the amqp_blocked
//     gauge); publishes fail with ErrBlocked until it is unblocked, and
//     every write to the socket has a deadline, so nothing waits forever on
//     a broker that stopped reading.
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

// ErrUnroutable is returned for a mandatory publish the broker returned
// (basic.return): no queue was bound to receive it. The broker confirms
// such a publish, so without mandatory it would be silently dropped.
var ErrUnroutable = errors.New("publish unroutable")

// errCancelled says the broker cancelled a consumer (basic.cancel: its
// queue was deleted) while its channel stays open.
var errCancelled = errors.New("cancelled by the broker (basic.cancel: queue deleted?)")

// ErrBlocked is returned for a publish while the broker blocks the
// connection (connection.blocked, a memory or disk alarm).
var ErrBlocked = errors.New("amqp connection blocked by the broker")

// Options configure a Client.
type Options struct {
	// URLs are the broker's nodes (one URL for a single node). The
	// client first dials the one its Name hashes to (so a system's
	// clients spread over a cluster); whenever a session ends or cannot
	// start, it dials the next one, round-robin, after its backoff, and
	// declares its topology and starts its consumers there as on any
	// reconnect.
	URLs           []string
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
	// NoMandatory (unsafe) publishes with mandatory=false: a message no
	// queue receives is confirmed and dropped.
	NoMandatory bool
	// NoConsumerRecovery (unsafe) leaves a consumer the broker ended
	// (channel closed, basic.cancel) ended, while the session and
	// readiness live on.
	NoConsumerRecovery bool
	// IgnoreTopologyErrors (unsafe) logs a declare the broker refuses and
	// goes on without consumers, ready, instead of retrying not ready.
	IgnoreTopologyErrors bool
}

// Message is one publish.
type Message struct {
	Exchange   string
	RoutingKey string
	Publishing amqp.Publishing
}

// Handler processes deliveries (one, or a batch of those already waiting)
// and settles each (ack, nack, reject) itself. stop is closed when the
// client stops consuming, or when the consumer's channel is gone (closed
// or cancelled by the broker, or with its connection): a handler waiting
// to retry should give its deliveries back then; once the channel is
// gone its acks fail and the broker redelivers what it held.
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

	mu      sync.Mutex
	cur     *session   // the current session, nil between sessions
	lastErr error      // what ended the last session, or kept it from starting
	pubMu   sync.Mutex // serialises publishes on the session's channel, so confirm order is kept
}

// session is what one connection holds.
type session struct {
	conn    *corkConn     // the connection under amqp091-go
	pub     *amqp.Channel // publishing channel
	cancel  func()        // cancels the session's consumers
	returns *returns      // basic.return of pub; nil with NoMandatory

	mu           sync.Mutex
	blocked      bool
	blockReason  string
	blockedSince time.Time
}

// blockedBy reports whether the broker blocks the session's connection, and why.
func (s *session) blockedBy() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked, s.blockReason
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

// Status reports Ready and says why, for /ready: "connected"; "blocked:
// <the broker's reason>" while the broker blocks the connection (still
// ready: consumers go on, publishes fail until unblocked); while not
// ready, the error that ended the last session or kept it from starting
// (a refused dial, or the broker's reason a queue.declare failed), or
// "connecting" before the first attempt ends.
func (c *Client) Status() (bool, string) {
	c.mu.Lock()
	s, last := c.cur, c.lastErr
	c.mu.Unlock()
	if c.ready.Load() && s != nil {
		if blocked, reason := s.blockedBy(); blocked {
			return true, "blocked: " + reason
		}
		return true, "connected"
	}
	if last != nil {
		return false, last.Error()
	}
	return false, "connecting"
}

// Run connects, and reconnects with exponential backoff whenever the
// connection is lost, until ctx ends, moving on to the next of URLs at
// every reconnect (see Options.URLs). It blocks; it returns nil after
// ctx ends, and an error at once only when there is no URL.
func (c *Client) Run(ctx context.Context) error {
	if len(c.opts.URLs) == 0 {
		return errors.New("amqp client: no broker URL")
	}
	eps := newEndpoints(c.opts.URLs, c.opts.Name)
	delay := c.opts.ReconnectMin
	causes := map[string]bool{} // the causes of this outage logged so far
	for {
		started := time.Now()
		at, u := eps.current()
		err := c.session(ctx, u)
		eps.failed(at)
		c.ready.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
		if time.Since(started) > c.opts.ReconnectMax {
			delay = c.opts.ReconnectMin
		}
		// The outage's first failure is logged by the tracker, and every
		// later one with another cause here, once (a broker restarted
		// with a queue of other arguments: the declare's refusal shows,
		// not only the refused dials before it); every failure is counted.
		if down, _ := c.outage.Down(); !down {
			clear(causes)
		} else if !causes[err.Error()] && len(causes) < 64 {
			c.log.Warn("amqp session failing for another reason; retrying", "err", err, "retry_in", delay.String())
		}
		causes[err.Error()] = true
		c.outage.Failed(err)
		c.log.Debug("amqp connection lost; reconnecting", "err", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, c.opts.ReconnectMax)
	}
}

// session runs one connection to the broker node at url until it
// closes, a consumer is lost, or ctx ends.
func (c *Client) session(ctx context.Context, url string) error {
	s := &session{}
	dial := amqp.DefaultDial(5 * time.Second)
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat:  c.opts.Heartbeat,
		Properties: amqp.Table{"connection_name": c.opts.Name},
		Dial: func(network, addr string) (net.Conn, error) {
			nc, err := dial(network, addr)
			if err != nil {
				return nil, err
			}
			s.conn = &corkConn{Conn: nc, timeout: c.writeTimeout()}
			return s.conn, nil
		},
	})
	if err != nil {
		return fmt.Errorf("dial %s: %w", hostOf(url), err)
	}
	blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	watched := make(chan struct{})
	go func() { c.watchBlocked(s, blocks); close(watched) }()
	defer func() {
		// Bounded: a broker that blocked the connection may never read
		// the connection.close, nor answer it.
		_ = conn.CloseDeadline(time.Now().Add(c.writeTimeout()))
		<-watched // blocks is closed with the connection
	}()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))

	consume := true
	if err := c.declare(conn); err != nil {
		if !c.opts.IgnoreTopologyErrors {
			return err
		}
		c.log.Error("topology not declared; going on WITHOUT CONSUMERS (UNSAFE_IGNORE_TOPOLOGY_ERRORS)", "err", err)
		consume = false
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
	s.pub = pub
	if !c.opts.NoMandatory {
		s.returns = watchReturns(pub.NotifyReturn(make(chan amqp.Return, 256)), func(r amqp.Return) {
			c.metrics.Returned.WithLabelValues(r.Exchange).Inc()
		})
	}
	lost := make(chan error, 1)
	if consume {
		cancel, err := c.startConsumers(ctx, conn, lost)
		if err != nil {
			return err
		}
		s.cancel = cancel
	}
	c.mu.Lock()
	c.cur = s
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
	}()

	if c.sessions.Add(1) > 1 {
		c.metrics.Reconnects.Inc()
	}
	c.ready.Store(true)
	if c.sessions.Load() == 1 || len(c.opts.URLs) > 1 {
		// Every session of a cluster's client, so its log says which
		// node it failed over to.
		c.log.Info("amqp connected", "node", hostOf(url), "consumers", len(c.consumers))
	}
	c.outage.Succeeded() // after a loss: one line, with how long it lasted

	select {
	case amqpErr, ok := <-closed:
		if !ok || amqpErr == nil {
			return errors.New("connection closed")
		}
		return amqpErr
	case err := <-lost:
		return err
	case <-ctx.Done():
		return nil
	}
}

// writeTimeout bounds every write to the socket: ConfirmTimeout, at least 1s.
func (c *Client) writeTimeout() time.Duration { return max(c.opts.ConfirmTimeout, time.Second) }

// watchBlocked records connection.blocked and connection.unblocked on s
// and in the amqp_blocked gauge, with a line at each, until blocks closes
// with the connection.
func (c *Client) watchBlocked(s *session, blocks <-chan amqp.Blocking) {
	unblock := func(why string) {
		s.mu.Lock()
		was, since := s.blocked, s.blockedSince
		s.blocked, s.blockReason = false, ""
		s.mu.Unlock()
		if was {
			c.metrics.Blocked.Set(0)
			c.log.Info("amqp connection "+why, "blocked_for", time.Since(since).Round(time.Millisecond).String())
		}
	}
	for b := range blocks {
		if !b.Active {
			unblock("unblocked by the broker")
			continue
		}
		s.mu.Lock()
		was := s.blocked
		if !was {
			s.blockedSince = time.Now()
		}
		s.blocked, s.blockReason = true, b.Reason
		s.mu.Unlock()
		c.metrics.Blocked.Set(1)
		if !was {
			c.log.Warn("amqp connection blocked by the broker; publishes fail until it is unblocked", "reason", b.Reason)
		}
	}
	unblock("closed while blocked")
}

func (c *Client) declare(conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open topology channel: %w", err)
	}
	defer ch.Close()
	return c.opts.Topology.Declare(ch, BrokerMajor(conn))
}

// startConsumers opens Workers channels per consumer, each with its own
// basic.consume and one worker goroutine, and starts them. One worker per
// channel keeps the Handler's ordering promise. The returned func cancels
// them all; workers finish the deliveries in hand.
//
// A consumer the broker ends while the session lives on reports why on
// lost (one report is enough: the session ends), unless NoConsumerRecovery.
func (c *Client) startConsumers(ctx context.Context, conn *amqp.Connection, lost chan<- error) (func(), error) {
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
			// Watched apart from the worker, which may be inside a handler
			// that holds a delivery for as long as it likes: the loss of
			// its channel must not wait for it.
			closes := ch.NotifyClose(make(chan *amqp.Error, 1))
			cancelled := ch.NotifyCancel(make(chan string, 1))
			gone, stop, worked := make(chan struct{}), make(chan struct{}), make(chan struct{})
			go func() {
				err := c.watchConsumer(ctx, conn, cons.queue, tag, closes, cancelled)
				if errors.Is(err, errCancelled) {
					// The channel lives on and its acks still count: the
					// deliveries in hand are applied before the session
					// ends, rather than dropped with a queue that no
					// longer exists to take them back.
					select {
					case <-worked:
					case <-ctx.Done():
					}
				}
				close(gone)
				if err != nil {
					select {
					case lost <- err:
					default: // another consumer reported: the session ends anyway
					}
				}
			}()
			go func() {
				select {
				case <-c.stop:
				case <-gone:
				}
				close(stop)
			}()
			cancels = append(cancels, func() { _ = ch.Cancel(tag, false) })
			c.workers.Add(1)
			go func() {
				defer c.workers.Done()
				defer close(worked)
				c.work(ctx, cons, stop, deliveries)
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
func (c *Client) work(ctx context.Context, cons consumer, stop <-chan struct{}, deliveries <-chan amqp.Delivery) {
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
		cons.handler(ctx, stop, batch)
	}
}

// watchConsumer waits until a consumer's channel closes or the broker
// cancels the consumer, and says why: nil when the client stopped
// consuming or the session is ending (ctx, or the connection closed);
// otherwise the broker ended this consumer alone, which is counted and
// logged, and returned unless NoConsumerRecovery.
func (c *Client) watchConsumer(ctx context.Context, conn *amqp.Connection, queue, tag string, closes <-chan *amqp.Error, cancelled <-chan string) error {
	var (
		reason string
		cancel bool // by basic.cancel: the channel is still open
	)
	select {
	case e, ok := <-closes:
		if !ok || e == nil {
			return nil // closed by the client
		}
		reason = "channel closed by the broker: " + e.Error()
	case _, ok := <-cancelled:
		if !ok {
			return nil
		}
		reason, cancel = errCancelled.Error(), true
	}
	select {
	case <-c.stop:
		return nil
	case <-ctx.Done():
		return nil
	default:
	}
	if conn.IsClosed() { // set before the connection shuts its channels
		return nil
	}
	c.metrics.ConsumerLost.WithLabelValues(queue).Inc()
	if c.opts.NoConsumerRecovery {
		c.log.Error("consumer ended by the broker and NOT recovered (UNSAFE_NO_CONSUMER_RECOVERY): nothing consumes this queue here", "queue", queue, "consumer", tag, "reason", reason)
		return nil
	}
	c.log.Warn("consumer ended by the broker; reconnecting to redeclare and consume again", "queue", queue, "consumer", tag, "reason", reason)
	if cancel {
		return fmt.Errorf("consumer %s of %s: %w", tag, queue, errCancelled)
	}
	return fmt.Errorf("consumer %s of %s: %s", tag, queue, reason)
}

// StopConsuming cancels every consumer, now and for later sessions, and
// waits until the deliveries in hand are settled or ctx ends. The
// connection stays open for publishing.
func (c *Client) StopConsuming(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.mu.Lock()
	if c.cur != nil && c.cur.cancel != nil {
		c.cur.cancel()
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
// errs[i] is nil when msgs[i] was confirmed and not returned; with
// NoConfirm it is nil once the message is written. A returned message
// (mandatory, no queue bound) fails with ErrUnroutable; every publish
// fails with ErrBlocked while the broker blocks the connection, and with
// ErrNotConnected between sessions.
func (c *Client) PublishBatch(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	c.mu.Lock()
	s := c.cur
	c.mu.Unlock()
	if s == nil {
		for i := range errs {
			errs[i] = ErrNotConnected
		}
		return errs
	}
	if blocked, reason := s.blockedBy(); blocked {
		// Every write would wait in socket buffers the broker does not read.
		for i := range errs {
			errs[i] = fmt.Errorf("basic.publish to %s: %w: %s", msgs[i].Exchange, ErrBlocked, reason)
		}
		return errs
	}
	mandatory := !c.opts.NoMandatory
	confirms := make([]*amqp.DeferredConfirmation, len(msgs))
	c.pubMu.Lock()
	s.conn.cork()
	for i, m := range msgs {
		p := m.Publishing
		p.DeliveryMode = amqp.Persistent
		if c.opts.Topology.Transient {
			p.DeliveryMode = amqp.Transient
		}
		dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.RoutingKey, mandatory, false, p)
		if err != nil {
			errs[i] = fmt.Errorf("basic.publish to %s: %w", m.Exchange, err)
			continue
		}
		c.metrics.Published.WithLabelValues(m.Exchange).Inc()
		confirms[i] = dc
	}
	if err := s.conn.uncork(); err != nil {
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
	var acked []int
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
		default:
			acked = append(acked, i)
			continue
		}
		c.metrics.Nacked.WithLabelValues(msgs[i].Exchange).Inc()
	}
	// The broker sends a mandatory message's basic.return before its
	// ack, and amqp091-go hands it over before it settles the confirm.
	var returned map[int]amqp.Return
	if s.returns != nil && len(acked) > 0 {
		returned = s.returns.take(msgs, acked)
	}
	for _, i := range acked {
		if r, ok := returned[i]; ok {
			errs[i] = fmt.Errorf("%w: exchange %q, routing key %q: %d %s", ErrUnroutable, r.Exchange, r.RoutingKey, r.ReplyCode, r.ReplyText)
			continue
		}
		c.metrics.Confirmed.WithLabelValues(msgs[i].Exchange).Inc()
	}
	return errs
}
