package report

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestLatencyOfIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // 100ms down to 1ms: the input's order must not matter
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	first := ds[0]
	l := LatencyOf("POST /orders before", ds)
	if l.Count != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 {
		t.Fatalf("got %+v, want n 100, p50 50, p95 95, p99 99, max 100", l)
	}
	if ds[0] != first {
		t.Fatal("LatencyOf reordered its argument")
	}
	if got := l.String(); got != "POST /orders before: p50 50ms, p95 95ms, p99 99ms, max 100ms (n 100)" {
		t.Fatalf("String() = %q", got)
	}
	one := LatencyOf("one", []time.Duration{1500 * time.Microsecond})
	if one.P50 != 1.5 || one.P99 != 1.5 || !strings.Contains(one.String(), "p50 1.5ms") {
		t.Fatalf("one measure: %+v %s", one, one)
	}
	if none := LatencyOf("none", nil); none.Count != 0 || none.String() != "none: none measured" {
		t.Fatalf("no measure: %+v %s", none, none)
	}
}

func TestFiguresShowTheirLatencies(t *testing.T) {
	f := Figures{Scenario: "s", Side: "safe", Latencies: []Latency{LatencyOf("end to end under slicer", []time.Duration{2 * time.Second})}}
	if !strings.Contains(f.String(), "latency end to end under slicer: p50 2000ms") {
		t.Fatalf("String() lacks the latency:\n%s", f)
	}
}
