// Package runner is the one runtime the three services share: it reads the
// configuration, opens PostgreSQL and RabbitMQ, arms failpoints, serves
// HTTP, relays the outbox, and shuts all of it down in order on SIGTERM.
// A service only describes its schema, its queues and its handlers.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/config"
	"github.com/mqchaos/mqchaos/services/internal/consume"
	"github.com/mqchaos/mqchaos/services/internal/eventid"
	"github.com/mqchaos/mqchaos/services/internal/failpoint"
	"github.com/mqchaos/mqchaos/services/internal/httpserver"
	"github.com/mqchaos/mqchaos/services/internal/idempotency"
	"github.com/mqchaos/mqchaos/services/internal/logging"
	"github.com/mqchaos/mqchaos/services/internal/metrics"
	"github.com/mqchaos/mqchaos/services/internal/outage"
	"github.com/mqchaos/mqchaos/services/internal/outbox"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
)

// Service describes one service to the runtime.
type Service struct {
	Name       string   // "order", "inventory", "notification"; also its schema
	Migrations []string // idempotent DDL, applied at start
	// Setup registers the service's routes on rt.Mux and consumers with
	// rt.Consume. It runs once, before anything is served.
	Setup func(ctx context.Context, rt *Runtime) error
}

// Runtime is what a service's Setup is given.
type Runtime struct {
	Config     config.Config
	Log        *slog.Logger
	Pool       *pgxpool.Pool
	Mux        *http.ServeMux
	Outbox     *outbox.Outbox
	Idem       *idempotency.Guard
	Failpoints *failpoint.Set
	Metrics    *metrics.Metrics

	rabbit   *rabbit.Client
	bindings []rabbit.Binding
	events   *eventid.Ledger
}

// Consume binds queue to exchange with keys and processes its deliveries
// with f, under the configured ack, retry and dead-letter policy. With
// durable idempotency each delivery's event id is checked first
// (eventid.Ledger.Guard): an id reused with other contents is recorded
// as a conflict and never reaches f.
func (rt *Runtime) Consume(b rabbit.Binding, f consume.Func) {
	rt.bindings = append(rt.bindings, b)
	if rt.Idem.Durable() {
		f = rt.events.Guard(b.Queue, f)
	}
	if n := rt.Config.UnsafeLoseOneIn; n > 0 {
		f = loseOneIn(int64(n), rt.Log, f)
	}
	p := &consume.Processor{
		Queue: b.Queue, Replica: rt.Config.Replica, Pub: rt.rabbit, Log: rt.Log, Metrics: rt.Metrics,
		Outage: outage.New("database", "consumer "+b.Queue, rt.Log, rt.Metrics.Outages),
		Policy: consume.Policy{
			MaxAttempts: rt.Config.RetryMaxAttempts, BaseDelay: rt.Config.RetryBaseDelay,
			MaxDelay: rt.Config.RetryMaxDelay, AttemptTimeout: rt.Config.HandlerTimeout,
			AutoAck: rt.Config.UnsafeAutoAck, RequeueForever: rt.Config.UnsafeRequeueForever,
			OutageBudget: rt.Config.OutageBudget, RedeliveredIsPoison: rt.Config.UnsafeRedeliveredIsPoison,
		},
	}
	if !rt.Config.UnsafeCountOutageRetries {
		p.Probe = rt.Pool.Ping
	}
	rt.rabbit.Consume(b.Queue, p.Handler(f))
}

// OrdersQueue is the queue a service consumes OrderPlaced from: its own,
// or with UNSAFE_SHARED_QUEUE the one it shares with another service.
func (rt *Runtime) OrdersQueue(own string) string {
	if rt.Config.UnsafeSharedQueue {
		return contract.SharedOrdersQueue
	}
	return own
}

// Main runs svc until SIGTERM or SIGINT and exits the process. With the
// single argument "healthcheck" it instead probes a running instance's
// /ready and exits 0 when ready (for container health checks).
func Main(svc Service) {
	if len(os.Args) == 2 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Getenv("HTTP_ADDR")))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, svc, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s-service: %v\n", svc.Name, err)
		os.Exit(1)
	}
}

