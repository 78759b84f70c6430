package rtt

import (
	"math"
	"net/netip"
	"slices"
	"sort"
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
	// CacheSize is how many client locations keep their estimates (0: 16384).
	CacheSize int
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

// Matrix is an immutable compiled RTT matrix for one slot layout of edges. Safe for concurrent use.
type Matrix struct {
	*measured
	edges []EdgeInfo
	// live says by slot whether the measured data at that slot is of the edge there now: false
	// for free slots and for slots freed, reused or added since Compile.
	live []bool
	// need is by slot how many neighbours the search can find: k, or fewer when fewer sites
	// measured the edge; 0 when the slot is not live or nothing measured it.
	need []int32
	// dead is set when a slot that is not live holds measurements: reads must filter them out.
	dead         bool
	empty        bool
	comparesASNs bool

	cache []atomic.Pointer[Profile]
}

// measured is what Compile derives from the measurements, by the slots of the edges it was given.
// Matrices made by WithEdges share it.
type measured struct {
	nets   map[NetKey][]float32 // measured per slot, NaN where not measured
	detail map[NetKey][]Measurement
	v4, v6 []NetKey // measured networks, sorted, for ECS scope decisions
	slotOf map[string]int32

	sites  []site
	grid   map[cell][]int32
	byASN  map[uint32][]int32
	byCity map[uint64][]int32
	k      int

	perSlot []int32 // by slot: measurements of sites
	asnSlot []int32 // by slot: measurements of sites with a known AS
}

type site struct {
	point    geo.Point
	hasPoint bool
	asn      uint32
	city     uint64
	label    string
	edges    []siteEdge
}

type siteEdge struct {
	edge     int32
	raw      float32 // measured ms
	residual float32 // measured − model; NaN when the edge or the site has no location
}

// Estimator constants.
const (
	// nearKm softens weights so that a neighbour at 0 km does not get infinite weight.
	nearKm = 50.0
	// priorKm is how far a single neighbour can be before the pure model counts as much as it does.
	priorKm = 1500.0
	// maxSearchKm bounds the neighbour search: farther networks say little about a client.
	maxSearchKm = 4000.0
	cellDeg     = 2.0
)

type cell struct{ lat, lon int16 }

func cellOf(p geo.Point) cell {
	return cell{int16(math.Floor((p.Lat + 90) / cellDeg)), int16(math.Floor((p.Lon + 180) / cellDeg))}
}

// Compile builds a Matrix from measurements for the given edges, some of which may be free slots.
// Measurements of edges not in edges are skipped and counted in the second result.
func Compile(ms []Measurement, edges []EdgeInfo, locate Locator, o Options) (*Matrix, int) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Neighbours <= 0 {
		o.Neighbours = 4
	}
	size := 16384
	if o.CacheSize > 0 {
		size = 1 << bitsFor(o.CacheSize)
	}
	m := &measured{
		nets:    make(map[NetKey][]float32),
		detail:  make(map[NetKey][]Measurement),
		slotOf:  make(map[string]int32, len(edges)),
		grid:    make(map[cell][]int32),
		byASN:   make(map[uint32][]int32),
		byCity:  make(map[uint64][]int32),
		k:       o.Neighbours,
		perSlot: make([]int32, len(edges)),
		asnSlot: make([]int32, len(edges)),
	}
	live := make([]bool, len(edges))
	for i, e := range edges {
		if e.ID != "" {
			m.slotOf[e.ID] = int32(i)
			live[i] = true
		}
	}
	// Deterministic order: sites and neighbours do not depend on map iteration.
	slices.SortFunc(ms, func(a, b Measurement) int {
		if c := a.Client.Compare(b.Client); c != 0 {
			return c
		}
		return strings.Compare(a.Edge, b.Edge)
	})
	skipped := 0
	siteOf := make(map[Client]int32)
	for _, meas := range ms {
		ei, ok := m.slotOf[meas.Edge]
		if !ok {
			skipped++
			continue
		}
		if o.MaxAge > 0 && meas.Origin != FromFile && o.Now.Sub(meas.Updated) > o.MaxAge {
			continue
		}
		c := meas.Client
		if c.Kind == Net {
			row := m.nets[c.Net]
			if row == nil {
				row = make([]float32, len(edges))
				for i := range row {
					row[i] = float32(math.NaN())
				}
				m.nets[c.Net] = row
			}
			row[ei] = float32(meas.Millis)
			m.detail[c.Net] = append(m.detail[c.Net], meas)
		}
		si, ok := siteOf[c]
		if !ok {
			s := site{label: c.String()}
			switch c.Kind {
			case Net:
				s.fill(locate(c.Net.Prefix().Addr()))
			case Area:
				s.fill(locate(c.Area.Addr()))
			case Place:
				s.point, s.hasPoint = c.Point, true
			}
			si = int32(len(m.sites))
			m.sites = append(m.sites, s)
			siteOf[c] = si
		}
		s := &m.sites[si]
		se := siteEdge{edge: ei, raw: float32(meas.Millis), residual: float32(math.NaN())}
		if e := edges[ei]; e.HasPoint && s.hasPoint {
			se.residual = float32(meas.Millis - geo.ModelRTTMillis(geo.DistanceKm(s.point, e.Point)))
		}
		s.edges = append(s.edges, se)
		m.perSlot[ei]++
		if s.asn != 0 {
			m.asnSlot[ei]++
		}
	}
	for i := range m.sites {
		s := &m.sites[i]
		if s.hasPoint {
			c := cellOf(s.point)
			m.grid[c] = append(m.grid[c], int32(i))
		}
		if s.asn != 0 {
			m.byASN[s.asn] = append(m.byASN[s.asn], int32(i))
		}
		if s.city != 0 {
			m.byCity[s.city] = append(m.byCity[s.city], int32(i))
		}
	}
	for k := range m.nets {
		if k.Is4() {
			m.v4 = append(m.v4, k)
		} else {
			m.v6 = append(m.v6, k)
		}
	}
	slices.Sort(m.v4)
	slices.Sort(m.v6)
	return newMatrix(m, edges, live, size), skipped
}

