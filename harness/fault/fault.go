// Package fault breaks the targets of a stack and heals them: kill, stop,
// pause, disconnect and restart, one per file, each a Fault with Inject and
// Heal. They act through an Engine, the platform the targets run on: the
// Docker engine (OnDocker) or a Kubernetes cluster. A fault knows nothing
// of readiness: after Heal, wait on the target's own live check before
// judging anything.
//
// The network faults act on a Toxiproxy proxy between one service and the
// broker or the database (see Proxy; a stack started with
// stack.WithToxiproxy has one per service): latency, bandwidth, timeout
// and its black hole, reset_peer, slicer, limit_data, and the proxy down.
package fault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

// Target is what a fault acts on: a container, or a pod's.
type Target struct {
	Name      string   // for records: "rabbitmq", "inventory-2"
	ID        string   // its Engine's name for it: a container's ID
	NetworkID string   // the stack's network, for disconnect
	Aliases   []string // its aliases there, restored on reconnect
	// Cluster is a cluster node's link to its peers, on a network of
	// their own (stack.WithCluster): what Split and Partition cut. Zero
	// for anything else.
	Cluster Link
}

// link is the target's place on the stack's network.
func (t Target) link() Link { return Link{NetworkID: t.NetworkID, Aliases: t.Aliases} }

// Fault is one way of breaking a target. Inject and Heal block until the
// engine has done it; neither waits for the target to be ready again.
// Witness, asked just before Inject, returns the Check that proves the
// injection took effect (see Inject).
type Fault interface {
	Name() string // e.g. "kill inventory-1"
	Witness(ctx context.Context) (Check, error)
	Inject(ctx context.Context) error
	Heal(ctx context.Context) error
}

// Recorder is told of every injection and heal as an operation: invoked
// before the engine is asked, completed after it answered (a
// *history.History is one).
type Recorder interface {
	Invoke(kind, id string) int
	Complete(op int, outcome history.Outcome, detail string)
}

// What a fault operation's Detail says when it completed ok: Injected,
// then what its Check saw ("injected: inventory-1 exited (137)"), or
// Healed. A failed one says "inject: <error>" or "heal: <error>".
const (
	Injected = "injected"
	Healed   = "healed"
)

// Inject injects f, recorded in rec as an operation of kind
// history.KindFault named f.Name(): invoked before, then ok when f.Inject
// returned and its Check saw the mark it leaves ("injected: <what the
// check saw>"), or fail ("inject: <error>"). A restart's operation thus
// spans the whole restart. When the Check sees no mark, the error wraps
// ErrNoEffect and f is healed again, in case it took effect unseen.
func Inject(ctx context.Context, rec Recorder, f Fault) error {
	op := rec.Invoke(history.KindFault, f.Name())
	fail := func(err error) error {
		rec.Complete(op, history.Fail, "inject: "+err.Error())
		return fmt.Errorf("inject %s: %w", f.Name(), err)
	}
	check, err := f.Witness(ctx)
	if err != nil {
		return fail(fmt.Errorf("look before: %w", err))
	}
	if err := inject(ctx, f); err != nil {
		return fail(err)
	}
	saw, err := check(ctx)
	if err != nil {
		return fail(errors.Join(fmt.Errorf("%w: %w", ErrNoEffect, err), heal(context.WithoutCancel(ctx), f)))
	}
	rec.Complete(op, history.OK, Injected+": "+saw)
	return nil
}

// Heal heals f, recorded in rec like Inject: invoked before, then ok
// ("healed") or fail ("heal: <error>").
func Heal(ctx context.Context, rec Recorder, f Fault) error {
	op := rec.Invoke(history.KindFault, f.Name())
	if err := heal(ctx, f); err != nil {
		rec.Complete(op, history.Fail, "heal: "+err.Error())
		return fmt.Errorf("heal %s: %w", f.Name(), err)
	}
	rec.Complete(op, history.OK, Healed)
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
