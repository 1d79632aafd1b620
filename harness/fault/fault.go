// Package fault breaks containers of a stack and heals them: kill, stop,
// pause, disconnect and restart, one per file, each a Fault with Inject and
// Heal. A fault knows nothing of readiness: after Heal, wait on the
// target's own live check before judging anything.
//
// The network faults act on a Toxiproxy proxy between one service and the
// broker or the database (see Proxy; a stack started with
// stack.WithToxiproxy has one per service): latency, bandwidth, timeout
// and its black hole, reset_peer, slicer, limit_data, and the proxy down.
package fault

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
)

// Docker is the part of the engine API faults use; testcontainers'
// DockerClient satisfies it.
type Docker interface {
	ContainerKill(ctx context.Context, id string, opts client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerRestart(ctx context.Context, id string, opts client.ContainerRestartOptions) (client.ContainerRestartResult, error)
	ContainerPause(ctx context.Context, id string, opts client.ContainerPauseOptions) (client.ContainerPauseResult, error)
	ContainerUnpause(ctx context.Context, id string, opts client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error)
	NetworkDisconnect(ctx context.Context, network string, opts client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error)
	NetworkConnect(ctx context.Context, network string, opts client.NetworkConnectOptions) (client.NetworkConnectResult, error)
}

// Target is a container a fault acts on.
type Target struct {
	Name        string // for records: "rabbitmq", "inventory-2"
	ContainerID string
	NetworkID   string   // the stack's network, for disconnect
	Aliases     []string // its aliases there, restored on reconnect
}

// Fault is one way of breaking a target. Inject and Heal block until the
// engine has done it; neither waits for the target to be ready again.
type Fault interface {
	Name() string // e.g. "kill inventory-1"
	Inject(ctx context.Context) error
	Heal(ctx context.Context) error
}

// Recorder is told of every injection and heal (a *history.History is one).
type Recorder interface {
	Event(kind, id, detail string)
}

// Inject injects f and records it.
func Inject(ctx context.Context, rec Recorder, f Fault) error {
	if err := f.Inject(ctx); err != nil {
		return fmt.Errorf("inject %s: %w", f.Name(), err)
	}
	rec.Event("fault", f.Name(), "injected")
	return nil
}

// Heal heals f and records it.
func Heal(ctx context.Context, rec Recorder, f Fault) error {
	if err := f.Heal(ctx); err != nil {
		return fmt.Errorf("heal %s: %w", f.Name(), err)
	}
	rec.Event("fault", f.Name(), "healed")
	return nil
}

// Hold keeps a fault open for d, or until ctx ends. It is the only timed
// wait a scenario should have: everything else waits on observable state.
func Hold(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
