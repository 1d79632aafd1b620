package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/images"
	"github.com/mqchaos/mqchaos/harness/system"
)

// What a proxy stands in front of, as Stack.Proxy names it.
const (
	ProxyAMQP     = "amqp"
	ProxyDatabase = "database"
)

// proxies is a stack's Toxiproxy: one container on the stack's network and,
// for each service, a proxy to the broker (and one to the database).
type proxies struct {
	part   Part
	alias  string
	byName map[string]*Proxy // by service + "/" + ProxyAMQP or ProxyDatabase
}

// startToxiproxy starts the stack's Toxiproxy and creates its proxies.
func (s *Stack) startToxiproxy(ctx context.Context) error {
	image := s.Infra.Images.Toxiproxy
	if image == "" {
		image = images.Toxiproxy
	}
	if err := images.EnsureToxiproxy(ctx, image, s.Infra.Images.ToxiproxyServer); err != nil {
		return err
	}
	tp := &proxies{alias: "toxiproxy-" + strings.ReplaceAll(s.Name, "_", "-"), byName: map[string]*Proxy{}}
	s.toxiproxy = tp
	// Every proxy listens on a port of its own: the services reach them
	// there, on Kubernetes through the Toxiproxy's Service.
	ports := []int{8474}
	for i := range s.System.Services {
		ports = append(ports, 10000+i)
		if s.System.HasDatabase() {
			ports = append(ports, 20000+i)
		}
	}
	p, err := s.Infra.site.run(ctx, partSpec{
		role: s.Name + "-toxiproxy", alias: tp.alias, image: image, ports: ports, inner: ports[1:],
		// The toxics draw jitter, slice sizes and toxicity from Go's
		// global source, which Toxiproxy's -seed (2.12.0) does not seed:
		// it seeds a source it throws away. Go's randautoseed=0 starts the
		// global source from 1, so every run draws the same sequence.
		env:   map[string]string{"GODEBUG": "randautoseed=0"},
		ready: system.Ready{HTTP: "/version"}, readyLimit: time.Minute,
	})
	tp.part = p
	if err != nil {
		return fmt.Errorf("start toxiproxy: %w", err)
	}
	for i, svc := range s.System.Services {
		targets := []struct {
			kind, upstream string
			port           int
		}{{ProxyAMQP, s.Infra.Broker.Host() + ":5672", 10000 + i}}
		if s.System.HasDatabase() {
			targets = append(targets, struct {
				kind, upstream string
				port           int
			}{ProxyDatabase, s.Infra.Database.Host() + ":5432", 20000 + i})
		}
		for _, t := range targets {
			p := &Proxy{Service: svc.Name, Upstream: t.kind, Port: t.port, name: svc.Name + "-" + t.kind, stack: s}
			cl, err := p.client(ctx)
			if err != nil {
				return err
			}
			if _, err := cl.CreateProxy(p.name, fmt.Sprintf("0.0.0.0:%d", t.port), t.upstream); err != nil {
				return fmt.Errorf("create proxy %s: %w", p.name, err)
			}
			tp.byName[p.ProxyName()] = p
		}
	}
	return nil
}

// addresses is where service reaches the broker and the database inside
// the network: their aliases, or with Toxiproxy its own proxies.
func (s *Stack) addresses(service string) (brokerHost string, brokerPort int, dbHost string, dbPort int) {
	brokerHost, brokerPort, dbPort = s.Infra.Broker.Host(), 5672, 5432
	if s.Infra.Database != nil {
		dbHost = s.Infra.Database.Host()
	}
	if s.toxiproxy == nil {
		return
	}
	if p := s.toxiproxy.byName[service+"/"+ProxyAMQP]; p != nil {
		brokerHost, brokerPort = s.toxiproxy.part.Host(), p.Port
	}
	if p := s.toxiproxy.byName[service+"/"+ProxyDatabase]; p != nil {
		dbHost, dbPort = s.toxiproxy.part.Host(), p.Port
	}
	return
}

func (tp *proxies) terminate(ctx context.Context) error {
	if tp == nil || tp.part == nil {
		return nil
	}
	if err := tp.part.Terminate(ctx); err != nil {
		return fmt.Errorf("remove toxiproxy: %w", err)
	}
	return nil
}

