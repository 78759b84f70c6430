package rtt

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// measured is what the measurements say, by the slots of the edges it was compiled for: one
// writer changes it in place (Compile, then Update), queries read it without locks. Figures are
// float32 bits in atomic words; what is found by key (networks, ASes, cities, places) is in
// idMaps and lists that are replaced, never changed, once readers can see them.
type measured struct {
	layout []EdgeInfo       // by slot, as compiled: residuals are against these points
	slotOf map[string]int32 // edge id -> slot of layout; not changed after Compile
	width  int
	k      int
	src    *Store // Detail reads the measurements here
	skip   int    // measurements of edges not in layout, as of the last Compile or Update

	nets   *idMap           // network -> site, for every network holding a measurement
	others map[Client]int32 // areas and places -> site (writer only)
	sites  growing[*siteChunk]
	labels chunked[Client] // areas' and places' clients, by siteInfo.other
	nsites int32           // sites ever allocated (writer)
	free   []freed         // sites to reuse once no reader can hold them

	perSlot  []atomic.Int32 // by slot: sites measuring it
	asnSlot  []atomic.Int32 // by slot: sites with a known AS measuring it
	netCount atomic.Int32
	epoch    atomic.Uint64 // changes whenever figures change
	// estimates changes with epoch, but at most once every estimateEvery: cached estimates are
	// then made again. estimatesAt is when it last changed; estimatesDue that epoch has since.
	estimates     atomic.Uint64
	estimateEvery time.Duration
	estimatesAt   time.Time
	estimatesDue  bool

	asns, cities *idMap              // AS, city -> bucket
	points       map[geo.Point]int32 // place -> bucket (writer only)
	buckets      chunked[bucket]
	groups       chunked[int32]         // the buckets of places, in the order they came
	tree         atomic.Pointer[kdTree] // over groups[:tree.n]; later ones are searched one by one
	building     atomic.Bool
	within       *idMap // IPv6 prefix -> networks measured inside it (within.go)
	v4           atomic.Pointer[v4Bitmap]

	dirty []int32   // buckets whose members changed since the last settle (writer)
	row   []float64 // scratch of put
	got   []int32   // scratch of bucket.settle
	vecs  []geo.Vec // of layout's points
	// retired is by slot whether its edge was removed and its measurements dropped (writer).
	retired []bool
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
)

type siteChunk struct {
	info [chunkSize]siteInfo
	gone [chunkSize]bool // writer only: freed, for buckets to drop as they settle
	raw  []atomic.Uint32 // chunkSize × width float32 bits: measured ms, NaN when not measured
	res  []atomic.Uint32 // measured minus model; NaN when not measured or without locations
}

// siteInfo is where a measured client sits. Written before readers can reach the site and not
// changed until it is freed and reused (after freeGrace).
type siteInfo struct {
	point    geo.Point
	net      NetKey
	city     uint64
	asn      uint32
	group    int32 // bucket of its place; -1 when it has none
	other    int32 // labels index of an area or place
	kind     ClientKind
	hasPoint bool
}

type freed struct {
	site int32
	at   time.Time
}

// freeGrace is how long a freed site waits to be reused: longer than any query holds it.
const freeGrace = 2 * time.Second

// growing is a list readers load whole and the writer only appends to.
type growing[T any] struct{ p atomic.Pointer[[]T] }

func (g *growing[T]) all() []T {
	if p := g.p.Load(); p != nil {
		return *p
	}
	return nil
}

func (g *growing[T]) push(v ...T) {
	s := append(g.all(), v...)
	g.p.Store(&s)
}

// chunked is a list the writer only appends to, kept in blocks that do not move: readers index
// it below its length without locks, and appending allocates once a block.
type chunked[T any] struct {
	dir atomic.Pointer[[]*[blockLen]T]
	n   atomic.Int32
}

const blockLen = 256

func (c *chunked[T]) len() int32 { return c.n.Load() }

// at is element i, i < len().
func (c *chunked[T]) at(i int32) *T { return &(*c.dir.Load())[i/blockLen][i%blockLen] }

// push appends v and returns its index. Writer only.
func (c *chunked[T]) push(v T) int32 {
	i := c.n.Load()
	if i%blockLen == 0 {
		var dir []*[blockLen]T
		if p := c.dir.Load(); p != nil {
			dir = *p
		}
		dir = append(dir, new([blockLen]T))
		c.dir.Store(&dir)
	}
	*c.at(i) = v
	c.n.Store(i + 1)
	return i
}

