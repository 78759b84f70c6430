package georoute

import (
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	answersTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "answers_total",
		Help:      "Routed answers, by pool (empty for a pinned name) and the edge answered first.",
	}, []string{"pool", "edge"})
	outcomesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "outcomes_total",
		Help:      "Routing decisions by pool and outcome: answer, fail_open, nodata, servfail.",
	}, []string{"pool", "outcome"})
	apiRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "api_requests_total",
		Help:      "API requests by route and status code.",
	}, []string{"route", "code"})
	apiDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "api_request_duration_seconds",
		Help:      "API request durations by route.",
		Buckets:   plugin.TimeBuckets,
	}, []string{"route"})
	route53Requests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "route53_requests_total",
		Help:      "Route 53 API requests by operation and status code.",
	}, []string{"operation", "code"})
	updatesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "updates_total",
		Help:      "DNS UPDATE messages (RFC 2136) by the rcode they were answered.",
	}, []string{"rcode"})
	commitDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_commit_duration_seconds",
		Help:      "Durations of store commits (one transaction, fsync included).",
		Buckets:   plugin.TimeBuckets,
	})
	panicsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "georoute",
		Name:      "panics_total",
		Help:      "Panics recovered while answering a query (answered SERVFAIL and logged with the stack).",
	})
	commitOps = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_commit_changes",
		Help:      "Changes per store commit: concurrent writes share one commit.",
		Buckets:   []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096},
	})
	reloadsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "reloads_total",
		Help:      "Loads of zones, config, RTT files and GeoIP databases, by result: ok or error.",
	}, []string{"result"})
	lastReload = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "last_reload_timestamp_seconds",
		Help:      "When the state now serving was loaded.",
	})
	storeReachable = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_reachable",
		Help:      "Whether the store other nodes share (etcd) answered last time: 1 or 0.",
	})
	storeRevision = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_revision",
		Help:      "The shared store's revision, as last read.",
	})
	appliedRevision = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_applied_revision",
		Help:      "The store revision this node serves.",
	})
	storeLag = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_lag",
		Help:      "Revisions the shared store has that this node does not serve yet.",
	})
	storeResyncs = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_resyncs_total",
		Help:      "Times this node read the shared store whole: its change stream no longer held what the node missed.",
	})
	objectsServed = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "objects",
		Help:      "Objects now served, by kind: zones, edges, pools, names, rtt_networks.",
	}, []string{"kind"})
)

// counterCache counts decisions without hashing label values on every query: counters are looked
// up once per (pool, edge) and kept with the state whose indexes they use.
type counterCache struct {
	edges   int
	answers []atomic.Pointer[prometheus.Counter] // (pool index + 1) × edges; row 0 is pinned names
	outcome []atomic.Pointer[prometheus.Counter] // (pool index + 1) × 4 outcomes
}

func reloaded(ok bool) {
	if ok {
		reloadsTotal.WithLabelValues("ok").Inc()
		lastReload.Set(float64(time.Now().Unix()))
	} else {
		reloadsTotal.WithLabelValues("error").Inc()
	}
}

// publish prepares st's counters and sets the gauges that describe it.
func publish(st *state) {
	pools, edges := len(st.table.Pools)+1, len(st.table.Slots)
	st.counters = &counterCache{
		edges:   edges,
		answers: make([]atomic.Pointer[prometheus.Counter], pools*edges),
		outcome: make([]atomic.Pointer[prometheus.Counter], pools*4),
	}
}

// objectsGauge sets the gauges that describe what st and the names serve.
func objectsGauge(st *state, names int) {
	objectsServed.WithLabelValues("zones").Set(float64(len(st.zones)))
	objectsServed.WithLabelValues("edges").Set(float64(len(st.table.Edges)))
	objectsServed.WithLabelValues("pools").Set(float64(len(st.table.Pools)))
	objectsServed.WithLabelValues("names").Set(float64(names))
	objectsServed.WithLabelValues("rtt_networks").Set(float64(st.matrix.Networks()))
}

var outcomeNames = [...]string{"answer", "fail_open", "nodata", "servfail"}

// decided counts one routing decision.
func (c *counterCache) decided(t *route.Table, b *route.Binding, d *route.Decision) {
	row, pool := 0, ""
	if p := t.Pool(b.Pool); p != nil {
		row, pool = p.Index+1, p.ID
	}
	outcome := 0
	switch {
	case d.Outcome == route.NoData:
		outcome = 2
	case d.Outcome == route.Servfail:
		outcome = 3
	case d.FailOpen:
		outcome = 1
	}
	counter(&c.outcome, row*4+outcome, outcomesTotal, pool, outcomeNames[outcome]).Inc()
	if len(d.Edges) > 0 {
		counter(&c.answers, row*c.edges+d.Edges[0].Index, answersTotal, pool, d.Edges[0].ID).Inc()
	}
	if d.Shed != nil {
		shedTotal.WithLabelValues(pool, d.Shed.ID, d.ShedWhy).Inc() // rare: shedding loads an edge's own counters
	}
}

func counter(cells *[]atomic.Pointer[prometheus.Counter], i int, vec *prometheus.CounterVec, labels ...string) prometheus.Counter {
	cell := &(*cells)[i]
	if p := cell.Load(); p != nil {
		return *p
	}
	c := vec.WithLabelValues(labels...)
	cell.Store(&c)
	return c
}
