package fault

import (
	"context"
	"fmt"
	"slices"

	"github.com/mqchaos/mqchaos/harness/broker"
)

// QueueDeleter is the part of the management API DeleteQueue uses; a
// *broker.Management is one.
type QueueDeleter interface {
	Queue(ctx context.Context, name string) (broker.Queue, error)
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

// Witness notes the queue's consumers, and sees the queue gone, or
// declared again (a service may do so at once): with none of them, and
// with a consumer if it had none.
func (d deleteQueue) Witness(ctx context.Context) (Check, error) {
	// The list of a queue's consumers comes from the channels'
	// statistics and may lag its count of them: wait for it.
	var before broker.Queue
	if _, err := Eventually(ctx, func(ctx context.Context) (string, bool, error) {
		var err error
		before, err = d.b.Queue(ctx, d.queue)
		return fmt.Sprintf("queue %s counts %d consumers and lists %d", d.queue, before.Consumers, len(before.ConsumerDetails)),
			err == nil && (before.Consumers == 0 || len(before.ConsumerDetails) > 0), err
	}); err != nil {
		return nil, err
	}
	tags := func(q broker.Queue) []string {
		var ts []string
		for _, c := range q.ConsumerDetails {
			ts = append(ts, c.Tag)
		}
		return ts
	}
	had := tags(before)
	return func(ctx context.Context) (string, error) {
		if !before.Exists {
			return "", fmt.Errorf("no queue %s to delete", d.queue)
		}
		return Eventually(ctx, func(ctx context.Context) (string, bool, error) {
			q, err := d.b.Queue(ctx, d.queue)
			switch {
			case err != nil:
				return "", false, err
			case !q.Exists:
				return "queue " + d.queue + " gone", true, nil
			case slices.ContainsFunc(tags(q), func(t string) bool { return slices.Contains(had, t) }):
				return fmt.Sprintf("queue %s still has its consumers %v", d.queue, tags(q)), false, nil
			case len(had) == 0 && len(q.ConsumerDetails) == 0:
				return fmt.Sprintf("queue %s still there, with no consumer as before", d.queue), false, nil
			case len(had) == 0:
				return fmt.Sprintf("queue %s declared again, with a consumer where it had none", d.queue), true, nil
			}
			return fmt.Sprintf("queue %s declared again, none of its consumers %v left", d.queue, had), true, nil
		})
	}, nil
}

func (d deleteQueue) Inject(ctx context.Context) error { return d.b.DeleteQueue(ctx, d.queue) }

func (deleteQueue) Heal(context.Context) error { return nil }
