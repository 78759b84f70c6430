package georoute

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/georoute/appliance/plugin/georoute/reach"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Failure reports (POST /v1/rtt entries with "failed" or "loss") and load reports (PUT
// /v1/edges/{id}/load) are kept in the store beside the catalog, like RTT reports, so that every
// node sharing it answers alike: the committer folds each report into what the store holds,
// and every node applies the result.

// lossFails is the loss ratio from which a report counts as a failure.
const lossFails = 0.5

// Load reports expire: an edge that stops reporting is taken as unloaded after its report's
// TTL (DefaultLoadTTL unless it says, at most MaxLoadTTL).
const (
	DefaultLoadTTL = 30 * time.Second
	MaxLoadTTL     = 10 * time.Minute
)

var (
	networksAvoiding = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "coredns", Subsystem: pluginName, Name: "networks_avoiding",
		Help: "Client networks (scope network), ASes (as) and cities (city) answered as if the edge were down, from failure reports.",
	}, []string{"edge", "scope"})
	shedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: pluginName, Name: "shed_total",
		Help: "Routed answers that went to another edge because the best one was loaded (shed) or full, by pool and the edge shed; beside answers_total, the share shed.",
	}, []string{"pool", "edge", "why"})
)

// reachObs is one failure report or success of a client network reaching an edge.
type reachObs struct {
	net    rtt.NetKey
	edge   string
	failed bool
	source string
	asn    uint32
	city   uint64
}

// loadReport is an edge's latest load report, as stored.
type loadReport struct {
	Utilisation float64   `json:"utilisation"`
	Current     float64   `json:"current,omitempty"`
	Max         float64   `json:"max,omitempty"`
	At          time.Time `json:"at"`
	TTL         float64   `json:"ttl_s"`
}

func (l loadReport) expires() time.Time { return l.At.Add(time.Duration(l.TTL * float64(time.Second))) }

// loadView is what queries read of the loads: by slot of the table it was made for.
type loadView struct {
	table   *route.Table
	byIndex []float64
}

// reachLoad is the plugin's state of failure and load reports.
type reachLoad struct {
	mu       sync.Mutex
	rule     reach.Rule
	pairs    map[reach.Key]reach.Pair
	loads    map[string]loadReport
	vantages []reach.Vantage // nodes' own probes finding edges down, for the networks they stand for

	view  atomic.Pointer[reach.View]
	lview atomic.Pointer[loadView]
	built time.Time // when view was last built (expiry)
}

func (r *reachLoad) init() {
	if r.pairs == nil {
		r.pairs, r.loads = map[reach.Key]reach.Pair{}, map[string]loadReport{}
	}
}

func reachKey(k reach.Key) string { return k.Edge + " " + k.Net.Prefix().String() }

func parseReachKey(s string) (reach.Key, error) {
	edge, pfx, ok := strings.Cut(s, " ")
	p, err := netip.ParsePrefix(pfx)
	if !ok || err != nil || edge == "" {
		return reach.Key{}, fmt.Errorf("%q is not EDGE PREFIX", s)
	}
	return reach.Key{Net: rtt.KeyOf(p.Addr()), Edge: edge}, nil
}

// reachOps folds observations into the pairs they are about and returns the store's ops: a
// pair put, or deleted once fine again. A success about a pair nothing failed for writes
// nothing. staged holds what earlier writes of the commit group made. g.writeMu is held.
func (g *GeoRoute) reachOps(obs []reachObs, staged map[reach.Key]*reach.Pair, now time.Time) []store.Op {
	rl := &g.reachLoad
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.init()
	var ops []store.Op
	touched := map[reach.Key]bool{}
	for _, o := range obs {
		k := reach.Key{Net: o.net, Edge: o.edge}
		p := staged[k]
		if p == nil {
			cur, ok := rl.pairs[k]
			if !ok && !o.failed {
				continue
			}
			if !ok {
				cur = reach.Pair{Net: o.net, Edge: o.edge}
			}
			p = &cur
			staged[k] = p
		}
		if o.asn != 0 {
			p.ASN = o.asn
		}
		if o.city != 0 {
			p.City = o.city
		}
		p.Observe(o.failed, o.source, now, rl.rule)
		touched[k] = true
	}
	for k := range touched {
		p := staged[k]
		if p.Idle() {
			ops = append(ops, store.Op{Kind: store.Reach, Key: reachKey(k), Delete: true})
			continue
		}
		v, _ := json.Marshal(p)
		ops = append(ops, store.Op{Kind: store.Reach, Key: reachKey(k), Value: v})
	}
	return ops
}