// Run starts svc and blocks until ctx ends, then shuts down gracefully:
// readiness off, HTTP drained, consumers stopped with in-flight work
// settled, the outbox flushed, connections closed.
func Run(ctx context.Context, svc Service, getenv func(string) string, logOut io.Writer) error {
	cfg, err := config.Load(svc.Name, getenv)
	if err != nil {
		return err
	}
	log := logging.New(logOut, cfg.LogLevel, svc.Name, cfg.Replica)
	if unsafe := cfg.Unsafe(); len(unsafe) > 0 {
		log.Error("UNSAFE MODE: guarantees are switched off; this service WILL lose, duplicate or stall messages", "switches", strings.Join(unsafe, " "))
	}

	migrations := append([]string{outbox.Migration, idempotency.Migration, failpoint.Migration, eventid.Migration}, svc.Migrations...)
	pool, err := postgres.Open(ctx, log, cfg.DatabaseURL, svc.Name, cfg.DBMaxConns, migrations...)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer pool.Close()
	budgets, _ := config.ParseCounts(cfg.Failpoints)
	fps, err := failpoint.Arm(ctx, log, pool, budgets)
	if err != nil {
		return err
	}

	m := metrics.New()
	rc := rabbit.New(rabbit.Options{
		URLs: cfg.AMQPURLs, Name: cfg.Service + "-service@" + cfg.Replica, Heartbeat: cfg.Heartbeat,
		ReconnectMin: cfg.ReconnectMin, ReconnectMax: cfg.ReconnectMax, ConfirmTimeout: cfg.ConfirmTimeout,
		Prefetch: cfg.Prefetch, Workers: cfg.Workers, Batch: cfg.ConsumeBatch, AutoAck: cfg.UnsafeAutoAck, NoConfirm: cfg.UnsafeNoConfirms,
		NoMandatory: cfg.UnsafeNoMandatory, NoConsumerRecovery: cfg.UnsafeNoConsumerRecovery,
		IgnoreTopologyErrors: cfg.UnsafeIgnoreTopologyErrors,
	}, log, m)
	ob := &outbox.Outbox{
		Store: outbox.PGStore{Pool: pool}, Pub: rc, Log: log, Interval: cfg.OutboxInterval,
		Batch: cfg.OutboxBatch, Direct: cfg.UnsafeNoOutbox, RetryBase: cfg.OutboxRetryBase, RetryMax: cfg.OutboxRetryMax,
		AfterPublish: func(ctx context.Context) { fps.Hit(ctx, failpoint.RelayAfterPublish) },
		Database:     outage.New("database", "outbox relay", log, m.Outages),
		Broker:       outage.New("broker", "outbox relay", log, m.Outages),
	}
	rt := &Runtime{
		Config: cfg, Log: log, Pool: pool, Mux: http.NewServeMux(), Outbox: ob,
		Idem: idempotency.New(cfg.Idempotency), Failpoints: fps, Metrics: m, rabbit: rc,
		events: &eventid.Ledger{Pool: pool, Replica: cfg.Replica, Log: log, Conflicts: m.Conflicts},
	}
	// Every service lists the event ids it took in reused with other contents.
	rt.Mux.HandleFunc("GET /conflicts", rt.events.List)
	if err := svc.Setup(ctx, rt); err != nil {
		return fmt.Errorf("set up %s-service: %w", svc.Name, err)
	}
	rc.SetTopology(rabbit.Topology{
		Exchanges: []string{contract.OrdersExchange, contract.InventoryExchange}, Bindings: rt.bindings,
		QueueType: cfg.QueueType, DeliveryLimit: cfg.DeliveryLimit,
		Transient: cfg.UnsafeTransientQueues, DeadLetter: !cfg.UnsafeRequeueForever,
	})

	var shuttingDown atomic.Bool
	// /ready: 503 while shutting down, while the AMQP session is not up
	// (its body says why: a refused dial, or the broker's reason for
	// refusing a queue.declare) or the database does not answer. A
	// connection the broker blocks is up: 200, with "amqp": "blocked: <reason>".
	httpserver.Mount(rt.Mux, m.Registry, func() []httpserver.Check {
		var checks []httpserver.Check
		if shuttingDown.Load() {
			checks = append(checks, httpserver.Check{Name: "service", Detail: "shutting down"})
		}
		ok, detail := rc.Status()
		checks = append(checks, httpserver.Check{Name: "amqp", OK: ok, Detail: detail})
		pctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		db := httpserver.Check{Name: "database", OK: true, Detail: "connected"}
		if err := pool.Ping(pctx); err != nil {
			db.OK, db.Detail = false, err.Error()
		}
		return append(checks, db)
	})
	srv := httpserver.NewServer(rt.Mux, HTTPLimits(cfg), func(limit string) { m.HTTPRefused.WithLabelValues(limit).Inc() })
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "mqchaos", Name: "http_connections",
		Help: "HTTP connections the server holds open now (at most HTTP_MAX_CONNS unless UNSAFE_NO_HTTP_LIMITS).",
	}, func() float64 { return float64(srv.Open()) }))
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()

	// The AMQP connection outlives ctx: it is closed last, after the flush.
	amqpCtx, closeAMQP := context.WithCancel(context.WithoutCancel(ctx))
	amqpDone := make(chan struct{})
	go func() { _ = rc.Run(amqpCtx); close(amqpDone) }()
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() { ob.Run(relayCtx); close(relayDone) }()
	log.Info("started", "http", cfg.HTTPAddr, "http_limits", !cfg.UnsafeNoHTTPLimits, "queue_type", cfg.QueueType, "prefetch", cfg.Prefetch, "idempotency", cfg.Idempotency)

	select {
	case <-ctx.Done():
	case err := <-httpDone:
		stopRelay()
		closeAMQP()
		return fmt.Errorf("serve http: %w", err)
	}

	log.Info("shutting down")
	shuttingDown.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("drain http: %w", err))
	}
	if err := rc.StopConsuming(sctx); err != nil {
		errs = append(errs, err)
	}
	stopRelay()
	<-relayDone
	if n, err := ob.Flush(sctx); err != nil {
		errs = append(errs, fmt.Errorf("flush outbox: %w", err))
	} else if n > 0 {
		log.Info("outbox flushed", "events", n)
	}
	closeAMQP()
	<-amqpDone
	if err := errors.Join(errs...); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// HTTPLimits are the limits of cfg's HTTP server: none with
