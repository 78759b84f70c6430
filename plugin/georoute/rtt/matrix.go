package rtt

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// EdgeInfo is what the matrix needs to know of an edge. Its position in the slice given to
// Compile or WithEdges is the edge's slot, its index in every lookup; an EdgeInfo with ID "" is a
// free slot.
type EdgeInfo struct {
	ID       string
	Point    geo.Point
	HasPoint bool
}

// Site is where a measured client sits, as GeoIP says.
type Site struct {
	Point    geo.Point
	HasPoint bool
	ASN      uint32
	CityID   uint64
}

// Locator finds where an address is; Compile uses it to place measured networks and areas.
type Locator func(netip.Addr) Site

// Options tune Compile.
type Options struct {
	// MaxAge drops reported and probed measurements older than this (0: keep all).
	MaxAge time.Duration
	// Neighbours is how many measured networks correct an estimate, per edge (0: 4).
	Neighbours int
	// Now is the time ages are measured from (zero: time.Now()).
	Now time.Time
	// CacheSize is how many client locations keep their estimates (0: 65536).
	CacheSize int
	// EstimateEvery is how often at most cached estimates are made again as Update changes the
	// figures (0: at every change). Measured figures follow every Update.
	EstimateEvery time.Duration
}

// Source says where a figure came from.
type Source uint8

// Sources of a figure, best first.
const (
	None      Source = iota
	Measured         // the client's own network was measured
	Corrected        // distance model corrected by nearby measured networks
	Distance         // distance model alone: nothing measured nearby
	Neighbour        // mean of same-AS or same-city networks (the edge has no location)
)

func (s Source) String() string {
	return [...]string{"none", "measured", "estimated (corrected by nearby measurements)", "estimated (distance)", "estimated (same network or city)"}[s]
}

// Matrix is the RTT matrix for one slot layout of edges, safe for concurrent use. Its figures
// follow the store it was compiled from as Update brings them in: queries read them without
// locks and see each change at once.
type Matrix struct {
	*measured
	edges []EdgeInfo
	// live says by slot whether the measured data at that slot is of the edge there now: false
	// for free slots and for slots freed, reused or added since Compile.
	live    []bool
	cache   []atomic.Pointer[Profile]
	summary atomic.Pointer[summary]
}

// summary is what every query asks of the live slots, as of an epoch of the figures.
type summary struct {
	epoch              uint64
	empty, asns, stale bool
}

func (m *Matrix) sum() *summary {
	epoch := m.epoch.Load()
	if s := m.summary.Load(); s != nil && s.epoch == epoch {
		return s
	}
	s := &summary{epoch: epoch, empty: !m.anyLive(m.perSlot), asns: m.anyLive(m.asnSlot)}
	for i := range m.width {
		s.stale = s.stale || !m.isLive(i) && m.perSlot[i].Load() > 0
	}
	m.summary.Store(s)
	return s
}

// Estimator constants.
const (
	// nearKm softens weights so that a neighbour at 0 km does not get infinite weight.
	nearKm = 50.0
	// priorKm is how far a single neighbour can be before the pure model counts as much as it does.
	priorKm = 1500.0
	// maxSearchKm bounds the neighbour search: farther networks say little about a client.
	maxSearchKm = 4000.0
)

const defaultCache = 1 << 16

// Compile builds a Matrix from measurements for the given edges, some of which may be free slots.
// Measurements of edges not in edges are skipped and counted in the second result.
func Compile(ms []Measurement, edges []EdgeInfo, locate Locator, o Options) (*Matrix, int) {
	s := NewStore()
	s.PutAll(ms)
	return CompileStore(s, edges, locate, o)
}

// CompileStore builds a Matrix from every measurement s holds; Update then keeps it up to date
// with what changes in s. The store takes writes meanwhile.
func CompileStore(s *Store, edges []EdgeInfo, locate Locator, o Options) (*Matrix, int) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Neighbours <= 0 {
		o.Neighbours = 4
	}
	size := defaultCache
	if o.CacheSize > 0 {
		size = max(2, 1<<bitsFor(o.CacheSize))
	}
	s.follow.Lock()
	defer s.follow.Unlock()
	d := newMeasured(edges, o.Neighbours, s)
	d.estimateEvery, d.estimatesAt = o.EstimateEvery, time.Now()
	s.follower = d
	var keep func(Cell) bool
	if o.MaxAge > 0 {
		oldest := o.Now.Add(-o.MaxAge).UnixNano()
		keep = func(x Cell) bool { return x.Origin == FromFile || x.At >= oldest }
	}
	now := time.Now()
	s.StartOver()
	s.Each(func(c Client, cells []Cell) { d.put(c, cells, keep, locate, now) })
	d.settle(true)
	live := make([]bool, len(edges))
	for i, e := range edges {
		live[i] = e.ID != ""
	}
	return newMatrix(d, edges, live, size), d.skip
}