// WithEdges returns the matrix for a new slot layout of the edges in time proportional to the
// number of edges: it shares m's measured data and starts with an empty cache of estimates.
//
// Every slot that has an edge in m keeps it in edges, with the same ID and location, or becomes
// free (ID ""); a slot freed or changed ignores its measurements from then on, also when it is
// reused. A new or reused slot must have no measurements held (Store.Measures), else the caller
// calls Compile, as it does when measurements or an edge's location change. m may be nil.
func (m *Matrix) WithEdges(edges []EdgeInfo) *Matrix {
	if m == nil {
		return newMatrix(&measured{k: 4}, edges, make([]bool, len(edges)), 16384)
	}
	live := make([]bool, len(edges))
	for i, e := range edges {
		live[i] = e.ID != "" && i < len(m.edges) && m.live[i] && m.edges[i] == e
	}
	return newMatrix(m.measured, edges, live, len(m.cache))
}

func newMatrix(d *measured, edges []EdgeInfo, live []bool, cacheSize int) *Matrix {
	m := &Matrix{measured: d, edges: edges, live: live, need: make([]int32, len(edges)), empty: true, cache: make([]atomic.Pointer[Profile], cacheSize)}
	for i, n := range d.perSlot {
		switch {
		case n == 0:
		case i < len(live) && live[i]:
			m.need[i] = min(int32(d.k), n)
			m.empty = false
			m.comparesASNs = m.comparesASNs || d.asnSlot[i] > 0
		default:
			m.dead = true
		}
	}
	return m
}

