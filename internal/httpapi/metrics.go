package httpapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apisessions/apisessions/internal/wire"
)

// metrics of the API, on the injected registerer.
type metrics struct {
	batches      *prometheus.CounterVec
	records      *prometheus.CounterVec
	rejects      *prometheus.CounterVec
	overloaded   prometheus.Counter
	storeSeconds *prometheus.HistogramVec
	httpRequests *prometheus.CounterVec
	httpSeconds  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apisessions_ingest_batches_total",
			Help: "Batches accepted, by result (stored, duplicate).",
		}, []string{"result"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apisessions_ingest_records_total",
			Help: "Records of accepted batches, by result (stored, duplicate, expired: outside retention).",
		}, []string{"result"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apisessions_ingest_rejects_total",
			Help: "Batches refused, by reason.",
		}, []string{"reason"}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "apisessions_ingest_overloaded_total",
			Help: "Batches answered 503 because too many were being decoded.",
		}),
		storeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apisessions_store_seconds",
			Help:    "Latency of store calls made by the API, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"op"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apisessions_http_requests_total",
			Help: "HTTP requests, by route and status code.",
		}, []string{"route", "code"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apisessions_http_request_seconds",
			Help:    "HTTP request latency, by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"route"}),
	}
	reg.MustRegister(m.batches, m.records, m.rejects, m.overloaded, m.storeSeconds, m.httpRequests, m.httpSeconds)
	// Start every label at zero, so that rates work from the first scrape.
	for _, r := range append(wire.Reasons(), "content_type") {
		m.rejects.WithLabelValues(r)
	}
	for _, r := range []string{"stored", "duplicate"} {
		m.batches.WithLabelValues(r)
	}
	for _, r := range []string{"stored", "duplicate", "expired"} {
		m.records.WithLabelValues(r)
	}
	return m
}

// timed runs a store call and observes its latency.
func (s *Server) timed(op string, f func() error) error {
	start := time.Now()
	err := f()
	s.metrics.storeSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	return err
}
