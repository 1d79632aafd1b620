package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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

// Sum sums metric's samples (counters, gauges and untyped) whose labels
// include every one of match, each written name="value" (e.g.
// `queue="inventory.order-events"`).
func (s Scrape) Sum(metric string, match ...string) (float64, error) {
	want := map[string]string{}
	for _, m := range match {
		name, value, ok := strings.Cut(m, "=")
		if !ok {
			return 0, fmt.Errorf("metric %s: label matcher %q: want name=\"value\"", metric, m)
		}
		want[name] = strings.Trim(value, `"`)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(s)))
	if err != nil {
		return 0, fmt.Errorf("parse metrics: %w", err)
	}
	fam, ok := families[metric]
	if !ok {
		return 0, nil
	}
	sum := 0.0
samples:
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue samples
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		default:
			return 0, fmt.Errorf("metric %s: not a counter, gauge or untyped value", metric)
		}
	}
	return sum, nil
}
