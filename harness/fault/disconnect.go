package fault

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Disconnect cuts the container off the stack's network; Heal reconnects
// it with its aliases.
func Disconnect(d Docker, t Target) Fault {
	return disconnect{d: d, name: "disconnect " + t.Name, container: t.ContainerID, link: t.link()}
}

// Link is a container's place on one network: what a disconnect cuts and
// its heal restores.
type Link struct {
	NetworkID string
	Aliases   []string
	// IPv4 is the container's fixed address there, given back on
	// reconnect (the zero Addr: the engine picks one).
	IPv4 netip.Addr
}

type disconnect struct {
	d         Docker
	name      string
	container string
	link      Link
}

func (c disconnect) Name() string { return c.name }

// Witness sees the container on the network no more.
func (c disconnect) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		r, err := c.d.ContainerInspect(ctx, c.container, client.ContainerInspectOptions{})
		if err != nil {
			return "", fmt.Errorf("inspect %s: %w", c.container, err)
		}
		if r.Container.NetworkSettings != nil {
			for name, ep := range r.Container.NetworkSettings.Networks {
				if name == c.link.NetworkID || (ep != nil && ep.NetworkID == c.link.NetworkID) {
					return "", fmt.Errorf("still on network %s", name)
				}
			}
		}
		return fmt.Sprintf("off network %.12s", c.link.NetworkID), nil
	}, nil
}

func (c disconnect) Inject(ctx context.Context) error {
	_, err := c.d.NetworkDisconnect(ctx, c.link.NetworkID, client.NetworkDisconnectOptions{Container: c.container, Force: true})
	return err
}

func (c disconnect) Heal(ctx context.Context) error {
	ep := &network.EndpointSettings{Aliases: c.link.Aliases}
	if c.link.IPv4.IsValid() {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: c.link.IPv4}
	}
	_, err := c.d.NetworkConnect(ctx, c.link.NetworkID, client.NetworkConnectOptions{Container: c.container, EndpointConfig: ep})
	return err
}
