package stack

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Part is one process of a system where its Infra runs it: the broker,
// the database, a Toxiproxy or a service's replica; a container on
// Docker, a pod on Kubernetes (OnKubernetes).
type Part interface {
	// Exec runs cmd in the part (rabbitmqctl in the broker's).
	fault.Execer
	// Endpoint is where the harness reaches port, "host:port", looked up
	// now: it changes when the part restarts.
	Endpoint(ctx context.Context, port int) (string, error)
	// Host is the name or address the other parts reach it by.
	Host() string
	// Addresses are its IP addresses, looked up now: what the broker
	// sees as its connections' peer host.
	Addresses(ctx context.Context) ([]string, error)
	// Target is the part as a fault target of its platform's Engine.
	Target() fault.Target
	// Logs is its whole log, across restarts where the platform keeps
	// them (Docker does; a pod created again starts a new log).
	Logs(ctx context.Context) ([]byte, error)
	Terminate(ctx context.Context) error
}

// partSpec is what a platform needs to run a part.
type partSpec struct {
	role  string // unique within the Infra: the container's name, the pod's
	alias string // what the other parts reach it by (Host)
	image string
	env   map[string]string
	cmd   []string
	ports []int // published to the harness (Endpoint)
	inner []int // of ports, those only the other parts reach: not published on Docker
	// ready is when the part counts as started (HTTP on ports[0], TCP,
	// or a log line); readyLimit bounds the wait.
	ready      system.Ready
	readyLimit time.Duration
	ulimits    map[string]int64
	// data are the paths whose contents must outlive a restart: Docker
	// keeps a container's files anyway; a pod keeps them on volumes,
	// and so restarts in place.
	data []string
	// docker are further options on Docker (a described service's own);
	// the other platforms have none.
	docker []testcontainers.ContainerCustomizer
}

// site is where one Infra's parts run: a Docker network, a namespace.
type site interface {
	run(ctx context.Context, p partSpec) (Part, error)
	engine() fault.Engine
	// close removes what open made, after the parts are gone.
	close(ctx context.Context) error
}

// dockerSite runs parts as containers on the Infra's network.
type dockerSite struct{ inf *Infra }

func (d dockerSite) engine() fault.Engine { return fault.OnDocker(d.inf.docker) }

func (d dockerSite) close(context.Context) error { return nil } // the Infra removes its networks

func (d dockerSite) run(ctx context.Context, p partSpec) (Part, error) {
	var ports []string
	for _, port := range p.ports {
		if !slices.Contains(p.inner, port) {
			ports = append(ports, fmt.Sprintf("%d/tcp", port))
		}
	}
	opts := []testcontainers.ContainerCustomizer{
		d.inf.common(p.role, p.alias, ports...),
		testcontainers.WithEnv(p.env),
	}
	if len(p.cmd) > 0 {
		opts = append(opts, testcontainers.WithCmd(p.cmd...))
	}
	if len(p.ulimits) > 0 {
		opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			for _, name := range slices.Sorted(maps.Keys(p.ulimits)) {
				n := p.ulimits[name]
				hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: name, Soft: n, Hard: n})
			}
		}))
	}
	if w := readiness(p); w != nil {
		opts = append(opts, testcontainers.WithWaitStrategyAndDeadline(p.readyLimit, w))
	}
	opts = append(opts, p.docker...)
	c, err := testcontainers.Run(ctx, p.image, opts...)
	if c == nil {
		return nil, err
	}
	return &dockerPart{c: c, alias: p.alias, network: d.inf.Network}, err
}

func readiness(p partSpec) wait.Strategy {
	switch rd := p.ready; {
	case rd.HTTP != "":
		return wait.ForHTTP(rd.HTTP).WithPort(fmt.Sprintf("%d/tcp", p.ports[0])).WithPollInterval(100 * time.Millisecond)
	case rd.TCP != 0:
		return wait.ForListeningPort(fmt.Sprintf("%d/tcp", rd.TCP)).WithPollInterval(100 * time.Millisecond)
	case rd.Log != "":
		return wait.ForLog(rd.Log).AsRegexp().WithPollInterval(100 * time.Millisecond)
	}
	return nil
}

// dockerPart is a container on the Infra's network.
type dockerPart struct {
	c       *testcontainers.DockerContainer
	alias   string
	network *testcontainers.DockerNetwork
}

func (p *dockerPart) Exec(ctx context.Context, cmd []string, options ...tcexec.ProcessOption) (int, io.Reader, error) {
	return p.c.Exec(ctx, cmd, options...)
}

func (p *dockerPart) Endpoint(ctx context.Context, port int) (string, error) {
	mapped, err := p.c.MappedPort(ctx, fmt.Sprintf("%d/tcp", port))
	if err != nil {
		return "", fmt.Errorf("look up port %d of %s: %w", port, p.alias, err)
	}
	return net.JoinHostPort("127.0.0.1", mapped.Port()), nil
}

func (p *dockerPart) Host() string { return p.alias }

// Addresses is the container's address on the Infra's network first,
// then on any other.
func (p *dockerPart) Addresses(ctx context.Context) ([]string, error) {
	in, err := p.c.Inspect(ctx)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", p.alias, err)
	}
	var ips []string
	if ep, ok := in.NetworkSettings.Networks[p.network.Name]; ok && ep.IPAddress.IsValid() {
		ips = append(ips, ep.IPAddress.String())
	}
	for name, ep := range in.NetworkSettings.Networks {
		if name != p.network.Name && ep.IPAddress.IsValid() {
			ips = append(ips, ep.IPAddress.String())
		}
	}
	return ips, nil
}

func (p *dockerPart) Target() fault.Target {
	return fault.Target{Name: p.alias, ID: p.c.GetContainerID(), NetworkID: p.network.ID, Aliases: []string{p.alias}}
}

func (p *dockerPart) Logs(ctx context.Context) ([]byte, error) {
	rc, err := p.c.Logs(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", p.alias, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", p.alias, err)
	}
	return b, nil
}

func (p *dockerPart) Terminate(ctx context.Context) error {
	return p.c.Terminate(ctx, testcontainers.StopTimeout(0))
}
