// Package order is order-service: it accepts orders over HTTP, stores each
// with its OrderPlaced event in one transaction (the outbox), and moves the
// order to reserved or rejected when inventory answers.
package order

import (
	"context"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/outage"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

// Order statuses.
const (
	StatusPending  = contract.StatusPending
	StatusReserved = contract.StatusReserved
	StatusRejected = contract.StatusRejected
)

// Service is order-service, for runner.Main.
var Service = runner.Service{Name: "order", Migrations: []string{schema, addRequestKey, fillRequestKey}, Setup: setup}

func setup(_ context.Context, rt *runner.Runtime) error {
	h := &handler{store: &pgStore{pool: rt.Pool, outbox: !rt.Outbox.Direct, timeout: rt.Config.HandlerTimeout}, outbox: rt.Outbox, fps: rt.Failpoints, log: rt.Log, maxBody: rt.Config.MaxHTTPBody, noIdempotency: rt.Config.UnsafeHTTPNoIdempotency,
		db: outage.New("database", "POST /orders", rt.Log, rt.Metrics.Outages)}
	h.routes(rt.Mux)
	rt.Consume(rabbit.Binding{
		Queue: contract.OrderInventoryQueue, Exchange: contract.InventoryExchange,
		Keys: []string{contract.BindAllInventoryResults},
	}, (&consumer{pool: rt.Pool, log: rt.Log}).onInventoryResult)
	return nil
}
