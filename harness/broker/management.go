package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Management reads RabbitMQ's management API. It looks the API's address
// up on every call, since a restarted broker gets a new host port.
// Safe for concurrent use.
type Management struct {
	BaseURL  func(ctx context.Context) (string, error) // e.g. http://127.0.0.1:32768
	User     string
	Password string
	VHost    string
	HTTP     *http.Client // default: 5 s timeout
}

// Queue is a queue's state. Its figures lag the broker by up to a few
// seconds (quorum queues report on their tick; the harness sets 500 ms
// intervals, and 3 s of lag was still seen on RabbitMQ 3.10): assert on
// them with Eventually or after a quiet period, never from one read.
type Queue struct {
	Name       string `json:"name"`
	Messages   int    `json:"messages"`
	Ready      int    `json:"messages_ready"`
	Unacked    int    `json:"messages_unacknowledged"`
	Consumers  int    `json:"consumers"`
	Durable    bool   `json:"durable"`
	AutoDelete bool   `json:"auto_delete"`
	Exclusive  bool   `json:"exclusive"`
	Type       string `json:"type"`
	Exists     bool   `json:"-"`
	// ConsumerDetails, of a queue read alone (Management.Queue), are its
	// consumers.
	ConsumerDetails []ConsumerDetail `json:"consumer_details"`
}

// ConsumerDetail is one consumer of a queue.
type ConsumerDetail struct {
	Tag string `json:"consumer_tag"`
}

// DeadLetter is a message read from a dead-letter queue.
type DeadLetter struct {
	MessageID string `json:"message_id"`
	// Reason is the service's reason header, if it set one, else the
	// broker's x-death reason ("rejected", "expired", ...).
	Reason  string         `json:"reason"`
	Headers map[string]any `json:"headers"`
}

