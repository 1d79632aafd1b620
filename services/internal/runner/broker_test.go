package runner

// This test runs a service's whole runtime against a real RabbitMQ and a
// real PostgreSQL, and shows what /ready, /metrics and the outbox table
// say when the broker refuses the topology, returns a publish no queue
// receives, and blocks the connection under a memory alarm.
//
// It starts containers, so it runs only with MQCHAOS_BROKER_TESTS=1,
// under the machine's Docker lock:
//
//	MQCHAOS_BROKER_TESTS=1 flock /tmp/mqchaos-docker.lock go test -v -run Broker ./services/internal/runner
//
// Images: RABBITMQ_IMAGE and POSTGRES_IMAGE, else the local builds.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	dnetwork "github.com/moby/moby/api/types/network"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
)

const testUser, testPass = "mqchaos", "mqchaos-runner-test"

func startContainer(t *testing.T, image string, env map[string]string, ports []string, ready wait.Strategy) *testcontainers.DockerContainer {
	t.Helper()
	host, _ := os.Hostname()
	ctr, err := testcontainers.Run(context.Background(), image,
		// The harness's labels, so mqchaos-clean removes it if this
		// process dies before its cleanup.
		testcontainers.WithLabels(map[string]string{"io.mqchaos.managed": "true", "io.mqchaos.run": fmt.Sprintf("runner-test-%d", os.Getpid()),
			"io.mqchaos.pid": fmt.Sprint(os.Getpid()), "io.mqchaos.host": host}),
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts(ports...),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = dnetwork.PortMap{}
			for _, p := range ports {
				hc.PortBindings[dnetwork.MustParsePort(p)] = []dnetwork.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
			}
		}),
		testcontainers.WithWaitStrategyAndDeadline(3*time.Minute, ready),
	)
	t.Cleanup(func() {
		if ctr != nil {
			_ = ctr.Terminate(context.Background())
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", image, err)
	}
	return ctr
}

func port(t *testing.T, c *testcontainers.DockerContainer, p string) string {
	t.Helper()
	mp, err := c.MappedPort(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return mp.Port()
}

func imageOr(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// poll calls cond every 100 ms until it holds, or fails after limit.
func poll(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		<-tick.C
	}
}

func TestBrokerFailuresShowInReadinessMetricsAndTheOutbox(t *testing.T) {
	if os.Getenv("MQCHAOS_BROKER_TESTS") != "1" {
		t.Skip("starts RabbitMQ and PostgreSQL containers: set MQCHAOS_BROKER_TESTS=1 and run under flock /tmp/mqchaos-docker.lock")
	}
	var rmq, pg *testcontainers.DockerContainer
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		rmq = startContainer(t, imageOr("RABBITMQ_IMAGE", "mqchaos/rabbitmq:3.10-local"),
			map[string]string{"RABBITMQ_DEFAULT_USER": testUser, "RABBITMQ_DEFAULT_PASS": testPass},
			[]string{"5672/tcp", "15672/tcp"},
			// The management API answers before RabbitMQ opens its AMQP
			// listener, which it does last: a dial in between is reset.
			wait.ForAll(
				wait.ForHTTP("/api/health/checks/virtual-hosts").WithPort("15672/tcp").WithBasicAuth(testUser, testPass).WithPollInterval(250*time.Millisecond),
				wait.ForListeningPort("5672/tcp").WithPollInterval(250*time.Millisecond)))
	}()
	go func() {
		defer wg.Done()
		pg = startContainer(t, imageOr("POSTGRES_IMAGE", "mqchaos/postgres:15-local"),
			map[string]string{"POSTGRES_USER": testUser, "POSTGRES_PASSWORD": testPass, "POSTGRES_DB": "mqchaos"},
			[]string{"5432/tcp"},
			wait.ForExec([]string{"pg_isready", "-h", "127.0.0.1", "-U", testUser, "-d", "mqchaos"}).WithPollInterval(250*time.Millisecond))
	}()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	amqpURL := fmt.Sprintf("amqp://%s:%s@127.0.0.1:%s/", testUser, testPass, port(t, rmq, "5672/tcp"))
	dbURL := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/mqchaos?sslmode=disable", testUser, testPass, port(t, pg, "5432/tcp"))
	rabbitmqctl := func(args ...string) {
		t.Helper()
		code, out, err := rmq.Exec(context.Background(), append([]string{"rabbitmqctl"}, args...))
		text, _ := io.ReadAll(out)
		if err != nil || code != 0 {
			t.Fatalf("rabbitmqctl %v: %d %v %s", args, code, err, text)
		}
		t.Logf("rabbitmqctl %s", strings.Join(args, " "))
	}

	// Drift: the service's queue exists already, classic; it declares quorum.
	const queue, key = "rtest.events", "rtest.key"
	raw, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ch, err := raw.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{
		"AMQP_URL": amqpURL, "DATABASE_URL": dbURL, "HTTP_ADDR": addr, "REPLICA_ID": "rtest-1",
		"RECONNECT_MIN_DELAY": "50ms", "RECONNECT_MAX_DELAY": "500ms", "CONFIRM_TIMEOUT": "2s", "OUTBOX_POLL_INTERVAL": "100ms",
	}
	var (
		mu      sync.Mutex
		applied []string // the quantities of the OrderPlaced that reached the handler
	)
	svc := Service{Name: "rtest", Setup: func(_ context.Context, rt *Runtime) error {
		rt.Consume(rabbit.Binding{Queue: queue, Exchange: contract.OrdersExchange, Keys: []string{key}},
			func(_ context.Context, ds []amqp.Delivery) []error {
				mu.Lock()
				defer mu.Unlock()
				for _, d := range ds {
					if _, o, err := contract.DecodeOrderPlacedDelivery(d.ContentType, d.ContentEncoding, d.Body); err == nil {
						applied = append(applied, fmt.Sprint(o.Quantity))
					}
				}
				return make([]error, len(ds))
			})
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, svc, func(k string) string { return env[k] }, testWriter{t}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	ready := func() (int, map[string]string) {
		resp, err := http.Get("http://" + addr + "/ready")
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	metric := func(name string) string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
				return l
			}
		}
		return ""
	}

	var code int
	var body map[string]string
	poll(t, 60*time.Second, "/ready names the refused declare", func() bool {
		code, body = ready()
		return strings.Contains(body["amqp"], "PRECONDITION_FAILED")
	})
	t.Logf("topology drift: /ready %d %v", code, body)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body["amqp"], "queue.declare "+queue+": ") {
		t.Fatalf("/ready %d %v: want 503 naming the queue.declare", code, body)
	}
	if _, err := ch.QueueDelete(queue, false, false, false); err != nil { // an operator fixes the broker
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "ready once fixed", func() bool { code, body = ready(); return code == http.StatusOK })
	t.Logf("fixed: /ready %d %v", code, body)
	if body["amqp"] != "connected" {
		t.Fatalf("amqp %q", body["amqp"])
	}

	// An event id reused with another quantity (issue 22's case): the
	// first stands, the second is a conflict on record and never applied;
	// the first sent again is a redelivery. The first is handled before
	// the others are sent: two workers share the queue, so three sent
	// together may be handled in any order.
	send := func(qty int) {
		t.Helper()
		body, err := contract.NewEvent("reused-1", contract.TypeOrderPlaced, time.Now(), contract.OrderPlaced{OrderID: "x", Item: "widget-a", Quantity: qty})
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.PublishWithContext(context.Background(), contract.OrdersExchange, key, false, false, amqp.Publishing{ContentType: "application/json", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	acked := func(n int) func() bool {
		return func() bool {
			return metric(`mqchaos_messages_acked_total{queue="`+queue+`"}`) == fmt.Sprintf(`mqchaos_messages_acked_total{queue="%s"} %d`, queue, n)
		}
	}
	send(1)
	poll(t, 10*time.Second, "the first delivery handled", acked(1))
	send(2)
	send(1)
	poll(t, 10*time.Second, "the three deliveries handled", acked(3))
	mu.Lock()
	got := strings.Join(applied, " ")
	mu.Unlock()
	if got != "1 1" {
		t.Fatalf("quantities applied %q, want \"1 1\": the conflicting 2 must not be", got)
	}
	if m := metric("mqchaos_conflicts_total"); m != `mqchaos_conflicts_total{queue="`+queue+`"} 1` {
		t.Fatalf("%q: want one conflict on %s", m, queue)
	}
	resp, err := http.Get("http://" + addr + "/conflicts?event_id=reused-1")
	if err != nil {
		t.Fatal(err)
	}
	var listed []contract.EventConflict
	err = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if err != nil || len(listed) != 1 || !strings.Contains(string(listed[0].Contents), `"quantity":2`) || !strings.Contains(string(listed[0].FirstContents), `"quantity":1`) {
		t.Fatalf("GET /conflicts: %+v, %v: want the one conflict, quantity 2 against 1", listed, err)
	}
	t.Logf("reused event id: applied %q, %s, /conflicts %s", got, metric("mqchaos_conflicts_total"), listed[0].Contents)

	// Unroutable: one outbox row to a key no queue is bound to, one to the service's own.
	db, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	insert := func(id, routingKey string) {
		t.Helper()
		if _, err := db.Exec(context.Background(), `INSERT INTO rtest.outbox (event_id, event_type, exchange, routing_key, body) VALUES ($1, 'T', $2, $3, '{}')`,
			id, contract.OrdersExchange, routingKey); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		sent     bool
		attempts int
		next     *time.Time
		lastErr  *string
	}
	rowOf := func(id string) row {
		var r row
		if err := db.QueryRow(context.Background(), `SELECT sent_at IS NOT NULL, attempts, next_attempt_at, last_error FROM rtest.outbox WHERE event_id = $1`, id).
			Scan(&r.sent, &r.attempts, &r.next, &r.lastErr); err != nil {
			t.Fatal(err)
		}
		return r
	}
	insert("lost", "nowhere")
	insert("routed", key)
	poll(t, 10*time.Second, "the routable row sent, the other postponed twice", func() bool {
		return rowOf("routed").sent && rowOf("lost").attempts >= 2
	})
	lost := rowOf("lost")
	t.Logf("unroutable row: sent %v, attempts %d, next attempt in %s, last_error %q; %s",
		lost.sent, lost.attempts, time.Until(*lost.next).Round(time.Millisecond), *lost.lastErr, metric("mqchaos_messages_returned_total"))
	if lost.sent || !strings.Contains(*lost.lastErr, "NO_ROUTE") {
		t.Fatalf("unroutable row %+v: want kept, with the broker's reason", lost)
	}

	// A memory alarm: the relay's next publish gets the connection blocked.
	rabbitmqctl("set_vm_memory_high_watermark", "0.0000001")
	insert("during-alarm", key)
	poll(t, 30*time.Second, "/ready says blocked", func() bool { code, body = ready(); return strings.HasPrefix(body["amqp"], "blocked: ") })
	t.Logf("alarm: /ready %d %v; %s", code, body, metric("mqchaos_amqp_blocked"))
	if code != http.StatusOK || metric("mqchaos_amqp_blocked") != "mqchaos_amqp_blocked 1" {
		t.Fatalf("blocked: /ready %d, %s: want 200 (connected) and the gauge at 1", code, metric("mqchaos_amqp_blocked"))
	}
	rabbitmqctl("set_vm_memory_high_watermark", "0.4")
	poll(t, 30*time.Second, "/ready says connected", func() bool { code, body = ready(); return body["amqp"] == "connected" })
	poll(t, 30*time.Second, "the row held during the alarm sent", func() bool { return rowOf("during-alarm").sent })
	t.Logf("alarm cleared: /ready %d %v; %s", code, body, metric("mqchaos_amqp_blocked"))
	if metric("mqchaos_amqp_blocked") != "mqchaos_amqp_blocked 0" {
		t.Fatalf("gauge %s after the alarm", metric("mqchaos_amqp_blocked"))
	}
}

// testWriter shows the service's log lines in the test's output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
