// Package metrics holds a service's Prometheus counters.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mqchaos/mqchaos/services/internal/outage"
)

// Metrics is safe for concurrent use.
type Metrics struct {
	Registry     *prometheus.Registry
	Consumed     *prometheus.CounterVec // by queue
	Acked        *prometheus.CounterVec // by queue
	Rejected     *prometheus.CounterVec // by queue: nacked back for redelivery
	DeadLettered *prometheus.CounterVec // by queue and class
	Retried      *prometheus.CounterVec // by queue
	Held         *prometheus.CounterVec // by queue: failed attempts not counted, the dependency being down
	Duplicates   *prometheus.CounterVec // by queue
	Conflicts    *prometheus.CounterVec // by queue: an order id or an event id reused with other contents
	Published    *prometheus.CounterVec // by exchange
	Confirmed    *prometheus.CounterVec // by exchange
	Nacked       *prometheus.CounterVec // by exchange: publish not confirmed
	Returned     *prometheus.CounterVec // by exchange: mandatory publishes the broker returned, no queue bound
	ConsumerLost *prometheus.CounterVec // by queue: consumers the broker ended (channel closed, basic.cancel)
	// HTTPRefused: requests and connections an HTTP limit cut off, by
	// limit: connections, header, body, handler or write.
	HTTPRefused *prometheus.CounterVec
	Reconnects  prometheus.Counter
	// Blocked is 1 while the broker blocks the connection (a memory or
	// disk alarm: connection.blocked), 0 otherwise.
	Blocked prometheus.Gauge
	// Outages: failures of a dependency by dependency and component, and
	// whether the component sees it up (1) or down (0).
	Outages outage.Metrics
}

// New registers the counters, with Go and process collectors, in a new registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "mqchaos", Name: name, Help: help}, labels)
		r.MustRegister(c)
		return c
	}
	m := &Metrics{
		Registry:     r,
		Consumed:     vec("messages_consumed_total", "Deliveries received.", "queue"),
		Acked:        vec("messages_acked_total", "Deliveries acked after their effect committed.", "queue"),
		Rejected:     vec("messages_rejected_total", "Deliveries returned to the queue for redelivery.", "queue"),
		DeadLettered: vec("messages_dead_lettered_total", "Deliveries sent to the dead-letter queue.", "queue", "class"),
		Retried:      vec("messages_retried_total", "Handler attempts retried after a transient failure.", "queue"),
		Held:         vec("messages_held_total", "Failed attempts not counted against the retry budget because the dependency was down.", "queue"),
		Duplicates:   vec("messages_duplicate_total", "Deliveries whose effect was applied before.", "queue"),
		Conflicts:    vec("conflicts_total", "Deliveries that reused an applied order id with another item or quantity, or an event id with other contents: recorded, not applied.", "queue"),
		Published:    vec("messages_published_total", "Messages published.", "exchange"),
		Confirmed:    vec("messages_confirmed_total", "Publishes confirmed by the broker.", "exchange"),
		Nacked:       vec("messages_unconfirmed_total", "Publishes nacked or not confirmed in time.", "exchange"),
		Returned:     vec("messages_returned_total", "Mandatory publishes returned by the broker (basic.return): no queue bound to receive them.", "exchange"),
		ConsumerLost: vec("consumers_lost_total", "Consumers the broker ended while the connection lived on: channel closed (consumer_timeout) or basic.cancel (queue deleted).", "queue"),
		HTTPRefused:  vec("http_refused_total", "Requests and connections an HTTP limit cut off (connections: answered 503 at once; header, body: 408; handler: past its deadline; write: the client did not read its answer in time).", "limit"),
		Reconnects:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: "mqchaos", Name: "amqp_reconnects_total", Help: "AMQP connections re-established after a loss."}),
		Blocked:      prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "mqchaos", Name: "amqp_blocked", Help: "1 while the broker blocks the AMQP connection (connection.blocked: a memory or disk alarm), else 0."}),
	}
	m.Outages = outage.Metrics{
		Failures: vec("dependency_failures_total", "Failed calls to a dependency (database, broker), by the component that made them.", "dependency", "component"),
		Up:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "mqchaos", Name: "dependency_up", Help: "1 while a component sees a dependency up, 0 while down."}, []string{"dependency", "component"}),
	}
	r.MustRegister(m.Reconnects, m.Blocked, m.Outages.Up)
	return m
}
