package fault

import (
	"context"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Disconnect cuts the container off the stack's network; Heal reconnects
// it with its aliases.
func Disconnect(d Docker, t Target) Fault { return disconnect{d, t} }

type disconnect struct {
	d Docker
	t Target
}

func (c disconnect) Name() string { return "disconnect " + c.t.Name }

func (c disconnect) Inject(ctx context.Context) error {
	_, err := c.d.NetworkDisconnect(ctx, c.t.NetworkID, client.NetworkDisconnectOptions{Container: c.t.ContainerID, Force: true})
	return err
}

func (c disconnect) Heal(ctx context.Context) error {
	_, err := c.d.NetworkConnect(ctx, c.t.NetworkID, client.NetworkConnectOptions{
		Container: c.t.ContainerID, EndpointConfig: &network.EndpointSettings{Aliases: c.t.Aliases},
	})
	return err
}
