// Package config reads a service's configuration from the environment, once,
// into a validated struct. No other package of the services reads the
// environment.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Idempotency modes.
const (
	IdempotencyDurable = "durable" // processed keys in PostgreSQL, in the effect's transaction
	IdempotencyMemory  = "memory"  // unsafe: processed keys in this process only
	IdempotencyNone    = "none"    // unsafe: every delivery applies its effect
)

// Config is everything a service reads from its environment.
type Config struct {
	Service  string // order, inventory or notification (set by main)
	Replica  string // REPLICA_ID, default the host name
	HTTPAddr string // HTTP_ADDR, default ":8080"
	LogLevel string // LOG_LEVEL: debug, info, warn, error

	// AMQP_URL (required): one broker URL, or a comma-separated list of
	// the nodes of a cluster, tried in turn (see rabbit.Options.URLs).
	AMQPURLs         []string
	DatabaseURL      string        // DATABASE_URL (required)
	QueueType        string        // QUEUE_TYPE: quorum (default) or classic
	Prefetch         int           // PREFETCH, default 512
	Workers          int           // CONSUMER_WORKERS per queue, default 2
	ConsumeBatch     int           // CONSUME_BATCH: deliveries applied in one transaction, default 128
	Heartbeat        time.Duration // AMQP_HEARTBEAT, default 10s; 0: the broker's interval (amqp091-go cannot turn heartbeats off)
	ReconnectMin     time.Duration // RECONNECT_MIN_DELAY, default 200ms
	ReconnectMax     time.Duration // RECONNECT_MAX_DELAY, default 5s
	ConfirmTimeout   time.Duration // CONFIRM_TIMEOUT, default 5s
	DeliveryLimit    int           // DELIVERY_LIMIT for quorum queues, default 50 (0: none)
	RetryMaxAttempts int           // RETRY_MAX_ATTEMPTS, default 8
	RetryBaseDelay   time.Duration // RETRY_BASE_DELAY, default 100ms
	RetryMaxDelay    time.Duration // RETRY_MAX_DELAY, default 5s
	HandlerTimeout   time.Duration // HANDLER_TIMEOUT per attempt, default 5s
	OutageBudget     time.Duration // OUTAGE_BUDGET: how long a consumer holds a delivery while the database is down, default 5m
	OutboxInterval   time.Duration // OUTBOX_POLL_INTERVAL, default 200ms
	OutboxBatch      int           // OUTBOX_BATCH, default 256
	OutboxRetryBase  time.Duration // OUTBOX_RETRY_BASE: wait before publishing again a row returned unroutable, doubling; default 1s
	OutboxRetryMax   time.Duration // OUTBOX_RETRY_MAX: that wait's cap, default 30s
	DBMaxConns       int           // DB_MAX_CONNS, default 10
	ShutdownTimeout  time.Duration // SHUTDOWN_TIMEOUT, default 20s
	MaxHTTPBody      int64         // MAX_HTTP_BODY_BYTES, default 16384
	InitialStock     string        // INITIAL_STOCK (inventory): "item=qty,item=qty"
	Failpoints       string        // FAILPOINTS: "name=count,name=count"

	// HTTP limits: every phase of a request and the connections held
	// open (see httpserver.Limits). Each must be positive;
	// UNSAFE_NO_HTTP_LIMITS turns them all off.
	HTTPHeaderTimeout  time.Duration // HTTP_HEADER_TIMEOUT: request line and headers, default 5s
	HTTPBodyTimeout    time.Duration // HTTP_BODY_TIMEOUT: the body, after the headers, default 10s
	HTTPHandlerTimeout time.Duration // HTTP_HANDLER_TIMEOUT: the request's context deadline, default 30s
	HTTPWriteTimeout   time.Duration // HTTP_WRITE_TIMEOUT: end of headers to end of response, default 60s
	HTTPIdleTimeout    time.Duration // HTTP_IDLE_TIMEOUT: a keep-alive connection between requests, default 60s
	HTTPMaxHeaderBytes int           // HTTP_MAX_HEADER_BYTES, default 65536
	HTTPMaxConns       int           // HTTP_MAX_CONNS: connections open at once, default 512

	// Unsafe switches: each turns one guarantee off, for demonstrations.
	UnsafeAutoAck         bool   // UNSAFE_AUTO_ACK: auto-ack instead of manual acks
	UnsafeTransientQueues bool   // UNSAFE_TRANSIENT_QUEUES: exclusive auto-delete queues, transient messages
	UnsafeNoConfirms      bool   // UNSAFE_NO_CONFIRMS: fire and forget
	Idempotency           string // IDEMPOTENCY: durable (default), memory or none
	UnsafeRequeueForever  bool   // UNSAFE_REQUEUE_FOREVER: no dead-lettering, failures requeued
	UnsafeNoOutbox        bool   // UNSAFE_NO_OUTBOX: publish after commit (dual write)
	UnsafeSharedQueue     bool   // UNSAFE_SHARED_QUEUE: one order queue shared by two services
	// UNSAFE_COUNT_OUTAGE_RETRIES: every transient failure counts against
	// RETRY_MAX_ATTEMPTS, outage or not, so a database outage longer than
	// the retry backoff dead-letters valid messages.
	UnsafeCountOutageRetries bool
	// UNSAFE_REDELIVERED_IS_POISON: a redelivered message whose attempt
	// fails, transiently too, is taken for poison and dead-lettered at
	// once, past the outage hold and the retry budget. In practice it
	// loses valid work only when the broker redelivers (a restart, a lost
	// connection) while the database is down.
	UnsafeRedeliveredIsPoison bool
	// UNSAFE_HTTP_NO_IDEMPOTENCY (order): POST /orders ignores the
	// client's order_id and Idempotency-Key as the order's identity and
	// makes a new order with an id of its own every time, so a retried
	// request places the order again. The key is still recorded.
	UnsafeHTTPNoIdempotency bool
	// UNSAFE_NO_CONSUMER_RECOVERY: a consumer the broker ends while the
	// connection lives on (its channel closed by consumer_timeout, or
	// cancelled because its queue was deleted) is not recovered: the
	// service stays ready with nothing consuming that queue.
	UnsafeNoConsumerRecovery bool
	// UNSAFE_NO_MANDATORY: publishes are not mandatory, so a message no
	// queue is bound to receive is confirmed and silently dropped.
	UnsafeNoMandatory bool
	// UNSAFE_IGNORE_TOPOLOGY_ERRORS: a declare the broker refuses (a queue
	// that exists with other arguments) is logged and ignored, and the
	// service reports ready without starting its consumers, as a start-up
	// hook that swallows its error does.
	UnsafeIgnoreTopologyErrors bool
	// UNSAFE_NO_HTTP_LIMITS: no HTTP time limit (header, body, handler,
	// write, idle) and no cap on connections, so slow and idle clients
	// hold connections and goroutines for as long as they like. The body
	// and header size limits stay.
	UnsafeNoHTTPLimits bool
	// UNSAFE_NO_ORDERING (notification): an order's events are applied
	// as they come, a cancellation before its order's placement too.
	UnsafeNoOrdering bool
	// UNSAFE_LOSE_ONE_IN=N: every Nth delivery a consumer is given is
	// acked without being applied, the smallest loss there is, to measure
	// what mqchaos can see (its sensitivity). 0, the default, is off.
	UnsafeLoseOneIn int
	// UNSAFE_DUPLICATE_ONE_IN=N (inventory): every Nth order to apply is
	// applied twice, its idempotency key bypassed for the second: the
	// smallest duplicate there is, for the same measure.
	UnsafeDuplicateOneIn int
	// UNSAFE_STALE_ITEM_LIST (inventory): an order's item is checked
	// against a list of items that knows only StaleItemList, as a
	// validator built against an old catalogue does, and an order for
	// any other item is taken for an invalid message and dead-lettered:
	// valid work in the dead-letter queue.
	UnsafeStaleItemList bool
}

