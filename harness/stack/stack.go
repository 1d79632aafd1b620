// Package stack starts a described system (package system) in containers:
// an Infra (a private network, RabbitMQ, and PostgreSQL if asked for)
// and, on it, a Stack of service replicas in a vhost and database of their
// own. Stacks on one Infra share
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
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Option configures Start.
type Option func(*options)

type options struct {
	name      string
	infra     *Infra
	replicas  map[string]int
	env       system.EnvSet
	toxiproxy bool
	image     map[string]string   // by service, over the description's (WithControl)
	command   map[string][]string // by service, over the description's (WithControl)
	infraOpts []InfraOption       // InfraWith
}

// Name names the stack (its vhost and database); default "stack".
func Name(n string) Option { return func(o *options) { o.name = n } }

// OnInfra starts the stack on inf instead of on an Infra of its own.
func OnInfra(inf *Infra) Option { return func(o *options) { o.infra = inf } }

// Replicas sets how many replicas of service run (default: the
// description's).
func Replicas(service string, n int) Option { return func(o *options) { o.replicas[service] = n } }

// Env adds environment variables to service's replicas ("*": every
// service), over the description's.
func Env(service string, kv map[string]string) Option {
	return WithEnvSet(system.EnvSet{service: kv})
}

// WithEnvSet adds a set of environment, such as a control's or a
// failpoint's, over the description's.
func WithEnvSet(set system.EnvSet) Option {
	return func(o *options) {
		for svc, kv := range set {
			if o.env[svc] == nil {
				o.env[svc] = map[string]string{}
			}
			maps.Copy(o.env[svc], kv)
		}
	}
}

// WithToxiproxy puts a Toxiproxy of the stack's own between each service
// and the broker (and the database): every service's broker and database
// variables point at its own proxies, so a network fault on one proxy
// (package fault) cuts one service off while the others keep talking.
// Stack.Proxy returns them. The image is Images.Toxiproxy, built first
// if it is the local one and missing or stale (images.EnsureToxiproxy).
func WithToxiproxy() Option { return func(o *options) { o.toxiproxy = true } }

// Stack is the services of one test, on an Infra.
type Stack struct {
	Name   string
	System *system.System
	Infra  *Infra
	Tenant Tenant

	ownInfra  bool
	replicas  map[string][]*Replica // written only by Start
	toxiproxy *proxies              // WithToxiproxy; written only by Start
}

