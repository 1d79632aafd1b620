// Package stack starts the system under test in containers: an Infra (a
// private network, RabbitMQ, PostgreSQL) and, on it, a Stack of service
// replicas in a vhost and database of their own. Stacks on one Infra share
// nothing but the containers; a scenario that breaks the broker or the
// database starts an Infra of its own.
//
// Every address is looked up on each call: a restarted container gets a
// new host port. Inside the network, services reach the broker and the
// database by alias, which does not change.
package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/probe"
)

// TestEnv is the service configuration every stack starts with: timings
// set for fast detection (2 s heartbeats, reconnects from 100 ms, retries
// from 50 ms) and stock enough for any scenario. Options override it.
func TestEnv() map[string]string {
	return map[string]string{
		"LOG_LEVEL":            "info",
		"AMQP_HEARTBEAT":       "2s",
		"RECONNECT_MIN_DELAY":  "100ms",
		"RECONNECT_MAX_DELAY":  "1s",
		"CONFIRM_TIMEOUT":      "3s",
		"RETRY_BASE_DELAY":     "50ms",
		"RETRY_MAX_DELAY":      "1s",
		"RETRY_MAX_ATTEMPTS":   "15",
		"HANDLER_TIMEOUT":      "2s",
		"OUTBOX_POLL_INTERVAL": "100ms",
		"SHUTDOWN_TIMEOUT":     "5s",
		"DELIVERY_LIMIT":       "20",
		"INITIAL_STOCK":        "widget-a=1000000,widget-b=1000000,gadget-c=1000000",
	}
}

// Option configures Start.
type Option func(*options)

type options struct {
	name     string
	infra    *Infra
	replicas map[string]int
	env      map[string]map[string]string
}

// Name names the stack (its vhost and database); default "stack".
func Name(n string) Option { return func(o *options) { o.name = n } }

// OnInfra starts the stack on inf instead of on an Infra of its own.
func OnInfra(inf *Infra) Option { return func(o *options) { o.infra = inf } }

// Replicas sets how many replicas of service run (default 1).
func Replicas(service string, n int) Option { return func(o *options) { o.replicas[service] = n } }

// Env adds environment variables to service's replicas ("*": every service).
func Env(service string, kv map[string]string) Option {
	return func(o *options) {
		if o.env[service] == nil {
			o.env[service] = map[string]string{}
		}
		maps.Copy(o.env[service], kv)
	}
}

// Stack is the services of one test, on an Infra.
type Stack struct {
	Name   string
	Infra  *Infra
	Tenant Tenant

	ownInfra bool
	mu       sync.Mutex
	replicas map[string][]*Replica
}

