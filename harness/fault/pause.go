package fault

import (
	"context"
	"fmt"
)

// Pause freezes every process of the target (the cgroup freezer): its
// connections stay open but nothing answers. Heal unpauses it.
func Pause(e Engine, t Target) Fault { return pause{e, t} }

type pause struct {
	e Engine
	t Target
}

func (p pause) Name() string { return "pause " + p.t.Name }

// Witness sees the target paused.
func (p pause) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		st, err := state(ctx, p.e, p.t)
		switch {
		case err != nil:
			return "", err
		case !st.Paused:
			return "", fmt.Errorf("%s not paused: %s", p.t.Name, st.Status)
		}
		return p.t.Name + " paused", nil
	}, nil
}

func (p pause) Inject(ctx context.Context) error { return p.e.Pause(ctx, p.t) }

func (p pause) Heal(ctx context.Context) error { return p.e.Unpause(ctx, p.t) }
