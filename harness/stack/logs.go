package stack

import (
	"context"
	"errors"
	"fmt"
)

// BrokerLogs returns the broker's whole log, across restarts of its
// container: what RabbitMQ itself says of a fault (a consumer timed out,
// an alarm raised), for any system.
func (inf *Infra) BrokerLogs(ctx context.Context) ([]byte, error) {
	if inf.Broker == nil {
		return nil, errors.New("logs of the broker: not started")
	}
	return inf.Broker.Logs(ctx)
}

// Logs returns the node's whole log, across restarts of its container.
func (n *Node) Logs(ctx context.Context) ([]byte, error) {
	if n.part == nil {
		return nil, fmt.Errorf("logs of %s: not started", n.Alias)
	}
	return n.part.Logs(ctx)
}

// Logs returns the replica's whole log, across restarts of its container.
func (r *Replica) Logs(ctx context.Context) ([]byte, error) {
	if r.part == nil {
		return nil, fmt.Errorf("logs of %s: not started", r.Name)
	}
	return r.part.Logs(ctx)
}
