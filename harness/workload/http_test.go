package workload

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/system"
)

// TestHTTPLooksTheServiceUpPerConnection: the service's address is looked
// up when a connection is opened, not for every request; when the service
// comes back at another address, the next connections go there; with no
// address to be had, a unit is certainly not sent.
func TestHTTPLooksTheServiceUpPerConnection(t *testing.T) {
	var hits [2]atomic.Int64
	serve := func(i int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/orders" || !strings.Contains(readAll(r), `"order_id": "`) {
				http.Error(w, "not the rendered request", http.StatusBadRequest)
				return
			}
			hits[i].Add(1)
			w.WriteHeader(http.StatusCreated)
		}))
	}
	first := serve(0)
	defer first.Close()
	var (
		mu      sync.Mutex
		addr    = first.URL
		lookups int
	)
	base := func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		lookups++
		if addr == "" {
			return "", errors.New("no running order replica")
		}
		return addr, nil
	}
	c := httpClient(base, false)
	defer c.CloseIdleConnections()
	in := &system.HTTPInput{Service: "order", Method: http.MethodPost, Path: "/orders", Body: `{"order_id": "{{.ID}}"}`, ContentType: "application/json"}
	var h history.History
	send := func(prefix string, n int) {
		l := Load{Prefix: prefix, Count: n, Concurrency: 4}
		l.run(t.Context(), l.Units(), func(ctx context.Context, u system.Unit, due time.Time) {
			sendHTTP(ctx, c, &h, "order_http", in, u, due, l.rng(u))
		})
	}

	send("a", 200)
	if ok := len(h.IDs("order_http", history.OK)); ok != 200 || hits[0].Load() != 200 {
		t.Fatalf("%d of 200 units ok, %d requests served", ok, hits[0].Load())
	}
	// Four senders keep four connections; the transport may open one
	// more than it uses while another comes free.
	if lookups > 8 {
		t.Errorf("%d lookups for 200 requests from 4 senders, want one a connection", lookups)
	}

	first.Close() // the service stops; its connections break
	second := serve(1)
	defer second.Close()
	mu.Lock()
	addr = second.URL
	mu.Unlock()
	send("b", 100)
	if hits[1].Load() == 0 {
		t.Errorf("no request reached the service at its new address")
	}
	if ok := len(h.IDs("order_http", history.OK)); int64(ok) != hits[0].Load()+hits[1].Load() {
		t.Errorf("%d units ok, %d requests served", ok, hits[0].Load()+hits[1].Load())
	}

	second.Close()
	c.CloseIdleConnections()
	mu.Lock()
	addr = ""
	mu.Unlock()
	send("c", 1)
	ops := h.Ops()
	last := ops[len(ops)-1]
	if last.Outcome != history.Fail || !strings.HasPrefix(last.Detail, "not sent: ") {
		t.Errorf("a unit with no address to send to: %s %q, want fail, not sent", last.Outcome, last.Detail)
	}
}

func readAll(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}
