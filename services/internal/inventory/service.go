// Package inventory is inventory-service: it consumes OrderPlaced and, in
// one transaction, claims the order id (its idempotency key), reserves
// stock or records why not, and writes the result event to its outbox.
package inventory

import (
	"context"
	"fmt"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/config"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

// Service is inventory-service, for runner.Main.
var Service = runner.Service{Name: "inventory", Migrations: []string{schema}, Setup: setup}

func setup(ctx context.Context, rt *runner.Runtime) error {
	s := &store{pool: rt.Pool}
	stock, _ := config.ParseCounts(rt.Config.InitialStock)
	if err := s.seed(ctx, stock); err != nil {
		return fmt.Errorf("seed stock: %w", err)
	}
	h := &handler{store: s, maxBody: rt.Config.MaxHTTPBody}
	h.routes(rt.Mux)
	c := &consumer{rt: rt, store: s}
	rt.Consume(rabbit.Binding{
		Queue: rt.OrdersQueue(contract.InventoryOrdersQueue), Exchange: contract.OrdersExchange,
		Keys: []string{contract.RouteOrderPlaced},
	}, c.onOrderPlaced)
	return nil
}
