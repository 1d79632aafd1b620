package rabbit

import (
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
)

// Binding is a queue a service consumes and what it is bound to.
type Binding struct {
	Queue    string
	Exchange string
	Keys     []string
}

// Topology is what a service declares, idempotently, on every connection:
// every exchange, its own queues, and their dead-letter queues.
type Topology struct {
	Exchanges     []string // topic exchanges
	Bindings      []Binding
	QueueType     string // "quorum" or "classic"
	DeliveryLimit int    // quorum queues: deliveries before the broker dead-letters (0: none)
	Transient     bool   // unsafe: exclusive auto-delete queues, transient messages
	DeadLetter    bool   // false only with UNSAFE_REQUEUE_FOREVER
}

// Declare declares the topology on ch. A queue that exists with other
// arguments makes the broker close ch (PRECONDITION_FAILED): switching a
// stack between safe and unsafe settings needs fresh queues.
func (t Topology) Declare(ch *amqp.Channel) error {
	for _, ex := range t.Exchanges {
		if err := ch.ExchangeDeclare(ex, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return fmt.Errorf("exchange.declare %s: %w", ex, err)
		}
	}
	if t.DeadLetter {
		if err := ch.ExchangeDeclare(contract.DeadLetterExchange, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
			return fmt.Errorf("exchange.declare %s: %w", contract.DeadLetterExchange, err)
		}
	}
	for _, b := range t.Bindings {
		args := t.queueArgs(b.Queue)
		durable, autoDelete, exclusive := !t.Transient, t.Transient, t.Transient
		if t.DeadLetter {
			dlq := contract.DeadLetterQueue(b.Queue)
			if _, err := ch.QueueDeclare(dlq, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}); err != nil {
				return fmt.Errorf("queue.declare %s: %w", dlq, err)
			}
			if err := ch.QueueBind(dlq, b.Queue, contract.DeadLetterExchange, false, nil); err != nil {
				return fmt.Errorf("queue.bind %s: %w", dlq, err)
			}
		}
		if _, err := ch.QueueDeclare(b.Queue, durable, autoDelete, exclusive, false, args); err != nil {
			return fmt.Errorf("queue.declare %s: %w", b.Queue, err)
		}
		for _, key := range b.Keys {
			if err := ch.QueueBind(b.Queue, key, b.Exchange, false, nil); err != nil {
				return fmt.Errorf("queue.bind %s to %s/%s: %w", b.Queue, b.Exchange, key, err)
			}
		}
	}
	return nil
}

func (t Topology) queueArgs(queue string) amqp.Table {
	args := amqp.Table{}
	if t.Transient {
		return args // exclusive queues are classic
	}
	args[amqp.QueueTypeArg] = t.QueueType
	if t.DeadLetter {
		args["x-dead-letter-exchange"] = contract.DeadLetterExchange
		args["x-dead-letter-routing-key"] = queue
		if t.QueueType == amqp.QueueTypeQuorum && t.DeliveryLimit > 0 {
			args["x-delivery-limit"] = t.DeliveryLimit
		}
	}
	return args
}
