package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Node is a RabbitMQ node as the management API lists it.
type Node struct {
	Name       string   `json:"name"` // "rabbit@rabbitmq-1"
	Running    bool     `json:"running"`
	Partitions []string `json:"partitions"` // nodes it sees on the other side of a partition
}

// Nodes lists the cluster's nodes as the node answering sees them
// (stopped members too, with Running false). Like the queue figures, a
// node's state lags by up to a few seconds.
func (m *Management) Nodes(ctx context.Context) ([]Node, error) {
	var ns []Node
	if _, err := m.do(ctx, http.MethodGet, "/api/nodes", nil, &ns); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return ns, nil
}

// Placement is where a queue lives: the node that leads it (a quorum
// queue's Raft leader; a classic queue's only node) and, for a
// replicated queue, its members and which of them are online.
type Placement struct {
	Type    string   `json:"type"`    // "quorum", "classic", "stream"
	Leader  string   `json:"leader"`  // "rabbit@rabbitmq-2"; empty for a classic queue
	Node    string   `json:"node"`    // the leader's node for a quorum queue, the queue's node for a classic one
	Members []string `json:"members"` // quorum queues only
	Online  []string `json:"online"`  // quorum queues only
}

// LeaderNode is the node to aim at to take the queue's leader away:
// Leader, or Node where the API gives no leader (classic queues).
func (p Placement) LeaderNode() string {
	if p.Leader != "" {
		return p.Leader
	}
	return p.Node
}

// Placement reads where queue lives. On RabbitMQ 3.10 a quorum queue's
// JSON carries leader, members and online (and node, the leader's); a
// classic queue's only node. Its figures lag like every other queue
// figure: after a failover, poll until the leader has moved.
func (m *Management) Placement(ctx context.Context, queue string) (Placement, error) {
	var p Placement
	if _, err := m.do(ctx, http.MethodGet, "/api/queues/"+m.vhost()+"/"+url.PathEscape(queue), nil, &p); err != nil {
		return p, fmt.Errorf("read placement of queue %s: %w", queue, err)
	}
	return p, nil
}

// Leader is the node that leads queue now (see Placement.LeaderNode);
// an error if the API names none.
func (m *Management) Leader(ctx context.Context, queue string) (string, error) {
	p, err := m.Placement(ctx, queue)
	if err != nil {
		return "", err
	}
	if p.LeaderNode() == "" {
		return "", fmt.Errorf("leader of queue %s: the management API names none", queue)
	}
	return p.LeaderNode(), nil
}