// StaleItemList is the one item UNSAFE_STALE_ITEM_LIST knows.
const StaleItemList = "widget-a"

// Unsafe lists the guarantees this configuration switches off, by variable.
func (c Config) Unsafe() []string {
	var u []string
	add := func(on bool, name string) {
		if on {
			u = append(u, name)
		}
	}
	add(c.UnsafeAutoAck, "UNSAFE_AUTO_ACK")
	add(c.UnsafeTransientQueues, "UNSAFE_TRANSIENT_QUEUES")
	add(c.UnsafeNoConfirms, "UNSAFE_NO_CONFIRMS")
	add(c.Idempotency != IdempotencyDurable, "IDEMPOTENCY="+c.Idempotency)
	add(c.UnsafeRequeueForever, "UNSAFE_REQUEUE_FOREVER")
	add(c.UnsafeNoOutbox, "UNSAFE_NO_OUTBOX")
	add(c.UnsafeSharedQueue, "UNSAFE_SHARED_QUEUE")
	add(c.UnsafeCountOutageRetries, "UNSAFE_COUNT_OUTAGE_RETRIES")
	add(c.UnsafeRedeliveredIsPoison, "UNSAFE_REDELIVERED_IS_POISON")
	add(c.UnsafeNoConsumerRecovery, "UNSAFE_NO_CONSUMER_RECOVERY")
	add(c.UnsafeNoMandatory, "UNSAFE_NO_MANDATORY")
	add(c.UnsafeHTTPNoIdempotency, "UNSAFE_HTTP_NO_IDEMPOTENCY")
	add(c.UnsafeIgnoreTopologyErrors, "UNSAFE_IGNORE_TOPOLOGY_ERRORS")
	add(c.UnsafeNoHTTPLimits, "UNSAFE_NO_HTTP_LIMITS")
	add(c.UnsafeNoOrdering, "UNSAFE_NO_ORDERING")
	add(c.UnsafeLoseOneIn > 0, fmt.Sprintf("UNSAFE_LOSE_ONE_IN=%d", c.UnsafeLoseOneIn))
	add(c.UnsafeDuplicateOneIn > 0, fmt.Sprintf("UNSAFE_DUPLICATE_ONE_IN=%d", c.UnsafeDuplicateOneIn))
	add(c.UnsafeStaleItemList, "UNSAFE_STALE_ITEM_LIST")
	return u
}