var nan32 = math.Float32bits(float32(math.NaN()))

func newMeasured(edges []EdgeInfo, k int, src *Store) *measured {
	d := &measured{
		layout:  edges,
		slotOf:  make(map[string]int32, len(edges)),
		width:   len(edges),
		k:       k,
		src:     src,
		nets:    newIDMap(0),
		others:  make(map[Client]int32),
		perSlot: make([]atomic.Int32, len(edges)),
		asnSlot: make([]atomic.Int32, len(edges)),
		asns:    newIDMap(0),
		cities:  newIDMap(0),
		points:  make(map[geo.Point]int32),
		within:  newIDMap(0),
		row:     make([]float64, len(edges)),
		got:     make([]int32, len(edges)),
		vecs:    make([]geo.Vec, len(edges)),
		retired: make([]bool, len(edges)),
	}
	for i, e := range edges {
		if e.ID != "" {
			d.slotOf[e.ID] = int32(i)
		}
		d.vecs[i] = e.Point.Vec()
	}
	d.tree.Store(&kdTree{})
	return d
}

func (d *measured) info(site int32) *siteInfo {
	return &d.sites.all()[site>>chunkBits].info[site&(chunkSize-1)]
}

// cells returns the raw and residual words of a site, by slot.
func (d *measured) cells(site int32) (raw, res []atomic.Uint32) {
	c := d.sites.all()[site>>chunkBits]
	off := int(site&(chunkSize-1)) * d.width
	return c.raw[off : off+d.width : off+d.width], c.res[off : off+d.width : off+d.width]
}

func loadF(w *atomic.Uint32) float32 { return math.Float32frombits(w.Load()) }

func (d *measured) siteOf(c Client) int32 {
	if c.Kind == Net {
		if s := d.nets.get(uint64(c.Net)); s != noID {
			return int32(s)
		}
		return -1
	}
	if s, ok := d.others[c]; ok {
		return s
	}
	return -1
}

// put makes the site of client c hold exactly cells (by edge id), creating or freeing it. keep
// says which cells count (nil: all). It reports whether anything changed. Writer only.
func (d *measured) put(c Client, cells []Cell, keep func(Cell) bool, locate Locator, now time.Time) bool {
	row := d.row
	for i := range row {
		row[i] = math.NaN()
	}
	any := false
	for _, x := range cells {
		slot, ok := d.slotOf[x.Edge]
		if !ok || d.retired[slot] {
			d.skip++
			continue
		}
		if keep != nil && !keep(x) {
			continue
		}
		row[slot] = x.Millis
		any = true
	}
	site := d.siteOf(c)
	if site < 0 {
		if !any {
			return false
		}
		site = d.newSite(c, locate, now)
	}
	info := d.info(site)
	raw, res := d.cells(site)
	changedSlots, changed := false, false
	var at geo.Vec
	if info.hasPoint {
		at = info.point.Vec()
	}
	for slot, v := range row {
		old := raw[slot].Load()
		nv := math.Float32bits(float32(v))
		if old == nv {
			continue
		}
		changed = true
		wasSet, isSet := old != nan32, !math.IsNaN(v)
		if wasSet != isSet {
			changedSlots = true
			delta := int32(1)
			if !isSet {
				delta = -1
			}
			d.perSlot[slot].Add(delta)
			if info.asn != 0 {
				d.asnSlot[slot].Add(delta)
			}
			d.countSlot(info, slot, delta)
		}
		r := nan32
		if e := d.layout[slot]; isSet && e.HasPoint && info.hasPoint {
			// Of the figure as kept, so that it follows from it alone.
			r = math.Float32bits(float32(float64(float32(v)) - geo.ModelRTTMillis(geo.ArcKm(at, d.vecs[slot]))))
		}
		raw[slot].Store(nv)
		res[slot].Store(r)
	}
	if changedSlots {
		d.touchBuckets(info)
	}
	if !any {
		d.freeSite(c, site, now)
	}
	return changed
}

