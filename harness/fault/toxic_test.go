package fault

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

// fakeProxy records what faults ask of a proxy.
type fakeProxy struct {
	set     []Toxic
	removed []string
	enabled []bool
	fail    error
	deaf    bool // takes nothing in: reads back no toxic, always enabled
}

func (p *fakeProxy) ProxyName() string { return "inventory/amqp" }

func (p *fakeProxy) SetToxic(_ context.Context, t Toxic) error {
	p.set = append(p.set, t)
	return p.fail
}

func (p *fakeProxy) RemoveToxic(_ context.Context, name string) error {
	p.removed = append(p.removed, name)
	return p.fail
}

func (p *fakeProxy) SetEnabled(_ context.Context, on bool) error {
	p.enabled = append(p.enabled, on)
	return p.fail
}

// Toxics is what was set and not removed since, the last setting of
// each name; a proxy that drops its settings (deaf) has none.
func (p *fakeProxy) Toxics(context.Context) ([]Toxic, error) {
	var have []Toxic
	for _, t := range p.set {
		if i := slices.IndexFunc(have, func(x Toxic) bool { return x.Name == t.Name }); i >= 0 {
			have[i] = t
			continue
		}
		have = append(have, t)
	}
	return slices.DeleteFunc(have, func(t Toxic) bool { return p.deaf || slices.Contains(p.removed, t.Name) }), p.fail
}

func (p *fakeProxy) Enabled(context.Context) (bool, error) {
	if len(p.enabled) == 0 || p.deaf {
		return true, p.fail
	}
	return p.enabled[len(p.enabled)-1], p.fail
}

// The network faults read their toxic or the proxy's state back, and a
// proxy that took nothing in makes them fail as no effect.
func TestNetworkFaultsSeeTheirMarkOnTheProxy(t *testing.T) {
	for _, tc := range []struct {
		f    func(Proxy) Fault
		seen string
	}{
		{func(p Proxy) Fault { return Latency(p, Both, time.Second, 0) }, "injected: latency toxic upstream+downstream on inventory/amqp"},
		{func(p Proxy) Fault { return BlackHole(p) }, "injected: timeout toxic upstream+downstream on inventory/amqp"},
		{func(p Proxy) Fault { return ProxyDown(p) }, "injected: proxy inventory/amqp disabled"},
	} {
		h := &history.History{}
		f := tc.f(&fakeProxy{})
		if err := Inject(t.Context(), h, f); err != nil || h.Ops()[0].Detail != tc.seen {
			t.Errorf("%s: %v, %+v; want %q", f.Name(), err, h.Ops(), tc.seen)
		}
		if err := Inject(t.Context(), h, tc.f(&fakeProxy{deaf: true})); !errors.Is(err, ErrNoEffect) {
			t.Errorf("%s on a deaf proxy: %v, want ErrNoEffect", f.Name(), err)
		}
	}
	// A black hole healed stays in place at toxicity 0: injecting it again
	// must set it back to 1 for its Check to see it.
	p := &fakeProxy{}
	h := &history.History{}
	bh := BlackHole(p)
	for range 2 {
		if err := Inject(t.Context(), h, bh); err != nil {
			t.Fatal(err)
		}
		if err := Heal(t.Context(), h, bh); err != nil {
			t.Fatal(err)
		}
	}
}

func TestToxicsSetTheirAttributes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     func(Proxy) Fault
		typ   string
		attrs map[string]any
		title string
	}{
		{"latency", func(p Proxy) Fault { return Latency(p, Downstream, 200*time.Millisecond, 50*time.Millisecond) },
			"latency", map[string]any{"latency": int64(200), "jitter": int64(50)}, "latency 200ms±50ms on inventory/amqp (downstream)"},
		{"bandwidth", func(p Proxy) Fault { return Bandwidth(p, Downstream, 16) },
			"bandwidth", map[string]any{"rate": int64(16)}, "bandwidth 16 KB/s on inventory/amqp (downstream)"},
		{"reset_peer", func(p Proxy) Fault { return ResetPeer(p, Downstream, 1500*time.Millisecond) },
			"reset_peer", map[string]any{"timeout": int64(1500)}, "reset_peer after 1.5s on inventory/amqp (downstream)"},
		{"slicer", func(p Proxy) Fault { return Slicer(p, Downstream, 64, 16, 2*time.Millisecond) },
			"slicer", map[string]any{"average_size": 64, "size_variation": 16, "delay": int64(2000)}, "slicer 64±16 bytes every 2ms on inventory/amqp (downstream)"},
		{"limit_data", func(p Proxy) Fault { return LimitData(p, Downstream, 4096) },
			"limit_data", map[string]any{"bytes": int64(4096)}, "limit_data 4096 bytes on inventory/amqp (downstream)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakeProxy{}
			f := tc.f(p)
			if f.Name() != tc.title {
				t.Errorf("name %q, want %q", f.Name(), tc.title)
			}
			if err := f.Inject(t.Context()); err != nil {
				t.Fatal(err)
			}
			want := []Toxic{{Name: "mqchaos-" + tc.typ + "-downstream", Type: tc.typ, Stream: "downstream", Toxicity: 1, Attributes: tc.attrs}}
			if !reflect.DeepEqual(p.set, want) {
				t.Errorf("set %+v, want %+v", p.set, want)
			}
			if err := f.Heal(t.Context()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.removed, []string{"mqchaos-" + tc.typ + "-downstream"}) {
				t.Errorf("removed %v", p.removed)
			}
		})
	}
}

