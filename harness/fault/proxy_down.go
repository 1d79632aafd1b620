package fault

import (
	"context"
	"fmt"
)

// ProxyDown disables p: every connection through it is closed at once and
// new ones are refused, as when a host or a load balancer goes away. Unlike
// a black hole, both ends learn of it straight away. Heal enables p again.
func ProxyDown(p Proxy) Fault { return proxyDown{p} }

type proxyDown struct{ p Proxy }

func (d proxyDown) Name() string { return "proxy " + d.p.ProxyName() + " down" }

// Witness reads the proxy back and sees it disabled.
func (d proxyDown) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		on, err := d.p.Enabled(ctx)
		switch {
		case err != nil:
			return "", fmt.Errorf("read proxy %s: %w", d.p.ProxyName(), err)
		case on:
			return "", fmt.Errorf("proxy %s still enabled", d.p.ProxyName())
		}
		return "proxy " + d.p.ProxyName() + " disabled", nil
	}, nil
}

func (d proxyDown) Inject(ctx context.Context) error { return d.p.SetEnabled(ctx, false) }

func (d proxyDown) Heal(ctx context.Context) error { return d.p.SetEnabled(ctx, true) }
