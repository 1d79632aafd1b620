package eventid

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Contents are the type and data: an event rebuilt with another
// occurred_at, or with its data's keys in another order, has the same
// contents; another quantity, order or type does not; an invalid event
// has none.
func TestContentsAreTheTypeAndTheData(t *testing.T) {
	id, first, ok := Contents(placed(t, "e-1", "x", 1))
	if !ok || id != "e-1" || first != `{"type":"OrderPlaced","data":{"order_id":"x","item":"widget-a","quantity":1}}` {
		t.Fatalf("Contents = %q, %q, %v", id, first, ok)
	}
	reordered := amqp.Delivery{Body: []byte(`{"type":"OrderPlaced","event_id":"e-1","occurred_at":"2020-01-01T00:00:00Z","data":{"quantity":1,"item":"widget-a","order_id":"x"}}`)}
	if _, c, ok := Contents(reordered); !ok || c != first {
		t.Errorf("rebuilt event: %q, %v; want %q", c, ok, first)
	}
	for name, d := range map[string]amqp.Delivery{
		"other quantity": placed(t, "e-1", "x", 2),
		"other order":    placed(t, "e-1", "y", 1),
		"other type":     reserved(t, "e-1", "x"),
	} {
		if _, c, ok := Contents(d); !ok || c == first {
			t.Errorf("%s: %q, %v; want other contents", name, c, ok)
		}
	}
	if _, _, ok := Contents(amqp.Delivery{Body: []byte(`{"event_id":"e-1"}`)}); ok {
		t.Error("an invalid event has contents")
	}
}