// Load reads the configuration of service from getenv (os.Getenv when nil)
// and validates it; every problem found is in the joined error.
func Load(service string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	r := reader{getenv: getenv}
	host, _ := os.Hostname()
	c := Config{
		Service:  service,
		Replica:  r.str("REPLICA_ID", host),
		HTTPAddr: r.str("HTTP_ADDR", ":8080"),
		LogLevel: r.str("LOG_LEVEL", "info"),

		DatabaseURL:      r.str("DATABASE_URL", ""),
		QueueType:        r.str("QUEUE_TYPE", "quorum"),
		Prefetch:         r.int("PREFETCH", 512),
		Workers:          r.int("CONSUMER_WORKERS", 2),
		ConsumeBatch:     r.int("CONSUME_BATCH", 128),
		Heartbeat:        r.dur("AMQP_HEARTBEAT", 10*time.Second),
		ReconnectMin:     r.dur("RECONNECT_MIN_DELAY", 200*time.Millisecond),
		ReconnectMax:     r.dur("RECONNECT_MAX_DELAY", 5*time.Second),
		ConfirmTimeout:   r.dur("CONFIRM_TIMEOUT", 5*time.Second),
		DeliveryLimit:    r.int("DELIVERY_LIMIT", 50),
		RetryMaxAttempts: r.int("RETRY_MAX_ATTEMPTS", 8),
		RetryBaseDelay:   r.dur("RETRY_BASE_DELAY", 100*time.Millisecond),
		RetryMaxDelay:    r.dur("RETRY_MAX_DELAY", 5*time.Second),
		HandlerTimeout:   r.dur("HANDLER_TIMEOUT", 5*time.Second),
		OutageBudget:     r.dur("OUTAGE_BUDGET", 5*time.Minute),
		OutboxInterval:   r.dur("OUTBOX_POLL_INTERVAL", 200*time.Millisecond),
		OutboxBatch:      r.int("OUTBOX_BATCH", 256),
		OutboxRetryBase:  r.dur("OUTBOX_RETRY_BASE", time.Second),
		OutboxRetryMax:   r.dur("OUTBOX_RETRY_MAX", 30*time.Second),
		DBMaxConns:       r.int("DB_MAX_CONNS", 10),
		ShutdownTimeout:  r.dur("SHUTDOWN_TIMEOUT", 20*time.Second),
		MaxHTTPBody:      int64(r.int("MAX_HTTP_BODY_BYTES", 16<<10)),
		InitialStock:     r.str("INITIAL_STOCK", "widget-a=1000,widget-b=1000,gadget-c=1000"),
		Failpoints:       r.str("FAILPOINTS", ""),

		HTTPHeaderTimeout:  r.dur("HTTP_HEADER_TIMEOUT", 5*time.Second),
		HTTPBodyTimeout:    r.dur("HTTP_BODY_TIMEOUT", 10*time.Second),
		HTTPHandlerTimeout: r.dur("HTTP_HANDLER_TIMEOUT", 30*time.Second),
		HTTPWriteTimeout:   r.dur("HTTP_WRITE_TIMEOUT", 60*time.Second),
		HTTPIdleTimeout:    r.dur("HTTP_IDLE_TIMEOUT", 60*time.Second),
		HTTPMaxHeaderBytes: r.int("HTTP_MAX_HEADER_BYTES", 64<<10),
		HTTPMaxConns:       r.int("HTTP_MAX_CONNS", 512),

		UnsafeAutoAck:         r.bool("UNSAFE_AUTO_ACK"),
		UnsafeTransientQueues: r.bool("UNSAFE_TRANSIENT_QUEUES"),
		UnsafeNoConfirms:      r.bool("UNSAFE_NO_CONFIRMS"),
		Idempotency:           r.str("IDEMPOTENCY", IdempotencyDurable),
		UnsafeRequeueForever:  r.bool("UNSAFE_REQUEUE_FOREVER"),
		UnsafeNoOutbox:        r.bool("UNSAFE_NO_OUTBOX"),
		UnsafeSharedQueue:     r.bool("UNSAFE_SHARED_QUEUE"),

		UnsafeCountOutageRetries:  r.bool("UNSAFE_COUNT_OUTAGE_RETRIES"),
		UnsafeRedeliveredIsPoison: r.bool("UNSAFE_REDELIVERED_IS_POISON"),
		UnsafeNoConsumerRecovery:  r.bool("UNSAFE_NO_CONSUMER_RECOVERY"),
		UnsafeNoMandatory:         r.bool("UNSAFE_NO_MANDATORY"),
		UnsafeHTTPNoIdempotency:   r.bool("UNSAFE_HTTP_NO_IDEMPOTENCY"),

		UnsafeIgnoreTopologyErrors: r.bool("UNSAFE_IGNORE_TOPOLOGY_ERRORS"),
		UnsafeNoHTTPLimits:         r.bool("UNSAFE_NO_HTTP_LIMITS"),
		UnsafeNoOrdering:           r.bool("UNSAFE_NO_ORDERING"),
		UnsafeLoseOneIn:            r.int("UNSAFE_LOSE_ONE_IN", 0),
		UnsafeDuplicateOneIn:       r.int("UNSAFE_DUPLICATE_ONE_IN", 0),
		UnsafeStaleItemList:        r.bool("UNSAFE_STALE_ITEM_LIST"),
	}
	errs := r.errs
	var err error
	if raw := r.str("AMQP_URL", ""); raw == "" {
		errs = append(errs, errors.New("AMQP_URL is required: a URL, or a comma-separated list of a cluster's node URLs"))
	} else if c.AMQPURLs, err = ParseAMQPURLs(raw); err != nil {
		errs = append(errs, fmt.Errorf("AMQP_URL: %w", err))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required"))
	}
	if c.QueueType != "quorum" && c.QueueType != "classic" {
		errs = append(errs, fmt.Errorf("QUEUE_TYPE %q: want quorum or classic", c.QueueType))
	}
	switch c.Idempotency {
	case IdempotencyDurable, IdempotencyMemory, IdempotencyNone:
	default:
		errs = append(errs, fmt.Errorf("IDEMPOTENCY %q: want durable, memory or none", c.Idempotency))
	}
	positive := map[string]int{"PREFETCH": c.Prefetch, "CONSUMER_WORKERS": c.Workers, "CONSUME_BATCH": c.ConsumeBatch, "RETRY_MAX_ATTEMPTS": c.RetryMaxAttempts, "OUTBOX_BATCH": c.OutboxBatch, "DB_MAX_CONNS": c.DBMaxConns, "MAX_HTTP_BODY_BYTES": int(c.MaxHTTPBody), "HTTP_MAX_CONNS": c.HTTPMaxConns}
	for _, name := range []string{"PREFETCH", "CONSUMER_WORKERS", "CONSUME_BATCH", "RETRY_MAX_ATTEMPTS", "OUTBOX_BATCH", "DB_MAX_CONNS", "MAX_HTTP_BODY_BYTES", "HTTP_MAX_CONNS"} {
		if positive[name] <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", name, positive[name]))
		}
	}
	errs = append(errs, c.checkHTTPLimits()...)
	if c.OutageBudget <= 0 || c.OutageBudget > 25*time.Minute {
		errs = append(errs, fmt.Errorf("OUTAGE_BUDGET %s: want more than 0 and at most 25m, under the broker's 30m consumer_timeout (UNSAFE_COUNT_OUTAGE_RETRIES turns holding off)", c.OutageBudget))
	}
	if c.UnsafeLoseOneIn < 0 {
		errs = append(errs, fmt.Errorf("UNSAFE_LOSE_ONE_IN must not be negative, got %d", c.UnsafeLoseOneIn))
	}
	if c.UnsafeDuplicateOneIn < 0 {
		errs = append(errs, fmt.Errorf("UNSAFE_DUPLICATE_ONE_IN must not be negative, got %d", c.UnsafeDuplicateOneIn))
	}
	if c.DeliveryLimit < 0 {
		errs = append(errs, fmt.Errorf("DELIVERY_LIMIT must not be negative, got %d", c.DeliveryLimit))
	}
	if c.OutboxRetryBase <= 0 || c.OutboxRetryMax < c.OutboxRetryBase {
		errs = append(errs, fmt.Errorf("OUTBOX_RETRY_BASE %s, OUTBOX_RETRY_MAX %s: want a base above 0 and a max not below it", c.OutboxRetryBase, c.OutboxRetryMax))
	}
	if c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, errors.New("RECONNECT_MAX_DELAY is below RECONNECT_MIN_DELAY"))
	}
	if _, err := ParseCounts(c.Failpoints); err != nil {
		errs = append(errs, fmt.Errorf("FAILPOINTS: %w", err))
	}
	if _, err := ParseCounts(c.InitialStock); err != nil {
		errs = append(errs, fmt.Errorf("INITIAL_STOCK: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("config of %s-service: %w", service, err)
	}
	return c, nil
}

// checkHTTPLimits: every HTTP time limit positive (0 would turn one off
// unnoticed; UNSAFE_NO_HTTP_LIMITS is the way to turn them off), the
// write limit above the body's and the handler's together (it runs from
// the end of the headers, through both), and room for ordinary headers.
func (c Config) checkHTTPLimits() []error {
	var errs []error
	for _, l := range []struct {
		name string
		d    time.Duration
	}{{"HTTP_HEADER_TIMEOUT", c.HTTPHeaderTimeout}, {"HTTP_BODY_TIMEOUT", c.HTTPBodyTimeout}, {"HTTP_HANDLER_TIMEOUT", c.HTTPHandlerTimeout}, {"HTTP_WRITE_TIMEOUT", c.HTTPWriteTimeout}, {"HTTP_IDLE_TIMEOUT", c.HTTPIdleTimeout}} {
		if l.d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s (UNSAFE_NO_HTTP_LIMITS turns the HTTP limits off)", l.name, l.d))
		}
	}
	if c.HTTPWriteTimeout <= c.HTTPBodyTimeout+c.HTTPHandlerTimeout {
		errs = append(errs, fmt.Errorf("HTTP_WRITE_TIMEOUT %s must be above HTTP_BODY_TIMEOUT + HTTP_HANDLER_TIMEOUT (%s): it runs from the end of the headers through both", c.HTTPWriteTimeout, c.HTTPBodyTimeout+c.HTTPHandlerTimeout))
	}
	if c.HTTPMaxHeaderBytes < 4096 {
		errs = append(errs, fmt.Errorf("HTTP_MAX_HEADER_BYTES must be at least 4096, got %d", c.HTTPMaxHeaderBytes))
	}
	return errs
}

