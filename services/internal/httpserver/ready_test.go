package httpserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func getReady(t *testing.T, checks []Check) (int, map[string]string) {
	t.Helper()
	mux := http.NewServeMux()
	Mount(mux, prometheus.NewRegistry(), func() []Check { return checks })
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return rec.Code, body
}

// A blocked connection is up: 200, and the body says it is blocked and why.
func TestReadyShowsABlockedConnectionAndStaysReady(t *testing.T) {
	code, body := getReady(t, []Check{
		{Name: "amqp", OK: true, Detail: "blocked: low on memory"},
		{Name: "database", OK: true, Detail: "connected"},
	})
	if code != http.StatusOK || body["status"] != "ready" || body["amqp"] != "blocked: low on memory" || body["reason"] != "" {
		t.Fatalf("%d %v", code, body)
	}
}

// A session the broker refuses (topology drift) is 503 with its reason.
func TestReadyGivesTheBrokersReasonWhenNotConnected(t *testing.T) {
	drift := `queue.declare q: Exception (406) Reason: "PRECONDITION_FAILED - inequivalent arg 'x-queue-type'"`
	code, body := getReady(t, []Check{
		{Name: "amqp", OK: false, Detail: drift},
		{Name: "database", OK: true, Detail: "connected"},
	})
	if code != http.StatusServiceUnavailable || body["status"] != "not ready" || body["amqp"] != drift || body["reason"] != "amqp: "+drift {
		t.Fatalf("%d %v", code, body)
	}
}
