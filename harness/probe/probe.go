// Package probe holds typed HTTP clients of the services' state. Each
// client looks its service's address up on every call, since a restarted
// container gets a new host port. Safe for concurrent use.
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mqchaos/mqchaos/services/contract"
)

// BaseURL returns a service's current address, e.g. http://127.0.0.1:32771.
type BaseURL func(ctx context.Context) (string, error)

// At is a fixed address, for a caller that knows the service will not be
// restarted while it uses it (a benchmark phase with no faults): it saves
// a Docker API look-up per request.
func At(url string) BaseURL {
	return func(context.Context) (string, error) { return url, nil }
}

type client struct {
	base BaseURL
	http *http.Client
}

// transport is shared by every client, with enough idle connections per
// host for a load of concurrent requests to reuse them instead of opening
// a connection (through Docker's port proxy) per request.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}()

func newClient(base BaseURL) client {
	return client{base: base, http: &http.Client{Timeout: 10 * time.Second, Transport: transport}}
}

// StatusError is a response outside 2xx.
type StatusError struct {
	Status int
	Reason string // the JSON error's reason
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Reason) }

func (c client) do(ctx context.Context, method, path string, in, out any, header http.Header) (int, error) {
	base, err := c.base(ctx)
	if err != nil {
		return 0, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode >= 300 {
		var e contract.APIError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, &StatusError{Status: resp.StatusCode, Reason: e.Error}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Ready returns nil when the service at base answers GET /ready with 200.
func Ready(ctx context.Context, base BaseURL) error { return newClient(base).Ready(ctx) }

// Ready returns nil when the service answers GET /ready with 200.
func (c client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/ready", nil, nil, nil)
	return err
}

// Orders is order-service.
type Orders struct{ client }

// NewOrders returns a client of order-service at base.
func NewOrders(base BaseURL) *Orders { return &Orders{newClient(base)} }

// Place posts an order. The status is 0 when no response came (the
// outcome is then unknown).
func (o *Orders) Place(ctx context.Context, req contract.PlaceOrder) (contract.Order, int, error) {
	var out contract.Order
	status, err := o.do(ctx, http.MethodPost, "/orders", req, &out, nil)
	return out, status, err
}

// List returns every order.
func (o *Orders) List(ctx context.Context) ([]contract.Order, error) {
	var out []contract.Order
	_, err := o.do(ctx, http.MethodGet, "/orders", nil, &out, nil)
	return out, err
}

// Inventory is inventory-service.
type Inventory struct{ client }

// NewInventory returns a client of inventory-service at base.
func NewInventory(base BaseURL) *Inventory { return &Inventory{newClient(base)} }

// Processed returns every applied OrderPlaced, one entry per effect.
func (i *Inventory) Processed(ctx context.Context) ([]contract.Processed, error) {
	var out []contract.Processed
	_, err := i.do(ctx, http.MethodGet, "/processed", nil, &out, nil)
	return out, err
}

// Stock returns the stock levels by item.
func (i *Inventory) Stock(ctx context.Context) (map[string]int, error) {
	var out []contract.Stock
	if _, err := i.do(ctx, http.MethodGet, "/inventory", nil, &out, nil); err != nil {
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
	_, err := i.do(ctx, http.MethodPost, "/inventory", contract.Stock{Item: item, Quantity: qty}, nil, nil)
	return err
}

// Notifications is notification-service.
type Notifications struct{ client }

// NewNotifications returns a client of notification-service at base.
func NewNotifications(base BaseURL) *Notifications { return &Notifications{newClient(base)} }

// List returns every recorded notification.
func (n *Notifications) List(ctx context.Context) ([]contract.Notification, error) {
	var out []contract.Notification
	_, err := n.do(ctx, http.MethodGet, "/notifications", nil, &out, nil)
	return out, err
}

// closeBody reads what is left of a body before closing it, so that its
// connection can be reused.
func closeBody(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, b)
	b.Close()
}
