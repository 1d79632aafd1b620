package broker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v, release string
		want       bool
	}{
		{"3.10.8", "3.10", true},
		{"3.10.8", "3.10.9", false},
		{"3.10.9", "3.10.9", true},
		{"3.10.10", "3.10.9", true},
		{"3.10.8", "3.13", false},
		{"3.13.7", "4.0", false},
		{"4.0.5", "4.0", true},
		{"4.2.1", "4.3", false},
		{"4.3.0", "4.3", true},
		{"4.3.0-rc.1", "4.3", false},
		{"5.0.0", "4.3", true},
		{"", "3.0", false},
		{"4.x.1", "4.0", false},
	} {
		if got := (Version{RabbitMQ: tc.v}).AtLeast(tc.release); got != tc.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tc.v, tc.release, got, tc.want)
		}
	}
}

func TestVersionReadsTheOverview(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/overview" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"management_version":"3.10.8","rabbitmq_version":"3.10.8","erlang_version":"25.2.3","node":"rabbit@x"}`))
	}))
	defer srv.Close()
	m := &Management{BaseURL: func(context.Context) (string, error) { return srv.URL, nil }}
	v, err := m.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != "RabbitMQ 3.10.8 (Erlang 25.2.3)" {
		t.Fatalf("got %q", v)
	}
}
