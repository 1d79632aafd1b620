package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The shaped baselines do an order's broker work with amqp091-go alone,
// every guarantee on (durable quorum queues, persistent messages,
// publisher confirms, manual acks), shaped as the services consume: per
// queue Workers consumers on channels of their own at Prefetch, each
// taking up to ConsumeBatch waiting deliveries at a time and settling them
// with one multiple ack. What they leave out is the services' own work:
// decoding, the database, the outbox.

// Relay is the drain's broker baseline: a backlog of N messages in a quorum
// queue is consumed, a result per message is published with confirms to an
// exchange bound to two queues (as inventory's results go to notification
// and order-service), and each batch is acked once its results are confirmed.
type Relay struct {
	URL       string
	Messages  int
	BodyBytes int
	Shape     Shape
}

// Run fills the input queue, then times from the first delivery to the last
// ack, in messages per second.
func (r Relay) Run(ctx context.Context) (Rate, error) {
	conn, t, done, err := inAndResults(r.URL, "bench.relay")
	defer done()
	if err != nil {
		return Rate{}, err
	}
	body := payload(r.BodyBytes)
	if err := publishConfirmed(ctx, conn, "", t.name("in"), r.Messages, r.Shape.OutboxBatch, body); err != nil {
		return Rate{}, err
	}
	var first atomic.Int64
	var cpu cpuWindow
	p := newPipeline(ctx, r.Messages)
	p.onFirst = func() {
		if first.CompareAndSwap(0, time.Now().UnixNano()) {
			cpu.begin()
		}
	}
	for range r.Shape.Workers {
		p.run(func() error { return p.worker(conn, t.name("in"), t.name("results"), r.Shape, body) })
	}
	if err := p.wait(); err != nil {
		return Rate{}, err
	}
	return Rate{PerSec: float64(r.Messages) / time.Since(time.Unix(0, first.Load())).Seconds(), Cores: cpu.cores()}, nil
}

// Pipeline is the end-to-end broker baseline, an order's hops and fan-out
// without a database: N messages are published with confirms to an
// exchange bound to two queues (inventory's and notification's); the
// first queue's consumers publish a result per message with confirms to
// a second exchange bound to two queues (notification's and
// order-service's). Two confirmed publishes and four deliveries a message.
type Pipeline struct {
	URL       string
	Messages  int
	BodyBytes int
	Shape     Shape
}

// Run times from the first publish until all four queues have acked every
// message, in messages (orders) per second.
func (r Pipeline) Run(ctx context.Context) (Rate, error) {
	conn, err := amqp.Dial(r.URL)
	if err != nil {
		return Rate{}, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	t := shapedTopology{prefix: "bench.pipeline", fanouts: map[string][]string{
		"orders": {"inventory", "notification.orders"}, "results": {"notification.results", "order.results"},
	}}
	cleanup, err := t.declare(conn)
	defer cleanup()
	if err != nil {
		return Rate{}, err
	}
	body := payload(r.BodyBytes)
	p := newPipeline(ctx, 4*r.Messages)
	var cpu cpuWindow
	cpu.begin()
	start := time.Now()
	for range r.Shape.Workers {
		p.run(func() error { return p.worker(conn, t.name("inventory"), t.name("results"), r.Shape, body) })
		for _, q := range []string{"notification.orders", "notification.results", "order.results"} {
			p.run(func() error { return p.worker(conn, t.name(q), "", r.Shape, nil) })
		}
	}
	p.run(func() error {
		return publishConfirmed(p.ctx, conn, t.name("orders"), "", r.Messages, r.Shape.OutboxBatch, body)
	})
	if err := p.wait(); err != nil {
		return Rate{}, err
	}
	return Rate{PerSec: float64(r.Messages) / time.Since(start).Seconds(), Cores: cpu.cores()}, nil
}

// Rate is a measured throughput and how many of the machine's cores were
// busy meanwhile (broker, database, services and bench together).
type Rate struct {
	PerSec float64
	Cores  float64
}

// shapedTopology is a baseline's durable fanout exchanges, each bound to
// its quorum queues, and queues of its own, all named under prefix.
type shapedTopology struct {
	prefix  string
	fanouts map[string][]string // exchange -> queues
	queues  []string            // queues bound to no exchange
}

func (t shapedTopology) name(s string) string { return t.prefix + "." + s }

// inAndResults dials url and declares, under prefix, the input queue "in"
// and a "results" fanout to two queues: the topology of Relay and Whole.
// done deletes them and closes the connection; call it whatever err is.
func inAndResults(url, prefix string) (*amqp.Connection, shapedTopology, func(), error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return nil, shapedTopology{}, func() {}, fmt.Errorf("dial: %w", err)
	}
	t := shapedTopology{prefix: prefix, fanouts: map[string][]string{"results": {"results.a", "results.b"}}, queues: []string{"in"}}
	cleanup, err := t.declare(conn)
	return conn, t, func() { cleanup(); conn.Close() }, err
}

