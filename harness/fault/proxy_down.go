package fault

import "context"

// ProxyDown disables p: every connection through it is closed at once and
// new ones are refused, as when a host or a load balancer goes away. Unlike
// a black hole, both ends learn of it straight away. Heal enables p again.
func ProxyDown(p Proxy) Fault { return proxyDown{p} }

type proxyDown struct{ p Proxy }

func (d proxyDown) Name() string { return "proxy " + d.p.ProxyName() + " down" }

func (d proxyDown) Inject(ctx context.Context) error { return d.p.SetEnabled(ctx, false) }

func (d proxyDown) Heal(ctx context.Context) error { return d.p.SetEnabled(ctx, true) }