// isLive reports whether slot's measured data is of the edge there now.
func (m *Matrix) isLive(slot int) bool { return slot >= 0 && slot < len(m.live) && m.live[slot] }

// liveRow reports whether row holds a measurement of an edge there now.
func (m *Matrix) liveRow(row []float32) bool {
	for i, v := range row {
		if m.isLive(i) && !math.IsNaN(float64(v)) {
			return true
		}
	}
	return false
}

func (s *site) fill(l Site) {
	s.point, s.hasPoint, s.asn, s.city = l.Point, l.HasPoint, l.ASN, l.CityID
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
func (m *Matrix) Empty() bool { return m == nil || m.empty }

// Row returns the measured RTTs of a client network, or nil when no edge of the matrix was
// measured from it. Read it with Measured: it is by slot, may be shorter than Edges and may hold
// figures of edges since removed.
func (m *Matrix) Row(k NetKey) []float32 {
	if m == nil || len(m.nets) == 0 {
		return nil
	}
	row := m.nets[k]
	if row == nil || !m.dead || m.liveRow(row) {
		return row
	}
	return nil
}

// Measured returns the measured RTT in row (from Row) of the edge at slot, NaN when not measured.
func (m *Matrix) Measured(row []float32, slot int) float32 {
	if m == nil || slot >= len(row) || !m.isLive(slot) {
		return float32(math.NaN())
	}
	return row[slot]
}

// Detail returns the measurements of a client network, for display.
func (m *Matrix) Detail(k NetKey) []Measurement {
	if m == nil {
		return nil
	}
	ds := m.detail[k]
	if !m.dead {
		return ds
	}
	var out []Measurement
	for _, d := range ds {
		if m.isLive(int(m.slotOf[d.Edge])) {
			out = append(out, d)
		}
	}
	return out
}

// MeasuredWithin reports whether any client network inside p was measured. An answer that used
// a GeoIP network p depends on the client's own /24 (/48) when it is true.
func (m *Matrix) MeasuredWithin(p netip.Prefix) bool {
	if m == nil || len(m.nets) == 0 || !p.IsValid() {
		return false
	}
	keys := m.v6
	if p.Addr().Is4() {
		keys = m.v4
	}
	if len(keys) == 0 {
		return false
	}
	p = p.Masked()
	lo := KeyOf(p.Addr())
	bits := p.Bits()
	if lo.Bits() < bits { // a prefix longer than a client network: only its own network
		bits = lo.Bits()
	}
	hi := lo | (NetKey(1)<<(lo.Bits()-bits) - 1)
	i, _ := slices.BinarySearch(keys, lo)
	if !m.dead {
		return i < len(keys) && keys[i] <= hi
	}
	for ; i < len(keys) && keys[i] <= hi; i++ {
		if m.liveRow(m.nets[keys[i]]) {
			return true
		}
	}
	return false
}

// ClientInfo is what the estimator knows of a client.
type ClientInfo struct {
	// ID identifies the client's location record: estimates are cached by (ID, ASN). 0: no caching.
	ID       uint64
	Point    geo.Point
	HasPoint bool
	ASN      uint32
	CityID   uint64
}

// Profile holds the estimated RTT from one client location to every edge.
type Profile struct {
	id     uint64
	asn    uint32
	Millis []float32 // by slot; NaN when nothing can be said
	Source []Source
}

// At returns the estimate for the edge at slot: NaN and None when nothing can be said.
func (p *Profile) At(slot int) (float32, Source) {
	if p == nil || slot < 0 || slot >= len(p.Millis) {
		return float32(math.NaN()), None
	}
	return p.Millis[slot], p.Source[slot]
}

// Profile returns the estimates for client c, from the cache when it can.
func (m *Matrix) Profile(c ClientInfo) *Profile {
	if m == nil {
		return nil
	}
	if c.ID == 0 {
		return m.estimate(c, nil)
	}
	slot := &m.cache[hash64(c.ID, c.ASN)&uint64(len(m.cache)-1)]
	if p := slot.Load(); p != nil && p.id == c.ID && p.asn == c.ASN {
		return p
	}
	p := m.estimate(c, nil)
	slot.Store(p)
	return p
}

func hash64(id uint64, asn uint32) uint64 {
	h := id*0x9E3779B97F4A7C15 ^ uint64(asn)*0xC2B2AE3D27D4EB4F
	return h ^ h>>29
}

// Neighbour is one measured network used in an estimate, for display.
type NeighbourInfo struct {
	Label      string
	DistanceKm float64 // 0 for same AS or city
	Millis     float64 // measured
	Residual   float64 // measured minus the distance model
	Weight     float64 // share of the correction, 0..1
}

// Explain returns the estimate for client c and the edge at slot e with the neighbours behind it.
func (m *Matrix) Explain(c ClientInfo, e int) (float64, Source, []NeighbourInfo) {
	var trace [][]NeighbourInfo
	if m != nil {
		trace = make([][]NeighbourInfo, len(m.edges))
	}
	p := m.estimate(c, trace)
	if p == nil || e < 0 || e >= len(p.Millis) {
		return math.NaN(), None, nil
	}
	return float64(p.Millis[e]), p.Source[e], trace[e]
}

type candidate struct {
	site int32
	dist float64
}

// estimate computes a Profile; trace, when not nil, receives the neighbours of each edge.
func (m *Matrix) estimate(c ClientInfo, trace [][]NeighbourInfo) *Profile {
	if m == nil {
		return nil
	}
	n := len(m.edges)
	p := &Profile{id: c.ID, asn: c.ASN, Millis: make([]float32, n), Source: make([]Source, n)}
	near := m.neighbours(c)
	for ei, e := range m.edges {
		best := near[ei]
		if e.ID == "" {
			p.Millis[ei], p.Source[ei] = float32(math.NaN()), None
			continue
		}
		if e.HasPoint && c.HasPoint {
			km := geo.DistanceKm(c.Point, e.Point)
			base := geo.ModelRTTMillis(km)
			wsum, rsum, used := 1/(priorKm*priorKm), 0.0, 0
			for _, cand := range best {
				r := m.sites[cand.site].residualFor(int32(ei))
				if math.IsNaN(r) {
					continue
				}
				w := 1 / ((cand.dist + nearKm) * (cand.dist + nearKm))
				wsum += w
				rsum += w * r
				used++
			}
			est := base + rsum/wsum
			est = math.Max(est, math.Max(geo.FibreMinRTTMillis(km), 0.1))
			p.Millis[ei], p.Source[ei] = float32(est), Distance
			if used > 0 {
				p.Source[ei] = Corrected
			}
			if trace != nil {
				for _, cand := range best {
					s := &m.sites[cand.site]
					r := s.residualFor(int32(ei))
					if math.IsNaN(r) {
						continue
					}
					w := 1 / ((cand.dist + nearKm) * (cand.dist + nearKm))
					trace[ei] = append(trace[ei], NeighbourInfo{Label: s.label, DistanceKm: cand.dist, Millis: s.rawFor(int32(ei)), Residual: r, Weight: w / wsum})
				}
			}
			continue
		}
		// No geometry: only networks of the client's own AS or city say anything.
		sum, count := 0.0, 0
		for _, cand := range best {
			if cand.dist == 0 {
				sum += m.sites[cand.site].rawFor(int32(ei))
				count++
			}
		}
		if count == 0 {
			p.Millis[ei], p.Source[ei] = float32(math.NaN()), None
			continue
		}
		p.Millis[ei], p.Source[ei] = float32(sum/float64(count)), Neighbour
	}
	return p
}

func (s *site) residualFor(e int32) float64 {
	for _, se := range s.edges {
		if se.edge == e {
			return float64(se.residual)
		}
	}
	return math.NaN()
}

func (s *site) rawFor(e int32) float64 {
	for _, se := range s.edges {
		if se.edge == e {
			return float64(se.raw)
		}
	}
	return math.NaN()
}

// neighbours returns, per slot, the k nearest measured sites that measured its edge, nearest
// first. Sites of the client's AS or city have distance 0.
func (m *Matrix) neighbours(c ClientInfo) [][]candidate {
	n := len(m.edges)
	best := make([][]candidate, n)
	if len(m.sites) == 0 {
		return best
	}
	seen := make(map[int32]bool)
	offer := func(si int32, dist float64) {
		if seen[si] {
			return
		}
		seen[si] = true
		for _, se := range m.sites[si].edges {
			if int(se.edge) < len(m.need) && m.need[se.edge] > 0 {
				best[se.edge] = insertNearest(best[se.edge], candidate{si, dist}, m.k)
			}
		}
	}
	if c.ASN != 0 {
		for _, si := range m.byASN[c.ASN] {
			offer(si, 0)
		}
	}
	if c.CityID != 0 {
		for _, si := range m.byCity[c.CityID] {
			offer(si, 0)
		}
	}
	if !c.HasPoint {
		return best
	}
	// Widen the search until every edge has k neighbours (or all that measured it) within the
	// radius: everything inside the radius has been seen, so they are the nearest.
	for radius := 500.0; ; radius *= 2 {
		m.scan(c.Point, radius, func(si int32) {
			if seen[si] {
				return
			}
			if d := geo.DistanceKm(c.Point, m.sites[si].point); d <= radius {
				offer(si, d)
			}
		})
		full := true
		for ei, b := range best {
			if len(b) < int(m.need[ei]) {
				full = false
				break
			}
		}
		if full || radius >= maxSearchKm {
			return best
		}
	}
}

// scan calls f for every site in the grid cells that a circle of radius km around p touches.
func (m *Matrix) scan(p geo.Point, km float64, f func(int32)) {
	dLat := km / 111.0
	latLo, latHi := p.Lat-dLat, p.Lat+dLat
	dLon := 180.0
	if maxLat := math.Max(math.Abs(latLo), math.Abs(latHi)); maxLat < 89 {
		dLon = math.Min(180, km/(111.0*math.Cos(maxLat*math.Pi/180)))
	}
	c0 := cellOf(geo.Point{Lat: math.Max(latLo, -90), Lon: 0})
	c1 := cellOf(geo.Point{Lat: math.Min(latHi, 89.999), Lon: 0})
	lonCells := int(math.Ceil(dLon/cellDeg)) + 1
	center := cellOf(p).lon
	const cellsAround = int(360 / cellDeg)
	if 2*lonCells+1 > cellsAround {
		lonCells = cellsAround / 2
	}
	for la := c0.lat; la <= c1.lat; la++ {
		for d := -lonCells; d <= lonCells; d++ {
			if d == lonCells && 2*lonCells == cellsAround {
				continue // both ends are the same column
			}
			lo := int16((int(center) + d + cellsAround) % cellsAround)
			for _, si := range m.grid[cell{la, lo}] {
				f(si)
			}
		}
	}
}

func insertNearest(list []candidate, c candidate, k int) []candidate {
	i := sort.Search(len(list), func(i int) bool { return list[i].dist > c.dist })
	if i >= k {
		return list
	}
	if len(list) < k {
		list = append(list, candidate{})
	}
	copy(list[i+1:], list[i:])
	list[i] = c
	return list
}

// Networks is how many client networks were measured, as of Compile: networks measured only by
// edges removed since still count.
func (m *Matrix) Networks() int {
	if m == nil {
		return 0
	}
	return len(m.nets)
}

// ComparesASNs reports whether any measured network has a known AS, so that a client's AS can
// change its estimates.
func (m *Matrix) ComparesASNs() bool { return m != nil && m.comparesASNs }
