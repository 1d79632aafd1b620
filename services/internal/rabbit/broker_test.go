package rabbit

// These tests run the client against a real RabbitMQ in a container and
// make the broker fail the ways it does on its own: a consumer_timeout
// that closes a slow consumer's channel, a queue deleted under its
// consumer, a publish no queue receives, a memory alarm that blocks the
// connection, and a queue that exists with other arguments.
//
// They start a container, so they run only with MQCHAOS_BROKER_TESTS=1,
// under the machine's Docker lock:
//
//	MQCHAOS_BROKER_TESTS=1 flock /tmp/mqchaos-docker.lock go test -v -run Broker ./services/internal/rabbit
//
// The image is RABBITMQ_IMAGE, else mqchaos/rabbitmq:3.10-local (built by
// `LOCAL_IMAGES=1 make images`).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dnetwork "github.com/moby/moby/api/types/network"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mqchaos/mqchaos/services/internal/metrics"
)

const brokerUser, brokerPass = "mqchaos", "mqchaos-client-test"

// testBroker is one RabbitMQ for the package's broker tests.
type testBroker struct {
	ctr *testcontainers.DockerContainer
}

var (
	brokerOnce sync.Once
	theBroker  *testBroker
	brokerErr  error
)

// startBroker starts the package's broker once; the last test's cleanup
// is TestMain's.
func startBroker(t *testing.T) *testBroker {
	t.Helper()
	if os.Getenv("MQCHAOS_BROKER_TESTS") != "1" {
		t.Skip("starts a RabbitMQ container: set MQCHAOS_BROKER_TESTS=1 and run under flock /tmp/mqchaos-docker.lock")
	}
	brokerOnce.Do(func() {
		image := os.Getenv("RABBITMQ_IMAGE")
		if image == "" {
			image = "mqchaos/rabbitmq:3.10-local"
		}
		host, _ := os.Hostname()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		ports := []string{"5672/tcp", "15672/tcp"}
		ctr, err := testcontainers.Run(ctx, image,
			testcontainers.WithName(fmt.Sprintf("mqchaos-rabbit-client-test-%d", os.Getpid())),
			// The harness's labels, so mqchaos-clean removes it if this
			// process dies before its cleanup.
			testcontainers.WithLabels(map[string]string{"io.mqchaos.managed": "true", "io.mqchaos.run": fmt.Sprintf("rabbit-client-test-%d", os.Getpid()),
				"io.mqchaos.pid": fmt.Sprint(os.Getpid()), "io.mqchaos.host": host}),
			testcontainers.WithEnv(map[string]string{
				"RABBITMQ_DEFAULT_USER": brokerUser, "RABBITMQ_DEFAULT_PASS": brokerPass,
				"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit collect_statistics_interval 500",
			}),
			testcontainers.WithExposedPorts(ports...),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PortBindings = dnetwork.PortMap{}
				for _, p := range ports {
					hc.PortBindings[dnetwork.MustParsePort(p)] = []dnetwork.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
				}
			}),
			testcontainers.WithWaitStrategyAndDeadline(3*time.Minute,
				// The management API answers before RabbitMQ opens its AMQP
				// listener, which it does last: a dial in between is reset.
				wait.ForAll(
					wait.ForHTTP("/api/health/checks/virtual-hosts").WithPort("15672/tcp").WithBasicAuth(brokerUser, brokerPass).WithPollInterval(250*time.Millisecond),
					wait.ForListeningPort("5672/tcp").WithPollInterval(250*time.Millisecond))),
		)
		theBroker = &testBroker{ctr: ctr}
		brokerErr = err
	})
	if brokerErr != nil {
		t.Fatalf("start rabbitmq: %v", brokerErr)
	}
	return theBroker
}

func TestMain(m *testing.M) {
	code := m.Run()
	if theBroker != nil && theBroker.ctr != nil {
		_ = theBroker.ctr.Terminate(context.Background())
	}
	os.Exit(code)
}

