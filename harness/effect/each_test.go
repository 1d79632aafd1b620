package effect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/harness/system"
)

// serve starts a replica answering GET /done with body, and returns it
// as a replica named name.
func serve(t *testing.T, name string, body any) replica {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/done" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return replica{name: name, url: probe.At(srv.URL)}
}

// stopped is a replica whose address cannot be looked up, as a stopped
// container's cannot.
func stopped(name string) replica {
	return replica{name: name, url: func(context.Context) (string, error) {
		return "", fmt.Errorf("look up port 8080/tcp of %s: not running", name)
	}}
}

// ids are n ids of the form prefix-i.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// Three competing consumers, each listing the 50 units it applied: the
// run applied 150, and reading one replica showed 99 of them as lost.
func TestReadEachPutsEveryReplicasWorkTogether(t *testing.T) {
	var rs []replica
	var want []string
	for i := 1; i <= 3; i++ {
		own := ids(fmt.Sprintf("r%d", i), 50)
		want = append(want, own...)
		rs = append(rs, serve(t, fmt.Sprintf("worker-%d", i), own))
	}
	o, err := readEach(context.Background(), rs, &system.HTTPEffect{Service: "worker", Path: "/done", Replicas: system.ReplicasEach})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(o.IDs)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("read %d ids, want the 150 the three replicas applied", len(o.IDs))
	}
	for i := 1; i <= 3; i++ {
		if n := o.Replicas[fmt.Sprintf("worker-%d", i)]; n != 50 {
			t.Errorf("worker-%d applied %d, want 50 (replicas %v)", i, n, o.Replicas)
		}
	}
}

// With a replica field in the items, the body says who applied each, and
// times are the earliest any replica shows.
func TestReadEachKeepsTheBodysReplicaAndTheEarliestTime(t *testing.T) {
	rs := []replica{
		serve(t, "worker-1", []map[string]string{{"id": "a", "by": "w1", "at": "2026-12-02T10:00:02Z"}}),
		serve(t, "worker-2", []map[string]string{{"id": "a", "by": "w2", "at": "2026-12-02T10:00:01Z"}, {"id": "b", "by": "w2", "at": "2026-12-02T10:00:03Z"}}),
	}
	o, err := readEach(context.Background(), rs, &system.HTTPEffect{Service: "worker", Path: "/done", ID: "id", Replica: "by", At: "at", Replicas: system.ReplicasEach})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.IDs, []string{"a", "a", "b"}) || o.Replicas["w1"] != 1 || o.Replicas["w2"] != 2 || len(o.Replicas) != 2 {
		t.Errorf("got ids %v, replicas %v", o.IDs, o.Replicas)
	}
	if got := o.At["a"].Format("15:04:05"); got != "10:00:01" {
		t.Errorf("a applied at %s, want the earliest, 10:00:01", got)
	}
}

// A stopped replica is skipped, as Stack.URL skips it; with every replica
// stopped there is nothing to read.
func TestReadEachSkipsStoppedReplicas(t *testing.T) {
	src := &system.HTTPEffect{Service: "worker", Path: "/done", Replicas: system.ReplicasEach}
	o, err := readEach(context.Background(), []replica{stopped("worker-1"), serve(t, "worker-2", []string{"x"})}, src)
	if err != nil || !slices.Equal(o.IDs, []string{"x"}) {
		t.Errorf("got %v, %v; want [x] from worker-2", o.IDs, err)
	}
	_, err = readEach(context.Background(), []replica{stopped("worker-1"), stopped("worker-2")}, src)
	if err == nil || !strings.Contains(err.Error(), "no running worker replica") || !strings.Contains(err.Error(), "worker-2") {
		t.Errorf("every replica stopped: got %v", err)
	}
	if _, err := readEach(context.Background(), nil, src); err == nil || err.Error() != "no running worker replica" {
		t.Errorf("no replica: got %v", err)
	}
}

// A running replica that cannot be read is an error naming it: leaving
// its work out would show that work as lost.
func TestReadEachNamesTheReplicaItCannotRead(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error": "boom"}`, http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	rs := []replica{serve(t, "worker-1", []string{"x"}), {name: "worker-2", url: probe.At(broken.URL)}}
	_, err := readEach(context.Background(), rs, &system.HTTPEffect{Service: "worker", Path: "/done", Replicas: system.ReplicasEach})
	var se *probe.StatusError
	if err == nil || !strings.HasPrefix(err.Error(), "worker-2: ") || !errors.As(err, &se) {
		t.Errorf("got %v, want worker-2's status error", err)
	}
	rs = []replica{serve(t, "worker-1", map[string]any{"items": []string{"x"}}), serve(t, "worker-2", map[string]any{"not": "a list"})}
	if _, err := readEach(context.Background(), rs, &system.HTTPEffect{Service: "worker", Path: "/done", Items: "items", Replicas: system.ReplicasEach}); err == nil || !strings.HasPrefix(err.Error(), "worker-2: /done: ") {
		t.Errorf("got %v, want worker-2's body refused", err)
	}
}
