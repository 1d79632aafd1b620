package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Clean removes containers and networks the harness labelled. With
// onlyOrphans it keeps those whose creating process still runs on this
// host, so it is safe to call at the start of a run while another runs;
// it also keeps those created from another PID namespace (mqchaos in a
// container without --pid host, or the host seen from one), whose
// process it cannot see.
// It returns how many containers and networks it removed.
func Clean(ctx context.Context, onlyOrphans bool) (containers, networks int, err error) {
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("docker client: %w", err)
	}
	defer docker.Close()
	host, _ := os.Hostname()
	pidns := pidNamespace()
	alive := func(pid int) bool { return syscall.Kill(pid, 0) == nil }
	keep := func(labels map[string]string) bool {
		return onlyOrphans && !orphan(labels, host, pidns, alive)
	}
	filter := make(client.Filters).Add("label", LabelManaged+"=true")
	var errs []error
	cs, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		return 0, 0, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		if keep(c.Labels) {
			continue
		}
		if _, err := docker.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
			continue
		}
		containers++
	}
	ns, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		return containers, 0, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if keep(n.Labels) {
			continue
		}
		if _, err := docker.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		networks++
	}
	return containers, networks, errors.Join(errs...)
}

// orphan reports whether what carries labels was left by a process that
// is gone: one of another host, or of this host's PID namespace ns that
// alive says has ended. One from another PID namespace is not an orphan:
// its process cannot be seen from here.
func orphan(labels map[string]string, host, ns string, alive func(pid int) bool) bool {
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || labels[LabelHost] != host {
		return true
	}
	if theirs := labels[LabelPIDNS]; theirs != "" && theirs != ns {
		return false
	}
	return !alive(pid)
}

// pidNamespace names this process's PID namespace ("pid:[4026531836]"),
// "" where /proc does not say.
func pidNamespace() string {
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return ns
}
