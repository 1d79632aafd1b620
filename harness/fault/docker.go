package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Docker is the part of the Docker engine's API that OnDocker uses;
// testcontainers' DockerClient satisfies it.
type Docker interface {
	ContainerKill(ctx context.Context, id string, opts client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerRestart(ctx context.Context, id string, opts client.ContainerRestartOptions) (client.ContainerRestartResult, error)
	ContainerInspect(ctx context.Context, id string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerPause(ctx context.Context, id string, opts client.ContainerPauseOptions) (client.ContainerPauseResult, error)
	ContainerUnpause(ctx context.Context, id string, opts client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error)
	NetworkDisconnect(ctx context.Context, network string, opts client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error)
	NetworkConnect(ctx context.Context, network string, opts client.NetworkConnectOptions) (client.NetworkConnectResult, error)
}

// OnDocker is the Docker engine as an Engine: a target is a container,
// Target.ID its ID.
func OnDocker(d Docker) Engine { return onDocker{d} }

type onDocker struct{ d Docker }

func (e onDocker) Kill(ctx context.Context, t Target) error {
	_, err := e.d.ContainerKill(ctx, t.ID, client.ContainerKillOptions{Signal: "SIGKILL"})
	return err
}

func (e onDocker) Stop(ctx context.Context, t Target, grace time.Duration) error {
	secs := int(grace.Seconds())
	_, err := e.d.ContainerStop(ctx, t.ID, client.ContainerStopOptions{Timeout: &secs})
	return err
}

func (e onDocker) Start(ctx context.Context, t Target) error {
	_, err := e.d.ContainerStart(ctx, t.ID, client.ContainerStartOptions{})
	return err
}

func (e onDocker) Restart(ctx context.Context, t Target, grace time.Duration) error {
	secs := int(grace.Seconds())
	_, err := e.d.ContainerRestart(ctx, t.ID, client.ContainerRestartOptions{Timeout: &secs})
	return err
}

// freezeTries is how often Pause asks for the freeze. The runtime gives
// up on a cgroup that does not freeze in time ("unable to freeze", seen
// with a busy PostgreSQL on two loaded cores) and leaves it thawed, so
// asking again is safe.
const freezeTries = 5

func (e onDocker) Pause(ctx context.Context, t Target) error {
	var errs []error
	for range freezeTries {
		_, err := e.d.ContainerPause(ctx, t.ID, client.ContainerPauseOptions{})
		if err == nil || !strings.Contains(err.Error(), "unable to freeze") || ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%d tries: %w", freezeTries, errors.Join(errs...))
}

func (e onDocker) Unpause(ctx context.Context, t Target) error {
	_, err := e.d.ContainerUnpause(ctx, t.ID, client.ContainerUnpauseOptions{})
	return err
}

func (e onDocker) State(ctx context.Context, t Target) (State, error) {
	r, err := e.d.ContainerInspect(ctx, t.ID, client.ContainerInspectOptions{})
	if err != nil {
		return State{}, err
	}
	st := r.Container.State
	if st == nil {
		return State{}, errors.New("no state")
	}
	s := State{Status: string(st.Status), Running: st.Running, Paused: st.Paused, ExitCode: st.ExitCode, StartedAt: st.StartedAt}
	if ns := r.Container.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			s.Networks = append(s.Networks, name)
			if ep != nil && ep.NetworkID != "" {
				s.Networks = append(s.Networks, ep.NetworkID)
			}
		}
	}
	return s, nil
}

func (e onDocker) Disconnect(ctx context.Context, t Target, l Link) error {
	_, err := e.d.NetworkDisconnect(ctx, l.NetworkID, client.NetworkDisconnectOptions{Container: t.ID, Force: true})
	return err
}

func (e onDocker) Connect(ctx context.Context, t Target, l Link) error {
	ep := &network.EndpointSettings{Aliases: l.Aliases}
	if l.IPv4.IsValid() {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: l.IPv4}
	}
	_, err := e.d.NetworkConnect(ctx, l.NetworkID, client.NetworkConnectOptions{Container: t.ID, EndpointConfig: ep})
	return err
}