// Update brings in what changed in the store m was compiled from since Compile or the last
// Update, in place: every Matrix sharing m's data (WithEdges) reads it at once, and cached
// estimates are made again. It returns how many clients changed, and whether a measurement names
// an edge that m has no live slot for (the caller compiles again to use it). Update and
// CompileStore of one store take turns; Update of a matrix compiled before the store's last
// CompileStore does nothing.
func (m *Matrix) Update(locate Locator) (int, bool) {
	if m == nil || m.src == nil {
		return 0, false
	}
	d := m.measured
	d.src.follow.Lock()
	defer d.src.follow.Unlock()
	if d.src.follower != d {
		return 0, false
	}
	var unslotted map[string]bool // edges m has that its data has no live slot for
	for i, e := range m.edges {
		if e.ID != "" && !m.isLive(i) {
			if unslotted == nil {
				unslotted = map[string]bool{}
			}
			unslotted[e.ID] = true
		}
	}
	now := time.Now()
	changed, recompile := false, false
	n := d.src.Drain(func(c Client, cells []Cell) {
		if d.put(c, cells, nil, locate, now) {
			changed = true
		}
		for _, x := range cells {
			recompile = recompile || unslotted[x.Edge]
		}
	})
	d.settle(false)
	if changed {
		d.epoch.Add(1)
		d.estimatesDue = true
	}
	if d.estimatesDue && now.Sub(d.estimatesAt) >= d.estimateEvery {
		d.estimates.Add(1)
		d.estimatesAt, d.estimatesDue = now, false
	}
	return n, recompile
}

// DropRemoved drops from m's data the measurements of slots that are no longer the edge
// measured there (HoldsRemoved), in time proportional to the networks measured, so that reads
// need not filter them; measurements of those edges that come later are skipped. Update and
// DropRemoved take turns, as Update and CompileStore do.
func (m *Matrix) DropRemoved() {
	if m == nil || m.src == nil {
		return
	}
	d := m.measured
	d.src.follow.Lock()
	defer d.src.follow.Unlock()
	if d.src.follower != d {
		return
	}
	var drop []int
	for slot := range d.width {
		if !m.isLive(slot) && d.perSlot[slot].Load() > 0 {
			d.retired[slot] = true
			drop = append(drop, slot)
		}
	}
	if len(drop) == 0 {
		return
	}
	now := time.Now()
	for site := range d.nsites {
		if d.sites.all()[site>>chunkBits].gone[site&(chunkSize-1)] {
			continue
		}
		raw, res := d.cells(site)
		info := d.info(site)
		left, dropped := 0, false
		for slot := range raw {
			if raw[slot].Load() == nan32 {
				continue
			}
			if !d.retired[slot] {
				left++
				continue
			}
			raw[slot].Store(nan32)
			res[slot].Store(nan32)
			d.perSlot[slot].Add(-1)
			if info.asn != 0 {
				d.asnSlot[slot].Add(-1)
			}
			d.countSlot(info, slot, -1)
			dropped = true
		}
		if dropped {
			d.touchBuckets(info)
		}
		if dropped && left == 0 {
			d.freeSite(d.clientOf(site), site, now)
		}
	}
	d.settle(false)
	d.epoch.Add(1)
	d.estimates.Add(1)
}

// Shares reports whether m and o read the same data (o is m WithEdges, or m o).
func (m *Matrix) Shares(o *Matrix) bool { return m != nil && o != nil && m.measured == o.measured }

// HoldsRemoved reports whether slots that are no longer the edge measured there hold
// measurements: reads filter them, at a cost, until the matrix is compiled again.
func (m *Matrix) HoldsRemoved() bool { return m != nil && m.dead() }