func (d *measured) newSite(c Client, locate Locator, now time.Time) int32 {
	var site int32 = -1
	if len(d.free) > 0 && now.Sub(d.free[0].at) > freeGrace {
		site, d.free = d.free[0].site, d.free[1:]
	} else {
		site = d.nsites
		d.nsites++
		if int(site>>chunkBits) >= len(d.sites.all()) {
			ch := &siteChunk{raw: make([]atomic.Uint32, chunkSize*d.width), res: make([]atomic.Uint32, chunkSize*d.width)}
			for i := range ch.raw {
				ch.raw[i].Store(nan32)
				ch.res[i].Store(nan32)
			}
			d.sites.push(ch)
		}
	}
	var l Site
	switch c.Kind {
	case Net:
		l = locate(c.Net.Prefix().Addr())
	case Area:
		l = locate(c.Area.Addr())
	case Place:
		l = Site{Point: c.Point, HasPoint: true}
	}
	d.sites.all()[site>>chunkBits].gone[site&(chunkSize-1)] = false
	info := d.info(site)
	*info = siteInfo{point: l.Point, hasPoint: l.HasPoint, asn: l.ASN, city: l.CityID, kind: c.Kind, net: c.Net, group: -1, other: -1}
	if c.Kind != Net {
		info.other = d.labels.push(c)
	}
	// Reachable from here on: by its key, then through its buckets.
	if c.Kind == Net {
		d.nets.set(uint64(c.Net), uint32(site))
		d.netCount.Add(1)
		d.countWithin(c.Net, 1)
	} else {
		d.others[c] = site
	}
	if l.ASN != 0 {
		d.join(d.bucketOf(d.asns, uint64(l.ASN)), site)
	}
	if l.CityID != 0 {
		d.join(d.bucketOf(d.cities, l.CityID), site)
	}
	if l.HasPoint {
		g, ok := d.points[l.Point]
		if !ok {
			g = d.addBucket(l.Point)
			d.points[l.Point] = g
			d.groups.push(g)
		}
		info.group = g
		d.join(g, site)
	}
	return site
}

func (d *measured) freeSite(c Client, site int32, now time.Time) {
	info := d.info(site)
	if c.Kind == Net {
		d.nets.del(uint64(c.Net))
		d.netCount.Add(-1)
		d.countWithin(c.Net, -1)
	} else {
		delete(d.others, c)
	}
	d.touchBuckets(info)
	d.sites.all()[site>>chunkBits].gone[site&(chunkSize-1)] = true
	d.free = append(d.free, freed{site, now})
}

// touchBuckets marks the buckets of a site whose measured slots changed.
func (d *measured) touchBuckets(info *siteInfo) {
	if info.asn != 0 {
		d.markDirty(int32(d.asns.get(uint64(info.asn))))
	}
	if info.city != 0 {
		d.markDirty(int32(d.cities.get(info.city)))
	}
	if info.group >= 0 {
		d.markDirty(info.group)
	}
}

func (d *measured) markDirty(b int32) {
	bk := d.buckets.at(b)
	if !bk.dirty {
		bk.dirty = true
		d.dirty = append(d.dirty, b)
	}
}

func (d *measured) bucketOf(m *idMap, key uint64) int32 {
	if b := m.get(key); b != noID {
		return int32(b)
	}
	b := d.addBucket(geo.Point{})
	m.set(key, uint32(b))
	return b
}

func (d *measured) addBucket(p geo.Point) int32 {
	return d.buckets.push(bucket{point: p})
}

func (d *measured) join(b int32, site int32) {
	bk := d.buckets.at(b)
	bk.added = append(bk.added, site)
	d.markDirty(b)
}

// settle brings the buckets that changed up to date and, when many places came since the tree
// was built, builds it again (in the background unless wait). Writer only.
func (d *measured) settle(wait bool) {
	for _, b := range d.dirty {
		bk := d.buckets.at(b)
		bk.dirty = false
		bk.settle(d)
	}
	d.dirty = d.dirty[:0]
	d.grow(wait)
}

// slotLoads reads the per-slot counts: how many neighbours each slot can get (0 when not live).
func (d *measured) needs(live []bool, need []int32) {
	for i := range need {
		need[i] = 0
		if i < d.width && i < len(live) && live[i] {
			need[i] = min(int32(d.k), d.perSlot[i].Load())
		}
	}
}

// label names a site's client, for display.
func (d *measured) label(site int32) string {
	info := d.info(site)
	if info.kind == Net {
		return info.net.String()
	}
	if info.other >= 0 {
		return d.labels.at(info.other).String()
	}
	return "?"
}
