package fault

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
)

// Sever cuts the target off the stack's network, as Disconnect does,
// and counts as injected only once the broker has dropped every
// connection it had from hosts (the container's addresses): a cut so
// short that the broker never noticed it tests no reconnect. The broker
// drops a connection when its heartbeats stop, after two or three of
// the intervals it negotiated; Inject waits for that up to four of the
// longest such interval and 10 s more, or 60 s for connections without
// heartbeats, then fails as ErrNoEffect. Its hold thus follows the
// system's own heartbeat. Heal reconnects it.
func Sever(e Engine, b Broker, t Target, hosts ...string) Fault {
	return sever{disconnect: Disconnect(e, t).(disconnect), b: b, name: t.Name, hosts: hosts}
}

type sever struct {
	disconnect
	b     Broker
	name  string
	hosts []string
}

func (s sever) Name() string { return "sever " + s.name + " until the broker drops it" }

// Witness sees the container off the network and the broker drop its
// connections.
func (s sever) Witness(ctx context.Context) (Check, error) {
	off, err := s.disconnect.Witness(ctx)
	if err != nil {
		return nil, err
	}
	gone, err := dropped(s.b, s.name, s.hosts, func(cs []broker.Connection) (time.Duration, string) {
		return heartbeats(cs), beats(cs)
	})(ctx)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (string, error) {
		a, err := off(ctx)
		if err != nil {
			return "", err
		}
		b, err := gone(ctx)
		if err != nil {
			return "", err
		}
		return a + "; " + b, nil
	}, nil
}

// beats says what heartbeats cs negotiated: "heartbeat 30s", "no
// heartbeat".
func beats(cs []broker.Connection) string {
	var out []string
	for _, c := range cs {
		if c.Timeout == 0 {
			out = append(out, "no heartbeat")
		} else {
			out = append(out, fmt.Sprintf("heartbeat %ds", c.Timeout))
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}

// heartbeats is how long the broker may take to drop cs once their
// peer is gone: four of their longest heartbeat interval and 10 s more,
// or 60 s when one has none. RabbitMQ 3.10 took 4.6 s for a heartbeat
// of 2 s, and 176 s for pika's 60 s.
func heartbeats(cs []broker.Connection) time.Duration {
	longest := 0
	for _, c := range cs {
		if c.Timeout == 0 {
			return time.Minute
		}
		longest = max(longest, c.Timeout)
	}
	return 4*time.Duration(longest)*time.Second + 10*time.Second
}
