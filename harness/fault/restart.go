package fault

import (
	"context"
	"time"
)

// Restart stops the target gracefully (SIGKILL after grace) and starts
// it again, in Inject. Heal has nothing left to do.
func Restart(e Engine, t Target, grace time.Duration) Fault { return restart{e, t, grace} }

type restart struct {
	e     Engine
	t     Target
	grace time.Duration
}

func (r restart) Name() string { return "restart " + r.t.Name }

func (r restart) Witness(ctx context.Context) (Check, error) { return restarted(r.e, r.t)(ctx) }

func (r restart) Inject(ctx context.Context) error { return r.e.Restart(ctx, r.t, r.grace) }

func (r restart) Heal(context.Context) error { return nil }
