package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/mqchaos/mqchaos/harness/history"
)

// engine is one container's state as the engine keeps it; a deaf engine
// answers every call and changes nothing.
type engine struct {
	Docker
	deaf     bool
	running  bool
	paused   bool
	started  int // how many times it started: its StartedAt
	networks map[string]*network.EndpointSettings
}

func newEngine(deaf bool) *engine {
	return &engine{deaf: deaf, running: true, started: 1,
		networks: map[string]*network.EndpointSettings{"stack": {NetworkID: "n1"}}}
}

func (e *engine) ContainerInspect(context.Context, string, client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	status := "running"
	switch {
	case e.paused:
		status = "paused"
	case !e.running:
		status = "exited"
	}
	return client.ContainerInspectResult{Container: container.InspectResponse{
		State:           &container.State{Running: e.running, Paused: e.paused, Status: container.ContainerState(status), ExitCode: map[bool]int{true: 0, false: 137}[e.running], StartedAt: fmt.Sprintf("10:00:%02d", e.started)},
		NetworkSettings: &container.NetworkSettings{Networks: e.networks},
	}}, nil
}

func (e *engine) ContainerKill(context.Context, string, client.ContainerKillOptions) (client.ContainerKillResult, error) {
	e.running = e.deaf
	return client.ContainerKillResult{}, nil
}

func (e *engine) ContainerStop(context.Context, string, client.ContainerStopOptions) (client.ContainerStopResult, error) {
	e.running = e.deaf
	return client.ContainerStopResult{}, nil
}

func (e *engine) ContainerRestart(context.Context, string, client.ContainerRestartOptions) (client.ContainerRestartResult, error) {
	if !e.deaf {
		e.started++
	}
	return client.ContainerRestartResult{}, nil
}

func (e *engine) ContainerStart(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
	return client.ContainerStartResult{}, nil
}

func (e *engine) ContainerUnpause(context.Context, string, client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error) {
	return client.ContainerUnpauseResult{}, nil
}

func (e *engine) NetworkConnect(context.Context, string, client.NetworkConnectOptions) (client.NetworkConnectResult, error) {
	return client.NetworkConnectResult{}, nil
}

func (e *engine) ContainerPause(context.Context, string, client.ContainerPauseOptions) (client.ContainerPauseResult, error) {
	e.paused = !e.deaf
	return client.ContainerPauseResult{}, nil
}

func (e *engine) NetworkDisconnect(_ context.Context, nw string, _ client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error) {
	if !e.deaf {
		for name, ep := range e.networks {
			if ep.NetworkID == nw {
				delete(e.networks, name)
			}
		}
	}
	return client.NetworkDisconnectResult{}, nil
}

// Each container fault sees its mark in the engine's state, and a fault
// the engine did not carry out fails as no effect, saying what it saw.
func TestFaultsSeeTheirMarkInTheEngine(t *testing.T) {
	target := Target{Name: "inventory-1", ID: "c1", NetworkID: "n1"}
	for _, tc := range []struct {
		f         func(Engine) Fault
		seen, not string
	}{
		{func(e Engine) Fault { return Kill(e, target) }, "injected: inventory-1 exited (137)", "inventory-1 still running since 10:00:01"},
		{func(e Engine) Fault { return Stop(e, target, time.Second) }, "injected: inventory-1 exited (137)", "inventory-1 still running since 10:00:01"},
		{func(e Engine) Fault { return Restart(e, target, time.Second) }, "injected: inventory-1 started again at 10:00:02", "inventory-1 not restarted: running since 10:00:01"},
		{func(e Engine) Fault { return Pause(e, target) }, "injected: inventory-1 paused", "inventory-1 not paused: running"},
		{func(e Engine) Fault { return Disconnect(e, target) }, "injected: off network n1", "still on network n1"},
	} {
		h := &history.History{}
		f := tc.f(OnDocker(newEngine(false)))
		if err := Inject(t.Context(), h, f); err != nil || h.Ops()[0].Detail != tc.seen {
			t.Errorf("%s: %v, %+v; want %q", f.Name(), err, h.Ops(), tc.seen)
		}
		// A short deadline: the checks that wait for a lagging mark give
		// up when their context ends.
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		err := Inject(ctx, h, tc.f(OnDocker(newEngine(true))))
		cancel()
		if !errors.Is(err, ErrNoEffect) || !strings.Contains(err.Error(), tc.not) {
			t.Errorf("%s on a deaf engine: %v, want ErrNoEffect saying %q", f.Name(), err, tc.not)
		}
	}
}

// A look cut short by the limit gives way to what the one before saw.
func TestWithinSaysWhatWasLastSeen(t *testing.T) {
	calls := 0
	_, err := within(t.Context(), 250*time.Millisecond, func(ctx context.Context) (string, bool, error) {
		calls++
		if calls == 1 {
			return "no alarm listed", false, nil
		}
		<-ctx.Done()
		return "", false, fmt.Errorf("rabbitmqctl eval: %w", ctx.Err())
	})
	if err == nil || err.Error() != "after 250ms: no alarm listed" {
		t.Errorf("error %v, want what the first look saw", err)
	}
}
