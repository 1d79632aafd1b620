package contract

import (
	"encoding/json"
	"time"
)

// HTTP API types: the bodies the services serve, shared with clients.

// Order is served by order-service's GET /orders and POST /orders.
type Order struct {
	ID string `json:"id"`
	// RequestKey is the client's key for the request that placed it (its
	// order_id or Idempotency-Key, else the id): equal to ID, except
	// under order-service's UNSAFE_HTTP_NO_IDEMPOTENCY, where every
	// request makes a new ID and a retried one repeats its RequestKey.
	RequestKey string    `json:"request_key"`
	Item       string    `json:"item"`
	Quantity   int       `json:"quantity"`
	Status     string    `json:"status"` // pending, reserved or rejected
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Order statuses.
const (
	StatusPending  = "pending"
	StatusReserved = "reserved"
	StatusRejected = "rejected"
)

// PlaceOrder is the body of POST /orders. OrderID is optional; the
// Idempotency-Key header may carry it instead.
type PlaceOrder struct {
	OrderID  string `json:"order_id,omitempty"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// Stock is one item's level: inventory-service's GET and POST /inventory.
type Stock struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// Processed is one applied OrderPlaced: inventory-service's GET /processed.
// With idempotency on there is at most one per order id.
type Processed struct {
	OrderID     string    `json:"order_id"`
	EventID     string    `json:"event_id"`
	Item        string    `json:"item"`
	Quantity    int       `json:"quantity"`
	Result      string    `json:"result"` // "reserved" or "failed"
	Reason      string    `json:"reason,omitempty"`
	Replica     string    `json:"replica"`
	ProcessedAt time.Time `json:"processed_at"`
}

// Conflict is an OrderPlaced that repeated an order id already applied,
// with another item or quantity: the first event stood, this one was
// recorded and not applied. inventory-service's GET /processed?conflicts=true.
type Conflict struct {
	OrderID       string    `json:"order_id"`
	EventID       string    `json:"event_id"`
	Item          string    `json:"item"`
	Quantity      int       `json:"quantity"`
	FirstEventID  string    `json:"first_event_id"`
	FirstItem     string    `json:"first_item"`
	FirstQuantity int       `json:"first_quantity"`
	Replica       string    `json:"replica"`
	SeenAt        time.Time `json:"seen_at"`
}

// EventConflict is a delivery whose event id a service took in before
// with other contents (type or data): the first event of an event id
// stood, this one was recorded and not applied. Every consuming service's
// GET /conflicts. Contents are {"type": ..., "data": {...}}; an event's
// occurred_at is not part of them.
type EventConflict struct {
	EventID       string          `json:"event_id"`
	Contents      json.RawMessage `json:"contents"`
	FirstContents json.RawMessage `json:"first_contents"`
	Queue         string          `json:"queue"`
	Replica       string          `json:"replica"`
	SeenAt        time.Time       `json:"seen_at"`
}

// Notification kinds.
const (
	KindReceived  = "order_received"
	KindConfirmed = "order_confirmed"
	KindRejected  = "order_rejected"
	// KindCancelled is applied only after the order's KindReceived.
	KindCancelled = "order_cancelled"
)

// Notification is one recorded notification: GET /notifications.
type Notification struct {
	EventID   string    `json:"event_id"`
	OrderID   string    `json:"order_id"`
	Kind      string    `json:"kind"`
	Replica   string    `json:"replica"`
	CreatedAt time.Time `json:"created_at"`
}

// APIError is the body of every 4xx and 5xx response.
type APIError struct {
	Error string `json:"error"`
}
