package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Peeked is a message read from a queue and put back.
type Peeked struct {
	MessageID string `json:"message_id"`
	// Payload is the start of the body (up to 1 KiB), as the management
	// API gives it: the text, or base64 for a body that is not UTF-8.
	Payload string         `json:"payload"`
	Headers map[string]any `json:"headers"`
}

// Peek reads up to max ready messages of queue and puts them back, as
// DeadLetters reads a dead-letter queue (ack_requeue_true): the queue
// holds the same messages afterwards, redelivered ones marked so. A
// message out at a consumer (unacked) cannot be read. A missing queue
// has none. Each message read counts as a delivery on a quorum queue
// (towards its delivery limit): peek a live queue rarely.
func (m *Management) Peek(ctx context.Context, queue string, max int) ([]Peeked, error) {
	var raw []struct {
		Payload    string `json:"payload"`
		Properties struct {
			MessageID string         `json:"message_id"`
			Headers   map[string]any `json:"headers"`
		} `json:"properties"`
	}
	status, err := m.do(ctx, http.MethodPost, "/api/queues/"+m.vhost()+"/"+url.PathEscape(queue)+"/get",
		map[string]any{"count": max, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 1024}, &raw)
	if status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("peek %s: %w", queue, err)
	}
	out := make([]Peeked, len(raw))
	for i, r := range raw {
		out[i] = Peeked{MessageID: r.Properties.MessageID, Payload: r.Payload, Headers: r.Properties.Headers}
	}
	return out, nil
}