// declare declares the topology and returns what deletes it, which is
// safe to call after an error.
func (t shapedTopology) declare(conn *amqp.Connection) (func(), error) {
	ch, err := conn.Channel()
	if err != nil {
		return func() {}, err
	}
	var queues, exchanges []string
	cleanup := func() {
		for _, q := range queues {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
		for _, ex := range exchanges {
			_ = ch.ExchangeDelete(ex, false, false)
		}
		ch.Close()
	}
	declare := func(q string) error {
		if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
			return fmt.Errorf("queue.declare %s: %w", q, err)
		}
		queues = append(queues, q)
		return nil
	}
	for _, q := range t.queues {
		if err := declare(t.name(q)); err != nil {
			return cleanup, err
		}
	}
	for ex, qs := range t.fanouts {
		if err := ch.ExchangeDeclare(t.name(ex), amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
			return cleanup, fmt.Errorf("exchange.declare %s: %w", ex, err)
		}
		exchanges = append(exchanges, t.name(ex))
		for _, q := range qs {
			if err := declare(t.name(q)); err != nil {
				return cleanup, err
			}
			if err := ch.QueueBind(t.name(q), "", t.name(ex), false, nil); err != nil {
				return cleanup, fmt.Errorf("queue.bind %s: %w", q, err)
			}
		}
	}
	return cleanup, nil
}

// pipeline runs a baseline's goroutines until want acks are counted, an
// error, or ctx ends.
type pipeline struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	want    int64
	acked   atomic.Int64
	onFirst func()
	wg      sync.WaitGroup
	done    chan struct{}
	once    sync.Once
}

func newPipeline(ctx context.Context, want int) *pipeline {
	ctx, cancel := context.WithCancelCause(ctx)
	return &pipeline{ctx: ctx, cancel: cancel, want: int64(want), done: make(chan struct{}), onFirst: func() {}}
}

func (p *pipeline) run(f func() error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := f(); err != nil && p.ctx.Err() == nil {
			p.cancel(err)
		}
	}()
}

func (p *pipeline) count(n int) {
	if p.acked.Add(int64(n)) >= p.want {
		p.once.Do(func() { close(p.done) })
	}
}

// wait blocks until every ack is counted, then stops the goroutines.
func (p *pipeline) wait() error {
	var err error
	select {
	case <-p.done:
	case <-p.ctx.Done():
		err = context.Cause(p.ctx)
	}
	p.cancel(nil)
	p.wg.Wait()
	return err
}

// batchLinger is the services' wait for more deliveries to batch with one
// (services/internal/rabbit).
const batchLinger = 2 * time.Millisecond

// worker consumes queue at the shape's prefetch, a batch of waiting
// deliveries (up to ConsumeBatch) at a time. With out set, it publishes
// body to out once per delivery and waits for the batch's confirms.
func (p *pipeline) worker(conn *amqp.Connection, queue, out string, sh Shape, body []byte) error {
	return p.batches(conn, queue, sh, out != "", func(ch *amqp.Channel, batch []amqp.Delivery) error {
		if out == "" {
			return nil
		}
		dcs := make([]*amqp.DeferredConfirmation, len(batch))
		for i := range batch {
			var err error
			if dcs[i], err = ch.PublishWithDeferredConfirmWithContext(p.ctx, out, "", false, false,
				amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: body}); err != nil {
				return fmt.Errorf("basic.publish: %w", err)
			}
		}
		return confirmed(p.ctx, dcs)
	})
}

// batches consumes queue on a channel of its own (in confirm mode if
// confirm) at the shape's prefetch and hands each batch of waiting
// deliveries, up to ConsumeBatch, to handle; then it acks the batch with
// one multiple ack. An error of handle's once the run ends is no error.
func (p *pipeline) batches(conn *amqp.Connection, queue string, sh Shape, confirm bool, handle func(*amqp.Channel, []amqp.Delivery) error) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Qos(sh.Prefetch, 0, false); err != nil {
		return fmt.Errorf("basic.qos: %w", err)
	}
	if confirm {
		if err := ch.Confirm(false); err != nil {
			return fmt.Errorf("confirm.select: %w", err)
		}
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("basic.consume %s: %w", queue, err)
	}
	batch := make([]amqp.Delivery, 0, sh.ConsumeBatch)
	for {
		batch = batch[:0]
		select {
		case <-p.ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("deliveries closed")
			}
			p.onFirst()
			batch = append(batch, d)
		}
		// As the services' workers do: take what arrives within 2 ms, up to
		// the batch (amqp091-go hands deliveries over one at a time).
		linger := time.NewTimer(batchLinger)
	fill:
		for len(batch) < sh.ConsumeBatch {
			select {
			case d := <-deliveries:
				batch = append(batch, d)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		if err := handle(ch, batch); err != nil {
			if p.ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := batch[len(batch)-1].Ack(true); err != nil {
			return fmt.Errorf("basic.ack: %w", err)
		}
		p.count(len(batch))
	}
}

// confirmed waits for every confirm of dcs; a nack is an error.
func confirmed(ctx context.Context, dcs []*amqp.DeferredConfirmation) error {
	for _, dc := range dcs {
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			return errors.Join(errors.New("publish not confirmed"), err)
		}
	}
	return nil
}

// publishConfirmed publishes n persistent messages on one channel, waiting
// for the confirms of each batch before the next (as the outbox relay does).
func publishConfirmed(ctx context.Context, conn *amqp.Connection, exchange, key string, n, batch int, body []byte) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm.select: %w", err)
	}
	for sent := 0; sent < n; {
		size := min(batch, n-sent)
		dcs := make([]*amqp.DeferredConfirmation, size)
		for i := range size {
			if dcs[i], err = ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false,
				amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: body}); err != nil {
				return fmt.Errorf("basic.publish: %w", err)
			}
		}
		if err := confirmed(ctx, dcs); err != nil {
			return err
		}
		sent += size
	}
	return nil
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return b
}
