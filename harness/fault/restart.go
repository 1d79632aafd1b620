package fault

import (
	"context"
	"time"

	"github.com/moby/moby/client"
)

// Restart stops the container gracefully (SIGKILL after grace) and starts
// it again, in Inject. Heal has nothing left to do.
func Restart(d Docker, t Target, grace time.Duration) Fault { return restart{d, t, grace} }

type restart struct {
	d     Docker
	t     Target
	grace time.Duration
}

func (r restart) Name() string { return "restart " + r.t.Name }

func (r restart) Witness(ctx context.Context) (Check, error) { return restarted(r.d, r.t)(ctx) }

func (r restart) Inject(ctx context.Context) error {
	secs := int(r.grace.Seconds())
	_, err := r.d.ContainerRestart(ctx, r.t.ContainerID, client.ContainerRestartOptions{Timeout: &secs})
	return err
}

func (r restart) Heal(context.Context) error { return nil }
