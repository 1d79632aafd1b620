package stack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	dnetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/fault"
)

// WithCluster starts n RabbitMQ nodes clustered together instead of one
// (n < 2: one node, the default). Every node runs the same image as the
// single node (Images.RabbitMQ), so a cluster works offline with the
// Debian-built image and online with the public one.
//
// The nodes are named by stable aliases, rabbitmq-1 … rabbitmq-n, which
// are also their host names, so node names (rabbit@rabbitmq-1) and their
// data survive a restart. They share one Erlang cookie (written to
// /var/lib/rabbitmq/.erlang.cookie, which both images read) and find each
// other through classic_config peer discovery in a file of
// /etc/rabbitmq/conf.d (rabbitmq.conf stays the image's own).
// rabbitmq-1 also answers to the single node's alias, rabbitmq, so a
// service written for one node keeps working while rabbitmq-1 lives.
//
// The nodes talk to each other over a network of their own, the
// cluster network, and to clients over the infra's network as a single
// node does (aliases there, ports published from there). That way a
// fault can cut nodes off from each other while clients keep reaching
// every node (fault.Split): a split with clients on both sides. A node's
// peers' names resolve, on the node, to their fixed addresses on the
// cluster network, from an Erlang hosts table (ERL_INETRC), never
// through Docker's DNS or /etc/hosts: both also know the names on the
// infra's network, and Docker rewrites /etc/hosts when a network is
// disconnected, so a node cut off the cluster network would reach its
// peers the other way.
//
// StartInfra returns once every node is running and every node sees all
// n running in GET /api/nodes: a formed cluster, not n started nodes.
// Quorum queues declared after that get a member on every node.
func WithCluster(n int) InfraOption { return func(o *infraOptions) { o.nodes = n } }

// NodeAlias is node i's (from 1) network alias and host name.
func NodeAlias(i int) string { return fmt.Sprintf("%s-%d", BrokerAlias, i) }

// Node is one RabbitMQ node of the Infra: the only one, or one of a
// cluster's (WithCluster).
type Node struct {
	Alias     string     // its network alias and host name: "rabbitmq-2", or "rabbitmq" for a single node
	NodeName  string     // "rabbit@rabbitmq-2"; "" for a single node, whose name is the image's default
	ClusterIP netip.Addr // its fixed address on the cluster network; zero for a single node
	part      Part
	inf       *Infra
}

// Endpoint is where the harness reaches the node's port, looked up now;
// an error while it is down.
func (n *Node) Endpoint(ctx context.Context, port int) (string, error) {
	if n.part == nil {
		return "", fmt.Errorf("%s not started", n.Alias)
	}
	return n.part.Endpoint(ctx, port)
}

// Nodes returns the broker's nodes in order: one for a single node.
func (inf *Infra) Nodes() []*Node { return slices.Clone(inf.nodes) }

// Clustered reports whether the broker is a cluster of several nodes.
func (inf *Infra) Clustered() bool { return len(inf.nodes) > 1 }

// NodeNamed returns the node whose Erlang node name is name (as the
// management API gives it, e.g. a queue's leader), or nil.
func (inf *Infra) NodeNamed(name string) *Node {
	for _, n := range inf.nodes {
		if n.NodeName == name {
			return n
		}
	}
	return nil
}

// BrokerURLs are every node's AMQP URL for vhost as services see them
// inside the network, by alias, in node order: what a client that fails
// over between nodes is given. One URL for a single node.
func (inf *Infra) BrokerURLs(vhost string) []string {
	var out []string
	for _, n := range inf.nodes {
		out = append(out, n.InternalAMQPURL(vhost))
	}
	return out
}

// AMQPURLs are every node's AMQP URL for vhost as seen from the host,
// looked up now, in node order; a node that is not running is left out.
// An error only if none is.
func (inf *Infra) AMQPURLs(ctx context.Context, vhost string) ([]string, error) {
	var out []string
	var errs []error
	for _, n := range inf.nodes {
		u, err := n.AMQPURL(ctx, vhost)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no running broker node: %w", errors.Join(errs...))
	}
	return out, nil
}