func (b *testBroker) url(t *testing.T) string {
	t.Helper()
	p, err := b.ctr.MappedPort(context.Background(), "5672/tcp")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("amqp://%s:%s@127.0.0.1:%s/", brokerUser, brokerPass, p.Port())
}

// rabbitmqctl runs rabbitmqctl in the broker's container.
func (b *testBroker) rabbitmqctl(t *testing.T, args ...string) string {
	t.Helper()
	code, out, err := b.ctr.Exec(context.Background(), append([]string{"rabbitmqctl"}, args...))
	var text []byte
	if out != nil {
		text, _ = io.ReadAll(out)
	}
	if err != nil || code != 0 {
		t.Fatalf("rabbitmqctl %s: exit %d, %v: %s", strings.Join(args, " "), code, err, text)
	}
	t.Logf("rabbitmqctl %s", strings.Join(args, " "))
	return string(text)
}

// queue is the management API's view of a queue: nil when it does not exist.
func (b *testBroker) queue(t *testing.T, name string) map[string]any {
	t.Helper()
	p, err := b.ctr.MappedPort(context.Background(), "15672/tcp")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%s/api/queues/%%2F/%s", p.Port(), url.PathEscape(name)), nil)
	req.SetBasicAuth(brokerUser, brokerPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var q map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		t.Fatal(err)
	}
	return q
}

// lockedBuffer is a log sink safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count is how many log lines contain s.
func (l *lockedBuffer) count(s string) int { return strings.Count(l.String(), s) }

// testClient runs a client of its own topology until the test ends.
type testClient struct {
	*Client
	m   *metrics.Metrics
	log *lockedBuffer
}

func runClient(t *testing.T, b *testBroker, opts Options, consume map[string]Handler) *testClient {
	t.Helper()
	opts.URLs = []string{b.url(t)}
	opts.Name = t.Name()
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 2 * time.Second
	}
	opts.ReconnectMin, opts.ReconnectMax = 50*time.Millisecond, 500*time.Millisecond
	opts.ConfirmTimeout = 2 * time.Second
	opts.Prefetch, opts.Workers, opts.Batch = 1, 1, 1
	logs := &lockedBuffer{}
	m := metrics.New()
	c := New(opts, slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelInfo})), m)
	for q, h := range consume {
		c.Consume(q, h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &testClient{Client: c, m: m, log: logs}
}

// testWriter shows the client's log lines in the test's output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually polls cond every 50 ms until it holds, and returns how long
// that took, or fails after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		<-tick.C
	}
	return time.Since(start)
}

// consistently polls cond every 50 ms for d and fails if it stops holding.
func consistently(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for start := time.Now(); time.Since(start) < d; <-tick.C {
		if !cond() {
			t.Fatalf("%s: stopped holding after %s", what, time.Since(start).Round(time.Millisecond))
		}
	}
}

func topology(exchange, queue string, keys ...string) Topology {
	t := Topology{Exchanges: []string{exchange}, QueueType: amqp.QueueTypeQuorum}
	if queue != "" {
		t.Bindings = []Binding{{Queue: queue, Exchange: exchange, Keys: keys}}
	}
	return t
}

func msg(exchange, key, id string) Message {
	return Message{Exchange: exchange, RoutingKey: key, Publishing: amqp.Publishing{MessageId: id, Body: []byte(id)}}
}

// deliveryLog records what a handler was given.
type deliveryLog struct {
	mu  sync.Mutex
	got []amqp.Delivery
	at  []time.Time
}

func (l *deliveryLog) add(d amqp.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got, l.at = append(l.got, d), append(l.at, time.Now())
}

func (l *deliveryLog) all() ([]amqp.Delivery, []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]amqp.Delivery(nil), l.got...), append([]time.Time(nil), l.at...)
}

