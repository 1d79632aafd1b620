// Package workload drives load at the services from a seed and records
// every attempt in a history.
package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/services/contract"
)

// Orders describes a run of orders.
type Orders struct {
	Prefix      string   // order ids are Prefix-0001, ...
	Count       int      // how many
	Rate        float64  // orders per second; 0: as fast as Concurrency allows
	Concurrency int      // requests in flight; default 4
	Items       []string // chosen from at random; default widget-a, widget-b, gadget-c
	MaxQuantity int      // quantities 1..MaxQuantity; default 3
}

func (o *Orders) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if len(o.Items) == 0 {
		o.Items = []string{"widget-a", "widget-b", "gadget-c"}
	}
	if o.MaxQuantity <= 0 {
		o.MaxQuantity = 3
	}
}

// Plan is the orders a run will place, drawn from rng: the same seed gives
// the same plan.
func (o Orders) Plan(rng *rand.Rand) []contract.PlaceOrder {
	o.defaults()
	plan := make([]contract.PlaceOrder, o.Count)
	for i := range plan {
		plan[i] = contract.PlaceOrder{
			OrderID:  fmt.Sprintf("%s-%04d", o.Prefix, i+1),
			Item:     o.Items[rng.IntN(len(o.Items))],
			Quantity: 1 + rng.IntN(o.MaxQuantity),
		}
	}
	return plan
}

// Place posts the plan to order-service, recording each attempt in h as
// ok (2xx), fail (4xx: certainly not stored) or info (no answer or 5xx:
// unknown). It blocks until every attempt completed or ctx ended.
func (o Orders) Place(ctx context.Context, orders *probe.Orders, h *history.History, plan []contract.PlaceOrder) {
	o.defaults()
	o.run(ctx, len(plan), func(ctx context.Context, i int) {
		p := plan[i]
		op := h.Invoke(history.KindPlace, p.OrderID)
		_, status, err := orders.Place(ctx, p)
		switch {
		case err == nil:
			h.Complete(op, history.OK, fmt.Sprint(status))
		case status >= 400 && status < 500:
			h.Complete(op, history.Fail, err.Error())
		default:
			h.Complete(op, history.Info, describe(err))
		}
	})
}

// Publish publishes the plan straight to the broker as OrderPlaced events,
// recording each as ok (confirmed) or info (not confirmed: unknown).
func (o Orders) Publish(ctx context.Context, url func(context.Context) (string, error), h *history.History, plan []contract.PlaceOrder) {
	o.defaults()
	pubs := make(chan *broker.Publisher, o.Concurrency)
	for range o.Concurrency {
		pubs <- nil
	}
	o.run(ctx, len(plan), func(ctx context.Context, i int) {
		p := plan[i]
		op := h.Invoke(history.KindPublish, p.OrderID)
		pub := <-pubs
		defer func() { pubs <- pub }()
		msg, err := broker.OrderPlaced(p.OrderID, p.Item, p.Quantity)
		if err != nil {
			h.Complete(op, history.Fail, err.Error())
			return
		}
		if pub == nil {
			u, err := url(ctx)
			if err == nil {
				pub, err = broker.Dial(ctx, u)
			}
			if err != nil {
				h.Complete(op, history.Fail, "not sent: "+err.Error())
				return
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = pub.Publish(cctx, msg)[0]
		cancel()
		if err != nil {
			pub.Close()
			pub = nil
			h.Complete(op, history.Info, err.Error())
			return
		}
		h.Complete(op, history.OK, "confirmed")
	})
	close(pubs)
	for p := range pubs {
		p.Close()
	}
}

// run calls do for 0..n-1 from Concurrency goroutines, paced at Rate.
func (o Orders) run(ctx context.Context, n int, do func(context.Context, int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(ctx, i)
			}
		}()
	}
	var tick <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
		defer t.Stop()
		tick = t.C
	}
feed:
	for i := range n {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

func describe(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}