// applyReachLoad applies one committed op of the Reach or Load kind. g.writeMu is held; the
// views are published by publishReachLoad.
func (g *GeoRoute) applyReachLoad(op store.Op) error {
	rl := &g.reachLoad
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.init()
	switch op.Kind {
	case store.Reach:
		k, err := parseReachKey(op.Key)
		if err != nil {
			return fmt.Errorf("store: reach: %v", err)
		}
		if op.Delete {
			delete(rl.pairs, k)
			return nil
		}
		var p reach.Pair
		if err := json.Unmarshal(op.Value, &p); err != nil {
			return fmt.Errorf("store: reach %s: %v", op.Key, err)
		}
		p.Net, p.Edge = k.Net, k.Edge
		rl.pairs[k] = p
	case store.Load:
		if op.Delete {
			delete(rl.loads, op.Key)
			return nil
		}
		var l loadReport
		if err := json.Unmarshal(op.Value, &l); err != nil || !(l.Utilisation >= 0 && l.Utilisation <= 1) {
			return fmt.Errorf("store: load %s: not a load report: %.100q", op.Key, op.Value)
		}
		rl.loads[op.Key] = l
	}
	return nil
}

// publishReachLoad publishes the views of the failure and load reports at now, the loads by
// the slots of the table served now: read under the lock, so that of two publishes racing a
// new table the last holds the newest.
func (g *GeoRoute) publishReachLoad(now time.Time) {
	rl := &g.reachLoad
	rl.mu.Lock()
	defer rl.mu.Unlock()
	var t *route.Table
	if st := g.state.Load(); st != nil {
		t = st.table
	}
	pairs := make([]reach.Pair, 0, len(rl.pairs))
	for _, p := range rl.pairs {
		pairs = append(pairs, p)
	}
	v := reach.Build(pairs, rl.vantages, rl.rule, now)
	rl.view.Store(v)
	rl.built = now
	networksAvoiding.Reset()
	for edge, c := range v.Avoiding() {
		for i, scope := range []string{"network", "as", "city", "vantage"} {
			if c[i] > 0 {
				networksAvoiding.WithLabelValues(edge, scope).Set(float64(c[i]))
			}
		}
	}
	if t == nil {
		return
	}
	var lv *loadView
	for id, l := range rl.loads {
		e := t.Edge(id)
		if e == nil || !now.Before(l.expires()) || l.Utilisation == 0 {
			continue
		}
		if lv == nil {
			lv = &loadView{table: t, byIndex: make([]float64, len(t.Slots))}
		}
		lv.byIndex[e.Index] = l.Utilisation
	}
	rl.lview.Store(lv)
}

// expireReachLoad publishes the views again when a report in them has expired since they
// were built, or a minute has passed. Called every second.
func (g *GeoRoute) expireReachLoad(now time.Time) {
	rl := &g.reachLoad
	rl.mu.Lock()
	due := now.Sub(rl.built) >= time.Minute
	for _, l := range rl.loads {
		due = due || (l.expires().After(rl.built) && !l.expires().After(now))
	}
	rl.mu.Unlock()
	if due {
		g.publishReachLoad(now)
	}
}

// unreachable is what the client's network cannot reach, into buf.
func (g *GeoRoute) unreachable(c *route.Client, buf []string) []string {
	v := g.reachLoad.view.Load()
	if v.Empty() {
		return nil
	}
	var city uint64
	if c.Geo.Loc != nil {
		city = c.Geo.Loc.CityID
	}
	return v.Avoids(c.Addr, c.Geo.ASN, city, buf)
}

// setVantages publishes what the nodes' own probes find down for the networks they stand for,
// when it changed.
func (g *GeoRoute) setVantages(vs []reach.Vantage) {
	rl := &g.reachLoad
	rl.mu.Lock()
	same := slices.EqualFunc(vs, rl.vantages, func(a, b reach.Vantage) bool { return a.Prefix == b.Prefix && a.Edge == b.Edge && a.Node == b.Node })
	if !same {
		rl.vantages = vs
	}
	rl.mu.Unlock()
	if !same {
		g.publishReachLoad(time.Now())
		g.healthChanged()
	}
}

// loads is the edges' load for table t, nil when none reports any.
func (g *GeoRoute) loads(t *route.Table) []float64 {
	if lv := g.reachLoad.lview.Load(); lv != nil && lv.table == t {
		return lv.byIndex
	}
	return nil
}

// edgeLoad is what the API shows of edge id's load: its latest report while it holds.
func (g *GeoRoute) edgeLoad(id string, now time.Time) *loadReport {
	rl := &g.reachLoad
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if l, ok := rl.loads[id]; ok && now.Before(l.expires()) {
		return &l
	}
	return nil
}
