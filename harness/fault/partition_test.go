package fault

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// fakeDocker records the network calls faults make; any other call
// panics (the embedded nil interface).
type fakeDocker struct {
	Docker
	calls []string
}

func (f *fakeDocker) NetworkDisconnect(_ context.Context, nw string, o client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error) {
	f.calls = append(f.calls, fmt.Sprintf("disconnect %s from %s force=%t", o.Container, nw, o.Force))
	return client.NetworkDisconnectResult{}, nil
}

func (f *fakeDocker) NetworkConnect(_ context.Context, nw string, o client.NetworkConnectOptions) (client.NetworkConnectResult, error) {
	ip := "any"
	if o.EndpointConfig.IPAMConfig != nil {
		ip = o.EndpointConfig.IPAMConfig.IPv4Address.String()
	}
	f.calls = append(f.calls, fmt.Sprintf("connect %s to %s as %s at %s", o.Container, nw, strings.Join(o.EndpointConfig.Aliases, ","), ip))
	return client.NetworkConnectResult{}, nil
}

// node is cluster node i as stack.WithCluster makes it.
func node(i int) Target {
	alias := fmt.Sprintf("rabbitmq-%d", i)
	return Target{
		Name: alias, ID: fmt.Sprintf("c%d", i), NetworkID: "stack", Aliases: []string{alias},
		Cluster: Link{NetworkID: "cluster", Aliases: []string{alias}, IPv4: netip.MustParseAddr(fmt.Sprintf("10.9.0.%d", i+1))},
	}
}

func TestSplitCutsTheSmallerSideOffTheClusterNetworkOnly(t *testing.T) {
	for _, tc := range []struct {
		a, b []Target
		name string
		want []string
	}{
		{[]Target{node(1)}, []Target{node(2), node(3)}, "split rabbitmq-1 | rabbitmq-2 rabbitmq-3",
			[]string{"disconnect c1 from cluster force=true", "connect c1 to cluster as rabbitmq-1 at 10.9.0.2"}},
		{[]Target{node(1), node(2)}, []Target{node(3)}, "split rabbitmq-1 rabbitmq-2 | rabbitmq-3",
			[]string{"disconnect c3 from cluster force=true", "connect c3 to cluster as rabbitmq-3 at 10.9.0.4"}},
	} {
		d := &fakeDocker{}
		f := Split(OnDocker(d), tc.a, tc.b)
		if f.Name() != tc.name {
			t.Errorf("Name() = %q, want %q", f.Name(), tc.name)
		}
		if err := f.Inject(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := f.Heal(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.calls, tc.want) {
			t.Errorf("%s: calls\n%s\nwant\n%s", tc.name, strings.Join(d.calls, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

func TestSplitRefusesWhatOneNetworkCannotCut(t *testing.T) {
	single := node(2)
	single.Cluster = Link{}
	for _, tc := range []struct {
		what string
		a, b []Target
		want string
	}{
		{"an empty side", nil, []Target{node(1)}, "a side with no node"},
		{"a node on both sides", []Target{node(1)}, []Target{node(1), node(2)}, "rabbitmq-1 on both sides"},
		{"a node with no cluster network", []Target{node(1)}, []Target{single, node(3)}, "rabbitmq-2 has no cluster network"},
		{"two sides of two", []Target{node(1), node(2)}, []Target{node(3), node(4)}, "the smaller side (rabbitmq-1 rabbitmq-2) would be cut off from itself too"},
	} {
		d := &fakeDocker{}
		f := Split(OnDocker(d), tc.a, tc.b)
		if err := f.Inject(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.what, err, tc.want)
		}
		if len(d.calls) != 0 {
			t.Errorf("%s: the engine was asked %v", tc.what, d.calls)
		}
	}
}

func TestPartitionCutsANodeOffItsPeersAndItsClients(t *testing.T) {
	d := &fakeDocker{}
	f := Partition(OnDocker(d), node(2))
	if f.Name() != "partition rabbitmq-2 off" {
		t.Errorf("Name() = %q", f.Name())
	}
	if err := f.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"disconnect c2 from stack force=true",
		"disconnect c2 from cluster force=true",
		"connect c2 to stack as rabbitmq-2 at any",
		"connect c2 to cluster as rabbitmq-2 at 10.9.0.3",
	}
	if !reflect.DeepEqual(d.calls, want) {
		t.Errorf("calls\n%s\nwant\n%s", strings.Join(d.calls, "\n"), strings.Join(want, "\n"))
	}
}
