package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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

// Witness notes the connections from the hosts, and sees none of them
// listed by the broker any more within 10 s (a client may open new
// ones).
func (c closeConnections) Witness(ctx context.Context) (Check, error) {
	return dropped(c.b, c.name, c.hosts, func([]broker.Connection) (time.Duration, string) { return seenWithin, "" })(ctx)
}

// from is those of cs that come from one of hosts.
func from(cs []broker.Connection, hosts []string) []broker.Connection {
	return slices.DeleteFunc(slices.Clone(cs), func(c broker.Connection) bool { return !slices.Contains(hosts, c.PeerHost) })
}

// dropped is the Witness of connections gone: it notes the broker's
// connections from hosts (a container's addresses) and sees none of them
// listed any more, within the limit those connections give, whose words
// (if any) a failure ends with. A client may have opened new ones
// meanwhile.
func dropped(b Broker, name string, hosts []string, limit func([]broker.Connection) (time.Duration, string)) Witness {
	return func(ctx context.Context) (Check, error) {
		cs, err := b.Connections(ctx)
		if err != nil {
			return nil, err
		}
		before := from(cs, hosts)
		return func(ctx context.Context) (string, error) {
			if len(before) == 0 {
				return "", fmt.Errorf("no connection from %s (%v) to drop", name, hosts)
			}
			start := time.Now()
			d, why := limit(before)
			saw, err := within(ctx, d, func(ctx context.Context) (string, bool, error) {
				cs, err := b.Connections(ctx)
				if err != nil {
					return "", false, err
				}
				left := 0
				for _, conn := range cs {
					if slices.ContainsFunc(before, func(c broker.Connection) bool { return c.Name == conn.Name }) {
						left++
					}
				}
				if left > 0 {
					return fmt.Sprintf("the broker still lists %d of the %d connections of %s", left, len(before), name), false, nil
				}
				return fmt.Sprintf("the broker dropped the %d connections of %s after %.1fs", len(before), name, time.Since(start).Seconds()), true, nil
			})
			if err != nil && why != "" {
				err = fmt.Errorf("%w (%s)", err, why)
			}
			return saw, err
		}, nil
	}
}

func (c closeConnections) Inject(ctx context.Context) error {
	cs, err := c.b.Connections(ctx)
	if err != nil {
		return err
	}
	var errs []error
	closed := 0
	for _, conn := range from(cs, c.hosts) {
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
