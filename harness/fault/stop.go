package fault

import (
	"context"
	"time"
)

// Stop sends SIGTERM and waits for a graceful exit (SIGKILL after grace);
// Heal starts the target again.
func Stop(e Engine, t Target, grace time.Duration) Fault { return stop{e, t, grace} }

type stop struct {
	e     Engine
	t     Target
	grace time.Duration
}

func (s stop) Name() string { return "stop " + s.t.Name }

func (s stop) Witness(ctx context.Context) (Check, error) { return exited(s.e, s.t)(ctx) }

func (s stop) Inject(ctx context.Context) error { return s.e.Stop(ctx, s.t, s.grace) }

func (s stop) Heal(ctx context.Context) error { return s.e.Start(ctx, s.t) }
