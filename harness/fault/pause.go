package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// Pause freezes every process of the container (the cgroup freezer): its
// connections stay open but nothing answers. Heal unpauses it.
func Pause(d Docker, t Target) Fault { return pause{d, t} }

type pause struct {
	d Docker
	t Target
}

func (p pause) Name() string { return "pause " + p.t.Name }

// Witness sees the container paused.
func (p pause) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		c, err := inspect(ctx, p.d, p.t)
		switch {
		case err != nil:
			return "", err
		case !c.State.Paused:
			return "", fmt.Errorf("%s not paused: %s", p.t.Name, c.State.Status)
		}
		return p.t.Name + " paused", nil
	}, nil
}

// freezeTries is how often Inject asks for the freeze. The runtime gives
// up on a cgroup that does not freeze in time ("unable to freeze", seen
// with a busy PostgreSQL on two loaded cores) and leaves it thawed, so
// asking again is safe.
const freezeTries = 5

func (p pause) Inject(ctx context.Context) error {
	var errs []error
	for range freezeTries {
		_, err := p.d.ContainerPause(ctx, p.t.ContainerID, client.ContainerPauseOptions{})
		if err == nil || !strings.Contains(err.Error(), "unable to freeze") || ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%d tries: %w", freezeTries, errors.Join(errs...))
}

func (p pause) Heal(ctx context.Context) error {
	_, err := p.d.ContainerUnpause(ctx, p.t.ContainerID, client.ContainerUnpauseOptions{})
	return err
}
