package fault

import (
	"context"
	"slices"
	"testing"

	"github.com/mqchaos/mqchaos/harness/broker"
)

type fakeBroker struct {
	conns  []broker.Connection
	closed []string
}

func (f *fakeBroker) Connections(context.Context) ([]broker.Connection, error) { return f.conns, nil }
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
