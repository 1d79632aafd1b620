package fault

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
)

// Disconnect cuts the target off the stack's network; Heal reconnects
// it with its aliases.
func Disconnect(e Engine, t Target) Fault {
	return disconnect{e: e, name: "disconnect " + t.Name, t: t, link: t.link()}
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
	e    Engine
	name string
	t    Target
	link Link
}

func (c disconnect) Name() string { return c.name }

// Witness sees the target on the network no more.
func (c disconnect) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		st, err := state(ctx, c.e, c.t)
		if err != nil {
			return "", err
		}
		if slices.Contains(st.Networks, c.link.NetworkID) {
			return "", fmt.Errorf("still on network %.12s", c.link.NetworkID)
		}
		return fmt.Sprintf("off network %.12s", c.link.NetworkID), nil
	}, nil
}

func (c disconnect) Inject(ctx context.Context) error { return c.e.Disconnect(ctx, c.t, c.link) }

func (c disconnect) Heal(ctx context.Context) error { return c.e.Connect(ctx, c.t, c.link) }
