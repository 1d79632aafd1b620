package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"

	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/kube"
)

// Platform is where an Infra runs its parts: Docker unless OnPlatform
// names another.
type Platform interface {
	// open makes the Infra's place: its namespace, for Kubernetes.
	open(ctx context.Context) (site, error)
}

// OnPlatform runs the Infra on p instead of on the local Docker engine.
func OnPlatform(p Platform) InfraOption { return func(o *infraOptions) { o.platform = p } }

// InfraWith passes opts to the Infra that Start starts when it is not
// given one (OnInfra): OnPlatform, for one.
func InfraWith(opts ...InfraOption) Option {
	return func(o *options) { o.infraOpts = append(o.infraOpts, opts...) }
}

// Kubernetes is cluster c as a platform: each Infra in a namespace of its
// own, "mqchaos-<prefix>-<id>", which Terminate deletes with everything
// in it. Every part is a bare pod with a ClusterIP Service of its name
// in front of it; the other parts reach it by the Service's address
// (no cluster DNS is assumed), the harness by port-forwarding. Beside
// each part runs the signals container (kube.SignalsImage), which pauses
// it; the broker keeps its data on a volume of its pod and restarts in
// place. A service's ulimits and testcontainers options do not apply
// there.
func Kubernetes(c *kube.Cluster, prefix string) Platform { return kubePlatform{c, prefix} }

type kubePlatform struct {
	c      *kube.Cluster
	prefix string
}

func (k kubePlatform) open(ctx context.Context) (site, error) {
	ns, err := k.c.CreateNamespace(ctx, k.prefix)
	if ns == nil {
		return nil, err
	}
	return kubeSite{ns}, err
}

// kubeSite runs parts as pods in the Infra's namespace.
type kubeSite struct{ ns *kube.Namespace }

func (k kubeSite) engine() fault.Engine { return k.ns.Engine() }

func (k kubeSite) close(ctx context.Context) error { return k.ns.Delete(ctx) }

func (k kubeSite) run(ctx context.Context, p partSpec) (Part, error) {
	name := dnsLabel(p.role)
	w := kube.Workload{Name: name, App: name, Image: p.image, Command: p.cmd, Env: p.env, Data: p.data, Helper: kube.SignalsImage}
	for _, port := range p.ports {
		w.Ports = append(w.Ports, int32(port))
	}
	port := 0
	if len(p.ports) > 0 {
		port = p.ports[0]
	}
	w.Ready = kube.ReadinessProbe(p.ready, port)
	if p.ready.Log != "" {
		re, err := regexp.Compile(p.ready.Log)
		if err != nil {
			return nil, fmt.Errorf("run %s: ready.log: %w", p.role, err)
		}
		w.ReadyLog = re
	}
	part := &kubePart{ns: k.ns, name: name}
	if len(w.Ports) > 0 {
		ip, err := k.ns.Expose(ctx, name, w.Ports)
		if err != nil {
			return nil, err
		}
		part.host = ip
	}
	if err := k.ns.Run(ctx, w, p.readyLimit); err != nil {
		return part, err
	}
	return part, nil
}

// dnsLabel is s as a Kubernetes name: lower case letters, digits and
// dashes, starting with a letter, at most 63 characters (a longer one
// ends in a digest of the whole).
func dnsLabel(s string) string {
	s = strings.Trim(notLabel.ReplaceAllString(strings.ToLower(s), "-"), "-")
	switch {
	case s == "":
		s = "p"
	case s[0] < 'a' || s[0] > 'z':
		s = "p-" + s
	}
	if len(s) > 63 {
		sum := sha256.Sum256([]byte(s))
		s = strings.TrimRight(s[:54], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	return s
}

var notLabel = regexp.MustCompile(`[^a-z0-9]+`)

// kubePart is a pod of the Infra's namespace.
type kubePart struct {
	ns   *kube.Namespace
	name string // the pod's and its Service's
	host string // the Service's cluster address
}

// Exec runs cmd in the pod; its output is stdout, then stderr (the
// options, for Docker's multiplexed streams, do not apply).
func (p *kubePart) Exec(ctx context.Context, cmd []string, _ ...tcexec.ProcessOption) (int, io.Reader, error) {
	code, out, err := p.ns.Exec(ctx, p.name, cmd)
	return code, bytes.NewReader(out), err
}

func (p *kubePart) Endpoint(ctx context.Context, port int) (string, error) {
	return p.ns.Address(ctx, p.name, port)
}

func (p *kubePart) Host() string { return p.host }

func (p *kubePart) Addresses(ctx context.Context) ([]string, error) {
	ip, err := p.ns.PodIP(ctx, p.name)
	if err != nil {
		return nil, err
	}
	return []string{ip}, nil
}

func (p *kubePart) Target() fault.Target { return p.ns.Target(p.name) }

func (p *kubePart) Logs(ctx context.Context) ([]byte, error) { return p.ns.Logs(ctx, p.name) }

func (p *kubePart) Terminate(ctx context.Context) error { return p.ns.Remove(ctx, p.name) }
