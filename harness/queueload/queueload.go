// Package queueload is a Jepsen-style queue workload against the broker
// alone, no service in between: publishers that wait for a confirm of
// every message and consumers that ack by hand, both failing over between
// the nodes of a cluster, every operation recorded in a history.History
// for checker.TotalQueue to judge.
//
// A publish is recorded as an enqueue operation: invoked, then ok (the
// broker confirmed it and did not return it), fail (the broker nacked or
// returned it: it was certainly not queued) or info (no confirm came: the
// connection dropped or the confirm timed out, so it may or may not be
// queued). A delivery is recorded as a dequeue operation: ok once the ack
// was written, info if the ack could not be (the message will come
// again); its detail names the consumer ("c2", "c2 redelivered"). Every
// delivery counts as consumed, so a redelivered message shows as a
// duplicate.
package queueload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/harness/history"
)

// History kinds of the workload's operations.
const (
	KindEnqueue = "enqueue"
	KindDequeue = "dequeue"
)

// Queue is the queue the workload fills and drains, declared durable.
type Queue struct {
	Name string
	Args amqp.Table
	// Transient publishes messages with delivery mode 1: the broker keeps
	// them in memory only, and confirms them without writing them down.
	Transient bool
}

// Quorum is a quorum queue with a member on each of members nodes.
func Quorum(name string, members int) Queue {
	return Queue{Name: name, Args: amqp.Table{"x-queue-type": "quorum", "x-quorum-initial-group-size": members}}
}

// Classic is a classic queue: one node holds it, nothing replicates it.
func Classic(name string) Queue {
	return Queue{Name: name, Args: amqp.Table{"x-queue-type": "classic"}}
}

// Config is one run of the workload.
type Config struct {
	// URLs are every node's AMQP URL, looked up on each (re)connection;
	// the queue is declared through the first. Required.
	URLs func(ctx context.Context) ([]string, error)
	// PublisherURLs and ConsumerURLs, when set, give publisher or
	// consumer i (from 0) nodes of its own to fail over between, looked
	// up on each (re)connection, instead of URLs: to pin clients to one
	// side of a partition. URLs still declares the queue.
	PublisherURLs, ConsumerURLs func(ctx context.Context, i int) ([]string, error)
	Queue                       Queue
	// Prefix starts every message id ("<prefix>-p1-000042"). Required.
	Prefix string
	// Publishers and Consumers: how many of each, each on a connection of
	// its own, starting on node i mod len(URLs). Default 2 and 2.
	Publishers, Consumers int
	// Rate is publishes per second, all publishers together; default 50.
	Rate float64
	// ConsumeRate is deliveries handled per second, all consumers
	// together, until FullSpeed; 0: as fast as they come. Below Rate, a
	// backlog builds up.
	ConsumeRate float64
	// Prefetch is each consumer's basic.qos; default 20.
	Prefetch int
	// ConfirmTimeout: a publish unconfirmed for this long is info and its
	// connection is dropped; default 10 s.
	ConfirmTimeout time.Duration
	// Retry is how long a worker waits before it dials again; default
	// 200 ms.
	Retry time.Duration
}

func (c *Config) setDefaults() {
	if c.Publishers == 0 {
		c.Publishers = 2
	}
	if c.Consumers == 0 {
		c.Consumers = 2
	}
	if c.Rate == 0 {
		c.Rate = 50
	}
	if c.Prefetch == 0 {
		c.Prefetch = 20
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = 10 * time.Second
	}
	if c.Retry == 0 {
		c.Retry = 200 * time.Millisecond
	}
}

// Validate reports every setting that cannot work, joined.
func (c Config) Validate() error {
	var errs []error
	if c.URLs == nil {
		errs = append(errs, errors.New("no URLs"))
	}
	if c.Queue.Name == "" {
		errs = append(errs, errors.New("no queue name"))
	}
	if c.Prefix == "" {
		errs = append(errs, errors.New("no id prefix"))
	}
	if c.Publishers < 0 || c.Consumers < 0 || c.Rate < 0 || c.ConsumeRate < 0 || c.Prefetch < 0 {
		errs = append(errs, errors.New("negative publishers, consumers, rates or prefetch"))
	}
	return errors.Join(errs...)
}

// Run is a running workload. Its methods are safe for concurrent use.
type Run struct {
	cfg Config
	h   *history.History

	stopPublish, stopConsume, fullSpeed chan struct{}
	stopPublishOnce, stopOnce, fullOnce sync.Once
	publishers, consumers               sync.WaitGroup
	publishTokens, consumeTokens        <-chan time.Time
	tickers                             []*time.Ticker

	lastDelivery atomic.Int64 // unix nanoseconds
	deliveries   atomic.Int64
}

