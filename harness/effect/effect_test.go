package effect_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

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