// A delivery not acked within the broker's consumer_timeout gets its
// channel closed (PRECONDITION_FAILED). The client must reconnect and
// consume again, and the same delivery comes back, redelivered; the slow
// handler is told (stop) and its late ack fails without harm. With
// NoConsumerRecovery the client stays ready and nothing consumes the queue.
func TestBrokerConsumerTimeoutIsRecovered(t *testing.T) {
	b := startBroker(t)
	// RabbitMQ 3.10 checks the timeout on each channel's tick: every
	// channel_tick_interval (60 s by default, read when a channel opens).
	b.rabbitmqctl(t, "eval", "application:set_env(rabbit, consumer_timeout, 2000).")
	// MQCHAOS_DEFAULT_TICK=1 leaves it at 60 s, to measure how long the
	// broker takes then.
	if os.Getenv("MQCHAOS_DEFAULT_TICK") != "1" {
		b.rabbitmqctl(t, "eval", "application:set_env(rabbit, channel_tick_interval, 1000).")
	}
	t.Cleanup(func() {
		b.rabbitmqctl(t, "eval", "application:set_env(rabbit, consumer_timeout, 1800000).")
		// Not unset: channels read it without a default, and crash.
		b.rabbitmqctl(t, "eval", "application:set_env(rabbit, channel_tick_interval, 60000).")
	})

	for _, unsafe := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoConsumerRecovery=%v", unsafe), func(t *testing.T) {
			ex, q := "ct.ex."+t.Name()[len(t.Name())-4:], "ct.q."+t.Name()[len(t.Name())-4:]
			release := make(chan struct{})
			defer close(release)
			var log deliveryLog
			lateAck := make(chan error, 1)
			c := runClient(t, b, Options{Topology: topology(ex, q, "k"), NoConsumerRecovery: unsafe}, map[string]Handler{
				q: func(_ context.Context, stop <-chan struct{}, ds []amqp.Delivery) {
					d := ds[0]
					log.add(d)
					if !d.Redelivered { // the first time: hold it past the timeout
						select {
						case <-stop: // the channel is gone
						case <-release:
							lateAck <- errors.New("the handler was not told its channel is gone")
							return
						}
						lateAck <- d.Ack(false)
						return
					}
					_ = d.Ack(false)
				},
			})
			eventually(t, 30*time.Second, "ready", c.Ready)
			if err := c.Publish(context.Background(), msg(ex, "k", "m1")); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "first delivery", func() bool { got, _ := log.all(); return len(got) == 1 })
			_, at := log.all()
			eventually(t, 90*time.Second, "channel closed by consumer_timeout", func() bool {
				return testutil.ToFloat64(c.m.ConsumerLost.WithLabelValues(q)) == 1
			})
			t.Logf("channel closed %.1fs after the delivery", time.Since(at[0]).Seconds())
			if !strings.Contains(c.log.String(), "PRECONDITION_FAILED") {
				t.Errorf("the broker's reason is not in the log")
			}
			select {
			case err := <-lateAck:
				if err == nil {
					t.Fatal("the ack of a delivery of the closed channel succeeded")
				}
				t.Logf("the slow handler was told its channel is gone; its late ack failed as it must: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("the slow handler was not told its channel is gone")
			}
			if unsafe {
				// Today's behaviour: ready, and nothing consumes the queue.
				consistently(t, 5*time.Second, "ready with no consumer, no redelivery", func() bool {
					got, _ := log.all()
					return c.Ready() && len(got) == 1
				})
				eventually(t, 10*time.Second, "the queue shows no consumer and m1 waiting", func() bool {
					qi := b.queue(t, q)
					return qi != nil && qi["consumers"] == float64(0) && qi["messages_ready"] == float64(1)
				})
				return
			}
			redelivered := eventually(t, 20*time.Second, "redelivery to the new consumer", func() bool {
				got, _ := log.all()
				return len(got) == 2
			})
			got, at := log.all()
			t.Logf("redelivered %.1fs after the first delivery (%.1fs after the channel closed): message %s, redelivered=%v",
				at[1].Sub(at[0]).Seconds(), redelivered.Seconds(), got[1].MessageId, got[1].Redelivered)
			if got[1].MessageId != "m1" || !got[1].Redelivered {
				t.Fatalf("second delivery %s redelivered=%v, want m1 redelivered", got[1].MessageId, got[1].Redelivered)
			}
			if testutil.ToFloat64(c.m.Reconnects) < 1 {
				t.Fatal("no reconnect counted")
			}
			eventually(t, 10*time.Second, "queue drained", func() bool {
				qi := b.queue(t, q)
				return qi != nil && qi["messages"] == float64(0) && qi["consumers"] == float64(1)
			})
		})
	}
}

