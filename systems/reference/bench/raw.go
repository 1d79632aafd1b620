// Package bench measures how close the services come to the broker's own
// limit on the same machine: a raw amqp091-go baseline, the services end
// to end, and a backlog drain, on one stack.
package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Raw configures the broker-only baseline: amqp091-go alone, shaped as
// the services use the broker (see Shape), with nothing else to do.
type Raw struct {
	URL        string
	Messages   int
	BodyBytes  int // the size of an OrderPlaced
	Batch      int // confirms awaited per batch (the outbox relay's batch)
	Prefetch   int
	Publishers int
	Consumers  int
}

// RawResult is the baseline in messages per second.
type RawResult struct {
	PipelinePerSec float64 // publish and consume together, first publish to last ack
	ConsumePerSec  float64 // consume alone, from a full queue
}

// Run measures the pipeline, then consume alone, on a fresh durable quorum queue.
func (r Raw) Run(ctx context.Context) (RawResult, error) {
	conn, err := amqp.Dial(r.URL)
	if err != nil {
		return RawResult{}, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return RawResult{}, err
	}
	const queue = "bench.raw"
	if _, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
		return RawResult{}, fmt.Errorf("queue.declare: %w", err)
	}
	defer ch.QueueDelete(queue, false, false, false) //nolint:errcheck // best effort

	body := make([]byte, r.BodyBytes)
	for i := range body {
		body[i] = 'x'
	}
	var res RawResult

	// Pipeline: consumers running while publishers publish.
	start := time.Now()
	consumed := r.consume(ctx, conn, queue)
	if err := r.publish(ctx, conn, queue, body); err != nil {
		return res, err
	}
	if err := <-consumed; err != nil {
		return res, err
	}
	res.PipelinePerSec = float64(r.Messages) / time.Since(start).Seconds()

	// Consume alone from a full queue.
	if err := r.publish(ctx, conn, queue, body); err != nil {
		return res, err
	}
	start = time.Now()
	if err := <-r.consume(ctx, conn, queue); err != nil {
		return res, err
	}
	res.ConsumePerSec = float64(r.Messages) / time.Since(start).Seconds()
	return res, nil
}

// publish sends Messages persistent messages from Publishers channels,
// waiting for the confirms of each batch before the next.
func (r Raw) publish(ctx context.Context, conn *amqp.Connection, queue string, body []byte) error {
	var wg sync.WaitGroup
	errs := make(chan error, r.Publishers)
	per := r.Messages / r.Publishers
	for p := range r.Publishers {
		n := per
		if p == 0 {
			n += r.Messages % r.Publishers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := conn.Channel()
			if err != nil {
				errs <- err
				return
			}
			defer ch.Close()
			if err := ch.Confirm(false); err != nil {
				errs <- err
				return
			}
			for sent := 0; sent < n; {
				batch := min(r.Batch, n-sent)
				dcs := make([]*amqp.DeferredConfirmation, batch)
				for i := range batch {
					dcs[i], err = ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false,
						amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: body})
					if err != nil {
						errs <- fmt.Errorf("basic.publish: %w", err)
						return
					}
				}
				for _, dc := range dcs {
					if ok, err := dc.WaitContext(ctx); err != nil || !ok {
						errs <- errors.Join(errors.New("publish not confirmed"), err)
						return
					}
				}
				sent += batch
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// consume acks Messages messages, one by one, across Consumers channels.
func (r Raw) consume(ctx context.Context, conn *amqp.Connection, queue string) <-chan error {
	done := make(chan error, 1)
	var mu sync.Mutex
	left := r.Messages
	finished := make(chan struct{})
	var chans []*amqp.Channel
	for range r.Consumers {
		ch, err := conn.Channel()
		if err == nil {
			err = ch.Qos(r.Prefetch, 0, false)
		}
		var deliveries <-chan amqp.Delivery
		if err == nil {
			deliveries, err = ch.Consume(queue, "", false, false, false, false, nil)
		}
		if err != nil {
			done <- fmt.Errorf("consume: %w", err)
			return done
		}
		chans = append(chans, ch)
		go func() {
			for d := range deliveries {
				if err := d.Ack(false); err != nil {
					return
				}
				mu.Lock()
				left--
				if left == 0 {
					close(finished)
				}
				mu.Unlock()
			}
		}()
	}
	go func() {
		select {
		case <-finished:
			done <- nil
		case <-ctx.Done():
			done <- ctx.Err()
		}
		for _, ch := range chans {
			ch.Close()
		}
	}()
	return done
}
