package inventory

import (
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
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

func TestDuplicateOneInCopiesEveryNthOrderAfterIt(t *testing.T) {
	var taken atomic.Int64
	batch := func(ids ...string) []*order {
		var out []*order
		for _, id := range ids {
			out = append(out, &order{placed: contract.OrderPlaced{OrderID: id}, apply: true})
		}
		return out
	}
	var got []string
	for _, b := range [][]*order{batch("o1", "o2"), batch("o3", "o4", "o5"), batch("o6")} {
		for _, o := range duplicateOneIn(3, &taken, b, slog.New(slog.DiscardHandler)) {
			id := o.placed.OrderID
			if o.twin != nil {
				if o.twin.placed.OrderID != id {
					t.Errorf("the copy of %s follows %s", id, o.twin.placed.OrderID)
				}
				id += "'"
			}
			got = append(got, id)
		}
	}
	if want := []string{"o1", "o2", "o3", "o3'", "o4", "o5", "o6", "o6'"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
