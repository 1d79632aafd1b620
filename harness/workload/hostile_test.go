package workload_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/workload"
)

// crowd runs a hostile crowd against srv for hold, then heals it, and
// counts its connections' ends by kind and how.
func crowd(t *testing.T, srv *httptest.Server, hold time.Duration) map[[2]string]int {
	t.Helper()
	c := &workload.Hostile{Service: "test", Addr: srv.Listener.Addr().String(), Path: "/orders", SlowBodies: 20, Silent: 20}
	if err := c.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(hold) // holding the fault open is the point
	if err := c.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]int{}
	for _, e := range c.Ends() {
		got[[2]string{e.Kind, e.How}]++
	}
	return got
}

func TestHostileClientsSayWhichLimitEndedThem(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := io.ReadAll(r.Body); err != nil {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
	}))
	srv.Config.ReadHeaderTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()

	got := crowd(t, srv, 2*time.Second)
	if got[[2]string{workload.KindSlowBody, "answered 408"}] == 0 || got[[2]string{workload.KindSilent, "closed without an answer"}] == 0 {
		t.Errorf("want slow bodies answered 408 and silent ones closed without an answer, got %v", got)
	}
	for k, n := range got {
		if k[1] != "answered 408" && k[1] != "closed without an answer" && k[1] != workload.OpenAtHeal {
			t.Errorf("%d %s connections ended as %q", n, k[0], k[1])
		}
	}
}

func TestHostileClientsStayOpenOnAServerWithoutLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) }))
	defer srv.Close()

	got := crowd(t, srv, time.Second)
	open := got[[2]string{workload.KindSlowBody, workload.OpenAtHeal}] + got[[2]string{workload.KindSilent, workload.OpenAtHeal}]
	if open == 0 || len(got) != 2 {
		t.Errorf("want every connection open at heal, of both kinds, got %v", got)
	}
}
