package bench

import (
	"strings"
	"testing"
)

func TestShapeOfFollowsTheServiceSettings(t *testing.T) {
	sh, err := ShapeOf(map[string]string{"CONSUME_BATCH": "64", "CONSUMER_WORKERS": "1"})
	if err != nil || sh != (Shape{Prefetch: 512, Workers: 1, OutboxBatch: 256, ConsumeBatch: 64}) {
		t.Fatalf("%+v, %v", sh, err)
	}
	if _, err := ShapeOf(map[string]string{"CONSUME_BATCH": "0"}); err == nil {
		t.Fatal("a zero batch was accepted")
	}
}

// The table judges each shaped ratio and each service's memory.
func TestTableSaysPassOrFailPerBar(t *testing.T) {
	r := Result{E2EShapedRatio: 0.71, DrainShapedRatio: 0.42, DrainWholeRatio: 0.79, RSSMiB: map[string]float64{"order": 20, "inventory": 51}}
	table := r.Table()
	for _, want := range []string{"end to end / pipeline", "0.71", ">= 0.7 pass", "(old bar)", "0.42", "drain alone / whole", "0.79", ">= 0.8 FAIL", "inventory-service", "< 50 FAIL", "order-service"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
