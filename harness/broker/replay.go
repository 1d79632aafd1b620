package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ReplayOptions says which dead letters Replay moves, and how it finds
// where each came from.
type ReplayOptions struct {
	// Reason keeps only the messages whose reason contains it ("" every
	// one). The reason is ReasonHeader's value, or the broker's x-death
	// reason when the message has no such header.
	Reason       string
	ReasonHeader string
	// SourceHeader names the header a service that dead-letters messages
	// itself puts the source queue in; without it, or when a message lacks
	// it, the broker's x-death entry names the queue.
	SourceHeader string
	// Max stops after this many messages moved (0: no limit).
	Max int
	// Moved, if set, is called after each message is moved.
	Moved func(DeadLetter)
}

// ReplayHeader counts how many times a message was replayed.
const ReplayHeader = "x-mqchaos-replayed"

// Replay moves the messages of dead-letter queue dlq back to the queues
// they came from, and returns how many it moved. Each is published to its
// source queue (persistent, mandatory, through the default exchange) and
// removed from dlq only once the broker confirmed the publish, so an
// interrupted replay loses nothing: a message it published and did not
// yet remove is moved again next time, and the consumers' idempotency
// absorbs the copy. Messages it leaves (filtered out, or with no source
// queue to be found) go back to dlq when it returns. It blocks until dlq
// has nothing more to move, Max is reached or ctx ends.
func Replay(ctx context.Context, url, dlq string, o ReplayOptions) (int, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second), Properties: amqp.Table{"connection_name": "mqchaos-dlq-replay"}})
	if err != nil {
		return 0, fmt.Errorf("replay %s: dial broker: %w", dlq, err)
	}
	defer conn.Close()
	get, err := conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("replay %s: open channel: %w", dlq, err)
	}
	pubCh, err := conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("replay %s: open channel: %w", dlq, err)
	}
	if err := pubCh.Confirm(false); err != nil {
		return 0, fmt.Errorf("replay %s: confirm.select: %w", dlq, err)
	}
	returns := pubCh.NotifyReturn(make(chan amqp.Return, 1))
	moved := 0
	for o.Max == 0 || moved < o.Max {
		if err := ctx.Err(); err != nil {
			return moved, err
		}
		d, ok, err := get.Get(dlq, false)
		if err != nil {
			return moved, fmt.Errorf("replay %s: basic.get: %w", dlq, err)
		}
		if !ok {
			return moved, nil
		}
		dl := DeadLetter{MessageID: d.MessageId, Headers: d.Headers}
		dl.Reason, _ = d.Headers[o.ReasonHeader].(string)
		if dl.Reason == "" {
			dl.Reason = xDeath(d.Headers, "reason")
		}
		source := sourceQueue(d.Headers, o.SourceHeader)
		if !strings.Contains(dl.Reason, o.Reason) || source == "" {
			continue // left unacked: back to dlq when the channel closes
		}
		if err := republish(ctx, pubCh, returns, source, d); err != nil {
			return moved, fmt.Errorf("replay %s: message %s to %s: %w", dlq, d.MessageId, source, err)
		}
		if err := d.Ack(false); err != nil {
			return moved, fmt.Errorf("replay %s: basic.ack: %w", dlq, err)
		}
		moved++
		if o.Moved != nil {
			o.Moved(dl)
		}
	}
	return moved, nil
}

func republish(ctx context.Context, ch *amqp.Channel, returns chan amqp.Return, queue string, d amqp.Delivery) error {
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	n, _ := headers[ReplayHeader].(int32)
	headers[ReplayHeader] = n + 1
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, amqp.Publishing{
		Headers: headers, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
		DeliveryMode: amqp.Persistent, CorrelationId: d.CorrelationId, MessageId: d.MessageId,
		Timestamp: d.Timestamp, Type: d.Type, AppId: d.AppId, Body: d.Body,
	})
	if err != nil {
		return fmt.Errorf("basic.publish: %w", err)
	}
	ok, err := dc.WaitContext(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("wait for confirm: %w", err)
	case !ok:
		return errors.New("broker nacked the publish")
	}
	select {
	case r, ok := <-returns:
		if !ok {
			return errors.New("connection closed after the confirm")
		}
		return fmt.Errorf("%w: %d %s", ErrUnroutable, r.ReplyCode, r.ReplyText)
	default:
		return nil
	}
}

// sourceQueue is the queue a dead letter came from: header's value, or
// the queue of the broker's latest x-death entry.
func sourceQueue(h amqp.Table, header string) string {
	if q, _ := h[header].(string); q != "" {
		return q
	}
	return xDeath(h, "queue")
}
