package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Metrics reads a service's Prometheus text exposition.
type Metrics struct{ *Client }

// NewMetrics returns a client of a service's GET /metrics at base.
func NewMetrics(base BaseURL) *Metrics { return &Metrics{NewClient(base)} }

// Scrape is one read of /metrics.
type Scrape string

// Scrape reads /metrics once, uncompressed (compressing it costs the
// service CPU that a benchmark would then measure).
func (m *Metrics) Scrape(ctx context.Context) (Scrape, error) {
	base, err := m.base(ctx)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := m.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /metrics: %w", err)
	}
	defer closeBody(resp.Body)
	b, err := io.ReadAll(resp.Body)
	return Scrape(b), err
}

// Sum reads /metrics and sums metric's samples whose labels contain all of
// match (e.g. `queue="inventory.order-events"`).
func (m *Metrics) Sum(ctx context.Context, metric string, match ...string) (float64, error) {
	s, err := m.Scrape(ctx)
	if err != nil {
		return 0, err
	}
	return s.Sum(metric, match...)
}

// Sum sums metric's samples whose labels contain all of match.
func (s Scrape) Sum(metric string, match ...string) (float64, error) {
	sum := 0.0
lines:
	for _, line := range strings.Split(string(s), "\n") {
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // a longer metric name
		}
		for _, m := range match {
			if !strings.Contains(rest, m) {
				continue lines
			}
		}
		fields := strings.Fields(rest)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %w", metric, err)
		}
		sum += v
	}
	return sum, nil
}
