package stack

import (
	"context"
	"fmt"
	"io"

	"github.com/testcontainers/testcontainers-go"
)

// BrokerLogs returns the broker's whole log, across restarts of its
// container: what RabbitMQ itself says of a fault (a consumer timed out,
// an alarm raised), for any system.
func (inf *Infra) BrokerLogs(ctx context.Context) ([]byte, error) {
	return containerLogs(ctx, inf.Broker, "broker")
}

// Logs returns the node's whole log, across restarts of its container.
func (n *Node) Logs(ctx context.Context) ([]byte, error) {
	return containerLogs(ctx, n.Container, n.Alias)
}

// Logs returns the replica's whole log, across restarts of its container.
func (r *Replica) Logs(ctx context.Context) ([]byte, error) {
	return containerLogs(ctx, r.Container, r.Name)
}

// containerLogs reads c's whole log; name says whose in an error.
func containerLogs(ctx context.Context, c *testcontainers.DockerContainer, name string) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("logs of %s: not started", name)
	}
	rc, err := c.Logs(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", name, err)
	}
	return b, nil
}
