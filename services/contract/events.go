package contract

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Event types, carried in the envelope's "type" field and the AMQP type property.
const (
	TypeOrderPlaced       = "OrderPlaced"
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

// DecodeEnvelope checks a body's size, encoding and envelope, and that its
// type is one of accept. Every error wraps ErrInvalid.
func DecodeEnvelope(body []byte, accept ...string) (Envelope, error) {
	var env Envelope
	if len(body) > MaxMessageBytes {
		return env, invalid("body of %d bytes exceeds %d", len(body), MaxMessageBytes)
	}
	if !utf8.Valid(body) {
		return env, invalid("body is not valid UTF-8")
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return env, invalid("malformed JSON: %v", err)
	}
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
		return env, invalid("missing fields: %s", strings.Join(missing, ", "))
	}
	for _, t := range accept {
		if env.Type == t {
			return env, nil
		}
	}
	return env, invalid("unknown event type %q (want %s)", env.Type, strings.Join(accept, " or "))
}

// DecodeOrderPlaced validates the data of an OrderPlaced event.
func DecodeOrderPlaced(env Envelope) (OrderPlaced, error) {
	var o OrderPlaced
	if err := json.Unmarshal(env.Data, &o); err != nil {
		return o, invalid("OrderPlaced data: %v", err)
	}
	if err := ValidateOrder(o.OrderID, o.Item, o.Quantity); err != nil {
		return o, fmt.Errorf("OrderPlaced data: %w", err)
	}
	return o, nil
}

// DecodeInventoryResult validates the data of an inventory result event.
func DecodeInventoryResult(env Envelope) (InventoryResult, error) {
	var r InventoryResult
	if err := json.Unmarshal(env.Data, &r); err != nil {
		return r, invalid("%s data: %v", env.Type, err)
	}
	if err := ValidateOrder(r.OrderID, r.Item, r.Quantity); err != nil {
		return r, fmt.Errorf("%s data: %w", env.Type, err)
	}
	return r, nil
}

// MaxIDLength bounds order ids and item names.
const MaxIDLength = 128

// ValidateOrder checks the fields every order-carrying message shares.
func ValidateOrder(orderID, item string, quantity int) error {
	var problems []string
	switch {
	case orderID == "":
		problems = append(problems, "order_id is missing")
	case len(orderID) > MaxIDLength:
		problems = append(problems, fmt.Sprintf("order_id is longer than %d", MaxIDLength))
	}
	switch {
	case item == "":
		problems = append(problems, "item is missing")
	case len(item) > MaxIDLength:
		problems = append(problems, fmt.Sprintf("item is longer than %d", MaxIDLength))
	}
	if quantity <= 0 {
		problems = append(problems, fmt.Sprintf("quantity must be a positive integer, got %d", quantity))
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
