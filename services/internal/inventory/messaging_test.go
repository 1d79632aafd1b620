package inventory

import (
	"maps"
	"testing"

	"github.com/mqchaos/mqchaos/services/contract"
)

func TestAllocateReservesInDeliveryOrder(t *testing.T) {
	placed := func(id, item string, qty int, apply bool) *order {
		return &order{placed: contract.OrderPlaced{OrderID: id, Item: item, Quantity: qty}, apply: apply}
	}
	orders := []*order{
		placed("o1", "a", 3, true),
		placed("o2", "a", 2, true),  // exactly the 2 left
		placed("o3", "a", 1, true),  // none left
		placed("o4", "b", 1, false), // claimed before: not applied, changes nothing
		placed("o5", "c", 1, true),  // unknown item
		placed("o6", "b", 4, true),
	}
	levels := map[string]int{"a": 5, "b": 4}
	changed := allocate(levels, orders)

	want := map[string]string{"o1": "", "o2": "", "o3": contract.ReasonInsufficientStock, "o4": "", "o5": contract.ReasonUnknownItem, "o6": ""}
	for _, o := range orders {
		if o.reason != want[o.placed.OrderID] {
			t.Errorf("%s: reason %q, want %q", o.placed.OrderID, o.reason, want[o.placed.OrderID])
		}
	}
	if !maps.Equal(changed, map[string]int{"a": 0, "b": 0}) {
		t.Errorf("changed levels %v, want a and b down to 0", changed)
	}
}