// Start declares the queue through the first node that answers and
// starts the publishers and the consumers; it returns at once. They run
// until ctx ends or StopPublishing and Stop are called, reconnecting
// (to the next node) whenever their connection or channel drops.
func Start(ctx context.Context, h *history.History, cfg Config) (*Run, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("queue workload: %w", err)
	}
	if err := declare(ctx, cfg); err != nil {
		return nil, fmt.Errorf("queue workload: %w", err)
	}
	r := &Run{cfg: cfg, h: h, stopPublish: make(chan struct{}), stopConsume: make(chan struct{}), fullSpeed: make(chan struct{})}
	t := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	r.tickers = append(r.tickers, t)
	r.publishTokens = t.C
	if cfg.ConsumeRate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.ConsumeRate))
		r.tickers = append(r.tickers, t)
		r.consumeTokens = t.C
	} else {
		close(r.fullSpeed)
		r.fullOnce.Do(func() {})
	}
	for i := range cfg.Consumers {
		r.consumers.Add(1)
		go func() { defer r.consumers.Done(); r.consume(ctx, i) }()
	}
	for i := range cfg.Publishers {
		r.publishers.Add(1)
		go func() { defer r.publishers.Done(); r.publish(ctx, i) }()
	}
	return r, nil
}

func declare(ctx context.Context, cfg Config) error {
	urls, err := cfg.URLs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range urls {
		conn, err := dial(u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return fmt.Errorf("open channel: %w", err)
		}
		if _, err := ch.QueueDeclare(cfg.Queue.Name, true, false, false, false, cfg.Queue.Args); err != nil {
			return fmt.Errorf("queue.declare %s: %w", cfg.Queue.Name, err)
		}
		return nil
	}
	return fmt.Errorf("declare %s: no node answers: %w", cfg.Queue.Name, errors.Join(errs...))
}

func dial(url string) (*amqp.Connection, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{
		Dial: amqp.DefaultDial(3 * time.Second), Heartbeat: 5 * time.Second,
		Properties: amqp.Table{"connection_name": "mqchaos-queueload"},
	})
	if err != nil {
		return nil, fmt.Errorf("dial broker: %w", err)
	}
	return conn, nil
}

// StopPublishing stops the publishers and waits until each has recorded
// how its last publish ended. Idempotent.
func (r *Run) StopPublishing() {
	r.stopPublishOnce.Do(func() { close(r.stopPublish) })
	r.publishers.Wait()
}

// FullSpeed lifts ConsumeRate: the consumers take what comes, to drain.
// Idempotent.
func (r *Run) FullSpeed() { r.fullOnce.Do(func() { close(r.fullSpeed) }) }

// Stop stops the publishers and the consumers and waits for them.
// Idempotent.
func (r *Run) Stop() {
	r.StopPublishing()
	r.stopOnce.Do(func() { close(r.stopConsume) })
	r.consumers.Wait()
	for _, t := range r.tickers {
		t.Stop()
	}
}

// Deliveries counts the deliveries so far, redeliveries included.
func (r *Run) Deliveries() int { return int(r.deliveries.Load()) }

// Idle is how long ago the last delivery came (since Start if none did).
func (r *Run) Idle() time.Duration {
	last := r.lastDelivery.Load()
	if last == 0 {
		return time.Duration(1<<62 - 1)
	}
	return time.Since(time.Unix(0, last))
}

// pause waits for d unless stop or ctx ends first; false if they did.
func pause(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	case <-time.After(d):
		return true
	}
}

// nodes is worker i's list of nodes: its own (pinned), or every one.
func nodes(all func(context.Context) ([]string, error), own func(context.Context, int) ([]string, error)) func(context.Context, int) ([]string, error) {
	if own != nil {
		return own
	}
	return func(ctx context.Context, _ int) ([]string, error) { return all(ctx) }
}

// node picks worker i's node for its attempt-th connection.
func node(ctx context.Context, list func(context.Context, int) ([]string, error), i, attempt int) (string, error) {
	urls, err := list(ctx, i)
	if err != nil {
		return "", err
	}
	if len(urls) == 0 {
		return "", errors.New("no broker node")
	}
	return urls[(i+attempt)%len(urls)], nil
}

// publish is publisher i: one message at a time, each waited for.
func (r *Run) publish(ctx context.Context, i int) {
	seq := 0
	r.failOver(ctx, i, nodes(r.cfg.URLs, r.cfg.PublisherURLs), r.stopPublish, func(conn *amqp.Connection) bool { return r.publishOn(ctx, conn, i, &seq) })
}

