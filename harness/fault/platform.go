package fault

import (
	"context"
	"errors"
	"time"
)

// ErrUnsupported is the error of a fault its platform cannot make (a
// pod taken off the network, on Kubernetes): a run skips what needs it,
// with the reason, rather than failing.
var ErrUnsupported = errors.New("not supported")

// Engine is what the faults ask of the platform their targets run on: the
// Docker engine (OnDocker) or a Kubernetes cluster (package kube). Each
// call acts on one target and blocks until the platform has done it.
type Engine interface {
	Kill(ctx context.Context, t Target) error                         // SIGKILL: no chance to ack, flush or close
	Stop(ctx context.Context, t Target, grace time.Duration) error    // SIGTERM, SIGKILL after grace
	Start(ctx context.Context, t Target) error                        // again, after Kill or Stop
	Restart(ctx context.Context, t Target, grace time.Duration) error // Stop, then Start
	Pause(ctx context.Context, t Target) error                        // freeze every process
	Unpause(ctx context.Context, t Target) error
	State(ctx context.Context, t Target) (State, error)
	Disconnect(ctx context.Context, t Target, l Link) error // off l's network
	Connect(ctx context.Context, t Target, l Link) error    // back on it, with l's aliases and address
}

// State is a target as its platform reports it.
type State struct {
	Status    string // the platform's word: "running", "exited", "paused"
	Running   bool   // its process exists, paused or not
	Paused    bool
	ExitCode  int    // of its last exit
	StartedAt string // when it last started: changes with every start
	// Networks are those it is on, each by name and by ID.
	Networks []string
}
