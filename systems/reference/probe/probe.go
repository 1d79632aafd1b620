// Package probe holds typed clients of the reference services, built on
// the harness's generic probe.Client: an example of a richer probe than a
// description's effects, for checks such as stock levels.
package probe

import (
	"context"
	"net/http"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/services/contract"
)

// OrderPlaced builds a valid OrderPlaced event for the orders exchange.
func OrderPlaced(orderID, item string, quantity int) (broker.Message, error) {
	id := contract.NewID()
	body, err := contract.NewEvent(id, contract.TypeOrderPlaced, time.Now(), contract.OrderPlaced{OrderID: orderID, Item: item, Quantity: quantity})
	if err != nil {
		return broker.Message{}, err
	}
	return broker.Message{Exchange: contract.OrdersExchange, RoutingKey: contract.RouteOrderPlaced, MessageID: id, Type: contract.TypeOrderPlaced, Body: body}, nil
}

// Orders is order-service.
type Orders struct{ *probe.Client }

// NewOrders returns a client of order-service at base.
func NewOrders(base probe.BaseURL) *Orders { return &Orders{probe.NewClient(base)} }

// Place posts an order. The status is 0 when no response came (the
// outcome is then unknown).
func (o *Orders) Place(ctx context.Context, req contract.PlaceOrder) (contract.Order, int, error) {
	var out contract.Order
	status, err := o.Do(ctx, http.MethodPost, "/orders", req, &out, nil)
	return out, status, err
}

// List returns every order.
func (o *Orders) List(ctx context.Context) ([]contract.Order, error) {
	var out []contract.Order
	_, err := o.Do(ctx, http.MethodGet, "/orders", nil, &out, nil)
	return out, err
}

// Inventory is inventory-service.
type Inventory struct{ *probe.Client }

// NewInventory returns a client of inventory-service at base.
func NewInventory(base probe.BaseURL) *Inventory { return &Inventory{probe.NewClient(base)} }

// Processed returns every applied OrderPlaced, one entry per effect.
func (i *Inventory) Processed(ctx context.Context) ([]contract.Processed, error) {
	var out []contract.Processed
	_, err := i.Do(ctx, http.MethodGet, "/processed", nil, &out, nil)
	return out, err
}

// Stock returns the stock levels by item.
func (i *Inventory) Stock(ctx context.Context) (map[string]int, error) {
	var out []contract.Stock
	if _, err := i.Do(ctx, http.MethodGet, "/inventory", nil, &out, nil); err != nil {
		return nil, err
	}
	m := make(map[string]int, len(out))
	for _, s := range out {
		m[s.Item] = s.Quantity
	}
	return m, nil
}

// SetStock sets one item's stock level.
func (i *Inventory) SetStock(ctx context.Context, item string, qty int) error {
	_, err := i.Do(ctx, http.MethodPost, "/inventory", contract.Stock{Item: item, Quantity: qty}, nil, nil)
	return err
}

// Notifications is notification-service.
type Notifications struct{ *probe.Client }

// NewNotifications returns a client of notification-service at base.
func NewNotifications(base probe.BaseURL) *Notifications {
	return &Notifications{probe.NewClient(base)}
}

// List returns every recorded notification.
func (n *Notifications) List(ctx context.Context) ([]contract.Notification, error) {
	var out []contract.Notification
	_, err := n.Do(ctx, http.MethodGet, "/notifications", nil, &out, nil)
	return out, err
}
