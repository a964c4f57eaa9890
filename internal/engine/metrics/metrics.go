// Package metrics counts what the local watch does, in Prometheus' text format on
// /metrics. It keeps its own registry: the process-wide default one would mix in
// whatever other libraries register and make tests depend on each other.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the watch's counters and gauges. A nil *Metrics counts nothing, so
// callers need no checks when metrics are off.
type Metrics struct {
	reg           *prometheus.Registry
	eventsSeen    *prometheus.CounterVec
	eventsMatched *prometheus.CounterVec
	actionsRun    *prometheus.CounterVec
	actionsFailed *prometheus.CounterVec
	queueDepth    prometheus.Gauge
	informerLag   *prometheus.GaugeVec
	sinkSent      *prometheus.CounterVec
	sinkFailed    *prometheus.CounterVec
	sinkDropped   *prometheus.CounterVec
}

const ns = "robusta_local"

// New registers the watch's metrics, and Go's runtime and process ones, in a new
// registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		eventsSeen: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_seen_total",
			Help: "Events received from a source, by trigger family."}, []string{"trigger"}),
		eventsMatched: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_matched_total",
			Help: "Events that fired a playbook trigger, by trigger key."}, []string{"trigger"}),
		actionsRun: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "actions_run_total",
			Help: "Action runs, by action."}, []string{"action"}),
		actionsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "actions_failed_total",
			Help: "Action runs that returned an error, by action."}, []string{"action"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "queue_depth",
			Help: "Events waiting in the runner's queue."}),
		informerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "informer_lag_seconds",
			Help: "Delay between a change and its event reaching the queue, by kind (last seen)."}, []string{"kind"}),
		sinkSent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "sink_sent_total",
			Help: "Findings a sink delivered, by sink."}, []string{"sink"}),
		sinkFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "sink_failed_total",
			Help: "Findings a sink failed to deliver, by sink."}, []string{"sink"}),
		sinkDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "sink_dropped_total",
			Help: "Findings a sink dropped (full queue, filters), by sink."}, []string{"sink"}),
	}
	m.reg.MustRegister(m.eventsSeen, m.eventsMatched, m.actionsRun, m.actionsFailed, m.queueDepth,
		m.informerLag, m.sinkSent, m.sinkFailed, m.sinkDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) EventSeen(trigger string) {
	if m != nil {
		m.eventsSeen.WithLabelValues(trigger).Inc()
	}
}

func (m *Metrics) EventMatched(trigger string) {
	if m != nil {
		m.eventsMatched.WithLabelValues(trigger).Inc()
	}
}

func (m *Metrics) ActionRun(action string) {
	if m != nil {
		m.actionsRun.WithLabelValues(action).Inc()
	}
}

func (m *Metrics) ActionFailed(action string) {
	if m != nil {
		m.actionsFailed.WithLabelValues(action).Inc()
	}
}

func (m *Metrics) QueueDepth(n int) {
	if m != nil {
		m.queueDepth.Set(float64(n))
	}
}

func (m *Metrics) InformerLag(kind string, d time.Duration) {
	if m != nil {
		m.informerLag.WithLabelValues(kind).Set(d.Seconds())
	}
}

func (m *Metrics) SinkSent(sink string) {
	if m != nil {
		m.sinkSent.WithLabelValues(sink).Inc()
	}
}

func (m *Metrics) SinkFailed(sink string) {
	if m != nil {
		m.sinkFailed.WithLabelValues(sink).Inc()
	}
}

func (m *Metrics) SinkDropped(sink string) {
	if m != nil {
		m.sinkDropped.WithLabelValues(sink).Inc()
	}
}

// Handler serves the registry in Prometheus' text format. With nil metrics it
// answers 404, so /metrics says plainly that metrics are off.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
