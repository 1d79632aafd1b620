package history

import (
	"reflect"
	"testing"
	"time"
)

func TestFaultsSayHowLongEachTook(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	h := &History{ops: []Op{
		{Kind: "order_http", ID: "o-1", Outcome: OK, Invoked: t0, Completed: t0.Add(time.Second)},
		{Kind: KindFault, ID: "restart rabbitmq", Outcome: OK, Detail: "injected", Invoked: t0.Add(2 * time.Second), Completed: t0.Add(8100 * time.Millisecond)},
		{Kind: KindFault, ID: "restart rabbitmq", Outcome: OK, Detail: "healed", Invoked: t0.Add(9 * time.Second), Completed: t0.Add(9 * time.Second)},
		{Kind: KindFault, ID: "failpoint order-1", Outcome: OK, Detail: "exited", Invoked: t0.Add(10 * time.Second), Completed: t0.Add(10 * time.Second)},
		{Kind: KindFault, ID: "kill postgres", Outcome: Pending, Invoked: t0.Add(11 * time.Second)},
	}}
	want := []string{
		"restart rabbitmq injected at +2.0s (took 6.1s)",
		"restart rabbitmq healed at +9.0s",
		"failpoint order-1 exited at +10.0s",
		"kill postgres invoked, never completed at +11.0s",
	}
	if got := h.Faults(t0); !reflect.DeepEqual(got, want) {
		t.Errorf("Faults\n got %q\nwant %q", got, want)
	}
}
