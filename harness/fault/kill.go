package fault

import "context"

// Kill sends SIGKILL (no chance to ack, flush or close); Heal starts the
// target again.
func Kill(e Engine, t Target) Fault { return kill{e, t} }

type kill struct {
	e Engine
	t Target
}

func (k kill) Name() string { return "kill " + k.t.Name }

func (k kill) Witness(ctx context.Context) (Check, error) { return exited(k.e, k.t)(ctx) }

func (k kill) Inject(ctx context.Context) error { return k.e.Kill(ctx, k.t) }

func (k kill) Heal(ctx context.Context) error { return k.e.Start(ctx, k.t) }