// Proxy returns the proxy between service and the broker (ProxyAMQP) or
// the database (ProxyDatabase), for the network faults of package fault.
// Only a stack started WithToxiproxy has proxies.
func (s *Stack) Proxy(service, upstream string) (*Proxy, error) {
	if s.toxiproxy == nil {
		return nil, fmt.Errorf("stack %s has no toxiproxy: start it WithToxiproxy()", s.Name)
	}
	p := s.toxiproxy.byName[service+"/"+upstream]
	if p == nil {
		return nil, fmt.Errorf("stack %s has no proxy %s/%s", s.Name, service, upstream)
	}
	return p, nil
}

// Proxy is one Toxiproxy proxy of a stack; it satisfies fault.Proxy.
// Toxiproxy's Go client takes no context: each call checks ctx before it
// starts, and is bounded by the client's own 30 s timeout. Safe for
// concurrent use.
type Proxy struct {
	Service  string // "inventory"
	Upstream string // ProxyAMQP or ProxyDatabase
	Port     int    // where it listens, inside the stack's network
	name     string // Toxiproxy's name for it: "inventory-amqp"
	stack    *Stack
}

var _ fault.Proxy = (*Proxy)(nil)

// ProxyName is "service/upstream", e.g. "inventory/amqp".
func (p *Proxy) ProxyName() string { return p.Service + "/" + p.Upstream }

// client is a Toxiproxy client of the API's address, looked up now.
func (p *Proxy) client(ctx context.Context) (*toxiproxy.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hp, err := p.stack.toxiproxy.part.Endpoint(ctx, 8474)
	if err != nil {
		return nil, err
	}
	return toxiproxy.NewClient((&url.URL{Scheme: "http", Host: hp}).String()), nil
}

func (p *Proxy) get(ctx context.Context) (*toxiproxy.Proxy, error) {
	cl, err := p.client(ctx)
	if err != nil {
		return nil, err
	}
	tp, err := cl.Proxy(p.name)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", p.name, err)
	}
	return tp, nil
}

// SetToxic adds t, or updates the toxic of its name (toxicity and
// attributes) when the proxy has one.
func (p *Proxy) SetToxic(ctx context.Context, t fault.Toxic) error {
	tp, err := p.get(ctx)
	if err != nil {
		return err
	}
	_, err = tp.AddToxic(t.Name, t.Type, t.Stream, t.Toxicity, toxiproxy.Attributes(t.Attributes))
	var apiErr *toxiproxy.ApiError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
		_, err = tp.UpdateToxic(t.Name, t.Toxicity, toxiproxy.Attributes(t.Attributes))
	}
	return err
}

// RemoveToxic removes the toxic named name.
func (p *Proxy) RemoveToxic(ctx context.Context, name string) error {
	tp, err := p.get(ctx)
	if err != nil {
		return err
	}
	return tp.RemoveToxic(name)
}

// SetEnabled enables or disables the proxy; disabling closes every
// connection through it.
func (p *Proxy) SetEnabled(ctx context.Context, enabled bool) error {
	tp, err := p.get(ctx)
	if err != nil {
		return err
	}
	if enabled {
		return tp.Enable()
	}
	return tp.Disable()
}

// Toxics reads the proxy's toxics back from Toxiproxy.
func (p *Proxy) Toxics(ctx context.Context) ([]fault.Toxic, error) {
	tp, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := tp.Toxics()
	if err != nil {
		return nil, fmt.Errorf("proxy %s: toxics: %w", p.name, err)
	}
	out := make([]fault.Toxic, len(ts))
	for i, t := range ts {
		out[i] = fault.Toxic{Name: t.Name, Type: t.Type, Stream: t.Stream, Toxicity: t.Toxicity, Attributes: t.Attributes}
	}
	return out, nil
}

// Enabled reads back whether the proxy is enabled.
func (p *Proxy) Enabled(ctx context.Context) (bool, error) {
	tp, err := p.get(ctx)
	if err != nil {
		return false, err
	}
	return tp.Enabled, nil
}
