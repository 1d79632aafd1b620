// Package outage turns a stream of failures of one dependency into two log
// lines, one when it goes away and one when it comes back, with the
// failures counted in metrics in between, instead of a line per failure.
package outage

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Tracker follows one dependency (the database, the broker) as one
// component (the outbox relay, a consumer) sees it. Safe for concurrent
// use; the zero value is not usable: use New.
type Tracker struct {
	dependency, component string
	log                   *slog.Logger
	failures              prometheus.Counter
	up                    prometheus.Gauge
	now                   func() time.Time

	mu    sync.Mutex
	down  bool
	since time.Time
	count int
	first error
}

// Metrics are the counters a Tracker reports to, by dependency and component.
type Metrics struct {
	Failures *prometheus.CounterVec
	Up       *prometheus.GaugeVec
}

// New returns a tracker of dependency as component sees it, up at first.
func New(dependency, component string, log *slog.Logger, m Metrics) *Tracker {
	t := &Tracker{
		dependency: dependency, component: component, log: log, now: time.Now,
		failures: m.Failures.WithLabelValues(dependency, component),
		up:       m.Up.WithLabelValues(dependency, component),
	}
	t.up.Set(1)
	return t
}

// Failed counts a failure. The first of an outage is logged at warn level
// and marks the dependency down; the rest are only counted (and logged at
// debug level).
func (t *Tracker) Failed(err error) {
	t.failures.Inc()
	t.mu.Lock()
	first := !t.down
	if first {
		t.down, t.since, t.count, t.first = true, t.now(), 0, err
		t.up.Set(0)
	}
	t.count++
	t.mu.Unlock()
	if first {
		t.log.Warn(t.dependency+" unavailable; failures are counted in mqchaos_dependency_failures_total until it is back",
			"dependency", t.dependency, "component", t.component, "err", err)
		return
	}
	t.log.Debug(t.dependency+" still unavailable", "dependency", t.dependency, "component", t.component, "err", err)
}

// Succeeded marks the dependency up. If it was down, that is logged once,
// at info level, with how long and how many failures.
func (t *Tracker) Succeeded() {
	t.mu.Lock()
	if !t.down {
		t.mu.Unlock()
		return
	}
	t.down = false
	downFor, count := t.now().Sub(t.since), t.count
	t.up.Set(1)
	t.mu.Unlock()
	t.log.Info(t.dependency+" back", "dependency", t.dependency, "component", t.component,
		"down_for", downFor.Round(time.Millisecond).String(), "failures", count)
}

// Down reports whether the dependency is down, and since when.
func (t *Tracker) Down() (bool, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.down, t.since
}

// NewMetrics returns unregistered metrics, for a tracker whose counts no
// one scrapes (tests, a component built without a registry).
func NewMetrics() Metrics {
	return Metrics{
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dependency_failures_total"}, []string{"dependency", "component"}),
		Up:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dependency_up"}, []string{"dependency", "component"}),
	}
}
