package notification

// This test records notices against a real PostgreSQL, to show an
// order's cancellation recorded after its receipt whatever order they
// come in, and the control recording them as they come.
//
// It starts a container, so it runs only with MQCHAOS_BROKER_TESTS=1,
// under the machine's Docker lock:
//
//	MQCHAOS_BROKER_TESTS=1 flock /tmp/mqchaos-docker.lock go test -run Order ./services/internal/notification
//
// Image: POSTGRES_IMAGE, else the local build.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/config"
	"github.com/mqchaos/mqchaos/services/internal/idempotency"
	"github.com/mqchaos/mqchaos/services/internal/metrics"
	"github.com/mqchaos/mqchaos/services/internal/pgtest"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

func event(t *testing.T, typ, orderID string) amqp.Delivery {
	t.Helper()
	var data any = contract.OrderCancelled{OrderID: orderID}
	if typ == contract.TypeOrderPlaced {
		data = contract.OrderPlaced{OrderID: orderID, Item: "widget-a", Quantity: 1}
	}
	body, err := contract.NewEvent(contract.NewID(), typ, time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	return amqp.Delivery{ContentType: "application/json", Body: body, RoutingKey: "order"}
}

func decodeOrderEvent(d amqp.Delivery) (note, error) {
	env, orderID, err := contract.DecodeOrderEventDelivery(d.ContentType, d.ContentEncoding, d.Body)
	kind := KindReceived
	if env.Type == contract.TypeOrderCancelled {
		kind = KindCancelled
	}
	return note{eventID: env.EventID, orderID: orderID, kind: kind}, err
}

// An order's cancellation is recorded after its receipt, whether it comes
// first alone, first in one batch with its placement, twice, or at once
// with its placement on another connection; with UNSAFE_NO_ORDERING
// (the control) one that comes first is recorded first.
func TestOrderCancellationIsRecordedAfterItsReceipt(t *testing.T) {
	url := pgtest.Start(t, "notification-test")
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, unsafe := range []bool{false, true} {
		t.Run(fmt.Sprintf("unsafe=%v", unsafe), func(t *testing.T) {
			pool, err := postgres.Open(ctx, log, url, fmt.Sprintf("notification_unsafe_%v", unsafe), 8, idempotency.Migration, schema)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			s := &service{pool: pool, rt: &runner.Runtime{Config: config.Config{Replica: "t-1", UnsafeNoOrdering: unsafe},
				Log: log, Pool: pool, Idem: idempotency.New(config.IdempotencyDurable), Metrics: metrics.New()}}
			record := func(ds ...amqp.Delivery) {
				t.Helper()
				for i, err := range s.record(ctx, ds, decodeOrderEvent) {
					if err != nil {
						t.Fatalf("delivery %d: %v", i, err)
					}
				}
			}
			kinds := func(orderID string) []string {
				rows, err := pool.Query(ctx, `SELECT kind FROM notifications WHERE order_id = $1 ORDER BY id`, orderID)
				if err != nil {
					t.Fatal(err)
				}
				ks, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				return ks
			}
			inOrder := []string{KindReceived, KindCancelled}

			record(event(t, contract.TypeOrderCancelled, "o-1"))
			if got := kinds("o-1"); !unsafe && len(got) != 0 {
				t.Fatalf("a cancellation before its receipt was recorded: %v", got)
			}
			record(event(t, contract.TypeOrderCancelled, "o-1")) // again, while parked
			record(event(t, contract.TypeOrderPlaced, "o-1"))
			record(event(t, contract.TypeOrderCancelled, "o-2"), event(t, contract.TypeOrderPlaced, "o-2"))
			want := inOrder
			if unsafe {
				want = []string{KindCancelled, KindReceived}
			}
			for _, id := range []string{"o-1", "o-2"} {
				if got := kinds(id); !slices.Equal(got, want) {
					t.Errorf("%s: %v, want %v", id, got, want)
				}
			}
			if unsafe {
				return
			}
			// Placements and cancellations of 40 orders, each pair at
			// once on two connections.
			var wg sync.WaitGroup
			for i := range 40 {
				id := fmt.Sprintf("c-%02d", i)
				for _, typ := range []string{contract.TypeOrderCancelled, contract.TypeOrderPlaced} {
					wg.Go(func() {
						for _, err := range s.record(ctx, []amqp.Delivery{event(t, typ, id)}, decodeOrderEvent) {
							if err != nil {
								t.Errorf("%s %s: %v", typ, id, err)
							}
						}
					})
				}
			}
			wg.Wait()
			for i := range 40 {
				if id := fmt.Sprintf("c-%02d", i); !slices.Equal(kinds(id), inOrder) {
					t.Errorf("%s: %v, want %v", id, kinds(id), inOrder)
				}
			}
			var parked int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM parked`).Scan(&parked); err != nil || parked != 0 {
				t.Errorf("left parked: %d (%v)", parked, err)
			}
		})
	}
}
