package rabbit

import (
	"fmt"
	"strconv"
	"strings"

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

// Declare declares the topology on ch, a channel of a broker whose major
// version is major (BrokerMajor; 0 if unknown). A queue that exists with
// other arguments makes the broker close ch (PRECONDITION_FAILED):
// switching a stack between safe and unsafe settings needs fresh queues.
func (t Topology) Declare(ch *amqp.Channel, major int) error {
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
		args := t.queueArgs(b.Queue, major)
		durable, autoDelete, exclusive := !t.Transient, t.Transient, t.Transient
		if t.DeadLetter {
			dlq := contract.DeadLetterQueue(b.Queue)
			if _, err := ch.QueueDeclare(dlq, true, false, false, false, t.deadLetterArgs(major)); err != nil {
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

// deadLetterArgs are the arguments of a dead-letter queue: quorum when
// the queues are, so that on a cluster the dead letters are replicated
// like the messages they came from. A classic one lives on one node, and
// while that node is down every declare of it fails (NOT_FOUND, "home
// node ... is down"), which kept a service that failed over to another
// node from consuming until the dead one came back. Classic otherwise.
func (t Topology) deadLetterArgs(major int) amqp.Table {
	if t.QueueType != amqp.QueueTypeQuorum {
		return amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}
	}
	args := amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}
	if major >= 4 {
		// 4.x's default limit of 20 would drop a dead letter read (and
		// put back) 20 times, as the harness and operators read them.
		args["x-delivery-limit"] = -1
	}
	return args
}

func (t Topology) queueArgs(queue string, major int) amqp.Table {
	args := amqp.Table{}
	if t.Transient {
		return args // exclusive queues are classic
	}
	args[amqp.QueueTypeArg] = t.QueueType
	if t.DeadLetter {
		args["x-dead-letter-exchange"] = contract.DeadLetterExchange
		args["x-dead-letter-routing-key"] = queue
	}
	if t.QueueType != amqp.QueueTypeQuorum {
		return args
	}
	switch {
	case t.DeadLetter && t.DeliveryLimit > 0:
		args["x-delivery-limit"] = t.DeliveryLimit
	case major >= 4:
		// RabbitMQ 4.0 gives a quorum queue a delivery limit of 20 unless
		// told otherwise, and drops what reaches it when there is no
		// dead-letter exchange; -1 keeps 3.x's "no limit" (3.x refuses
		// -1, so it is sent to 4.x only).
		args["x-delivery-limit"] = -1
	}
	return args
}

// BrokerMajor is the broker's major version, from the server properties
// conn was opened with ("3.10.8": 3), or 0 if they do not say.
func BrokerMajor(conn *amqp.Connection) int {
	v, _ := conn.Properties["version"].(string)
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(major)
	return n
}
