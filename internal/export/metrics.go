package export

import "github.com/prometheus/client_golang/prometheus"

// Drop reasons, the label of the dropped counters.
const (
	dropRejected   = "rejected"    // the server refused the batch (4xx other than 408/429)
	dropSpoolFull  = "spool_full"  // evicted, oldest first, to make room in the spool
	dropQueueFull  = "queue_full"  // no spool configured and the queue was full
	dropSpoolError = "spool_error" // the spool could not be written or read
	dropClosed     = "closed"      // still unsent at Close with no spool to keep it
	dropEncode     = "encode"      // the batch could not be encoded (a bug)
)

// metrics are the exporter's counters, registered on the injected
// Registerer when there is one.
type metrics struct {
	added          prometheus.Counter
	invalid        prometheus.Counter
	sentBatches    prometheus.Counter
	sentRecords    prometheus.Counter
	retries        *prometheus.CounterVec
	droppedBatches *prometheus.CounterVec
	droppedRecords *prometheus.CounterVec
	spooled        prometheus.Counter
	spoolBytes     prometheus.Gauge
	spoolBatches   prometheus.Gauge
	queueBatches   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "apisessions", "export"
	m := &metrics{
		added: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "records_added_total", Help: "Records accepted by Add."}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "records_invalid_total", Help: "Records refused by Add for breaking a wire limit."}),
		sentBatches: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "batches_sent_total", Help: "Batches the server accepted."}),
		sentRecords: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "records_sent_total", Help: "Records in batches the server accepted."}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "retries_total", Help: "Failed send attempts that will be retried, by cause."},
			[]string{"cause"}),
		droppedBatches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "batches_dropped_total", Help: "Batches given up, by reason."}, []string{"reason"}),
		droppedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "records_dropped_total", Help: "Records in batches given up, by reason."}, []string{"reason"}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "batches_spooled_total", Help: "Batches written to the disk spool."}),
		spoolBytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "spool_bytes", Help: "Bytes of batches waiting in the disk spool."}),
		spoolBatches: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "spool_batches", Help: "Batches waiting in the disk spool."}),
		queueBatches: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "queue_batches", Help: "Sealed batches waiting in memory."}),
	}
	// Start every label at zero, so that rate() and alerts see a series
	// before the first drop or retry.
	for _, r := range []string{dropRejected, dropSpoolFull, dropQueueFull, dropSpoolError, dropClosed, dropEncode} {
		m.droppedBatches.WithLabelValues(r)
		m.droppedRecords.WithLabelValues(r)
	}
	for _, c := range []string{"network", "server", "throttled"} {
		m.retries.WithLabelValues(c)
	}
	if reg != nil {
		reg.MustRegister(m.added, m.invalid, m.sentBatches, m.sentRecords, m.retries,
			m.droppedBatches, m.droppedRecords, m.spooled, m.spoolBytes, m.spoolBatches,
			m.queueBatches)
	}
	return m
}