// Start deploys sys's services and waits until every replica is ready
// and the broker lists a consumer from each that consumes a queue.
// Without OnInfra it starts an Infra of its own, with a database if sys
// has one. It may return a half-built Stack with its error: Terminate it
// either way.
func Start(ctx context.Context, sys *system.System, images Images, opts ...Option) (*Stack, error) {
	o := options{name: "stack", replicas: map[string]int{}, env: system.EnvSet{}, image: map[string]string{}, command: map[string][]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Stack{System: sys, replicas: map[string][]*Replica{}}
	if o.infra == nil {
		inf, err := StartInfra(ctx, images, append([]InfraOption{WithDatabase(sys.HasDatabase())}, o.infraOpts...)...)
		s.Infra, s.ownInfra = inf, true
		if err != nil {
			return s, err
		}
	} else {
		s.Infra = o.infra
		if sys.HasDatabase() && s.Infra.Database == nil {
			return s, fmt.Errorf("start stack: system %s needs a database and the infra has none", sys.Name)
		}
	}
	s.Name = tenantName(o.name) + "_" + newID()
	// The tenant and the Toxiproxy need nothing of each other; the
	// replicas need both.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	if o.toxiproxy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.startToxiproxy(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	t, err := s.Infra.NewTenant(ctx, s.Name, sys.HasDatabase())
	wg.Wait()
	s.Tenant = t
	if err := errors.Join(append(errs, err)...); err != nil {
		return s, fmt.Errorf("start stack %s: %w", s.Name, err)
	}

	for _, svc := range sys.Services {
		svc = o.override(svc)
		n, ok := o.replicas[svc.Name]
		if !ok {
			n = svc.Replicas
		}
		for i := 1; i <= n; i++ {
			r := &Replica{Service: svc.Name, Name: fmt.Sprintf("%s-%d", svc.Name, i), spec: svc, stack: s}
			s.replicas[svc.Name] = append(s.replicas[svc.Name], r)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.run(ctx, o.env.Merge(svc.Name, nil)); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("start stack %s: %w", s.Name, err)
	}
	if err := s.waitConsuming(ctx); err != nil {
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
	return append([]*Replica(nil), s.replicas[service]...)
}

// Replica returns replica i (from 1) of service.
func (s *Stack) Replica(service string, i int) *Replica { return s.Replicas(service)[i-1] }

// URL is the address of service's first running replica, looked up on
// each call, so a client keeps answering while one replica is down.
func (s *Stack) URL(service string) func(ctx context.Context) (string, error) {
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

// Management is a management API client for the stack's vhost.
func (s *Stack) Management() *broker.Management { return s.Infra.Management(s.Tenant.VHost) }

// AMQPURL is the stack's vhost as seen from the host, looked up now.
func (s *Stack) AMQPURL(ctx context.Context) (string, error) {
	return s.Infra.AMQPURL(ctx, s.Tenant.VHost)
}

// DatabaseURL is the stack's database as seen from the host, looked up now.
func (s *Stack) DatabaseURL(ctx context.Context) (string, error) {
	if s.Tenant.Database == "" {
		return "", fmt.Errorf("stack %s has no database", s.Name)
	}
	return s.Infra.DatabaseURL(ctx, s.Tenant.Database)
}

// Engine is what the faults act through.
func (s *Stack) Engine() fault.Engine { return s.Infra.Engine() }

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
			if r.part == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.part.Terminate(ctx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("remove %s: %w", r.Name, err))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	errs = append(errs, s.toxiproxy.terminate(ctx))
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

// Replica is one container (or pod) of a service.
type Replica struct {
	Service string // "inventory"
	Name    string // "inventory-2", also its network alias
	part    Part
	spec    system.Service
	stack   *Stack
}

// vars are what the replica's environment templates see.
func (r *Replica) vars() system.Vars {
	inf, t := r.stack.Infra, r.stack.Tenant
	bh, bp, dh, dp := r.stack.addresses(r.Service)
	v := system.Vars{
		Service: r.Service, Replica: r.Name, BrokerHost: bh, BrokerPort: bp, VHost: t.VHost,
		User: inf.User, Password: inf.Password,
		AMQPURL:  fmt.Sprintf("amqp://%s:%s@%s:%d/%s", inf.User, inf.Password, bh, bp, url.PathEscape(t.VHost)),
		AMQPURLs: strings.Join(inf.BrokerURLs(t.VHost), ","),
	}
	if bh != inf.Broker.Host() {
		// Behind its Toxiproxy the service must reach the broker through
		// the proxy alone, or the network faults would miss it: the
		// proxy fronts one node, so AMQPURLs is the proxied URL.
		v.AMQPURLs = v.AMQPURL
	}
	if t.Database != "" {
		v.DBHost, v.DBPort, v.Database = dh, dp, t.Database
		v.DatabaseURL = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", inf.User, inf.Password, dh, dp, t.Database)
	}
	return v
}

func (r *Replica) run(ctx context.Context, extra map[string]string) error {
	inf := r.stack.Infra
	env := map[string]string{}
	for k, tmpl := range r.spec.Env {
		v, err := system.Render(tmpl, r.vars())
		if err != nil {
			return fmt.Errorf("start %s: env %s: %w", r.Name, k, err)
		}
		env[k] = v
	}
	maps.Copy(env, extra)
	var ports []int
	if r.spec.Port != 0 {
		ports = append(ports, r.spec.Port)
	}
	if r.spec.Ready.TCP != 0 && r.spec.Ready.TCP != r.spec.Port {
		ports = append(ports, r.spec.Ready.TCP)
	}
	p, err := inf.site.run(ctx, partSpec{
		role: r.stack.Name + "-" + r.Name, alias: r.Name, image: r.spec.Image, env: env, cmd: r.spec.Command,
		ports: ports, ready: r.spec.Ready, readyLimit: 90 * time.Second, ulimits: r.spec.Ulimits, docker: r.spec.Options,
	})
	r.part = p
	if err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	return nil
}

// URL is the replica's HTTP address, looked up now; an error if it is not
// running or the service has no port.
func (r *Replica) URL(ctx context.Context) (string, error) {
	hp, err := r.endpoint(ctx, r.spec.Port)
	if err != nil {
		return "", err
	}
	return "http://" + hp, nil
}

func (r *Replica) endpoint(ctx context.Context, port int) (string, error) {
	if r.part == nil {
		return "", fmt.Errorf("%s not started", r.Name)
	}
	if port == 0 {
		return "", fmt.Errorf("%s has no port", r.Name)
	}
	return r.part.Endpoint(ctx, port)
}

// Direct is the replica's HTTP address on the stack's network, as
// "host:port", looked up now: reachable from where the containers' own
// addresses route (a Linux host), without Docker's port proxy between.
func (r *Replica) Direct(ctx context.Context) (string, error) {
	if r.spec.Port == 0 {
		return "", fmt.Errorf("%s has no port", r.Name)
	}
	ips, err := r.Addresses(ctx)
	if err != nil {
		return "", err
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("address of %s: it has none", r.Name)
	}
	return net.JoinHostPort(ips[0], fmt.Sprint(r.spec.Port)), nil
}

// Addresses are the replica's IP addresses, the stack's network's first,
// looked up now: what the broker sees as its connections' peer host.
func (r *Replica) Addresses(ctx context.Context) ([]string, error) {
	if r.part == nil {
		return nil, fmt.Errorf("%s not started", r.Name)
	}
	return r.part.Addresses(ctx)
}

// Target is the replica as a fault target.
func (r *Replica) Target() fault.Target { return r.part.Target() }

// Ready returns nil when the replica passes its readiness check now: its
// HTTP path answers 2xx, or its TCP port accepts, or (with a log check or
// none) it is running.
func (r *Replica) Ready(ctx context.Context) error {
	switch rd := r.spec.Ready; {
	case rd.HTTP != "":
		return probe.Get(ctx, r.URL, rd.HTTP)
	case rd.TCP != 0:
		hp, err := r.endpoint(ctx, rd.TCP)
		if err != nil {
			return err
		}
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", hp)
		if err != nil {
			return err
		}
		return c.Close()
	}
	running, err := r.Running(ctx)
	if err == nil && !running {
		err = fmt.Errorf("%s is not running", r.Name)
	}
	return err
}

// WaitReady blocks until the replica passes its readiness check, polling
// every 200 ms, or ctx ends.
func (r *Replica) WaitReady(ctx context.Context) error { return poll(ctx, r.Ready) }

// Running reports whether the replica's process is running (false after
// it exited, e.g. at a failpoint).
func (r *Replica) Running(ctx context.Context) (bool, error) {
	st, err := r.stack.Engine().State(ctx, r.Target())
	if err != nil {
		return false, fmt.Errorf("state of %s: %w", r.Name, err)
	}
	return st.Running && !st.Paused, nil
}

// ExitCode is the status the replica's process last exited with.
func (r *Replica) ExitCode(ctx context.Context) (int, error) {
	st, err := r.stack.Engine().State(ctx, r.Target())
	if err != nil {
		return 0, fmt.Errorf("state of %s: %w", r.Name, err)
	}
	return st.ExitCode, nil
}

// StartAgain starts a replica that exited, without waiting for readiness.
func (r *Replica) StartAgain(ctx context.Context) error {
	if err := r.stack.Engine().Start(ctx, r.Target()); err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	return nil
}
