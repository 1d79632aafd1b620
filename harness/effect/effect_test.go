package effect_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/system"
)

func TestFromJSONKeepsOneIDPerItemAndFilters(t *testing.T) {
	var body any
	_ = json.Unmarshal([]byte(`{"data": {"notes": [
		{"order": {"id": "a"}, "kind": "received", "replica": "n-1"},
		{"order": {"id": "a"}, "kind": "received", "replica": "n-2"},
		{"order": {"id": "b"}, "kind": "confirmed", "replica": "n-1"},
		{"order": {"id": 7}, "kind": "received", "replica": "n-1"}]}}`), &body)
	o, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/n", Items: "data.notes", ID: "order.id", Replica: "replica", Where: map[string]string{"kind": "received"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.IDs, []string{"a", "a", "7"}) || o.Replicas["n-1"] != 2 || o.Replicas["n-2"] != 1 {
		t.Errorf("got %+v", o)
	}
}

func TestFromJSONSaysWhatIsMissing(t *testing.T) {
	var body any
	_ = json.Unmarshal([]byte(`[{"name": "x"}]`), &body)
	if _, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/p", ID: "id"}); err == nil {
		t.Error("an item without its id was accepted")
	}
	if _, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/p", Items: "list", ID: "id"}); err == nil {
		t.Error("a missing list was accepted")
	}
	o, err := effect.FromJSON(nil, &system.HTTPEffect{Path: "/p", ID: "id"})
	if err != nil || len(o.IDs) != 0 {
		t.Errorf("null body: %v %v", o, err)
	}
}

func TestFromLogTakesTheFirstGroupOfEachLine(t *testing.T) {
	log := []byte("start\ninventory: order o-1 reserved\nnoise o-9\ninventory: order o-2 failed: no stock\ninventory: order o-1 reserved\n")
	got := effect.FromLog(log, regexp.MustCompile(`inventory: order (\S+) (reserved|failed)`))
	if !reflect.DeepEqual(got, []string{"o-1", "o-2", "o-1"}) {
		t.Errorf("got %v", got)
	}
}

func TestFromJSONKeepsWhenEachIDWasFirstApplied(t *testing.T) {
	var body any
	_ = json.Unmarshal([]byte(`[
		{"id": "a", "at": "2026-11-29T12:00:01.5Z"},
		{"id": "a", "at": "2026-11-29T12:00:00.25Z"},
		{"id": "b", "at": "2026-11-29T13:00:00+01:00"}]`), &body)
	o, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/p", ID: "id", At: "at"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{
		"a": time.Date(2026, 11, 29, 12, 0, 0, 250e6, time.UTC),
		"b": time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC),
	}
	if len(o.At) != 2 || !o.At["a"].Equal(want["a"]) || !o.At["b"].Equal(want["b"]) {
		t.Errorf("got %v, want %v", o.At, want)
	}
	_ = json.Unmarshal([]byte(`[{"id": "a", "at": "yesterday"}]`), &body)
	if _, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/p", ID: "id", At: "at"}); err == nil {
		t.Error("a time that is no time was accepted")
	}
	if o, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/p", ID: "id"}); err != nil || o.At != nil {
		t.Errorf("without At: %v, %v", o.At, err)
	}
}

func TestFromJSONTakesAListOfIDs(t *testing.T) {
	var body any
	_ = json.Unmarshal([]byte(`{"done": ["a", "b", "a", 12345678901]}`), &body)
	o, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/done", Items: "done"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.IDs, []string{"a", "b", "a", "12345678901"}) {
		t.Errorf("got %q", o.IDs)
	}
	for _, c := range []struct{ body, id, want string }{
		{`[{"id": "a"}]`, "", "/done: item 0 is an object, not an id: set id to the field that holds it"},
		{`["a", null]`, "", "/done: item 1 is null, not an id"},
		{`["a", ""]`, "", "/done: item 1 is an empty id"},
		{`["a"]`, "id", "/done: item 0 is a string, not an object: for a list of ids, leave id unset"},
	} {
		_ = json.Unmarshal([]byte(c.body), &body)
		_, err := effect.FromJSON(body, &system.HTTPEffect{Path: "/done", ID: c.id})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s with id %q: got %v, want %q", c.body, c.id, err, c.want)
		}
	}
}

// An ordered effect keeps each item's step, in the order listed, and
// leaves out the items of steps its order does not name.
func TestFromJSONInOrderKeepsTheSteps(t *testing.T) {
	var body any
	_ = json.Unmarshal([]byte(`[
		{"order_id": "a", "kind": "order_received"},
		{"order_id": "b", "kind": "order_cancelled"},
		{"order_id": "a", "kind": "order_confirmed"},
		{"order_id": "b", "kind": "order_received"},
		{"order_id": "a", "kind": "order_cancelled"}]`), &body)
	o, err := effect.FromJSONInOrder(body, &system.HTTPEffect{Path: "/n", ID: "order_id", Step: "kind"}, []string{"order_received", "order_cancelled"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.IDs, []string{"a", "b", "b", "a"}) || !reflect.DeepEqual(o.Steps, []string{"order_received", "order_cancelled", "order_received", "order_cancelled"}) {
		t.Errorf("got %+v", o)
	}
}