// A queue deleted under its consumer (basic.cancel) is redeclared and
// consumed again. With NoConsumerRecovery it stays deleted and publishes
// to it are returned.
func TestBrokerDeletedQueueIsRedeclared(t *testing.T) {
	b := startBroker(t)
	for _, unsafe := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoConsumerRecovery=%v", unsafe), func(t *testing.T) {
			ex, q := "dq.ex."+t.Name()[len(t.Name())-4:], "dq.q."+t.Name()[len(t.Name())-4:]
			var log deliveryLog
			c := runClient(t, b, Options{Topology: topology(ex, q, "k"), NoConsumerRecovery: unsafe}, map[string]Handler{
				q: func(_ context.Context, _ <-chan struct{}, ds []amqp.Delivery) { log.add(ds[0]); _ = ds[0].Ack(false) },
			})
			eventually(t, 30*time.Second, "ready", c.Ready)
			deleted := time.Now()
			b.rabbitmqctl(t, "delete_queue", q)
			eventually(t, 10*time.Second, "consumer cancelled", func() bool {
				return testutil.ToFloat64(c.m.ConsumerLost.WithLabelValues(q)) == 1
			})
			cancelled := time.Now()
			if unsafe {
				consistently(t, 3*time.Second, "ready, queue gone", func() bool { return c.Ready() && b.queue(t, q) == nil })
				err := c.Publish(context.Background(), msg(ex, "k", "after"))
				t.Logf("publish to the deleted queue's key: %v", err)
				if !errors.Is(err, ErrUnroutable) {
					t.Fatalf("publish: %v, want ErrUnroutable", err)
				}
				return
			}
			eventually(t, 10*time.Second, "a new session", func() bool { return c.Ready() && testutil.ToFloat64(c.m.Reconnects) == 1 })
			t.Logf("new session, queue redeclared, %dms after the basic.cancel was seen (%.1fs after rabbitmqctl delete_queue started)",
				time.Since(cancelled).Milliseconds(), time.Since(deleted).Seconds())
			eventually(t, 20*time.Second, "the management API shows the queue with a consumer", func() bool {
				qi := b.queue(t, q)
				return qi != nil && qi["consumers"] == float64(1)
			})
			if err := c.Publish(context.Background(), msg(ex, "k", "after")); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "delivery after the redeclare", func() bool {
				got, _ := log.all()
				return len(got) == 1 && got[0].MessageId == "after"
			})
		})
	}
}

// A publish no queue receives fails with ErrUnroutable (mandatory), and
// only that one of a batch; with NoMandatory it is confirmed and dropped.
func TestBrokerUnroutablePublishFails(t *testing.T) {
	b := startBroker(t)
	for _, unsafe := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoMandatory=%v", unsafe), func(t *testing.T) {
			ex, q := "ur.ex."+t.Name()[len(t.Name())-4:], "ur.q."+t.Name()[len(t.Name())-4:]
			c := runClient(t, b, Options{Topology: topology(ex, q, "bound"), NoMandatory: unsafe}, nil)
			eventually(t, 30*time.Second, "ready", c.Ready)
			errs := c.PublishBatch(context.Background(), []Message{
				msg(ex, "bound", "r1"), msg(ex, "nowhere", "u1"), msg(ex, "bound", "r2"), msg(ex, "nowhere", "u2"),
			})
			t.Logf("errors: %v", errs)
			returned := testutil.ToFloat64(c.m.Returned.WithLabelValues(ex))
			if unsafe {
				for i, err := range errs {
					if err != nil {
						t.Errorf("message %d: %v, want nil (silently dropped)", i, err)
					}
				}
				if returned != 0 {
					t.Errorf("returned %v, want 0 without mandatory", returned)
				}
			} else {
				if errs[0] != nil || errs[2] != nil {
					t.Errorf("routable messages failed: %v, %v", errs[0], errs[2])
				}
				for _, i := range []int{1, 3} {
					if !errors.Is(errs[i], ErrUnroutable) || !strings.Contains(errs[i].Error(), `routing key "nowhere"`) || !strings.Contains(errs[i].Error(), "NO_ROUTE") {
						t.Errorf("message %d: %v, want ErrUnroutable naming the key and NO_ROUTE", i, errs[i])
					}
				}
				if returned != 2 {
					t.Errorf("returned %v, want 2", returned)
				}
			}
			eventually(t, 10*time.Second, "the bound queue holds the routable two", func() bool {
				qi := b.queue(t, q)
				return qi != nil && qi["messages"] == float64(2)
			})
		})
	}
}

