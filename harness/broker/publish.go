// Package broker is the test's own view of RabbitMQ: publishing raw
// messages with publisher confirms and mandatory routing over AMQP, and
// reading queues and dead-letter queues through the management API.
package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Message is one raw publish.
type Message struct {
	Exchange    string
	RoutingKey  string
	MessageID   string
	Type        string
	ContentType string // default application/json
	Headers     amqp.Table
	Body        []byte
}

// ErrUnroutable is a mandatory publish the broker returned: no queue was
// bound to take it, so it certainly was not stored.
var ErrUnroutable = errors.New("unroutable: returned by the broker")

// Publisher publishes over one AMQP connection with confirms. It is not
// safe for concurrent use; open one per goroutine.
type Publisher struct {
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns chan amqp.Return
}

// Dial opens a confirming publisher on url.
func Dial(ctx context.Context, url string) (*Publisher, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second), Properties: amqp.Table{"connection_name": "mqchaos-harness"}})
	if err != nil {
		return nil, fmt.Errorf("dial broker: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("confirm.select: %w", err)
	}
	// Returns are dispatched before the confirm of the same message, so
	// after a confirm its return, if any, is already in the channel.
	returns := ch.NotifyReturn(make(chan amqp.Return, 1024))
	return &Publisher{conn: conn, ch: ch, returns: returns}, nil
}

// Close closes the connection. It is nil-safe.
func (p *Publisher) Close() error {
	if p == nil {
		return nil
	}
	return p.conn.Close()
}

// Publish publishes msgs as persistent, mandatory messages, then waits
// for every confirm. errs[i] is nil when msgs[i] was confirmed and routed;
// ErrUnroutable when the broker returned it; another error when its
// confirm did not come: unknown, not failed.
func (p *Publisher) Publish(ctx context.Context, msgs ...Message) []error {
	errs := make([]error, len(msgs))
	dcs := make([]*amqp.DeferredConfirmation, len(msgs))
	for i, m := range msgs {
		ct := m.ContentType
		if ct == "" {
			ct = "application/json"
		}
		dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.RoutingKey, true, false, amqp.Publishing{
			ContentType: ct, DeliveryMode: amqp.Persistent, MessageId: m.MessageID,
			Type: m.Type, Headers: m.Headers, Timestamp: time.Now(), Body: m.Body,
		})
		if err != nil {
			errs[i] = fmt.Errorf("basic.publish: %w", err)
			continue
		}
		dcs[i] = dc
	}
	for i, dc := range dcs {
		if dc == nil {
			continue
		}
		ok, err := dc.WaitContext(ctx)
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("wait for confirm: %w", err)
		case !ok:
			errs[i] = errors.New("broker nacked the publish")
		}
	}
	for {
		select {
		case r, ok := <-p.returns:
			if !ok {
				return errs // the connection is gone; the confirms said what they could
			}
			for i, m := range msgs {
				if m.MessageID == r.MessageId && errs[i] == nil {
					errs[i] = fmt.Errorf("%w: %d %s", ErrUnroutable, r.ReplyCode, r.ReplyText)
				}
			}
		default:
			return errs
		}
	}
}

// PublishOnce dials url, publishes msgs and closes; it fails unless every
// message was confirmed.
func PublishOnce(ctx context.Context, url string, msgs ...Message) error {
	p, err := Dial(ctx, url)
	if err != nil {
		return err
	}
	defer p.Close()
	return errors.Join(p.Publish(ctx, msgs...)...)
}
