package healthprobe

import (
	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	checkUp = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "up",
		Help:      "Whether a check is up (1) or down (0), by edge and check (index:type).",
	}, []string{"edge", "check"})
	edgeUp = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "edge_up",
		Help:      "Whether an edge is up (1) or down (0): its checks combined, and its override.",
	}, []string{"edge"})
	probeDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "probe_duration_seconds",
		Help:      "Duration of probes by check type and phase (resolve, connect, tls, processing, transfer, total).",
		Buckets:   plugin.TimeBuckets,
	}, []string{"type", "phase"})
	transitions = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "transitions_total",
		Help:      "Check state changes, by edge, check and the state entered.",
	}, []string{"edge", "check", "to"})
	probeErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "probe_errors_total",
		Help:      "Failed probes by check type and reason (timeout, refused, status, ...).",
	}, []string{"type", "reason"})
	scheduleLag = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "schedule_lag_seconds",
		Help:      "How late probes start against their schedule.",
		Buckets:   []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1},
	})
)

// observeProbe records one probe's durations and failure.
func observeProbe(r *runner, res Result) {
	probeDuration.WithLabelValues(r.c.Type, "total").Observe(res.Duration.Seconds())
	for p, d := range res.Phases {
		if d > 0 {
			probeDuration.WithLabelValues(r.c.Type, PhaseNames[p]).Observe(d.Seconds())
		}
	}
	if !res.OK {
		probeErrors.WithLabelValues(r.c.Type, res.Reason).Inc()
	}
}
