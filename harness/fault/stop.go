package fault

import (
	"context"
	"time"

	"github.com/moby/moby/client"
)

// Stop sends SIGTERM and waits for a graceful exit (SIGKILL after grace);
// Heal starts the container again.
func Stop(d Docker, t Target, grace time.Duration) Fault { return stop{d, t, grace} }

type stop struct {
	d     Docker
	t     Target
	grace time.Duration
}

func (s stop) Name() string { return "stop " + s.t.Name }

func (s stop) Witness(ctx context.Context) (Check, error) { return exited(s.d, s.t)(ctx) }

func (s stop) Inject(ctx context.Context) error {
	secs := int(s.grace.Seconds())
	_, err := s.d.ContainerStop(ctx, s.t.ContainerID, client.ContainerStopOptions{Timeout: &secs})
	return err
}

func (s stop) Heal(ctx context.Context) error { return start(ctx, s.d, s.t) }