// WithEdges returns the matrix for a new slot layout of the edges in time proportional to the
// number of edges: it shares m's measured data and starts with an empty cache of estimates.
//
// Every slot that has an edge in m keeps it in edges, with the same ID and location, or becomes
// free (ID ""); a slot freed or changed ignores its measurements from then on, also when it is
// reused. A new or reused slot must have no measurements held (Store.Measures), else the caller
// calls Compile, as it does when measurements or an edge's location change. m may be nil.
func (m *Matrix) WithEdges(edges []EdgeInfo) *Matrix {
	if m == nil {
		return newMatrix(newMeasured(nil, 4, nil), edges, make([]bool, len(edges)), defaultCache)
	}
	live := make([]bool, len(edges))
	for i, e := range edges {
		live[i] = e.ID != "" && i < len(m.edges) && m.live[i] && m.edges[i] == e
	}
	return newMatrix(m.measured, edges, live, len(m.cache))
}

func newMatrix(d *measured, edges []EdgeInfo, live []bool, cacheSize int) *Matrix {
	return &Matrix{measured: d, edges: edges, live: live, cache: make([]atomic.Pointer[Profile], cacheSize)}
}

// isLive reports whether slot's measured data is of the edge there now.
func (m *Matrix) isLive(slot int) bool {
	return slot >= 0 && slot < len(m.live) && slot < m.width && m.live[slot]
}

// dead reports whether a slot that is not live holds measurements: reads must filter them out.
func (m *Matrix) dead() bool { return m.sum().stale }

// liveRow reports whether row holds a measurement of an edge there now.
func (m *Matrix) liveRow(row Row) bool {
	for i := range row {
		if m.isLive(i) && row[i].Load() != nan32 {
			return true
		}
	}
	return false
}

func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// Edges returns the edges the matrix is for, by slot.
func (m *Matrix) Edges() []EdgeInfo { return m.edges }

// Empty reports whether the matrix holds no measurement of its edges at all.
func (m *Matrix) Empty() bool {
	return m == nil || m.sum().empty
}

// anyLive reports whether a live slot has a count above 0.
func (m *Matrix) anyLive(counts []atomic.Int32) bool {
	for i := range m.width {
		if m.isLive(i) && counts[i].Load() > 0 {
			return true
		}
	}
	return false
}

// Row is the measured RTTs of a client network by slot: read it with Measured.
type Row []atomic.Uint32

// Row returns the measured RTTs of a client network, or nil when no edge of the matrix was
// measured from it. Read it with Measured: it is by slot, may be shorter than Edges and may hold
// figures of edges since removed.
func (m *Matrix) Row(k NetKey) Row {
	if m == nil || m.netCount.Load() == 0 {
		return nil
	}
	if k.Is4() { // most clients' networks are not measured: the bitmap says so in one load
		if b := m.v4.Load(); b == nil || !b.has(uint64(k)&(1<<V4Bits-1)) {
			return nil
		}
	}
	s := m.nets.get(uint64(k))
	if s == noID {
		return nil
	}
	raw, _ := m.cells(int32(s))
	if m.dead() && !m.liveRow(raw) {
		return nil
	}
	return raw
}

// Measured returns the measured RTT in row (from Row) of the edge at slot, NaN when not measured.
func (m *Matrix) Measured(row Row, slot int) float32 {
	if m == nil || slot >= len(row) || !m.isLive(slot) {
		return float32(math.NaN())
	}
	return loadF(&row[slot])
}

// Detail returns the measurements of a client network the matrix holds, for display: as the
// store has them now, which may be later than the figures (Update brings them in).
func (m *Matrix) Detail(k NetKey) []Measurement {
	if m == nil || m.src == nil {
		return nil
	}
	row := m.Row(k)
	if row == nil {
		return nil
	}
	var out []Measurement
	for _, d := range m.src.Of(Client{Kind: Net, Net: k}) {
		if slot, ok := m.slotOf[d.Edge]; ok && !math.IsNaN(float64(m.Measured(row, int(slot)))) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Measurement) int { return strings.Compare(a.Edge, b.Edge) })
	return out
}

// MeasuredWithin reports whether any client network inside p was measured. An answer that used
// a GeoIP network p depends on the client's own /24 (/48) when it is true.
func (m *Matrix) MeasuredWithin(p netip.Prefix) bool {
	if m == nil {
		return false
	}
	if !m.dead() {
		return m.measuredWithin(p, nil)
	}
	return m.measuredWithin(p, func(site int32) bool {
		raw, _ := m.cells(site)
		return m.liveRow(raw)
	})
}

// Networks is how many client networks are measured: networks measured only by edges removed
// since Compile still count.
func (m *Matrix) Networks() int {
	if m == nil {
		return 0
	}
	return int(m.netCount.Load())
}

// ComparesASNs reports whether any measured network has a known AS, so that a client's AS can
// change its estimates.
func (m *Matrix) ComparesASNs() bool {
	return m != nil && m.sum().asns
}