// AMQPURL is the node's address for vhost as seen from the host, looked
// up now (it changes when the node restarts); an error while it is down.
func (n *Node) AMQPURL(ctx context.Context, vhost string) (string, error) {
	hp, err := n.Endpoint(ctx, 5672)
	if err != nil {
		return "", fmt.Errorf("%s: %w", n.Alias, err)
	}
	return fmt.Sprintf("amqp://%s:%s@%s/%s", n.inf.User, n.inf.Password, hp, url.PathEscape(vhost)), nil
}

// InternalAMQPURL is the node's address for vhost inside the network, by
// alias: it does not change.
func (n *Node) InternalAMQPURL(vhost string) string {
	return fmt.Sprintf("amqp://%s:%s@%s:5672/%s", n.inf.User, n.inf.Password, n.part.Host(), url.PathEscape(vhost))
}

// ManagementURL is the node's management API address, looked up now.
func (n *Node) ManagementURL(ctx context.Context) (string, error) {
	hp, err := n.Endpoint(ctx, 15672)
	if err != nil {
		return "", fmt.Errorf("%s: %w", n.Alias, err)
	}
	return "http://" + hp, nil
}

// Management is a management API client of this node for vhost.
func (n *Node) Management(vhost string) *broker.Management {
	return &broker.Management{BaseURL: n.ManagementURL, User: n.inf.User, Password: n.inf.Password, VHost: vhost}
}

// Target is the node as a fault target; its aliases (and its address on
// the cluster network) are restored when a Disconnect, Split or
// Partition heals.
func (n *Node) Target() fault.Target {
	t := n.part.Target()
	if n.inf.Clustered() && n == n.inf.nodes[0] {
		t.Aliases = append(t.Aliases, BrokerAlias)
	}
	if n.inf.clusterNetwork != nil {
		t.Cluster = fault.Link{NetworkID: n.inf.clusterNetwork.ID, Aliases: []string{n.Alias}, IPv4: n.ClusterIP}
	}
	return t
}

// Targets are the given nodes (all of them if none is given) as fault
// targets, for a Split.
func Targets(nodes ...*Node) []fault.Target {
	var out []fault.Target
	for _, n := range nodes {
		out = append(out, n.Target())
	}
	return out
}

// Running reports whether the node's container runs now.
func (n *Node) Running(ctx context.Context) (bool, error) {
	if n.part == nil {
		return false, nil
	}
	st, err := n.inf.Engine().State(ctx, n.part.Target())
	if err != nil {
		return false, fmt.Errorf("state of %s: %w", n.Alias, err)
	}
	return st.Running && !st.Paused, nil
}

// Ready returns nil when the node accepts an AMQP connection and its
// management API answers now.
func (n *Node) Ready(ctx context.Context) error {
	u, err := n.AMQPURL(ctx, "/")
	if err != nil {
		return err
	}
	conn, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return fmt.Errorf("%s: %w", n.Alias, err)
	}
	conn.Close()
	if _, err := n.Management("/").Nodes(ctx); err != nil {
		return fmt.Errorf("%s: %w", n.Alias, err)
	}
	return nil
}

// Formed returns nil when every node answers and sees every node of the
// cluster running (GET /api/nodes), i.e. the cluster is whole now.
func (inf *Infra) Formed(ctx context.Context) error {
	want := make([]string, 0, len(inf.nodes))
	for _, n := range inf.nodes {
		want = append(want, n.NodeName)
	}
	for _, n := range inf.nodes {
		if err := n.Ready(ctx); err != nil {
			return err
		}
		if !inf.Clustered() {
			continue
		}
		seen, err := n.Management("/").Nodes(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Alias, err)
		}
		var running []string
		for _, s := range seen {
			if s.Running {
				running = append(running, s.Name)
			}
		}
		slices.Sort(running)
		if !slices.Equal(running, want) {
			return fmt.Errorf("%s sees %s running, want %s", n.Alias, strings.Join(running, ","), strings.Join(want, ","))
		}
	}
	return nil
}

