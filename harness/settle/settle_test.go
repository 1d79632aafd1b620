package settle_test

import (
	"slices"
	"testing"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/settle"
)

func TestFingerprintChangesWithAnyCount(t *testing.T) {
	a := settle.Fingerprint(map[string]effect.Observed{"x": {IDs: []string{"1"}}, "y": {}})
	b := settle.Fingerprint(map[string]effect.Observed{"y": {}, "x": {IDs: []string{"1"}}})
	c := settle.Fingerprint(map[string]effect.Observed{"x": {IDs: []string{"1"}}, "y": {IDs: []string{"1"}}})
	if a != b || a == c {
		t.Errorf("%q %q %q", a, b, c)
	}
}

// A message's unit is found by its message id, else in its payload or
// headers, a word at a time: u-1 is not read in u-10.
func TestUnitsIn(t *testing.T) {
	known := map[string]bool{"u-1": true, "u-10": true, "u-2": true, "u-3": true}
	msgs := []broker.Peeked{
		{MessageID: "u-3"},
		{MessageID: "9f0c", Payload: `{"event_id": "9f0c", "data": {"order_id": "u-10", "quantity": 1}}`},
		{MessageID: "77aa", Payload: `{"event_id": "77aa"}`, Headers: map[string]any{"x-count": 2.0, "x-unit": "u-2"}},
		{MessageID: "u-3", Payload: "again"},
		{Payload: `{"order_id": "u-100"}`},
	}
	ids, none := settle.UnitsIn(msgs, known)
	if want := []string{"u-3", "u-10", "u-2"}; !slices.Equal(ids, want) || none != 1 {
		t.Errorf("ids %v, none %d; want %v, 1", ids, none, want)
	}
}
