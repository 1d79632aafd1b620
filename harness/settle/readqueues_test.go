package settle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/settle"
)

// An exclusive queue is read by its figures alone: the broker refuses a
// peek of it (405 RESOURCE_LOCKED) to anyone but its own connection, as
// the transient-queues controls' queues showed in a CI run.
func TestReadQueuesDoesNotPeekAnExclusiveQueue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/queues/v":
			w.Write([]byte(`[{"name":"mine","messages_ready":3,"exclusive":true},{"name":"shared","messages_ready":1}]`))
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/mine/get"):
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"bad_request","reason":"405 RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'mine'"}`))
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/shared/get"):
			w.Write([]byte(`[{"payload":"{\"id\":\"u1\"}","properties":{"message_id":"u1"}}]`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	m := &broker.Management{BaseURL: func(context.Context) (string, error) { return srv.URL, nil }, VHost: "v"}
	fs, err := settle.ReadQueues(context.Background(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Ready != 3 || len(fs[0].Messages) != 0 || len(fs[1].Messages) != 1 {
		t.Fatalf("read %v, want mine by its figures (3 ready, none peeked) and shared peeked (1)", fs)
	}
}