// UNSAFE_NO_HTTP_LIMITS but the header size.
func HTTPLimits(cfg config.Config) httpserver.Limits {
	if cfg.UnsafeNoHTTPLimits {
		return httpserver.Limits{MaxHeaderBytes: cfg.HTTPMaxHeaderBytes}
	}
	return httpserver.Limits{
		HeaderTimeout: cfg.HTTPHeaderTimeout, BodyTimeout: cfg.HTTPBodyTimeout, HandlerTimeout: cfg.HTTPHandlerTimeout,
		WriteTimeout: cfg.HTTPWriteTimeout, IdleTimeout: cfg.HTTPIdleTimeout, MaxHeaderBytes: cfg.HTTPMaxHeaderBytes, MaxConns: cfg.HTTPMaxConns,
	}
}

func healthcheck(addr string) int {
	if addr == "" {
		addr = ":8080"
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/ready")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, resp.Status)
		return 1
	}
	return 0
}

// loseOneIn is f with every nth delivery it is given acked without being
// applied (UNSAFE_LOSE_ONE_IN), each logged.
func loseOneIn(n int64, log *slog.Logger, f consume.Func) consume.Func {
	var given atomic.Int64
	return func(ctx context.Context, ds []amqp.Delivery) []error {
		errs := make([]error, len(ds))
		var keep []amqp.Delivery
		var at []int
		for i, d := range ds {
			if given.Add(1)%n == 0 {
				log.Error("UNSAFE_LOSE_ONE_IN: delivery acked without being applied", "message_id", d.MessageId, "routing_key", d.RoutingKey)
				continue
			}
			keep, at = append(keep, d), append(at, i)
		}
		if len(keep) == 0 {
			return errs
		}
		for j, err := range f(ctx, keep) {
			errs[at[j]] = err
		}
		return errs
	}
}