func TestBothDirectionsGetAToxicEach(t *testing.T) {
	p := &fakeProxy{}
	f := Latency(p, Both, time.Second, 0)
	if err := f.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(p.set) != 2 || p.set[0].Stream != "upstream" || p.set[1].Stream != "downstream" || p.set[0].Name == p.set[1].Name {
		t.Fatalf("set %+v: want one toxic upstream and one downstream, named apart", p.set)
	}
	if err := f.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.removed, []string{"mqchaos-latency-upstream", "mqchaos-latency-downstream"}) {
		t.Errorf("removed %v", p.removed)
	}
}

// A black hole heals without closing anything: its toxics stay, at
// toxicity 0, because Toxiproxy closes the connections of a removed
// timeout toxic.
func TestBlackHoleHealsByToxicityZero(t *testing.T) {
	p := &fakeProxy{}
	f := BlackHole(p)
	if f.Name() != "black hole on inventory/amqp (both ways)" {
		t.Errorf("name %q", f.Name())
	}
	if err := f.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(p.removed) != 0 {
		t.Errorf("heal removed %v: it must leave the toxics in place", p.removed)
	}
	var got []float32
	for _, tx := range p.set {
		if tx.Type != "timeout" || tx.Attributes["timeout"] != int64(0) {
			t.Errorf("toxic %+v: want a timeout of 0", tx)
		}
		got = append(got, tx.Toxicity)
	}
	if !reflect.DeepEqual(got, []float32{1, 1, 0, 0}) {
		t.Errorf("toxicities %v: want both streams at 1, then both at 0", got)
	}
}

func TestTimeoutNamesItsDelay(t *testing.T) {
	p := &fakeProxy{}
	f := Timeout(p, Downstream, 3*time.Second)
	if err := f.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.Name() != "timeout 3s on inventory/amqp (downstream)" || p.set[0].Attributes["timeout"] != int64(3000) {
		t.Errorf("name %q, toxic %+v", f.Name(), p.set[0])
	}
}

func TestProxyDownDisablesAndEnables(t *testing.T) {
	p := &fakeProxy{}
	f := ProxyDown(p)
	if err := f.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.enabled, []bool{false, true}) || f.Name() != "proxy inventory/amqp down" {
		t.Errorf("enabled %v, name %q", p.enabled, f.Name())
	}
}

func TestInvalidArgumentsFailInjectAndTouchNothing(t *testing.T) {
	for _, tc := range []struct {
		f    func(Proxy) Fault
		want string
	}{
		{func(p Proxy) Fault { return Latency(p, Both, -time.Second, 0) }, "latency -1s: must not be negative"},
		{func(p Proxy) Fault { return Latency(p, Both, time.Second, -time.Second) }, "jitter -1s"},
		{func(p Proxy) Fault { return Bandwidth(p, Both, 0) }, "want at least 1"},
		{func(p Proxy) Fault { return Timeout(p, Both, -time.Millisecond) }, "timeout -1ms"},
		{func(p Proxy) Fault { return ResetPeer(p, Both, -time.Millisecond) }, "reset_peer timeout"},
		{func(p Proxy) Fault { return Slicer(p, Both, 0, 0, 0) }, "average size 0"},
		{func(p Proxy) Fault { return Slicer(p, Both, 8, 8, 0) }, "size variation 8"},
		{func(p Proxy) Fault { return Slicer(p, Both, 8, 1, -time.Microsecond) }, "slicer delay"},
		{func(p Proxy) Fault { return LimitData(p, Both, 0) }, "limit_data 0 bytes"},
	} {
		p := &fakeProxy{}
		err := tc.f(p).Inject(t.Context())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Inject: %v, want an error containing %q", err, tc.want)
		}
		if len(p.set) != 0 {
			t.Errorf("an invalid fault set %+v", p.set)
		}
	}
}

func TestProxyErrorsNameTheToxic(t *testing.T) {
	p := &fakeProxy{fail: errors.New("HTTP 404: proxy not found")}
	err := Inject(t.Context(), recorder{}, Latency(p, Upstream, time.Second, 0))
	if err == nil || err.Error() != "inject latency 1s±0s on inventory/amqp (upstream): toxic mqchaos-latency-upstream: HTTP 404: proxy not found" {
		t.Errorf("error %v", err)
	}
}

type recorder struct{}

func (recorder) Invoke(string, string) int             { return 0 }
func (recorder) Complete(int, history.Outcome, string) {}
