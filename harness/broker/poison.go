package broker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mqchaos/mqchaos/services/contract"
)

// Poison is a message no consumer can process, and why.
type Poison struct {
	Name    string // short name, also the message id
	Message Message
}

// PoisonMessages returns one message of each kind a consumer must
// dead-letter rather than retry: invalid JSON, missing fields, wrong
// types, a non-positive quantity, an unknown event type, invalid UTF-8 and
// an oversized body. All are routed as OrderPlaced.
func PoisonMessages(prefix string) []Poison {
	envelope := func(typ string, data any) []byte {
		raw, _ := json.Marshal(data)
		b, _ := json.Marshal(map[string]any{"event_id": contract.NewID(), "type": typ, "occurred_at": time.Now().UTC(), "data": json.RawMessage(raw)})
		return b
	}
	order := func(suffix string) string { return fmt.Sprintf("%s-%s", prefix, suffix) }
	bodies := []struct {
		name string
		body []byte
	}{
		{"invalid-json", []byte(`{"event_id": "x", "type": "OrderPlaced", "data": {`)},
		{"missing-fields", envelope(contract.TypeOrderPlaced, map[string]any{"item": "widget-a"})},
		{"wrong-types", envelope(contract.TypeOrderPlaced, map[string]any{"order_id": order("wrong-types"), "item": 42, "quantity": "three"})},
		{"non-positive-quantity", envelope(contract.TypeOrderPlaced, map[string]any{"order_id": order("zero"), "item": "widget-a", "quantity": 0})},
		{"unknown-event-type", envelope("OrderTeleported", map[string]any{"order_id": order("unknown-type"), "item": "widget-a", "quantity": 1})},
		{"invalid-utf8", []byte("{\"event_id\":\"" + order("utf8") + "\",\"type\":\"OrderPlaced\",\"data\":{\"order_id\":\"" + order("utf8") + "\",\"item\":\"wid\xffget\",\"quantity\":1}}")},
		{"oversized-body", append(envelope(contract.TypeOrderPlaced, map[string]any{"order_id": order("big"), "item": "widget-a", "quantity": 1}), bytes.Repeat([]byte(" "), contract.MaxMessageBytes)...)},
	}
	out := make([]Poison, len(bodies))
	for i, b := range bodies {
		out[i] = Poison{Name: b.name, Message: Message{
			Exchange: contract.OrdersExchange, RoutingKey: contract.RouteOrderPlaced,
			MessageID: order(b.name), Type: contract.TypeOrderPlaced, Body: b.body,
		}}
	}
	return out
}
