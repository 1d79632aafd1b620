package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	dnetwork "github.com/moby/moby/api/types/network"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Labels put on everything the harness creates, so that Clean can find it.
const (
	LabelManaged = "io.mqchaos.managed" // "true"
	LabelRun     = "io.mqchaos.run"     // the infra's id
	LabelPID     = "io.mqchaos.pid"     // the process that created it
	LabelHost    = "io.mqchaos.host"    // that process's host name
	LabelPIDNS   = "io.mqchaos.pidns"   // that process's PID namespace, see Clean
)

// Network aliases: how services reach the broker and the database.
const (
	BrokerAlias   = "rabbitmq"
	DatabaseAlias = "postgres"
)

// Infra is a private Docker network with one RabbitMQ (or a cluster of
// them, WithCluster) and, if asked for, one PostgreSQL. Several stacks can
// share it, each in its own vhost and database.
type Infra struct {
	ID       string
	Images   Images
	Network  *testcontainers.DockerNetwork // on Docker; nil on Kubernetes
	Broker   Part                          // the single node, or a cluster's first
	Database Part
	User     string
	Password string

	site   site
	docker *testcontainers.DockerClient // on Docker
	labels map[string]string
	nodes  []*Node // the broker's nodes, in order; written only by StartInfra
	// clusterNetwork carries a cluster's traffic between its nodes
	// (WithCluster); nil for a single node.
	clusterNetwork *testcontainers.DockerNetwork
}

// InfraOption configures StartInfra.
type InfraOption func(*infraOptions)

type infraOptions struct {
	database bool
	nodes    int      // WithCluster
	platform Platform // OnKubernetes; nil: Docker
}

// WithDatabase starts PostgreSQL too (default: the broker alone).
func WithDatabase(on bool) InfraOption { return func(o *infraOptions) { o.database = on } }

// StartInfra creates a network and starts the broker (and the database,
// WithDatabase) on it, waiting until each answers. It may return a
// half-built Infra with its error: Terminate it either way.
func StartInfra(ctx context.Context, images Images, opts ...InfraOption) (*Infra, error) {
	var o infraOptions
	for _, opt := range opts {
		opt(&o)
	}
	id := newID()
	inf := &Infra{ID: id, Images: images, User: "mqchaos", Password: "mqchaos-" + id}
	host, _ := os.Hostname()
	inf.labels = map[string]string{LabelManaged: "true", LabelRun: id, LabelPID: strconv.Itoa(os.Getpid()), LabelHost: host, LabelPIDNS: pidNamespace()}
	if o.platform != nil {
		if o.nodes > 1 {
			return inf, fmt.Errorf("start infra %s: a cluster of %d nodes on Kubernetes: %w (Docker only)", id, o.nodes, fault.ErrUnsupported)
		}
		st, err := o.platform.open(ctx)
		if err != nil {
			return inf, fmt.Errorf("start infra %s: %w", id, err)
		}
		inf.site = st
	} else if err := inf.openDocker(ctx); err != nil {
		return inf, fmt.Errorf("start infra %s: %w", id, err)
	}

	var wg sync.WaitGroup
	var brokerErr, dbErr error
	brokerEnv := map[string]string{
		"RABBITMQ_DEFAULT_USER": inf.User, "RABBITMQ_DEFAULT_PASS": inf.Password,
		// Fresher queue figures in the management API (defaults: 5 s),
		// and a consumer that holds a delivery unacked for 2 minutes
		// (default 30) loses its channel, so a stuck consumer shows.
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit collect_statistics_interval 500 -rabbit quorum_tick_interval 500 -rabbit consumer_timeout 120000",
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if o.nodes > 1 {
			// A node that stops answering is taken for down after 15 s
			// (default 60), so a partition shows within the test.
			brokerEnv["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] += " -kernel net_ticktime 15"
			brokerErr = inf.startCluster(ctx, o.nodes, brokerEnv)
			return
		}
		inf.Broker, brokerErr = inf.site.run(ctx, partSpec{
			role: "rabbitmq", alias: BrokerAlias, image: images.RabbitMQ, env: brokerEnv,
			ports: []int{5672, 15672}, ready: system.Ready{TCP: 15672}, readyLimit: 3 * time.Minute,
			data: []string{"/var/lib/rabbitmq/mnesia"},
			docker: []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategyAndDeadline(3*time.Minute,
				wait.ForHTTP("/api/health/checks/virtual-hosts").WithPort("15672/tcp").WithBasicAuth(inf.User, inf.Password).WithPollInterval(100*time.Millisecond))},
		})
		if inf.Broker != nil {
			inf.nodes = []*Node{{Alias: BrokerAlias, part: inf.Broker, inf: inf}}
		}
		if brokerErr == nil {
			brokerErr = inf.WaitBroker(ctx)
		}
	}()
	if o.database {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbErr = inf.startDatabase(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(brokerErr, dbErr); err != nil {
		return inf, fmt.Errorf("start infra %s: %w", id, err)
	}
	return inf, nil
}

// openDocker connects to Docker and creates the Infra's network.
func (inf *Infra) openDocker(ctx context.Context) error {
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	inf.docker = docker
	nw, err := network.New(ctx, network.WithLabels(inf.labels))
	if err != nil {
		return fmt.Errorf("create network: %w", err)
	}
	inf.Network = nw
	inf.site = dockerSite{inf}
	return nil
}

func (inf *Infra) startDatabase(ctx context.Context) error {
	var err error
	inf.Database, err = inf.site.run(ctx, partSpec{
		role: "postgres", alias: DatabaseAlias, image: inf.Images.Postgres,
		env:   map[string]string{"POSTGRES_USER": inf.User, "POSTGRES_PASSWORD": inf.Password, "POSTGRES_DB": "mqchaos"},
		ports: []int{5432}, ready: system.Ready{TCP: 5432}, readyLimit: 2 * time.Minute,
		docker: []testcontainers.ContainerCustomizer{testcontainers.WithWaitStrategyAndDeadline(2*time.Minute,
			wait.ForExec([]string{"pg_isready", "-h", "127.0.0.1", "-U", inf.User, "-d", "mqchaos"}).WithPollInterval(250*time.Millisecond))},
	})
	if err != nil {
		return err
	}
	return inf.WaitDatabase(ctx)
}

// common are the options every container of the infra gets: a unique name,
// labels, the network alias, and ports published on 127.0.0.1 only.
func (inf *Infra) common(role, alias string, ports ...string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		opts := []testcontainers.ContainerCustomizer{
			testcontainers.WithName(fmt.Sprintf("mqchaos-%s-%s", inf.ID, role)),
			testcontainers.WithLabels(inf.labels),
			network.WithNetwork([]string{alias}, inf.Network),
			testcontainers.WithExposedPorts(ports...),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PortBindings = dnetwork.PortMap{}
				for _, p := range ports {
					hc.PortBindings[dnetwork.MustParsePort(p)] = []dnetwork.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
				}
			}),
		}
		for _, o := range opts {
			if err := o.Customize(req); err != nil {
				return err
			}
		}
		return nil
	}
}