// A memory alarm blocks the connection once it publishes: the client
// records it (Status, amqp_blocked), publishes fail within the confirm
// timeout instead of hanging, and it is unblocked when the alarm clears.
func TestBrokerBlockedConnectionIsRecorded(t *testing.T) {
	b := startBroker(t)
	ex, q := "bl.ex", "bl.q"
	c := runClient(t, b, Options{Topology: topology(ex, q, "k")}, nil)
	eventually(t, 30*time.Second, "ready", c.Ready)
	if err := c.Publish(context.Background(), msg(ex, "k", "before")); err != nil {
		t.Fatal(err)
	}
	b.rabbitmqctl(t, "set_vm_memory_high_watermark", "0.0000001")
	restored := false
	t.Cleanup(func() {
		if !restored {
			b.rabbitmqctl(t, "set_vm_memory_high_watermark", "0.4")
		}
	})
	// The broker blocks a connection when it publishes during the alarm.
	var during []string
	blockedAfter := eventually(t, 30*time.Second, "blocked", func() bool {
		start := time.Now()
		err := c.Publish(context.Background(), msg(ex, "k", "during"))
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("a publish while blocked took %s: it must fail within the confirm timeout (2s)", took)
		}
		during = append(during, fmt.Sprint(err))
		_, s := c.Status()
		return strings.HasPrefix(s, "blocked: ")
	})
	ready, status := c.Status()
	t.Logf("blocked %.1fs after the alarm; Status %v %q; amqp_blocked %v; publishes meanwhile: %q",
		blockedAfter.Seconds(), ready, status, testutil.ToFloat64(c.m.Blocked), during)
	if !ready || testutil.ToFloat64(c.m.Blocked) != 1 {
		t.Fatalf("blocked: ready %v, gauge %v: want ready (connected) with the gauge at 1", ready, testutil.ToFloat64(c.m.Blocked))
	}
	start := time.Now()
	err := c.Publish(context.Background(), msg(ex, "k", "blocked"))
	t.Logf("publish while blocked: %v after %s", err, time.Since(start).Round(time.Millisecond))
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("publish while blocked: %v, want ErrBlocked", err)
	}
	if n := c.log.count("amqp connection blocked by the broker"); n != 1 {
		t.Fatalf("%d lines saying blocked, want 1", n)
	}

	b.rabbitmqctl(t, "set_vm_memory_high_watermark", "0.4")
	restored = true
	unblockedAfter := eventually(t, 30*time.Second, "unblocked", func() bool { _, s := c.Status(); return s == "connected" })
	t.Logf("unblocked %.1fs after the alarm cleared; amqp_blocked %v", unblockedAfter.Seconds(), testutil.ToFloat64(c.m.Blocked))
	if testutil.ToFloat64(c.m.Blocked) != 0 || c.log.count("amqp connection unblocked") != 1 {
		t.Fatalf("gauge %v, unblocked lines %d", testutil.ToFloat64(c.m.Blocked), c.log.count("amqp connection unblocked"))
	}
	if err := c.Publish(context.Background(), msg(ex, "k", "after")); err != nil {
		t.Fatalf("publish after the alarm: %v", err)
	}
}

