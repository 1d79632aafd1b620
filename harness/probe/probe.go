// Package probe is an HTTP client of a service's JSON endpoints and its
// Prometheus metrics. It looks the service's address up on every call,
// since a restarted container gets a new host port. Safe for concurrent
// use. Typed clients of a particular system build on Client (see the
// reference system's probe package).
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// BaseURL returns a service's current address, e.g. http://127.0.0.1:32771.
type BaseURL func(ctx context.Context) (string, error)

// At is a fixed address, for a caller that knows the service will not be
// restarted while it uses it (a benchmark phase with no faults): it saves
// a Docker API look-up per request.
func At(url string) BaseURL {
	return func(context.Context) (string, error) { return url, nil }
}

// Client calls one service.
type Client struct {
	base BaseURL
	http *http.Client
}

// Transport is shared by every client (and the workload), with enough idle connections per
// host for a load of concurrent requests to reuse them instead of opening
// a connection (through Docker's port proxy) per request.
var Transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}()

// NewClient returns a client of the service at base.
func NewClient(base BaseURL) *Client {
	return &Client{base: base, http: &http.Client{Timeout: 10 * time.Second, Transport: Transport}}
}

// StatusError is a response outside 2xx.
type StatusError struct {
	Status int
	Reason string // the JSON error's reason
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Reason) }

// Do sends in as JSON (if not nil) and decodes a 2xx JSON answer into out
// (if not nil); an answer outside 2xx is a *StatusError. The status is 0
// when no answer came.
func (c *Client) Do(ctx context.Context, method, path string, in, out any, header http.Header) (int, error) {
	base, err := c.base(ctx)
	if err != nil {
		return 0, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, &StatusError{Status: resp.StatusCode, Reason: e.Error}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Ready returns nil when the service at base answers GET /ready with 200.
func Ready(ctx context.Context, base BaseURL) error { return NewClient(base).Ready(ctx) }

// Get returns nil when the service at base answers GET path with 2xx.
func Get(ctx context.Context, base BaseURL, path string) error {
	_, err := NewClient(base).Do(ctx, http.MethodGet, path, nil, nil, nil)
	return err
}

// GetJSON decodes the JSON body of GET path into out.
func GetJSON(ctx context.Context, base BaseURL, path string, out any) error {
	_, err := NewClient(base).Do(ctx, http.MethodGet, path, nil, out, nil)
	return err
}

// Ready returns nil when the service answers GET /ready with 200.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.Do(ctx, http.MethodGet, "/ready", nil, nil, nil)
	return err
}

// closeBody reads what is left of a body before closing it, so that its
// connection can be reused.
func closeBody(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, b)
	b.Close()
}
