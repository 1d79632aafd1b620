package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mqchaos/mqchaos/harness/broker"
)

// Broker is the part of the management API CloseConnections uses; a
// *broker.Management is one.
type Broker interface {
	Connections(ctx context.Context) ([]broker.Connection, error)
	CloseConnection(ctx context.Context, name, reason string) error
}

// CloseConnections closes, from the broker's side, every connection of
// the vhost that comes from one of hosts (a replica's addresses), as an
// operator or a broker policy does. It fails when there is none to close.
// Heal does nothing: the client must reconnect by itself.
func CloseConnections(b Broker, name string, hosts ...string) Fault {
	return closeConnections{b: b, name: name, hosts: hosts}
}

type closeConnections struct {
	b     Broker
	name  string
	hosts []string
}

func (c closeConnections) Name() string { return "close connections of " + c.name }

// from are the names of the connections from c's hosts among cs.
func (c closeConnections) from(cs []broker.Connection) []string {
	var names []string
	for _, conn := range cs {
		if slices.Contains(c.hosts, conn.PeerHost) {
			names = append(names, conn.Name)
		}
	}
	return names
}

// Witness notes the connections from the hosts, and sees none of them
// listed by the broker any more (a client may open new ones).
func (c closeConnections) Witness(ctx context.Context) (Check, error) {
	cs, err := c.b.Connections(ctx)
	if err != nil {
		return nil, err
	}
	before := c.from(cs)
	return func(ctx context.Context) (string, error) {
		if len(before) == 0 {
			return "", fmt.Errorf("no connection from %v to close", c.hosts)
		}
		return Eventually(ctx, func(ctx context.Context) (string, bool, error) {
			cs, err := c.b.Connections(ctx)
			if err != nil {
				return "", false, err
			}
			var left []string
			for _, conn := range cs {
				if slices.Contains(before, conn.Name) {
					left = append(left, conn.Name)
				}
			}
			if len(left) > 0 {
				return fmt.Sprintf("%d of %d connections still open: %v", len(left), len(before), left), false, nil
			}
			return fmt.Sprintf("%d connections of %s closed", len(before), c.name), true, nil
		})
	}, nil
}

func (c closeConnections) Inject(ctx context.Context) error {
	cs, err := c.b.Connections(ctx)
	if err != nil {
		return err
	}
	var errs []error
	closed := 0
	for _, conn := range cs {
		if !slices.Contains(c.hosts, conn.PeerHost) {
			continue
		}
		if err := c.b.CloseConnection(ctx, conn.Name, "mqchaos: closed by the broker"); err != nil {
			errs = append(errs, err)
			continue
		}
		closed++
	}
	if closed == 0 && len(errs) == 0 {
		return fmt.Errorf("no connection from %v among %d", c.hosts, len(cs))
	}
	return errors.Join(errs...)
}

func (closeConnections) Heal(context.Context) error { return nil }
