package contract

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event types, carried in the envelope's "type" field and the AMQP type property.
const (
	TypeOrderPlaced       = "OrderPlaced"
	TypeOrderCancelled    = "OrderCancelled"
	TypeInventoryReserved = "InventoryReserved"
	TypeInventoryFailed   = "InventoryFailed"
)

// Envelope is the JSON body of every event.
type Envelope struct {
	EventID    string          `json:"event_id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// OrderPlaced is published once an order is stored.
type OrderPlaced struct {
	OrderID  string `json:"order_id"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// OrderCancelled is published once an order is cancelled, always after
// its OrderPlaced: a consumer applies an order's events in that order
// (notification-service holds a cancellation until its order's
// placement is applied).
type OrderCancelled struct {
	OrderID string `json:"order_id"`
}

// InventoryResult is the data of InventoryReserved and InventoryFailed.
type InventoryResult struct {
	OrderID  string `json:"order_id"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
	Reason   string `json:"reason,omitempty"` // set on InventoryFailed
}

// Inventory failure reasons.
const (
	ReasonUnknownItem       = "unknown item"
	ReasonInsufficientStock = "insufficient stock"
)

// ErrInvalid marks a message that can never be processed: a consumer
// dead-letters it at once instead of retrying.
var ErrInvalid = errors.New("invalid message")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// NewEvent wraps data in an envelope with the given id and type.
func NewEvent(eventID, typ string, at time.Time, data any) ([]byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s data: %w", typ, err)
	}
	return json.Marshal(Envelope{EventID: eventID, Type: typ, OccurredAt: at.UTC(), Data: raw})
}

// DecodeDelivery checks an AMQP message's content type and encoding
// (CheckMedia), then decodes its body with DecodeEnvelope; the data's
// decoder (DecodeOrderPlaced, DecodeInventoryResult) comes after. The
// services' consumers call the one-pass DecodeOrderPlacedDelivery and
// DecodeInventoryResultDelivery instead, which the fuzz target holds to
// these two passes. Every error wraps ErrInvalid.
func DecodeDelivery(contentType, contentEncoding string, body []byte, accept ...string) (Envelope, error) {
	if err := CheckMedia(contentType, contentEncoding); err != nil {
		return Envelope{}, err
	}
	return DecodeEnvelope(body, accept...)
}

// DecodeEnvelope checks a body's size and decodes its envelope under the
// rules of Decode, and checks that its event id is valid text and its type
// one of accept. Every error wraps ErrInvalid.
func DecodeEnvelope(body []byte, accept ...string) (Envelope, error) {
	var env Envelope
	if len(body) > MaxMessageBytes {
		return env, invalid("body of %d bytes exceeds %d", len(body), MaxMessageBytes)
	}
	if err := Decode(body, &env); err != nil {
		return env, err
	}
	return env, validEnvelope(env, accept)
}

// validEnvelope refuses an envelope with a field missing, an event id
// that is not text, or a type other than one of accept, in that order.
func validEnvelope(env Envelope, accept []string) error {
	var missing []string
	if env.EventID == "" {
		missing = append(missing, "event_id")
	}
	if env.Type == "" {
		missing = append(missing, "type")
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		missing = append(missing, "data")
	}
	if len(missing) > 0 {
		return invalid("missing fields: %s", strings.Join(missing, ", "))
	}
	if err := CheckText("event_id", env.EventID, MaxIDLength); err != nil {
		return err
	}
	if !slices.Contains(accept, env.Type) {
		return invalid("unknown event type %q (want %s)", env.Type, strings.Join(accept, " or "))
	}
	return nil
}

// DecodeOrderPlaced validates the data of an OrderPlaced event.
func DecodeOrderPlaced(env Envelope) (OrderPlaced, error) {
	var o OrderPlaced
	if err := Decode(env.Data, &o); err != nil {
		return o, fmt.Errorf("OrderPlaced data: %w", err)
	}
	if err := ValidateOrder(o.OrderID, o.Item, o.Quantity); err != nil {
		return o, fmt.Errorf("OrderPlaced data: %w", err)
	}
	return o, nil
}

// DecodeOrderCancelled validates the data of an OrderCancelled event.
func DecodeOrderCancelled(env Envelope) (OrderCancelled, error) {
	var o OrderCancelled
	if err := Decode(env.Data, &o); err != nil {
		return o, fmt.Errorf("OrderCancelled data: %w", err)
	}
	if err := CheckText("order_id", o.OrderID, MaxIDLength); err != nil {
		return o, fmt.Errorf("OrderCancelled data: %w", err)
	}
	return o, nil
}

// DecodeOrderEventDelivery decodes an order's event, OrderPlaced or
// OrderCancelled: the envelope (DecodeDelivery), then its data, and
// returns the event's order id. Every error wraps ErrInvalid.
func DecodeOrderEventDelivery(contentType, contentEncoding string, body []byte) (env Envelope, orderID string, err error) {
	env, err = DecodeDelivery(contentType, contentEncoding, body, TypeOrderPlaced, TypeOrderCancelled)
	if err != nil {
		return env, "", err
	}
	if env.Type == TypeOrderCancelled {
		c, err := DecodeOrderCancelled(env)
		return env, c.OrderID, err
	}
	o, err := DecodeOrderPlaced(env)
	return env, o.OrderID, err
}

// DecodeInventoryResult validates the data of an inventory result event.
func DecodeInventoryResult(env Envelope) (InventoryResult, error) {
	var r InventoryResult
	if err := Decode(env.Data, &r); err != nil {
		return r, fmt.Errorf("%s data: %w", env.Type, err)
	}
	err := ValidateOrder(r.OrderID, r.Item, r.Quantity)
	if err == nil && r.Reason != "" {
		err = CheckText("reason", r.Reason, MaxReasonLength)
	}
	if err != nil {
		return r, fmt.Errorf("%s data: %w", env.Type, err)
	}
	return r, nil
}

// MaxIDLength bounds order ids, event ids and item names, in bytes.
const MaxIDLength = 128

// MaxReasonLength bounds the reason of an InventoryFailed, in bytes.
const MaxReasonLength = 256

// ValidateOrder checks the fields every order-carrying message shares:
// order_id and item are text (CheckText) and quantity is from 1 to
// MaxQuantity. Its error wraps ErrInvalid and names every problem.
func ValidateOrder(orderID, item string, quantity int) error {
	var problems []string
	for _, f := range []struct{ name, value string }{{"order_id", orderID}, {"item", item}} {
		if err := CheckText(f.name, f.value, MaxIDLength); err != nil {
			problems = append(problems, Reason(err))
		}
	}
	switch {
	case quantity <= 0:
		problems = append(problems, fmt.Sprintf("quantity must be a positive integer, got %d", quantity))
	case quantity > MaxQuantity:
		problems = append(problems, fmt.Sprintf("quantity must be at most %d, got %d", MaxQuantity, quantity))
	}
	if len(problems) > 0 {
		return invalid("%s", strings.Join(problems, "; "))
	}
	return nil
}

// NewID returns a random UUID (version 4), for order and event ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
