// Package broker is the test's own view of RabbitMQ: publishing raw,
// valid, duplicate and poison messages with publisher confirms over AMQP,
// and reading queues and dead-letter queues through the management API.
package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
)

// Message is one raw publish.
type Message struct {
	Exchange   string
	RoutingKey string
	MessageID  string
	Type       string
	Headers    amqp.Table
	Body       []byte
}

// OrderPlaced builds a valid OrderPlaced event for the orders exchange.
// Publishing the same Message twice is a duplicate delivery.
func OrderPlaced(orderID, item string, quantity int) (Message, error) {
	id := contract.NewID()
	body, err := contract.NewEvent(id, contract.TypeOrderPlaced, time.Now(), contract.OrderPlaced{OrderID: orderID, Item: item, Quantity: quantity})
	if err != nil {
		return Message{}, err
	}
	return Message{Exchange: contract.OrdersExchange, RoutingKey: contract.RouteOrderPlaced, MessageID: id, Type: contract.TypeOrderPlaced, Body: body}, nil
}

// Publisher publishes over one AMQP connection with confirms. It is not
// safe for concurrent use; open one per goroutine.
type Publisher struct {
	conn *amqp.Connection
	ch   *amqp.Channel
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
	return &Publisher{conn: conn, ch: ch}, nil
}

// Close closes the connection. It is nil-safe.
func (p *Publisher) Close() error {
	if p == nil {
		return nil
	}
	return p.conn.Close()
}

// Publish publishes msgs as persistent messages, then waits for every
// confirm. errs[i] is nil when msgs[i] was confirmed; a message whose
// confirm did not come is unknown, not failed.
func (p *Publisher) Publish(ctx context.Context, msgs ...Message) []error {
	errs := make([]error, len(msgs))
	dcs := make([]*amqp.DeferredConfirmation, len(msgs))
	for i, m := range msgs {
		dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.RoutingKey, false, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: m.MessageID,
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
	return errs
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
