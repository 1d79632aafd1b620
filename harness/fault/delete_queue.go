package fault

import (
	"context"
)

// QueueDeleter is the part of the management API DeleteQueue uses; a
// *broker.Management is one.
type QueueDeleter interface {
	DeleteQueue(ctx context.Context, name string) error
}

// DeleteQueue deletes a queue under its consumers, with the messages it
// holds, as an operator's mistake or a cleanup script does: the broker
// cancels its consumers (basic.cancel). Heal does nothing: a service must
// declare the queue again and resume by itself; what the queue held is
// gone.
func DeleteQueue(b QueueDeleter, queue string) Fault { return deleteQueue{b, queue} }

type deleteQueue struct {
	b     QueueDeleter
	queue string
}

func (d deleteQueue) Name() string { return "delete queue " + d.queue }

func (d deleteQueue) Inject(ctx context.Context) error { return d.b.DeleteQueue(ctx, d.queue) }

func (deleteQueue) Heal(context.Context) error { return nil }
