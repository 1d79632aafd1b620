package httpserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mqchaos/mqchaos/services/contract"
)

// A known path asked with a method it does not serve answers 405 with
// the methods it does serve in Allow (OPTIONS: 204 with Allow); an unknown
// path answers 404. Both with a JSON reason, over a real server.
func TestAWrongMethodIs405WithAllow(t *testing.T) {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	mux.HandleFunc("POST /orders", ok)
	mux.HandleFunc("GET /orders", ok)
	mux.HandleFunc("GET /orders/{id}", ok)
	Mount(mux, prometheus.NewRegistry(), func() []Check { return nil })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
		reason       string
	}{
		{"PUT", "/orders", 405, "GET, HEAD, POST", "method PUT not allowed on /orders: use GET, HEAD, POST"},
		{"DELETE", "/orders/o-1", 405, "GET, HEAD", "method DELETE not allowed on /orders/o-1"},
		{"POST", "/ready", 405, "GET, HEAD", "method POST not allowed"},
		{"OPTIONS", "/orders", 204, "GET, HEAD, POST", ""},
		{"PUT", "/nowhere", 404, "", "no route for PUT /nowhere"},
		{"GET", "/orders/o-1", 204, "", ""},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e contract.APIError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow || !strings.Contains(e.Error, tc.reason) {
			t.Errorf("%s %s: %d, Allow %q, %q; want %d, Allow %q, a reason with %q",
				tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), e.Error, tc.status, tc.allow, tc.reason)
		}
		if tc.status >= 400 && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want JSON", tc.method, tc.path, resp.Header.Get("Content-Type"))
		}
	}
}
