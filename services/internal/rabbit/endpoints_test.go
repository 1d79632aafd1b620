package rabbit

import (
	"slices"
	"testing"
)

// dials is the order in which a client dials, given which sessions fail:
// each session on the URL current names, then failed.
func dials(e *endpoints, sessions int) []string {
	var out []string
	for range sessions {
		i, u := e.current()
		out = append(out, u)
		e.failed(i)
	}
	return out
}

func TestEndpointsGoRoundRobin(t *testing.T) {
	e := &endpoints{urls: []string{"amqp://n1", "amqp://n2", "amqp://n3"}}
	got := dials(e, 7)
	want := []string{"amqp://n1", "amqp://n2", "amqp://n3", "amqp://n1", "amqp://n2", "amqp://n3", "amqp://n1"}
	if !slices.Equal(got, want) {
		t.Fatalf("dialled %v, want %v", got, want)
	}
}

func TestEndpointsMoveOnFromTheOneThatFailed(t *testing.T) {
	e := &endpoints{urls: []string{"amqp://n1", "amqp://n2", "amqp://n3"}}
	e.failed(1) // the session on n2 ended, whatever was next before
	if i, u := e.current(); i != 2 || u != "amqp://n3" {
		t.Fatalf("after n2 failed: dial %d %s, want 2 amqp://n3", i, u)
	}
	e.failed(2)
	if i, u := e.current(); i != 0 || u != "amqp://n1" {
		t.Fatalf("after n3 failed: dial %d %s, want 0 amqp://n1 (wrapped round)", i, u)
	}
}

func TestEndpointsStartWhereTheNameHashesAndSpread(t *testing.T) {
	urls := []string{"amqp://n1", "amqp://n2", "amqp://n3"}
	first := map[string]int{}
	for _, name := range []string{"order-service@order-1", "inventory-service@inventory-1", "notification-service@notification-1"} {
		i, _ := newEndpoints(urls, name).current()
		if again, _ := newEndpoints(urls, name).current(); again != i {
			t.Fatalf("%s starts at %d, then at %d", name, i, again)
		}
		first[name] = i
	}
	// The reference system's three services: the cluster scenarios
	// count on order-service opening on another node than inventory.
	if first["order-service@order-1"] == first["inventory-service@inventory-1"] {
		t.Fatalf("order and inventory start on the same node: %v", first)
	}
}

func TestEndpointsOfOneNodeRedialIt(t *testing.T) {
	e := newEndpoints([]string{"amqp://only"}, "any")
	if got := dials(e, 3); !slices.Equal(got, []string{"amqp://only", "amqp://only", "amqp://only"}) {
		t.Fatalf("dialled %v", got)
	}
}

func TestHostOfHidesCredentials(t *testing.T) {
	for u, want := range map[string]string{
		"amqp://user:secret@rabbitmq-2:5672/vh": "rabbitmq-2:5672",
		"amqp://rabbitmq":                       "rabbitmq",
		"::not a url secret":                    "(unparsable URL)",
	} {
		if got := hostOf(u); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", u, got, want)
		}
	}
}
