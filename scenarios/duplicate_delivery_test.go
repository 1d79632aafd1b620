package scenarios_test

import (
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
	"github.com/mqchaos/mqchaos/services/contract"
)

var _ = Describe("Duplicate delivery: a message delivered twice takes effect once", Label("guarantee:exactly-once-effect", "guarantee:idempotency"), func() {
	// The same OrderPlaced published twice, and one published 25 times at
	// once, reserves stock once and records one notification: consumers
	// claim the order id (inventory) and event id (notification) in the
	// transaction that applies the effect. One order posted 20 times at once
	// over HTTP with the same order id is stored once.
	const (
		orders = 30
		copies = 25
		posts  = 20
		item   = "dup-widget"
		stock  = 100000
	)

	run := func(ctx SpecContext, side string, opts ...stack.Option) (report.Figures, int, int, map[int]int) {
		s := startStack(ctx, "duplicates-"+side, opts...)
		Expect(s.Inventory().SetStock(ctx, item, stock)).To(Succeed())
		h := &history.History{}
		started := time.Now()
		url := s.AMQPURL

		plan := workload.Orders{Prefix: "dup-" + side, Count: orders + 1, Items: []string{item}}.Plan(rng())
		msgs := make([]broker.Message, len(plan))
		want := 0
		for i, p := range plan {
			m, err := broker.OrderPlaced(p.OrderID, p.Item, p.Quantity)
			Expect(err).NotTo(HaveOccurred())
			msgs[i] = m
			want += p.Quantity
		}
		publish := func(i int) {
			defer GinkgoRecover()
			op := h.Invoke(history.KindPublish, plan[i].OrderID)
			u, err := url(ctx)
			Expect(err).NotTo(HaveOccurred())
			if err := broker.PublishOnce(ctx, u, msgs[i]); err != nil {
				h.Complete(op, history.Info, err.Error())
				return
			}
			h.Complete(op, history.OK, "confirmed")
		}
		By(fmt.Sprintf("publishing %d OrderPlaced events, then each of them again", orders))
		for round := 0; round < 2; round++ {
			for i := range orders {
				publish(i)
			}
		}
		By(fmt.Sprintf("publishing one more OrderPlaced %d times concurrently", copies))
		var wg sync.WaitGroup
		for range copies {
			wg.Add(1)
			go func() { defer wg.Done(); publish(orders) }()
		}
		wg.Wait()

		By(fmt.Sprintf("posting one order %d times at once over HTTP, with the same order id", posts))
		post := contract.PlaceOrder{OrderID: "dup-http-" + side, Item: item, Quantity: 1}
		want += post.Quantity
		var mu sync.Mutex
		statuses := map[int]int{} // HTTP status -> responses
		for range posts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, status, _ := s.Orders().Place(ctx, post)
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			}()
		}
		wg.Wait()

		snap := settle(ctx, s, 1500*time.Millisecond)
		f := verdict(ctx, "duplicate delivery", side, s, h, history.KindPublish, snap, started,
			fmt.Sprintf("and 1 order posted %d times over HTTP: %d created, %d found", posts, statuses[201], statuses[200]))
		return f, stock - snap.Stock[item], want, statuses
	}

	It("holds with durable idempotency", Label("safe"), func(ctx SpecContext) {
		f, dropped, want, statuses := run(ctx, "safe")
		expectHeld(f)
		Expect(f.Processed).To(Equal(orders+2), f.Verdict)
		Expect(dropped).To(Equal(want), "stock must drop once per order")
		Expect(statuses).To(Equal(map[int]int{201: 1, 200: posts - 1}), "one POST creates the order, the repeats find it")
	}, SpecTimeout(4*time.Minute))

	It("is caught without idempotency (IDEMPOTENCY=none)", Label("unsafe"), func(ctx SpecContext) {
		f, dropped, want, _ := run(ctx, "unsafe", stack.Env("*", map[string]string{"IDEMPOTENCY": "none"}))
		Expect(f.Duplicated).To(BeNumerically(">=", orders), "the control must report duplicated effects: %s", f.Verdict)
		Expect(dropped).To(BeNumerically(">", want), "stock must have dropped more than once for some order")
	}, SpecTimeout(4*time.Minute))
})