func (m *Management) do(ctx context.Context, method, path string, body any, out any, header ...func(*http.Request)) (int, error) {
	base, err := m.BaseURL(ctx)
	if err != nil {
		return 0, fmt.Errorf("management address: %w", err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(m.User, m.Password)
	req.Header.Set("Content-Type", "application/json")
	for _, h := range header {
		h(req)
	}
	client := m.HTTP
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (m *Management) vhost() string { return url.PathEscape(m.VHost) }

// Queue reads one queue; a queue that does not exist has Exists false.
func (m *Management) Queue(ctx context.Context, name string) (Queue, error) {
	var q Queue
	status, err := m.do(ctx, http.MethodGet, "/api/queues/"+m.vhost()+"/"+url.PathEscape(name), nil, &q)
	if status == http.StatusNotFound {
		return Queue{Name: name}, nil
	}
	if err != nil {
		return q, fmt.Errorf("read queue %s: %w", name, err)
	}
	q.Exists = true
	return q, nil
}

// Queues reads every queue of the vhost.
func (m *Management) Queues(ctx context.Context) ([]Queue, error) {
	var qs []Queue
	if _, err := m.do(ctx, http.MethodGet, "/api/queues/"+m.vhost(), nil, &qs); err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	for i := range qs {
		qs[i].Exists = true
	}
	return qs, nil
}

// DeadLetters reads up to max messages of dead-letter queue dlq and puts
// them back (the queue is unchanged). reasonHeader names the header the
// system puts its reason in ("" if none). A missing queue has none.
func (m *Management) DeadLetters(ctx context.Context, dlq, reasonHeader string, max int) ([]DeadLetter, error) {
	var raw []struct {
		Properties struct {
			MessageID string         `json:"message_id"`
			Headers   map[string]any `json:"headers"`
		} `json:"properties"`
	}
	status, err := m.do(ctx, http.MethodPost, "/api/queues/"+m.vhost()+"/"+url.PathEscape(dlq)+"/get",
		map[string]any{"count": max, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 256}, &raw)
	if status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read dead letters of %s: %w", dlq, err)
	}
	out := make([]DeadLetter, len(raw))
	for i, r := range raw {
		h := r.Properties.Headers
		reason, _ := h[reasonHeader].(string)
		if reason == "" {
			reason = xDeath(h, "reason")
		}
		out[i] = DeadLetter{MessageID: r.Properties.MessageID, Reason: reason, Headers: h}
	}
	return out, nil
}

// xDeath is a field of the broker's latest x-death entry ("reason",
// "queue"), from headers read over AMQP or through the management API.
func xDeath(h map[string]any, field string) string {
	deaths, _ := h["x-death"].([]any)
	if len(deaths) == 0 {
		return ""
	}
	var entry map[string]any
	switch d := deaths[0].(type) {
	case amqp.Table:
		entry = d
	case map[string]any:
		entry = d
	}
	v, _ := entry[field].(string)
	return v
}

// CreateVHost creates vhost (idempotent) and gives user every permission on it.
func (m *Management) CreateVHost(ctx context.Context, vhost string) error {
	v := url.PathEscape(vhost)
	if _, err := m.do(ctx, http.MethodPut, "/api/vhosts/"+v, map[string]any{}, nil); err != nil {
		return fmt.Errorf("create vhost %s: %w", vhost, err)
	}
	perms := map[string]string{"configure": ".*", "write": ".*", "read": ".*"}
	if _, err := m.do(ctx, http.MethodPut, "/api/permissions/"+v+"/"+url.PathEscape(m.User), perms, nil); err != nil {
		return fmt.Errorf("grant %s on vhost %s: %w", m.User, vhost, err)
	}
	return nil
}

// VHostState is each node's state of vhost ("running", "stopped", ...;
// cluster_state in GET /api/vhosts/{vhost}): a vhost the API created may
// not run on every node of a cluster yet, and a client that opens a
// connection to it there is refused.
func (m *Management) VHostState(ctx context.Context, vhost string) (map[string]string, error) {
	var v struct {
		ClusterState map[string]string `json:"cluster_state"`
	}
	if _, err := m.do(ctx, http.MethodGet, "/api/vhosts/"+url.PathEscape(vhost), nil, &v); err != nil {
		return nil, fmt.Errorf("read vhost %s: %w", vhost, err)
	}
	return v.ClusterState, nil
}

// StartVHost starts vhost on node (POST /api/vhosts/{vhost}/start/{node}),
// as `rabbitmqctl restart_vhost` does: a vhost that failed to start on a
// node stays stopped there until told.
func (m *Management) StartVHost(ctx context.Context, vhost, node string) error {
	if _, err := m.do(ctx, http.MethodPost, "/api/vhosts/"+url.PathEscape(vhost)+"/start/"+url.PathEscape(node), nil, nil); err != nil {
		return fmt.Errorf("start vhost %s on %s: %w", vhost, node, err)
	}
	return nil
}

// DeleteVHost deletes vhost and everything in it; a missing vhost is fine.
func (m *Management) DeleteVHost(ctx context.Context, vhost string) error {
	status, err := m.do(ctx, http.MethodDelete, "/api/vhosts/"+url.PathEscape(vhost), nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete vhost %s: %w", vhost, err)
	}
	return nil
}

// Connection is a client connection to the vhost.
type Connection struct {
	Name     string `json:"name"`
	PeerHost string `json:"peer_host"`
	User     string `json:"user"`
	// State is "running", or "blocking"/"blocked" while a resource alarm
	// holds back its publishes ("blocking": blocked as soon as it
	// publishes; "blocked": it tried).
	State string `json:"state"`
	// Timeout is the heartbeat interval the connection negotiated, in
	// seconds; 0: no heartbeats.
	Timeout int `json:"timeout"`
}

// Connections lists the vhost's client connections. Like the queue
// figures, the list lags the broker by up to a few seconds.
func (m *Management) Connections(ctx context.Context) ([]Connection, error) {
	var cs []Connection
	if _, err := m.do(ctx, http.MethodGet, "/api/vhosts/"+m.vhost()+"/connections", nil, &cs); err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return cs, nil
}

// Consumer is one consumer in the vhost: the queue it consumes and the
// host its connection comes from.
type Consumer struct {
	Queue    string
	Tag      string
	PeerHost string
}

// Consumers lists the vhost's consumers.
func (m *Management) Consumers(ctx context.Context) ([]Consumer, error) {
	var raw []struct {
		Tag   string `json:"consumer_tag"`
		Queue struct {
			Name string `json:"name"`
		} `json:"queue"`
		Channel struct {
			PeerHost string `json:"peer_host"`
		} `json:"channel_details"`
	}
	if _, err := m.do(ctx, http.MethodGet, "/api/consumers/"+m.vhost(), nil, &raw); err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	cs := make([]Consumer, len(raw))
	for i, c := range raw {
		cs[i] = Consumer{Queue: c.Queue.Name, Tag: c.Tag, PeerHost: c.Channel.PeerHost}
	}
	return cs, nil
}

// CloseConnection closes connection name from the broker's side, as an
// operator does, with reason as the close message the client sees. A
// connection already gone is fine.
func (m *Management) CloseConnection(ctx context.Context, name, reason string) error {
	req := func(r *http.Request) { r.Header.Set("X-Reason", reason) }
	status, err := m.do(ctx, http.MethodDelete, "/api/connections/"+url.PathEscape(name), nil, nil, req)
	if status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("close connection %s: %w", name, err)
	}
	return nil
}

// DeleteQueue deletes queue name with whatever it holds, as an operator
// does; its consumers are cancelled (basic.cancel). A queue already gone
// is fine.
func (m *Management) DeleteQueue(ctx context.Context, name string) error {
	status, err := m.do(ctx, http.MethodDelete, "/api/queues/"+m.vhost()+"/"+url.PathEscape(name), nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete queue %s: %w", name, err)
	}
	return nil
}

// DeclareQueue declares queue name, durable, with args (its type among
// them), as another application or an operator would; one that exists
// with other arguments is an error.
func (m *Management) DeclareQueue(ctx context.Context, name string, args map[string]any) error {
	body := map[string]any{"durable": true, "auto_delete": false, "arguments": args}
	if _, err := m.do(ctx, http.MethodPut, "/api/queues/"+m.vhost()+"/"+url.PathEscape(name), body, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", name, err)
	}
	return nil
}
