package georoute

import (
	"time"

	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// apply applies one committed transaction to memory: the RTT reports it holds, and the rest
// through the catalog, which calls publishView between taking names away and binding new ones.
// The committer calls it with the plan it validated; a store's change stream calls it with nil.
// g.writeMu is held.
func (g *GeoRoute) apply(rev int64, ops []store.Op, p *catalog.Plan) error {
	reports := false
	for _, op := range ops {
		switch op.Kind {
		case store.RTT:
			if err := g.applyRTT(op); err != nil {
				return err
			}
		case store.Reach, store.Load:
			if err := g.applyReachLoad(op); err != nil {
				return err
			}
			reports = true
		}
	}
	if reports {
		defer func() { g.publishReachLoad(time.Now()) }()
	}
	xfr := g.beforeApply(ops)
	g.watched.mu.Lock() // the health this change makes is published after it (console.go)
	err := g.cat.Apply(rev, ops, p, func(d catalog.Delta) error { return g.publishView(d, nil) })
	if err == nil {
		g.publishChanges(rev, ops)
	}
	g.watched.mu.Unlock()
	g.bumpSerials(rev, ops)
	g.afterApply(xfr)
	objectsServed.WithLabelValues("names").Set(float64(g.names.Len()))
	return err
}

// publishView publishes the state for the catalog's new view, with f as the files (nil: the
// files do not change). What it costs follows the change: the RTT matrix is shared when the
// edges keep their slots, extended when edges come or go, and compiled again only when an edge
// moved or a new edge has measurements; zones are built only when they are new. g.writeMu is held.
func (g *GeoRoute) publishView(d catalog.Delta, f *files) error {
	old := g.state.Load()
	if f == nil {
		f = old.files
	}
	n := &state{files: f, view: d.New, table: d.New.Table}
	if old == nil {
		g.serials.start.Store(d.New.Rev) // zones unchanged since count it (serial.go)
	}
	if old != nil {
		n.matrix, n.rttGen, n.matrixAt, n.zones, n.negSOA, n.counters = old.matrix, old.rttGen, old.matrixAt, old.zones, old.negSOA, old.counters
	}
	if old == nil || d.Zones || old.files != f {
		zones, neg, err := zoneData(f, d.New, g.template, old)
		if err != nil {
			return err
		}
		n.zones, n.negSOA = zones, neg
	}
	if old == nil || d.Table {
		switch {
		case old == nil || old.matrix == nil:
		case len(d.Moved) > 0 || g.measuresNewEdge(old.table, n.table):
			n.matrix, n.rttGen, n.matrixAt = compileMatrix(f, n.table, g.rtts), g.rtts.Generation(), time.Now()
		case !sameSlots(old.table, n.table):
			n.matrix = old.matrix.WithEdges(n.table.EdgeInfos())
		}
		publish(n)
		if g.prober != nil && (d.Edges || old == nil || healthChecksChanged(d)) {
			// Checks start before the state that names their edges is served: a new edge is
			// unknown (not up) rather than unchecked.
			g.prober.Track(probeTargets(n))
		}
	}
	g.state.Store(n)
	if old == nil || old.table != n.table {
		g.publishReachLoad(time.Now()) // the loads by the new table's slots
	}
	objectsGauge(n, g.names.Len())
	return nil
}

// measuresNewEdge reports whether an edge of t that old lacks (or has in another slot) has
// measurements: the matrix must then be compiled to use them.
func (g *GeoRoute) measuresNewEdge(old, t *route.Table) bool {
	for _, e := range t.Edges {
		if o := old.Edge(e.ID); (o == nil || o.Index != e.Index) && g.rtts.Measures(e.ID) {
			return true
		}
	}
	return false
}

// sameSlots reports whether a and b have the same edges in the same slots and places.
func sameSlots(a, b *route.Table) bool {
	if len(a.Slots) != len(b.Slots) {
		return false
	}
	for i, e := range a.Slots {
		o := b.Slots[i]
		if (e == nil) != (o == nil) || e != nil && (e.ID != o.ID || e.Point != o.Point || e.HasPoint != o.HasPoint) {
			return false
		}
	}
	return true
}

// compileMatrixNow compiles the RTT matrix from every measurement held. g.writeMu is held.
func (g *GeoRoute) compileMatrixNow() {
	st := g.state.Load()
	n := *st
	n.matrixAt = time.Now()
	n.matrix, n.rttGen = compileMatrix(st.files, st.table, g.rtts), g.rtts.Generation()
	g.state.Store(&n)
	objectsServed.WithLabelValues("rtt_networks").Set(float64(n.matrix.Networks()))
}

// matrixRefresh is how often measurements that came in reach the answers.
const matrixRefresh = 250 * time.Millisecond

// refreshMatrix brings what changed in the RTT store into the matrix that answers, in place and
// off the writers' lock (rtt.Matrix.Update: the cost follows the clients that changed), after
// expiring the next slice of old measurements, and drops removed edges' measurements from it. It
// compiles the whole matrix again, under the lock, only when a measured edge has no slot in it.
func (g *GeoRoute) refreshMatrix() {
	st := g.state.Load()
	if st == nil || st.matrix == nil {
		return
	}
	maxAge := rttMaxAge(st.files)
	g.rtts.ExpireSome(time.Now().Add(-maxAge), expireBatch(g.rtts.Clients(), maxAge))
	at := time.Now()
	n, recompile := st.matrix.Update(st.files.locate)
	if recompile {
		g.writeMu.Lock()
		g.compileMatrixNow()
		g.writeMu.Unlock()
		return
	}
	if st.matrix.HoldsRemoved() {
		st.matrix.DropRemoved()
		n++
	}
	if n == 0 {
		return
	}
	g.writeMu.Lock()
	if cur := g.state.Load(); cur.matrix.Shares(st.matrix) {
		next := *cur
		next.matrixAt = at
		g.state.Store(&next)
	}
	g.writeMu.Unlock()
	objectsServed.WithLabelValues("rtt_networks").Set(float64(st.matrix.Networks()))
}
