package fault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// queues is a broker's one queue: reads give q; a delete gives after.
type queues struct {
	q, after broker.Queue
	deaf     bool // deletes nothing
}

func (b *queues) Queue(context.Context, string) (broker.Queue, error) { return b.q, nil }

func (b *queues) DeleteQueue(context.Context, string) error {
	if !b.deaf {
		b.q = b.after
	}
	return nil
}

func consumers(tags ...string) []broker.ConsumerDetail {
	var ds []broker.ConsumerDetail
	for _, t := range tags {
		ds = append(ds, broker.ConsumerDetail{Tag: t})
	}
	return ds
}

// A deleted queue is seen gone, or declared again by a service without
// the consumers it had (or with one, where it had none); a queue still
// there as it was is no effect.
func TestDeleteQueueSeesTheQueueGoneOrNew(t *testing.T) {
	old := broker.Queue{Name: "q", Exists: true, Consumers: 1, ConsumerDetails: consumers("ctag-1")}
	stray := broker.Queue{Name: "q", Exists: true}
	for _, tc := range []struct {
		name        string
		before, now broker.Queue
		deaf        bool
		want        string
	}{
		{"gone", old, broker.Queue{Name: "q"}, false, "injected: queue q gone"},
		{"declared again", old, broker.Queue{Name: "q", Exists: true, Consumers: 1, ConsumerDetails: consumers("ctag-2")}, false, "injected: queue q declared again, none of its consumers [ctag-1] left"},
		{"stray declared again", stray, broker.Queue{Name: "q", Exists: true, Consumers: 1, ConsumerDetails: consumers("ctag-2")}, false, "injected: queue q declared again, with a consumer where it had none"},
		{"not deleted", old, old, true, ""},
		{"stray not deleted", stray, stray, true, ""},
	} {
		h := &history.History{}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		err := Inject(ctx, h, DeleteQueue(&queues{q: tc.before, after: tc.now, deaf: tc.deaf}, "q"))
		cancel()
		switch {
		case tc.want == "" && !errors.Is(err, ErrNoEffect):
			t.Errorf("%s: %v, want ErrNoEffect", tc.name, err)
		case tc.want != "" && (err != nil || h.Ops()[0].Detail != tc.want):
			t.Errorf("%s: %v, %q; want %q", tc.name, err, h.Ops()[0].Detail, tc.want)
		}
	}
}
