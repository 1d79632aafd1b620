package fault

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// fakeBroker lists conns but those closed; with dropAt > 0, it drops
// every connection at its dropAt-th listing, as a broker whose peer
// stopped its heartbeats does.
type fakeBroker struct {
	conns         []broker.Connection
	closed        []string
	lists, dropAt int
}

func (f *fakeBroker) Connections(context.Context) ([]broker.Connection, error) {
	f.lists++
	if f.dropAt > 0 && f.lists >= f.dropAt {
		return nil, nil
	}
	return slices.DeleteFunc(slices.Clone(f.conns), func(c broker.Connection) bool { return slices.Contains(f.closed, c.Name) }), nil
}

func (f *fakeBroker) CloseConnection(_ context.Context, name, _ string) error {
	f.closed = append(f.closed, name)
	return nil
}

func TestCloseConnectionsClosesOnlyTheReplicas(t *testing.T) {
	b := &fakeBroker{conns: []broker.Connection{{Name: "a", PeerHost: "10.0.0.2"}, {Name: "b", PeerHost: "10.0.0.3"}, {Name: "c", PeerHost: "10.0.0.2"}}}
	if err := CloseConnections(b, "inventory-1", "10.0.0.2").Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.closed, []string{"a", "c"}) {
		t.Errorf("closed %v", b.closed)
	}
	if err := CloseConnections(&fakeBroker{}, "x", "10.0.0.9").Inject(context.Background()); err == nil {
		t.Error("closing nothing was taken for a fault")
	}
}

// A closing the broker did not carry out fails as no effect.
func TestCloseConnectionsSeesThemGone(t *testing.T) {
	conns := []broker.Connection{{Name: "a", PeerHost: "10.0.0.2"}, {Name: "b", PeerHost: "10.0.0.3"}}
	h := &history.History{}
	if err := Inject(t.Context(), h, CloseConnections(&fakeBroker{conns: conns}, "inventory-1", "10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	if d := h.Ops()[0].Detail; !strings.HasPrefix(d, "injected: the broker dropped the 1 connections of inventory-1 after") {
		t.Errorf("detail %q", d)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	check, _ := CloseConnections(&fakeBroker{conns: conns}, "inventory-1", "10.0.0.2").Witness(ctx)
	if _, err := check(ctx); err == nil || !strings.Contains(err.Error(), "the broker still lists 1 of the 1 connections of inventory-1") {
		t.Errorf("connections left open: %v", err)
	}
}

// Sever counts as injected once the broker dropped the container's
// connections; a cut the broker never notices fails as no effect.
func TestSeverHoldsUntilTheBrokerDropsTheConnections(t *testing.T) {
	target := Target{Name: "inventory-1", ID: "c1", NetworkID: "n1"}
	conns := []broker.Connection{{Name: "a", PeerHost: "10.0.0.2", Timeout: 2}}
	b := &fakeBroker{conns: conns, dropAt: 4}
	h := &history.History{}
	if err := Inject(t.Context(), h, Sever(OnDocker(newEngine(false)), b, target, "10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	if d := h.Ops()[0].Detail; !strings.HasPrefix(d, "injected: off network n1; the broker dropped the 1 connections of inventory-1 after") || b.lists < 4 {
		t.Errorf("detail %q after %d listings", d, b.lists)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := Inject(ctx, h, Sever(OnDocker(newEngine(false)), &fakeBroker{conns: conns}, target, "10.0.0.2"))
	if !errors.Is(err, ErrNoEffect) || !strings.Contains(err.Error(), "still lists 1 of the 1 connections of inventory-1 (heartbeat 2s)") {
		t.Errorf("a cut never noticed: %v", err)
	}
	for _, tc := range []struct {
		timeouts []int
		want     time.Duration
	}{{[]int{2, 2}, 18 * time.Second}, {[]int{2, 30}, 130 * time.Second}, {[]int{2, 0}, time.Minute}} {
		var cs []broker.Connection
		for _, s := range tc.timeouts {
			cs = append(cs, broker.Connection{Timeout: s})
		}
		if got := heartbeats(cs); got != tc.want {
			t.Errorf("heartbeats %v: %s, want %s", tc.timeouts, got, tc.want)
		}
	}
}
