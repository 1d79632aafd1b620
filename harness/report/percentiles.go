package report

import (
	"fmt"
	"slices"
	"time"
)

// Percentiles describes a set of latencies by its nearest-rank p50 and
// p99 and its size, e.g. "12ms/40ms of 120"; "none" for an empty set. ds
// is not changed.
func Percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	sorted := slices.Sorted(slices.Values(ds))
	return fmt.Sprintf("%s/%s of %d", percentile(sorted, 50).Round(time.Millisecond), percentile(sorted, 99).Round(time.Millisecond), len(ds))
}