// ParseAMQPURLs splits AMQP_URL's value at commas into the URLs of a
// broker's nodes and checks each as the client will dial it; an error
// names every URL that is not one, by position (with its password
// hidden), or says that there is none.
func ParseAMQPURLs(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no URL")
	}
	parts := strings.Split(s, ",")
	urls := make([]string, 0, len(parts))
	var errs []error
	for i, part := range parts {
		u := strings.TrimSpace(part)
		if _, err := amqp.ParseURI(u); err != nil {
			errs = append(errs, fmt.Errorf("URL %d of %d%s: %w", i+1, len(parts), shown(u), err))
			continue
		}
		urls = append(urls, u)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return urls, nil
}

// shown is u for an error message, its password hidden: " (amqp://user:xxxxx@host)",
// or "" when u is empty or unparsable, which may leave a password in sight.
func shown(u string) string {
	p, err := url.Parse(u)
	if u == "" || err != nil {
		return ""
	}
	return " (" + p.Redacted() + ")"
}

// ParseCounts parses "name=n,name=n" (n a non-negative integer; a bare name
// means 1) into a map.
func ParseCounts(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, count, found := strings.Cut(part, "=")
		n := 1
		if found {
			var err error
			if n, err = strconv.Atoi(strings.TrimSpace(count)); err != nil || n < 0 {
				return nil, fmt.Errorf("%q: count must be a non-negative integer", part)
			}
		}
		out[strings.TrimSpace(name)] = n
	}
	return out, nil
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) int(key string, def int) int {
	v := r.getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s %q: not an integer", key, v))
		return def
	}
	return n
}

func (r *reader) dur(key string, def time.Duration) time.Duration {
	v := r.getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s %q: not a duration such as 500ms or 5s", key, v))
		return def
	}
	return d
}

func (r *reader) bool(key string) bool {
	v := r.getenv(key)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s %q: not a boolean", key, v))
	}
	return b
}