// WaitFormed blocks until Formed holds, polling every 200 ms, or ctx
// ends. Use it after a node restarts: the node is back when the others
// see it running again.
func (inf *Infra) WaitFormed(ctx context.Context) error { return poll(ctx, inf.Formed) }

// inetrcPath is where a node's Erlang hosts table goes (inetrc).
const inetrcPath = "/etc/rabbitmq/mqchaos-inetrc"

// clusterConf is the classic_config peer discovery of n nodes.
// pause_minority: a node cut off from the majority stops serving
// (the setting RabbitMQ recommends for three nodes). The nodes start in
// parallel; classic_config takes a lock among the listed nodes, so one
// forms the cluster and the others join it. The node that takes the lock
// first finds its peers still booting (no tables yet) and retries them
// before it forms the cluster alone: 10 times every 500 ms by default,
// 5 s of every start spent waiting for peers that cannot answer yet;
// every 200 ms here (2 s), still long enough for a peer that has tables
// to answer.
func clusterConf(n int) string {
	var b strings.Builder
	b.WriteString("# written by mqchaos (harness/stack)\n")
	b.WriteString("cluster_formation.peer_discovery_backend = classic_config\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "cluster_formation.classic_config.nodes.%d = rabbit@%s\n", i, NodeAlias(i))
	}
	b.WriteString("cluster_formation.discovery_retry_interval = 200\n")
	b.WriteString("cluster_partition_handling = pause_minority\n")
	return b.String()
}

// inetrc is node self's Erlang hosts table: every other node's name at
// its address on the cluster network, looked up before the system's
// resolver. Its own name is left to the system, where it resolves to an
// address the node has even while cut off the cluster network (for
// rabbitmqctl inside it).
func inetrc(nodes []*Node, self *Node) string {
	var b strings.Builder
	b.WriteString("%% written by mqchaos (harness/stack): peers over the cluster network\n")
	for _, n := range nodes {
		if n == self {
			continue
		}
		ip := n.ClusterIP.As4()
		fmt.Fprintf(&b, "{host, {%d,%d,%d,%d}, [\"%s\"]}.\n", ip[0], ip[1], ip[2], ip[3], n.Alias)
	}
	b.WriteString("{lookup, [file, native]}.\n")
	return b.String()
}

// createClusterNetwork creates the network the nodes talk to each other
// over: internal (no way out, and never the one that publishes ports or
// holds the default route), with a subnet of its own so that each node
// can have a fixed address there (the engine takes a fixed address only
// on a subnet it was given). The subnet is the one the engine picks for
// a network created first without one, so it fits whatever else runs on
// the machine.
func (inf *Infra) createClusterNetwork(ctx context.Context) (netip.Prefix, error) {
	var errs []error
	for range 3 {
		probe, err := network.New(ctx, network.WithInternal(), network.WithLabels(inf.labels))
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("create cluster network: %w", err)
		}
		got, err := inf.docker.NetworkInspect(ctx, probe.ID, client.NetworkInspectOptions{})
		err = errors.Join(err, probe.Remove(ctx))
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("create cluster network: %w", err)
		}
		if len(got.Network.IPAM.Config) == 0 || !got.Network.IPAM.Config[0].Subnet.Addr().Is4() {
			return netip.Prefix{}, errors.New("create cluster network: the engine gave it no IPv4 subnet")
		}
		subnet := got.Network.IPAM.Config[0].Subnet.Masked()
		nw, err := network.New(ctx, network.WithInternal(), network.WithLabels(inf.labels),
			network.WithIPAM(&dnetwork.IPAM{Driver: "default", Config: []dnetwork.IPAMConfig{{Subnet: subnet}}}))
		if err == nil {
			inf.clusterNetwork = nw
			return subnet, nil
		}
		// Another network took the subnet meanwhile: pick again.
		errs = append(errs, err)
	}
	return netip.Prefix{}, fmt.Errorf("create cluster network: %w", errors.Join(errs...))
}

