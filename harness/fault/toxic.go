package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Proxy is a Toxiproxy proxy between one service and what it talks to, as
// the network faults use it (stack.Stack.Proxy returns one). Toxics apply
// to the connections already open through the proxy and to new ones.
type Proxy interface {
	// ProxyName names the proxy in records: "inventory/amqp".
	ProxyName() string
	// SetToxic adds t, or updates the toxic of t's name if the proxy has
	// one (its toxicity and attributes).
	SetToxic(ctx context.Context, t Toxic) error
	// RemoveToxic removes the toxic named name.
	RemoveToxic(ctx context.Context, name string) error
	// SetEnabled enables or disables the proxy; disabling closes every
	// connection through it and refuses new ones.
	SetEnabled(ctx context.Context, enabled bool) error
	// Toxics reads the proxy's toxics back, and Enabled whether it is
	// enabled: what the network faults' Checks look at.
	Toxics(ctx context.Context) ([]Toxic, error)
	Enabled(ctx context.Context) (bool, error)
}

// Toxic is one Toxiproxy toxic on one direction of a proxy.
type Toxic struct {
	Name       string
	Type       string // "latency", "timeout", ...
	Stream     string // "upstream" or "downstream"
	Toxicity   float32
	Attributes map[string]any
}

// Direction is which way through a proxy a toxic acts.
type Direction int

const (
	// Both directions, each with a toxic of its own.
	Both Direction = iota
	// Upstream is from the service to the broker or database.
	Upstream
	// Downstream is from the broker or database to the service.
	Downstream
)

func (d Direction) streams() []string {
	switch d {
	case Upstream:
		return []string{"upstream"}
	case Downstream:
		return []string{"downstream"}
	}
	return []string{"upstream", "downstream"}
}

func (d Direction) String() string {
	switch d {
	case Upstream:
		return "upstream"
	case Downstream:
		return "downstream"
	}
	return "both ways"
}

// toxic is a fault made of one toxic type on a proxy: Inject sets it on
// every stream of dir at toxicity 1, Heal removes it.
type toxic struct {
	p     Proxy
	typ   string
	dir   Direction
	what  string // for the record: "latency 200ms±50ms"
	attrs map[string]any
	err   error // an invalid argument, returned by Inject
}

func (t toxic) Name() string {
	return fmt.Sprintf("%s on %s (%s)", t.what, t.p.ProxyName(), t.dir)
}

func (t toxic) name(stream string) string { return "mqchaos-" + t.typ + "-" + stream }

func (t toxic) Inject(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	return t.set(ctx, 1)
}

func (t toxic) set(ctx context.Context, toxicity float32) error {
	for _, s := range t.dir.streams() {
		if err := t.p.SetToxic(ctx, Toxic{Name: t.name(s), Type: t.typ, Stream: s, Toxicity: toxicity, Attributes: t.attrs}); err != nil {
			return fmt.Errorf("toxic %s: %w", t.name(s), err)
		}
	}
	return nil
}

func (t toxic) Heal(ctx context.Context) error {
	var errs []error
	for _, s := range t.dir.streams() {
		if err := t.p.RemoveToxic(ctx, t.name(s)); err != nil {
			errs = append(errs, fmt.Errorf("toxic %s: %w", t.name(s), err))
		}
	}
	return errors.Join(errs...)
}

// ms is d in whole milliseconds, Toxiproxy's unit for times.
func ms(d time.Duration) int64 { return d.Milliseconds() }

func notNegative(what string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s %s: must not be negative", what, d)
	}
	return nil
}

// Witness reads the proxy's toxics back and sees every stream's toxic
// there at toxicity 1.
func (t toxic) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		have, err := t.p.Toxics(ctx)
		if err != nil {
			return "", fmt.Errorf("read the toxics of %s: %w", t.p.ProxyName(), err)
		}
		var saw []string
		for _, s := range t.dir.streams() {
			i := slices.IndexFunc(have, func(x Toxic) bool { return x.Name == t.name(s) })
			switch {
			case i < 0:
				return "", fmt.Errorf("no toxic %s on %s", t.name(s), t.p.ProxyName())
			case have[i].Toxicity != 1:
				return "", fmt.Errorf("toxic %s on %s at toxicity %g", t.name(s), t.p.ProxyName(), have[i].Toxicity)
			}
			saw = append(saw, s)
		}
		return fmt.Sprintf("%s toxic %s on %s", t.typ, strings.Join(saw, "+"), t.p.ProxyName()), nil
	}, nil
}
