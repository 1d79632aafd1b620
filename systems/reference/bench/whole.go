package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
)

// Whole is the drain's whole work in one hand-written program, amqp091-go
// and pgx alone, against the stack's broker and database: the like-for-like
// baseline of the drain, where Relay and Database each do only half of it.
//
// A backlog of N OrderPlaced events (the services' own encoding) waits in
// a quorum queue of its own. Workers consumers, each on a channel and a
// database connection of its own at Prefetch, take a batch as the
// services do (up to ConsumeBatch deliveries arriving within 2 ms), and
// for each batch: decode every delivery; apply the batch in inventory's
// transaction (lock the stock rows, claim the order ids, write stock,
// processed and outbox rows, in the Database baseline's schema); publish
// the batch's results with confirms to an exchange bound to two quorum
// queues (as inventory's go to notification and order-service) and wait
// for the confirms; mark their outbox rows sent; ack the batch with one
// multiple ack.
//
// It is timed from the first delivery to the last ack, as the drain is.
// Every result is confirmed within that time, where the drain's clock
// stops at inventory's last ack while its outbox relay may still be
// publishing the last results: if anything, the comparison favours the
// drain.
type Whole struct {
	AMQPURL     string
	DatabaseURL string
	Orders      int
	Items       []string
	Shape       Shape
}

// Run declares the queues and the schema, fills the backlog, then drains
// it, in orders per second. Queues and schema are deleted afterwards.
func (w Whole) Run(ctx context.Context) (Rate, error) {
	conn, t, done, err := inAndResults(w.AMQPURL, "bench.whole")
	defer done()
	if err != nil {
		return Rate{}, err
	}
	pool, drop, err := benchSchema(ctx, w.DatabaseURL, w.Items, w.Shape.Workers+1)
	if drop != nil {
		defer drop()
	}
	if err != nil {
		return Rate{}, err
	}
	if err := w.fill(ctx, conn, t.name("in")); err != nil {
		return Rate{}, err
	}

	var first atomic.Int64
	var cpu cpuWindow
	p := newPipeline(ctx, w.Orders)
	p.onFirst = func() {
		if first.CompareAndSwap(0, time.Now().UnixNano()) {
			cpu.begin()
		}
	}
	for range w.Shape.Workers {
		p.run(func() error { return p.wholeWorker(conn, pool, t.name("in"), t.name("results"), w.Shape) })
	}
	if err := p.wait(); err != nil {
		return Rate{}, err
	}
	return Rate{PerSec: float64(w.Orders) / time.Since(time.Unix(0, first.Load())).Seconds(), Cores: cpu.cores()}, nil
}

// fill publishes the backlog, OutboxBatch confirms at a time.
func (w Whole) fill(ctx context.Context, conn *amqp.Connection, queue string) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm.select: %w", err)
	}
	for sent := 0; sent < w.Orders; {
		size := min(w.Shape.OutboxBatch, w.Orders-sent)
		dcs := make([]*amqp.DeferredConfirmation, size)
		for i := range size {
			id := contract.NewID()
			body, err := contract.NewEvent(id, contract.TypeOrderPlaced, time.Now(),
				contract.OrderPlaced{OrderID: contract.NewID(), Item: w.Items[(sent+i)%len(w.Items)], Quantity: 1})
			if err != nil {
				return err
			}
			if dcs[i], err = ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, amqp.Publishing{
				DeliveryMode: amqp.Persistent, ContentType: "application/json", MessageId: id, Type: contract.TypeOrderPlaced, Body: body,
			}); err != nil {
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

// wholeWorker is one consumer of Whole: batch, decode, transaction,
// confirmed publish of the results, mark sent, ack.
func (p *pipeline) wholeWorker(conn *amqp.Connection, pool *pgxpool.Pool, queue, out string, sh Shape) error {
	return p.batches(conn, queue, sh, true, func(ch *amqp.Channel, batch []amqp.Delivery) error {
		orders := make([]contract.OrderPlaced, len(batch))
		for i, d := range batch {
			var err error
			if _, orders[i], err = contract.DecodeOrderPlacedDelivery(d.ContentType, d.ContentEncoding, d.Body); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
		}
		rows, err := applyBatch(p.ctx, pool, orders)
		if err != nil {
			return err
		}
		dcs := make([]*amqp.DeferredConfirmation, len(rows))
		for i, r := range rows {
			if dcs[i], err = ch.PublishWithDeferredConfirmWithContext(p.ctx, out, r.key, false, false, amqp.Publishing{
				DeliveryMode: amqp.Persistent, ContentType: "application/json", MessageId: r.eventID, Type: r.typ, Body: r.body,
			}); err != nil {
				return fmt.Errorf("basic.publish: %w", err)
			}
		}
		if err := confirmed(p.ctx, dcs); err != nil {
			return err
		}
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.id
		}
		if _, err := pool.Exec(p.ctx, dbMarkSent, ids); err != nil {
			return fmt.Errorf("mark %d outbox rows sent: %w", len(ids), err)
		}
		return nil
	})
}
