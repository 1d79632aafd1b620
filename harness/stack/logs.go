package stack

import (
	"context"
	"fmt"
	"io"
)

// BrokerLogs returns the broker's whole log, across restarts of its
// container: what RabbitMQ itself says of a fault (a consumer timed out,
// an alarm raised), for any system.
func (inf *Infra) BrokerLogs(ctx context.Context) ([]byte, error) {
	rc, err := inf.Broker.Logs(ctx)
	if err != nil {
		return nil, fmt.Errorf("broker logs: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("broker logs: %w", err)
	}
	return b, nil
}
