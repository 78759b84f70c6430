package rtt

import (
	"math"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

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
	epoch  uint64
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

// Profile returns the estimates for client c, from the cache when it can: a cached estimate
// lasts until the figures change (Update; at most every Options.EstimateEvery). A client GeoIP did not place (ID 0, no location)
// is cached by its AS.
func (m *Matrix) Profile(c ClientInfo) *Profile {
	if m == nil {
		return nil
	}
	if c.ID == 0 && (c.HasPoint || c.CityID != 0) {
		return m.estimate(c, nil) // a place no location record names: not cached
	}
	// Two ways a set: clients whose hashes collide do not take turns evicting each other.
	h := hash64(c.ID, c.ASN)
	set := m.cache[h&uint64(len(m.cache)-2):][:2]
	epoch := m.estimates.Load()
	victim := &set[h>>63]
	for i := range set {
		p := set[i].Load()
		if p != nil && p.id == c.ID && p.asn == c.ASN && p.epoch == epoch {
			return p
		}
		if p == nil || p.epoch != epoch {
			victim = &set[i]
		}
	}
	p := m.estimate(c, nil)
	p.epoch = epoch
	victim.Store(p)
	return p
}

func hash64(id uint64, asn uint32) uint64 {
	h := id*0x9E3779B97F4A7C15 ^ uint64(asn)*0xC2B2AE3D27D4EB4F
	return h ^ h>>29
}

// NeighbourInfo is one measured network used in an estimate, for display.
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

// candidate is a measured site offered as a neighbour. Of two as near, the one offered first
// wins, save that places as far are taken in the order of their coordinates (not the order a
// search happens to reach them), so that the same measurements always give the same estimate.
type candidate struct {
	site  int32
	phase uint8 // 0: the client's AS, 1: its city, 2: found by distance
	dist  float64
	at    geo.Point // of a site found by distance
}

func (a *candidate) after(b *candidate) bool {
	if a.dist != b.dist {
		return a.dist > b.dist
	}
	if a.phase != b.phase || a.phase != 2 {
		return a.phase > b.phase
	}
	if a.at.Lat != b.at.Lat {
		return a.at.Lat > b.at.Lat
	}
	return a.at.Lon > b.at.Lon
}

// estimate computes a Profile; trace, when not nil, receives the neighbours of each edge.
func (m *Matrix) estimate(c ClientInfo, trace [][]NeighbourInfo) *Profile {
	if m == nil {
		return nil
	}
	n := len(m.edges)
	p := &Profile{id: c.ID, asn: c.ASN, Millis: make([]float32, n), Source: make([]Source, n)}
	s := m.neighbours(c)
	for ei, e := range m.edges {
		best := s.best(ei)
		if e.ID == "" {
			p.Millis[ei], p.Source[ei] = float32(math.NaN()), None
			continue
		}
		if e.HasPoint && c.HasPoint {
			km := geo.DistanceKm(c.Point, e.Point)
			base := geo.ModelRTTMillis(km)
			wsum, rsum, used := 1/(priorKm*priorKm), 0.0, 0
			for _, cand := range best {
				r := m.figure(cand.site, ei, true)
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
					r := m.figure(cand.site, ei, true)
					if math.IsNaN(r) {
						continue
					}
					w := 1 / ((cand.dist + nearKm) * (cand.dist + nearKm))
					trace[ei] = append(trace[ei], NeighbourInfo{Label: m.label(cand.site), DistanceKm: cand.dist, Millis: m.figure(cand.site, ei, false), Residual: r, Weight: w / wsum})
				}
			}
			continue
		}
		// No geometry: only networks of the client's own AS or city say anything.
		sum, count := 0.0, 0
		for _, cand := range best {
			if cand.dist == 0 {
				sum += m.figure(cand.site, ei, false)
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

// figure is a site's measured ms (or residual) at slot, NaN when it has none.
func (m *Matrix) figure(site int32, slot int, residual bool) float64 {
	if slot >= m.width {
		return math.NaN()
	}
	raw, res := m.cells(site)
	if residual {
		return float64(loadF(&res[slot]))
	}
	return float64(loadF(&raw[slot]))
}

// search gathers, per slot, the k nearest measured sites that measured its edge, nearest first.
// Sites of the client's AS or city have distance 0.
type search struct {
	m      *Matrix
	c      ClientInfo
	at     geo.Vec
	k      int
	need   []int32
	lens   []int32
	cands  []candidate // slot × k
	worst  float64     // no site farther than this can be among any slot's nearest
	bound2 float64     // the squared chord of worst, with a margin
}

func (s *search) best(slot int) []candidate {
	if slot >= len(s.lens) {
		return nil
	}
	return s.cands[slot*s.k : slot*s.k+int(s.lens[slot])]
}

// neighbours finds the neighbours of c for every slot.
func (m *Matrix) neighbours(c ClientInfo) *search {
	n := len(m.edges)
	s := &search{m: m, c: c, k: m.k, need: make([]int32, n), lens: make([]int32, n), cands: make([]candidate, n*m.k)}
	m.needs(m.live, s.need)
	if m.netCount.Load() == 0 && m.labels.len() == 0 {
		return s
	}
	if c.ASN != 0 {
		for _, site := range m.unionOf(m.asns.get(uint64(c.ASN))) {
			s.offer(site, candidate{site: site, phase: 0})
		}
	}
	if c.CityID != 0 {
		for _, site := range m.unionOf(m.cities.get(c.CityID)) {
			if c.ASN == 0 || m.info(site).asn != c.ASN {
				s.offer(site, candidate{site: site, phase: 1})
			}
		}
	}
	if !c.HasPoint {
		return s
	}
	// Nearest places, within maxSearchKm: the tree, then the places that came since it was built.
	s.at = c.Point.Vec()
	s.update()
	t := m.tree.Load()
	s.walk(t, 0, t.n)
	for i, n := int32(t.n), m.groups.len(); i < n; i++ {
		g := *m.groups.at(i)
		s.place(g, m.buckets.at(g).point.Vec())
	}
	return s
}

func (s *search) walk(t *kdTree, lo, hi int) {
	if hi-lo <= leafSize {
		for i := lo; i < hi; i++ {
			s.place(t.ids[i], t.vecs[i])
		}
		return
	}
	mid := (lo + hi) / 2
	a := t.axis[mid]
	diff := coord(s.at, a) - coord(t.vecs[mid], a)
	if diff < 0 {
		s.walk(t, lo, mid)
	} else {
		s.walk(t, mid+1, hi)
	}
	s.place(t.ids[mid], t.vecs[mid])
	if diff*diff > s.bound2 {
		return
	}
	if diff < 0 {
		s.walk(t, mid+1, hi)
	} else {
		s.walk(t, lo, mid)
	}
}

// place offers the sites of one place, unless it is too far to matter.
func (s *search) place(g int32, v geo.Vec) {
	if chord2(s.at, v) > s.bound2 {
		return
	}
	m := s.m
	union := m.unionOf(uint32(g))
	if len(union) == 0 {
		return
	}
	at := m.buckets.at(g).point
	d := geo.DistanceKm(s.c.Point, at)
	if d > s.worst {
		return
	}
	for _, site := range union {
		info := m.info(site)
		if (s.c.ASN != 0 && info.asn == s.c.ASN) || (s.c.CityID != 0 && info.city == s.c.CityID) {
			continue // offered as a neighbour of the same AS or city
		}
		s.offer(site, candidate{site: site, phase: 2, dist: d, at: at})
	}
	s.update()
}

// offer adds a site to the slots it measured that need neighbours.
func (s *search) offer(site int32, c candidate) {
	raw, _ := s.m.cells(site)
	for slot := range min(len(raw), len(s.need)) {
		if s.need[slot] > 0 && raw[slot].Load() != nan32 {
			s.insert(slot, c)
		}
	}
}

func (s *search) insert(slot int, c candidate) {
	list := s.cands[slot*s.k : slot*s.k+int(s.lens[slot])]
	i := 0
	for i < len(list) && !list[i].after(&c) {
		i++
	}
	if i >= s.k {
		return
	}
	if len(list) < s.k {
		s.lens[slot]++
		list = list[:len(list)+1]
	}
	copy(list[i+1:], list[i:])
	list[i] = c
}

// update sets worst: the largest distance that can still change a slot's neighbours.
func (s *search) update() {
	w := 0.0
	for slot, need := range s.need {
		if need == 0 {
			continue
		}
		if s.lens[slot] < need {
			w = maxSearchKm
			break
		}
		w = math.Max(w, s.cands[slot*s.k+int(s.lens[slot])-1].dist)
	}
	s.worst = math.Min(w, maxSearchKm)
	b := chordOf(s.worst)*(1+1e-9) + 1e-9
	s.bound2 = b * b
}
