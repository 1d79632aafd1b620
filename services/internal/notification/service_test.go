package notification

import (
	"io"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/config"
	"github.com/mqchaos/mqchaos/services/internal/idempotency"
	"github.com/mqchaos/mqchaos/services/internal/metrics"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

func placed(t *testing.T, eventID, orderID string, qty int) amqp.Delivery {
	t.Helper()
	body, err := contract.NewEvent(eventID, contract.TypeOrderPlaced, time.Now(), contract.OrderPlaced{OrderID: orderID, Item: "widget-a", Quantity: qty})
	if err != nil {
		t.Fatal(err)
	}
	return amqp.Delivery{ContentType: "application/json", Body: body, RoutingKey: contract.RouteOrderPlaced}
}

func decodePlaced(d amqp.Delivery) (note, error) {
	env, err := contract.DecodeDelivery(d.ContentType, d.ContentEncoding, d.Body, contract.TypeOrderPlaced)
	if err != nil {
		return note{}, err
	}
	o, err := contract.DecodeOrderPlaced(env)
	return note{eventID: env.EventID, orderID: o.OrderID, kind: KindReceived}, err
}

// One order sent again under a new event id, even with another quantity,
// gives one "received" notice: the key is the order and the kind of
// notice. With IDEMPOTENCY=none (the control) every delivery is a notice.
func TestOneNoticePerOrderAndKind(t *testing.T) {
	batch := []amqp.Delivery{
		placed(t, "e-1", "o-1", 1),
		placed(t, "e-2", "o-1", 5), // the same order under a new event id, conflicting
		placed(t, "e-1", "o-1", 1), // a redelivery
		placed(t, "e-3", "o-2", 1),
	}
	for mode, want := range map[string][]string{
		config.IdempotencyDurable: {"e-1", "e-3"},
		config.IdempotencyMemory:  {"e-1", "e-3"},
		config.IdempotencyNone:    {"e-1", "e-2", "e-1", "e-3"},
	} {
		s := &service{rt: &runner.Runtime{Idem: idempotency.New(mode), Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
		notes, errs := s.plan(batch, decodePlaced)
		var got []string
		for _, n := range notes {
			got = append(got, n.eventID)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: notes from events %v, want %v", mode, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: notes from events %v, want %v", mode, got, want)
			}
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s: delivery %d: %v", mode, i, err)
			}
		}
	}
	if k := (note{orderID: "o-1", kind: KindReceived}).key(); k != "order_received/o-1" {
		t.Fatalf("key %q", k)
	}
}
