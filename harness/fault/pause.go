package fault

import (
	"context"

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

func (p pause) Inject(ctx context.Context) error {
	_, err := p.d.ContainerPause(ctx, p.t.ContainerID, client.ContainerPauseOptions{})
	return err
}

func (p pause) Heal(ctx context.Context) error {
	_, err := p.d.ContainerUnpause(ctx, p.t.ContainerID, client.ContainerUnpauseOptions{})
	return err
}
