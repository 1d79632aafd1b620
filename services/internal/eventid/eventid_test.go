package eventid

// The ledger's rules need a real PostgreSQL: the test starts one in a
// container, so it runs only with MQCHAOS_BROKER_TESTS=1, under the
// machine's Docker lock, as the services' other real-dependency tests:
//
//	MQCHAOS_BROKER_TESTS=1 flock -x /tmp/mqchaos-docker.lock go test -v -run Database ./services/internal/eventid
//
// The image is POSTGRES_IMAGE, else mqchaos/postgres:15-local.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/pgtest"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
)

func placed(t *testing.T, eventID, orderID string, qty int) amqp.Delivery {
	t.Helper()
	body, err := contract.NewEvent(eventID, contract.TypeOrderPlaced, time.Now(), contract.OrderPlaced{OrderID: orderID, Item: "widget-a", Quantity: qty})
	if err != nil {
		t.Fatal(err)
	}
	return amqp.Delivery{ContentType: "application/json", Body: body}
}

func reserved(t *testing.T, eventID, orderID string) amqp.Delivery {
	t.Helper()
	body, err := contract.NewEvent(eventID, contract.TypeInventoryReserved, time.Now(), contract.InventoryResult{OrderID: orderID, Item: "widget-a", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	return amqp.Delivery{ContentType: "application/json", Body: body}
}

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The case and its kin, through Guard against a real database:
// an event id reused with other contents is recorded (row, log line,
// metric) once and never reaches the service; with the same contents it
// is a redelivery and does.
func TestDatabaseAReusedEventIDWithOtherContentsIsAConflict(t *testing.T) {
	url := pgtest.Start(t, "eventid-test")
	ctx := context.Background()
	pool, err := postgres.Open(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), url, "evtest", 4, Migration)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conflicts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "conflicts_total"}, []string{"queue"})
	logs := &syncBuffer{}
	l := &Ledger{Pool: pool, Replica: "r1", Log: slog.New(slog.NewJSONHandler(logs, nil)), Conflicts: conflicts}

	var reached []string // event ids that reached the service, in order
	service := l.Guard("q", func(_ context.Context, ds []amqp.Delivery) []error {
		for _, d := range ds {
			id, _, _ := Contents(d)
			if id == "" {
				id = "invalid"
			}
			reached = append(reached, id)
		}
		return make([]error, len(ds))
	})
	deliver := func(ds ...amqp.Delivery) {
		t.Helper()
		reached = nil
		for i, err := range service(ctx, ds) {
			if err != nil {
				t.Fatalf("delivery %d: %v", i, err)
			}
		}
	}
	expect := func(step string, reach []string, metric float64) {
		t.Helper()
		if strings.Join(reached, " ") != strings.Join(reach, " ") {
			t.Errorf("%s: reached the service %v, want %v", step, reached, reach)
		}
		if got := testutil.ToFloat64(conflicts.WithLabelValues("q")); got != metric {
			t.Errorf("%s: conflicts_total %v, want %v", step, got, metric)
		}
	}

	deliver(placed(t, "e-1", "x", 1))
	expect("first", []string{"e-1"}, 0)
	deliver(placed(t, "e-1", "x", 1)) // rebuilt: another occurred_at
	expect("same contents again", []string{"e-1"}, 0)
	deliver(placed(t, "e-1", "x", 2)) // the case: same id, same order, quantity 2
	expect("other quantity", nil, 1)
	deliver(placed(t, "e-1", "x", 2))
	expect("the conflict redelivered", nil, 1) // recorded once
	deliver(placed(t, "e-1", "y", 1), reserved(t, "e-1", "x"))
	expect("other order, other type", nil, 3)
	deliver(placed(t, "e-2", "z", 1), placed(t, "e-2", "z", 3), placed(t, "e-3", "w", 1), amqp.Delivery{Body: []byte("{")})
	expect("within one batch", []string{"e-2", "e-3", "invalid"}, 4)

	if !strings.Contains(logs.String(), "event ids reused with other contents") || !strings.Contains(logs.String(), `"e-2"`) {
		t.Errorf("log lacks the conflicts:\n%s", logs)
	}

	// GET /conflicts lists them: the first contents beside each.
	rec := httptest.NewRecorder()
	l.List(rec, httptest.NewRequest(http.MethodGet, "/conflicts?event_id=e-1", nil))
	var got []contract.EventConflict
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 || len(got) != 3 {
		t.Fatalf("GET /conflicts?event_id=e-1: %d %s: want 3 conflicts", rec.Code, rec.Body)
	}
	want := `{"type":"OrderPlaced","data":{"order_id":"x","item":"widget-a","quantity":2}}`
	first := `{"type":"OrderPlaced","data":{"order_id":"x","item":"widget-a","quantity":1}}`
	if string(got[0].Contents) != want || string(got[0].FirstContents) != first || got[0].Queue != "q" || got[0].Replica != "r1" {
		t.Fatalf("first conflict %+v (contents %s, first %s)", got[0], got[0].Contents, got[0].FirstContents)
	}
	assertTable(t, pool, 4)
}

func assertTable(t *testing.T, pool *pgxpool.Pool, want int) {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM event_conflicts`).Scan(&n); err != nil || n != want {
		t.Fatalf("event_conflicts holds %d rows (%v), want %d", n, err, want)
	}
}
