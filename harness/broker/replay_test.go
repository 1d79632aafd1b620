package broker

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestSourceQueueFromHeaderOrXDeath(t *testing.T) {
	death := amqp.Table{"x-death": []any{amqp.Table{"queue": "orders", "reason": "rejected"}}}
	if q := sourceQueue(death, "x-source"); q != "orders" {
		t.Errorf("from x-death: %q", q)
	}
	if r := xDeath(death, "reason"); r != "rejected" {
		t.Errorf("reason: %q", r)
	}
	own := amqp.Table{"x-source": "inventory.orders"}
	if q := sourceQueue(own, "x-source"); q != "inventory.orders" {
		t.Errorf("from header: %q", q)
	}
	if q := sourceQueue(amqp.Table{}, "x-source"); q != "" {
		t.Errorf("nothing to go by: %q", q)
	}
	// as the management API returns them
	if r := xDeath(map[string]any{"x-death": []any{map[string]any{"reason": "expired"}}}, "reason"); r != "expired" {
		t.Errorf("from JSON: %q", r)
	}
}