// publishOn publishes on conn until it fails (false: reconnect) or the
// publishers stop (true).
func (r *Run) publishOn(ctx context.Context, conn *amqp.Connection, i int, seq *int) bool {
	ch, err := conn.Channel()
	if err != nil {
		return false
	}
	if err := ch.Confirm(false); err != nil {
		return false
	}
	// Real acks and nacks only: on a closed channel the listener closes,
	// where a DeferredConfirmation would report a nack that never came.
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	mode := amqp.Persistent
	if r.cfg.Queue.Transient {
		mode = amqp.Transient
	}
	for {
		select {
		case <-ctx.Done():
			return true
		case <-r.stopPublish:
			return true
		case <-r.publishTokens:
		}
		*seq++
		id := fmt.Sprintf("%s-p%d-%06d", r.cfg.Prefix, i+1, *seq)
		op := r.h.Invoke(KindEnqueue, id)
		err := ch.PublishWithContext(ctx, "", r.cfg.Queue.Name, true, false, amqp.Publishing{
			DeliveryMode: mode, MessageId: id, ContentType: "text/plain", Timestamp: time.Now(), Body: []byte(id),
		})
		if err != nil {
			// The frame may have left before the error: unknown.
			r.h.Complete(op, history.Info, "basic.publish: "+err.Error())
			return false
		}
		outcome, detail := r.confirm(ctx, confirms, returns, id)
		r.h.Complete(op, outcome, detail)
		if outcome == history.Info {
			return false
		}
	}
}

// confirm waits for the confirm of the one message in flight.
func (r *Run) confirm(ctx context.Context, confirms <-chan amqp.Confirmation, returns <-chan amqp.Return, id string) (history.Outcome, string) {
	timeout := time.NewTimer(r.cfg.ConfirmTimeout)
	defer timeout.Stop()
	for {
		select {
		case ret, ok := <-returns:
			if ok && ret.MessageId == id {
				// Returns come before the confirm of the same message.
				return history.Fail, fmt.Sprintf("returned: %d %s", ret.ReplyCode, ret.ReplyText)
			}
		case c, ok := <-confirms:
			switch {
			case !ok:
				return history.Info, "channel closed before the confirm"
			case !c.Ack:
				return history.Fail, "basic.nack"
			}
			return history.OK, ""
		case <-timeout.C:
			return history.Info, fmt.Sprintf("no confirm in %s", r.cfg.ConfirmTimeout)
		case <-ctx.Done():
			return history.Info, "stopped before the confirm: " + ctx.Err().Error()
		}
	}
}

// consume is consumer i.
func (r *Run) consume(ctx context.Context, i int) {
	r.failOver(ctx, i, nodes(r.cfg.URLs, r.cfg.ConsumerURLs), r.stopConsume, func(conn *amqp.Connection) bool { return r.consumeOn(ctx, conn, i) })
}

// failOver runs worker i's work on a connection to one node of list after
// another (a pause of Retry between them) until work reports it is done,
// or stop or ctx ends.
func (r *Run) failOver(ctx context.Context, i int, list func(context.Context, int) ([]string, error), stop <-chan struct{}, work func(*amqp.Connection) (done bool)) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !pause(ctx, stop, r.cfg.Retry) {
			return
		}
		u, err := node(ctx, list, i, attempt)
		if err != nil {
			continue
		}
		conn, err := dial(u)
		if err != nil {
			continue
		}
		done := work(conn)
		conn.Close()
		if done {
			return
		}
	}
}

// consumeOn consumes on conn until it fails (false: reconnect) or the
// consumers stop (true).
func (r *Run) consumeOn(ctx context.Context, conn *amqp.Connection, i int) bool {
	ch, err := conn.Channel()
	if err != nil {
		return false
	}
	if err := ch.Qos(r.cfg.Prefetch, 0, false); err != nil {
		return false
	}
	deliveries, err := ch.Consume(r.cfg.Queue.Name, "", false, false, false, false, nil)
	if err != nil {
		return false // e.g. 404: a classic queue whose node is down
	}
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return true
		case <-r.stopConsume:
			return true
		case d, ok = <-deliveries:
			if !ok {
				return false
			}
		}
		select {
		case <-r.fullSpeed:
		case <-r.consumeTokens:
		case <-r.stopConsume:
			return true
		case <-ctx.Done():
			return true
		}
		r.deliveries.Add(1)
		r.lastDelivery.Store(time.Now().UnixNano())
		op := r.h.Invoke(KindDequeue, d.MessageId)
		if err := d.Ack(false); err != nil {
			r.h.Complete(op, history.Info, "basic.ack: "+err.Error())
			return false
		}
		detail := fmt.Sprintf("c%d", i+1)
		if d.Redelivered {
			detail += " redelivered"
		}
		r.h.Complete(op, history.OK, detail)
	}
}