// AMQPURL is the broker's address for vhost as seen from the host, looked
// up now (it changes when the broker restarts). On a cluster it is the
// first node that runs.
func (inf *Infra) AMQPURL(ctx context.Context, vhost string) (string, error) {
	hp, err := inf.firstEndpoint(ctx, 5672)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("amqp://%s:%s@%s/%s", inf.User, inf.Password, hp, url.PathEscape(vhost)), nil
}

// ManagementURL is the management API's address, looked up now. On a
// cluster it is the first node that runs.
func (inf *Infra) ManagementURL(ctx context.Context) (string, error) {
	hp, err := inf.firstEndpoint(ctx, 15672)
	if err != nil {
		return "", err
	}
	return "http://" + hp, nil
}

// firstEndpoint is port's host address on the first node that has one
// (a stopped node has none).
func (inf *Infra) firstEndpoint(ctx context.Context, port int) (string, error) {
	if len(inf.nodes) == 0 {
		return "", errors.New("broker not started")
	}
	var errs []error
	for _, n := range inf.nodes {
		hp, err := n.Endpoint(ctx, port)
		if err == nil {
			return hp, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// DatabaseURL is database's address as seen from the host, looked up now.
func (inf *Infra) DatabaseURL(ctx context.Context, database string) (string, error) {
	if inf.Database == nil {
		return "", errors.New("database not started")
	}
	hp, err := inf.Database.Endpoint(ctx, 5432)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", inf.User, inf.Password, hp, database), nil
}

// Management returns a management API client for vhost.
func (inf *Infra) Management(vhost string) *broker.Management {
	return &broker.Management{BaseURL: inf.ManagementURL, User: inf.User, Password: inf.Password, VHost: vhost}
}

// WaitBroker blocks until an AMQP connection to the broker opens and its
// management API answers, or ctx ends. Use it after every broker restart:
// a log-line wait would match lines from before the restart. On a
// cluster it waits until every node answers and the cluster is whole
// (WaitFormed).
func (inf *Infra) WaitBroker(ctx context.Context) error {
	if inf.Clustered() {
		return inf.WaitFormed(ctx)
	}
	return poll(ctx, func(ctx context.Context) error {
		u, err := inf.AMQPURL(ctx, "/")
		if err != nil {
			return err
		}
		conn, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err != nil {
			return err
		}
		conn.Close()
		_, err = inf.Management("/").Queues(ctx)
		return err
	})
}

// WaitDatabase blocks until the database accepts a query, or ctx ends.
func (inf *Infra) WaitDatabase(ctx context.Context) error {
	return poll(ctx, func(ctx context.Context) error {
		u, err := inf.DatabaseURL(ctx, "mqchaos")
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, u)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return conn.Ping(cctx)
	})
}

// poll calls check every 200 ms until it succeeds or ctx ends.
func poll(ctx context.Context, check func(context.Context) error) error {
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Tenant is a vhost and a database of their own, so stacks on one Infra
// share no queue and no row.
type Tenant struct {
	VHost    string
	Database string
}

// createVHost creates vhost and returns once it runs on every node,
// trying for up to 2 minutes. On three nodes on two cores the API took
// more than the client's default 5 s to answer, RabbitMQ itself gave up
// waiting now and then (500, "timed out while waiting for the vhost to
// initialise"), and a vhost it had created did not run on every node
// yet: a service that opened its connection there was refused and moved
// on to another node. The PUT is idempotent.
func (inf *Infra) createVHost(ctx context.Context, vhost string) error {
	m := inf.Management("/")
	m.HTTP = &http.Client{Timeout: time.Minute}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	created := func(ctx context.Context) error {
		if last = m.CreateVHost(ctx, vhost); last != nil {
			return last
		}
		states, err := m.VHostState(ctx, vhost)
		if last = err; err != nil {
			return err
		}
		for _, n := range inf.nodes {
			if n.NodeName == "" || states[n.NodeName] == "running" {
				continue
			}
			last = fmt.Errorf("vhost %s is %q on %s", vhost, states[n.NodeName], n.NodeName)
			if states[n.NodeName] == "stopped" {
				// Its start timed out there, and it stays stopped
				// until told (seen for 2 minutes on a loaded machine).
				if err := m.StartVHost(ctx, vhost, n.NodeName); err != nil {
					last = fmt.Errorf("%w; %w", last, err)
				}
			}
			return last
		}
		return nil
	}
	if err := poll(ctx, created); err != nil {
		return last
	}
	return nil
}

// NewTenant creates a vhost named after name, and a database of that
// name if withDatabase.
func (inf *Infra) NewTenant(ctx context.Context, name string, withDatabase bool) (Tenant, error) {
	t := Tenant{VHost: name}
	if err := inf.createVHost(ctx, t.VHost); err != nil {
		return t, err
	}
	if !withDatabase {
		return t, nil
	}
	if inf.Database == nil {
		return t, fmt.Errorf("create database %s: the infra has no database", name)
	}
	t.Database = name
	if err := inf.exec(ctx, "CREATE DATABASE "+pgx.Identifier{t.Database}.Sanitize()); err != nil {
		return t, fmt.Errorf("create database %s: %w", t.Database, err)
	}
	return t, nil
}

// DropTenant deletes a tenant's vhost and database.
func (inf *Infra) DropTenant(ctx context.Context, t Tenant) error {
	err := inf.Management("/").DeleteVHost(ctx, t.VHost)
	if t.Database != "" {
		err = errors.Join(err, inf.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{t.Database}.Sanitize()+" WITH (FORCE)"))
	}
	return err
}

func (inf *Infra) exec(ctx context.Context, sql string) error {
	u, err := inf.DatabaseURL(ctx, "mqchaos")
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// BrokerTarget is the broker as a fault target: on a cluster, its first
// node (Node.Target for the others).
func (inf *Infra) BrokerTarget() fault.Target {
	if inf.Clustered() {
		return inf.nodes[0].Target()
	}
	return inf.Broker.Target()
}

// DatabaseTarget is the database as a fault target.
func (inf *Infra) DatabaseTarget() fault.Target {
	return inf.Database.Target()
}

// Engine is the platform, as the faults act through it.
func (inf *Infra) Engine() fault.Engine { return inf.site.engine() }

// Terminate removes the containers and the network. It is nil-safe and
// may be called on a half-built Infra.
func (inf *Infra) Terminate(ctx context.Context) error {
	if inf == nil {
		return nil
	}
	var errs []error
	parts := []Part{inf.Database}
	for _, n := range inf.nodes {
		parts = append(parts, n.part)
	}
	// The parts go together, as a stack's replicas do (the planted
	// bug's replays tore down in 1.6-2.3 s with them one after the other,
	// in an earlier session, and 1.3-1.8 s together).
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range parts {
		if p != nil {
			wg.Go(func() {
				err := p.Terminate(ctx)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if inf.site != nil {
		errs = append(errs, inf.site.close(ctx))
	}
	if inf.Network != nil {
		errs = append(errs, inf.Network.Remove(ctx))
	}
	if inf.clusterNetwork != nil {
		errs = append(errs, inf.clusterNetwork.Remove(ctx))
	}
	if inf.docker != nil {
		errs = append(errs, inf.docker.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminate infra %s: %w", inf.ID, err)
	}
	return nil
}

func newID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