// Start deploys the services and waits until every replica is ready. It
// may return a half-built Stack with its error: Terminate it either way.
func Start(ctx context.Context, images Images, opts ...Option) (*Stack, error) {
	o := options{name: "stack", replicas: map[string]int{}, env: map[string]map[string]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Stack{replicas: map[string][]*Replica{}}
	if o.infra == nil {
		inf, err := StartInfra(ctx, images)
		s.Infra, s.ownInfra = inf, true
		if err != nil {
			return s, err
		}
	} else {
		s.Infra = o.infra
	}
	s.Name = tenantName(o.name) + "_" + newID()
	t, err := s.Infra.NewTenant(ctx, s.Name)
	s.Tenant = t
	if err != nil {
		return s, fmt.Errorf("start stack %s: %w", s.Name, err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for _, svc := range Services {
		n, ok := o.replicas[svc]
		if !ok {
			n = 1
		}
		env := TestEnv()
		maps.Copy(env, o.env["*"])
		maps.Copy(env, o.env[svc])
		for i := 1; i <= n; i++ {
			r := &Replica{Service: svc, Name: fmt.Sprintf("%s-%d", svc, i), stack: s}
			s.replicas[svc] = append(s.replicas[svc], r)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.run(ctx, images, env); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return s, fmt.Errorf("start stack %s: %w", s.Name, err)
	}
	return s, nil
}

var notAlnum = regexp.MustCompile(`[^a-z0-9]+`)

func tenantName(s string) string {
	s = strings.Trim(notAlnum.ReplaceAllString(strings.ToLower(s), "_"), "_")
	if len(s) > 40 {
		s = s[:40]
	}
	if s == "" {
		s = "stack"
	}
	return s
}

// Replicas returns service's replicas, in start order.
func (s *Stack) Replicas(service string) []*Replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Replica(nil), s.replicas[service]...)
}

// Replica returns replica i (from 1) of service.
func (s *Stack) Replica(service string, i int) *Replica { return s.Replicas(service)[i-1] }

// firstRunning is the address of service's first running replica, so a
// probe keeps answering while one replica is down.
func (s *Stack) firstRunning(service string) probe.BaseURL {
	return func(ctx context.Context) (string, error) {
		var errs []error
		for _, r := range s.Replicas(service) {
			u, err := r.URL(ctx)
			if err == nil {
				return u, nil
			}
			errs = append(errs, err)
		}
		return "", fmt.Errorf("no running %s replica: %w", service, errors.Join(errs...))
	}
}

// Orders is a client of order-service.
func (s *Stack) Orders() *probe.Orders { return probe.NewOrders(s.firstRunning("order")) }

// Inventory is a client of inventory-service.
func (s *Stack) Inventory() *probe.Inventory { return probe.NewInventory(s.firstRunning("inventory")) }

// Notifications is a client of notification-service.
func (s *Stack) Notifications() *probe.Notifications {
	return probe.NewNotifications(s.firstRunning("notification"))
}

// Management is a management API client for the stack's vhost.
func (s *Stack) Management() *broker.Management { return s.Infra.Management(s.Tenant.VHost) }

// AMQPURL is the stack's vhost as seen from the host, looked up now.
func (s *Stack) AMQPURL(ctx context.Context) (string, error) {
	return s.Infra.AMQPURL(ctx, s.Tenant.VHost)
}

// Docker is the engine client faults act through.
func (s *Stack) Docker() fault.Docker { return s.Infra.Docker() }

// Terminate removes the replicas and the tenant, and the Infra if the
// stack started it. Nil-safe; works on a half-built Stack.
func (s *Stack) Terminate(ctx context.Context) error {
	if s == nil {
		return nil
	}
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, rs := range s.replicas {
		for _, r := range rs {
			if r.Container == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Container.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("remove %s: %w", r.Name, err))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if s.ownInfra {
		errs = append(errs, s.Infra.Terminate(ctx))
	} else if s.Infra != nil && s.Tenant.VHost != "" {
		errs = append(errs, s.Infra.DropTenant(ctx, s.Tenant))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminate stack %s: %w", s.Name, err)
	}
	return nil
}

// Replica is one container of a service.
type Replica struct {
	Service   string // "inventory"
	Name      string // "inventory-2", also its REPLICA_ID and network alias
	Container *testcontainers.DockerContainer
	stack     *Stack
}

func (r *Replica) run(ctx context.Context, images Images, env map[string]string) error {
	inf := r.stack.Infra
	env = maps.Clone(env)
	env["REPLICA_ID"] = r.Name
	env["AMQP_URL"] = fmt.Sprintf("amqp://%s:%s@%s:5672/%s", inf.User, inf.Password, BrokerAlias, r.stack.Tenant.VHost)
	env["DATABASE_URL"] = fmt.Sprintf("postgres://%s:%s@%s:5432/%s?sslmode=disable", inf.User, inf.Password, DatabaseAlias, r.stack.Tenant.Database)
	c, err := testcontainers.Run(ctx, images.Service(r.Service),
		inf.common(r.stack.Name+"-"+r.Name, r.Name, "8080/tcp"),
		testcontainers.WithEnv(env),
		testcontainers.WithWaitStrategyAndDeadline(90*time.Second,
			wait.ForHTTP("/ready").WithPort("8080/tcp").WithPollInterval(100*time.Millisecond)),
	)
	r.Container = c
	if err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	return nil
}

// URL is the replica's HTTP address, looked up now; an error if it is not running.
func (r *Replica) URL(ctx context.Context) (string, error) {
	if r.Container == nil {
		return "", fmt.Errorf("%s not started", r.Name)
	}
	hp, err := endpoint(ctx, r.Container, "8080/tcp")
	if err != nil {
		return "", err
	}
	return "http://" + hp, nil
}

// Target is the replica as a fault target.
func (r *Replica) Target() fault.Target {
	return fault.Target{Name: r.Name, ContainerID: r.Container.GetContainerID(), NetworkID: r.stack.Infra.Network.ID, Aliases: []string{r.Name}}
}

// Ready returns nil when the replica answers GET /ready with 200.
func (r *Replica) Ready(ctx context.Context) error {
	return probe.Ready(ctx, r.URL)
}

// Running reports whether the replica's process is running (false after
// it exited, e.g. at a failpoint).
func (r *Replica) Running(ctx context.Context) (bool, error) {
	st, err := r.Container.State(ctx)
	if err != nil {
		return false, fmt.Errorf("state of %s: %w", r.Name, err)
	}
	return st.Running && !st.Paused, nil
}

// ExitCode is the status the replica's process last exited with.
func (r *Replica) ExitCode(ctx context.Context) (int, error) {
	st, err := r.Container.State(ctx)
	if err != nil {
		return 0, fmt.Errorf("state of %s: %w", r.Name, err)
	}
	return st.ExitCode, nil
}

// StartAgain starts a replica that exited, without waiting for readiness.
func (r *Replica) StartAgain(ctx context.Context) error {
	_, err := r.stack.Infra.docker.ContainerStart(ctx, r.Container.GetContainerID(), client.ContainerStartOptions{})
	if err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	return nil
}