// A queue that exists with other arguments makes queue.declare fail
// (PRECONDITION_FAILED). The client says why in Status, logs it once
// however often it retries, and connects once the queue is fixed.
func TestBrokerTopologyDriftIsReported(t *testing.T) {
	b := startBroker(t)
	ex, q := "td.ex", "td.q"
	raw, err := amqp.Dial(b.url(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ch, err := raw.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}); err != nil {
		t.Fatal(err)
	}
	c := runClient(t, b, Options{Topology: topology(ex, q, "k")}, nil)
	eventually(t, 30*time.Second, "the declare's refusal in Status", func() bool {
		_, s := c.Status()
		return strings.Contains(s, "PRECONDITION_FAILED")
	})
	// Keep retrying for a while: the cause must be logged once.
	eventually(t, 30*time.Second, "ten failed sessions", func() bool {
		return testutil.ToFloat64(c.m.Outages.Failures.WithLabelValues("broker", "amqp connection")) >= 10
	})
	ready, status := c.Status()
	failures := testutil.ToFloat64(c.m.Outages.Failures.WithLabelValues("broker", "amqp connection"))
	lines := c.log.count("inequivalent arg")
	t.Logf("Status %v %q after %v failed sessions; %d log lines with the cause", ready, status, failures, lines)
	if ready || !strings.HasPrefix(status, "queue.declare "+q+": ") || lines != 1 {
		t.Fatalf("ready %v, status %q, %d lines: want not ready, the declare's refusal, one line", ready, status, lines)
	}
	// An operator fixes the broker: the client connects at its next try.
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "ready once the queue is fixed", c.Ready)
	if _, s := c.Status(); s != "connected" {
		t.Fatalf("status %q", s)
	}
}

// A batch larger than the socket buffers, published into a connection the
// broker stops reading (a memory alarm), cannot hang its publisher: the
// write fails at its deadline, the session ends, and the publishes fail
// for the outbox to retry. Without the deadline it hangs until heartbeats
// time the connection out: here 30 s, so that they cannot be what ends it
// (with 2 s heartbeats the read side gave up after 3 s; with the broker's
// 60 s, AMQP_HEARTBEAT=0, minutes).
func TestBrokerBlockedWriteCannotHangAPublisher(t *testing.T) {
	b := startBroker(t)
	ex, q := "bw.ex", "bw.q"
	c := runClient(t, b, Options{Topology: topology(ex, q, "k"), Heartbeat: 30 * time.Second}, nil)
	eventually(t, 30*time.Second, "ready", c.Ready)
	b.rabbitmqctl(t, "set_vm_memory_high_watermark", "0.0000001")
	restored := false
	t.Cleanup(func() {
		if !restored {
			b.rabbitmqctl(t, "set_vm_memory_high_watermark", "0.4")
		}
	})
	big := make([]Message, 16)
	for i := range big {
		big[i] = msg(ex, "k", fmt.Sprintf("big-%d", i))
		big[i].Publishing.Body = bytes.Repeat([]byte{'x'}, 1<<20)
	}
	start := time.Now()
	errs := c.PublishBatch(context.Background(), big)
	took := time.Since(start)
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	t.Logf("16 MiB in one batch into a blocked connection: returned after %s, %d of 16 failed, first: %v", took.Round(time.Millisecond), failed, errs[0])
	if failed != len(big) || took > 2*c.writeTimeout()+time.Second {
		t.Fatalf("%d of %d failed after %s: want all failed within about the write timeout (%s)", failed, len(big), took, c.writeTimeout())
	}
	b.rabbitmqctl(t, "set_vm_memory_high_watermark", "0.4")
	restored = true
	eventually(t, 30*time.Second, "connected again", func() bool { _, s := c.Status(); return s == "connected" })
	if errs := c.PublishBatch(context.Background(), big[:2]); errs[0] != nil || errs[1] != nil {
		t.Fatalf("publish after the alarm: %v", errs)
	}
}
