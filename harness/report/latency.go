package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
)

// Latency is the distribution of one kind of latency over one phase of a
// run (before a fault, under it), in milliseconds, nearest-rank.
type Latency struct {
	What  string  `json:"what"`  // e.g. "POST /orders under latency 100ms±50ms"
	Count int     `json:"count"` // how many were measured; 0: none, and no percentiles
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// LatencyOf measures ds (in any order; ds is not changed).
func LatencyOf(what string, ds []time.Duration) Latency {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	l := Latency{What: what, Count: len(sorted)}
	if len(sorted) == 0 {
		return l
	}
	l.P50, l.P95, l.P99 = millis(checker.Percentile(sorted, 50)), millis(checker.Percentile(sorted, 95)), millis(checker.Percentile(sorted, 99))
	l.Max = millis(sorted[len(sorted)-1])
	return l
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String is "what: p50 12ms, p95 40ms, p99 80ms (n 200)".
func (l Latency) String() string {
	if l.Count == 0 {
		return l.What + ": none measured"
	}
	return fmt.Sprintf("%s: p50 %s, p95 %s, p99 %s, max %s (n %d)", l.What, msText(l.P50), msText(l.P95), msText(l.P99), msText(l.Max), l.Count)
}

func msText(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}
