package fault

import (
	"context"

	"github.com/moby/moby/client"
)

// Kill sends SIGKILL (no chance to ack, flush or close); Heal starts the
// container again.
func Kill(d Docker, t Target) Fault { return kill{d, t} }

type kill struct {
	d Docker
	t Target
}

func (k kill) Name() string { return "kill " + k.t.Name }

func (k kill) Witness(ctx context.Context) (Check, error) { return exited(k.d, k.t)(ctx) }

func (k kill) Inject(ctx context.Context) error {
	_, err := k.d.ContainerKill(ctx, k.t.ContainerID, client.ContainerKillOptions{Signal: "SIGKILL"})
	return err
}

func (k kill) Heal(ctx context.Context) error { return start(ctx, k.d, k.t) }

func start(ctx context.Context, d Docker, t Target) error {
	_, err := d.ContainerStart(ctx, t.ContainerID, client.ContainerStartOptions{})
	return err
}
