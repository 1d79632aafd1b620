package fault

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RollingRestart restarts nodes one at a time, as an upgrade does: each
// is stopped gracefully (SIGKILL after grace) and started again, and the
// next waits until rejoined(ctx, node) returns nil (polled every 200 ms),
// e.g. until the other nodes see it running again. All of it happens in
// Inject, which blocks until the last node has rejoined; Heal has
// nothing left to do.
func RollingRestart(e Engine, nodes []Target, grace time.Duration, rejoined func(context.Context, Target) error) Fault {
	return rollingRestart{e, nodes, grace, rejoined}
}

type rollingRestart struct {
	e        Engine
	nodes    []Target
	grace    time.Duration
	rejoined func(context.Context, Target) error
}

func (r rollingRestart) Name() string {
	names := make([]string, len(r.nodes))
	for i, t := range r.nodes {
		names[i] = t.Name
	}
	return "rolling restart of " + strings.Join(names, ", ")
}

func (r rollingRestart) Inject(ctx context.Context) error {
	for _, t := range r.nodes {
		if err := r.e.Restart(ctx, t, r.grace); err != nil {
			return fmt.Errorf("restart %s: %w", t.Name, err)
		}
		for {
			err := r.rejoined(ctx, t)
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for %s to rejoin: %w (last: %v)", t.Name, ctx.Err(), err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func (rollingRestart) Heal(context.Context) error { return nil }

// Witness sees every node started again.
func (r rollingRestart) Witness(ctx context.Context) (Check, error) {
	var fs []Fault
	for _, t := range r.nodes {
		fs = append(fs, Restart(r.e, t, r.grace))
	}
	return all(fs)(ctx)
}
