package broker

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ConsumerCounts is how many consumers each of queues has now, as the
// queues themselves count them (queue.declare, passive): unlike the
// management API's lists, which lagged up to 3 s behind on RabbitMQ
// 3.10, it is current. A queue that does not exist is left out (its
// declare closes only the channel it was asked on). It says nothing of
// whose consumers they are.
func ConsumerCounts(ctx context.Context, url string, queues []string) (map[string]int, error) {
	d := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(d)})
	if err != nil {
		return nil, fmt.Errorf("consumer counts: %w", err)
	}
	defer conn.Close()
	out := map[string]int{}
	for _, q := range queues {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		ch, err := conn.Channel()
		if err != nil {
			return out, fmt.Errorf("consumer counts: channel.open: %w", err)
		}
		st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		if err != nil {
			continue // no such queue: the broker closed the channel
		}
		out[q] = st.Consumers
		ch.Close()
	}
	return out, nil
}