// joinClusterNetwork connects a created node to the cluster network at
// its fixed address, before it starts.
func (inf *Infra) joinClusterNetwork(node *Node) testcontainers.CustomizeRequestOption {
	return testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
		PostCreates: []testcontainers.ContainerHook{func(ctx context.Context, c testcontainers.Container) error {
			_, err := inf.docker.NetworkConnect(ctx, inf.clusterNetwork.ID, client.NetworkConnectOptions{
				Container: c.GetContainerID(),
				EndpointConfig: &dnetwork.EndpointSettings{
					Aliases: []string{node.Alias}, IPAMConfig: &dnetwork.EndpointIPAMConfig{IPv4Address: node.ClusterIP},
				},
			})
			if err != nil {
				return fmt.Errorf("join cluster network: %w", err)
			}
			return nil
		}},
	})
}

// startCluster starts n nodes in parallel and waits until they form one
// cluster. inf.Broker is the first node's container.
func (inf *Infra) startCluster(ctx context.Context, n int, brokerEnv map[string]string) error {
	cookie := "mqchaos-" + inf.ID + "-" + newID() + newID()
	conf := clusterConf(n)
	subnet, err := inf.createClusterNetwork(ctx)
	if err != nil {
		return err
	}
	inf.nodes = make([]*Node, n)
	ip := subnet.Addr().Next() // the gateway's; the nodes' follow
	for i := range inf.nodes {
		ip = ip.Next()
		inf.nodes[i] = &Node{Alias: NodeAlias(i + 1), NodeName: "rabbit@" + NodeAlias(i+1), ClusterIP: ip, inf: inf}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, node := range inf.nodes {
		aliases := []string{node.Alias}
		if i == 0 {
			aliases = append(aliases, BrokerAlias)
		}
		env := map[string]string{"RABBITMQ_NODENAME": node.NodeName, "ERL_INETRC": inetrcPath}
		for k, v := range brokerEnv {
			env[k] = v
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := testcontainers.Run(ctx, inf.Images.RabbitMQ,
				inf.common(node.Alias, aliases[0], "5672/tcp", "15672/tcp"),
				inf.moreAliases(aliases[1:]),
				testcontainers.WithConfigModifier(func(c *container.Config) { c.Hostname = node.Alias }),
				testcontainers.WithEnv(env),
				testcontainers.WithFiles(
					testcontainers.ContainerFile{Reader: strings.NewReader(cookie), ContainerFilePath: "/var/lib/rabbitmq/.erlang.cookie", FileMode: 0o600},
					testcontainers.ContainerFile{Reader: strings.NewReader(conf), ContainerFilePath: "/etc/rabbitmq/conf.d/20-mqchaos-cluster.conf", FileMode: 0o644},
					testcontainers.ContainerFile{Reader: strings.NewReader(inetrc(inf.nodes, node)), ContainerFilePath: inetrcPath, FileMode: 0o644},
				),
				inf.joinClusterNetwork(node),
				testcontainers.WithWaitStrategyAndDeadline(3*time.Minute,
					wait.ForHTTP("/api/health/checks/virtual-hosts").WithPort("15672/tcp").WithBasicAuth(inf.User, inf.Password).WithPollInterval(250*time.Millisecond)),
			)
			if c != nil {
				node.part = &dockerPart{c: c, alias: node.Alias, network: inf.Network}
			}
			if err != nil {
				errs[i] = fmt.Errorf("start %s: %w", node.Alias, err)
			}
		}()
	}
	wg.Wait()
	inf.Broker = inf.nodes[0].part
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := inf.WaitFormed(ctx); err != nil {
		return fmt.Errorf("form a cluster of %d nodes: %w", n, err)
	}
	return nil
}

// moreAliases adds aliases on the infra's network to a container that
// common already put there.
func (inf *Infra) moreAliases(aliases []string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if len(aliases) == 0 {
			return nil
		}
		if req.NetworkAliases == nil {
			req.NetworkAliases = map[string][]string{}
		}
		req.NetworkAliases[inf.Network.Name] = append(req.NetworkAliases[inf.Network.Name], aliases...)
		return nil
	}
}
