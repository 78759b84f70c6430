package rtt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// The scale benchmarks: client networks x 20 edges, every network measuring every edge, placed
// the way a GeoIP city database places them: a /20 shares a city (50,000 cities around 300
// metropolitan areas), a /16 an AS (5,000 ASes).
//
//	go test ./plugin/georoute/rtt -run XXX -bench 'Scale' -benchmem -count 3 -benchtime 1x

const scaleEdges = 20

var scaleSizes = []int{10_000, 100_000, 1_000_000}

type scaleWorld struct {
	edges  []EdgeInfo
	cities []geo.Point
	locate Locator
}

func newScaleWorld() *scaleWorld {
	rng := rand.New(rand.NewPCG(7, 8))
	w := &scaleWorld{}
	for i := range scaleEdges {
		p := geo.Point{Lat: rng.Float64()*110 - 45, Lon: rng.Float64()*360 - 180}
		w.edges = append(w.edges, EdgeInfo{ID: fmt.Sprintf("e%02d", i), Point: p, HasPoint: true})
	}
	metros := make([]geo.Point, 300)
	for i := range metros {
		metros[i] = geo.Point{Lat: rng.Float64()*110 - 45, Lon: rng.Float64()*360 - 180}
	}
	w.cities = make([]geo.Point, 50_000)
	for i := range w.cities {
		m := metros[rng.IntN(len(metros))]
		w.cities[i] = geo.Point{Lat: math.Max(-89, math.Min(89, m.Lat+2*rng.NormFloat64())), Lon: math.Mod(m.Lon+2*rng.NormFloat64()+540, 360) - 180}
	}
	w.locate = func(a netip.Addr) Site {
		b := a.As16()
		if a.Is4() {
			v := a.As4()
			b = [16]byte{v[0], v[1], v[2]}
		}
		x := uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
		city := hash64(x>>4, 1) % uint64(len(w.cities))
		return Site{Point: w.cities[city], HasPoint: true, ASN: 1 + uint32(hash64(x>>8, 2)%5000), CityID: city + 1}
	}
	return w
}

// scaleNet is the i-th network: /24s spread over the whole IPv4 space.
func scaleNet(i int) NetKey {
	x := uint32(i) * 0x9E3779B1 & 0xFFFFFF
	return KeyOf(netip.AddrFrom4([4]byte{byte(x >> 16), byte(x >> 8), byte(x), 0}))
}

// measurements returns n networks' measurements of every edge, at.
func (w *scaleWorld) measurements(n int, seed uint64, at time.Time) []Measurement {
	rng := rand.New(rand.NewPCG(seed, 9))
	ms := make([]Measurement, 0, n*len(w.edges))
	for i := range n {
		c := Client{Kind: Net, Net: scaleNet(i)}
		s := w.locate(c.Net.Prefix().Addr())
		for _, e := range w.edges {
			ms = append(ms, Measurement{Client: c, Edge: e.ID, Millis: geo.ModelRTTMillis(geo.DistanceKm(s.Point, e.Point)) + 30*rng.Float64(), Count: 1, Updated: at, Origin: FromReport})
		}
	}
	return ms
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	return st.HeapAlloc
}

// scaleStore is a store holding n networks' measurements of every edge.
func (w *scaleWorld) scaleStore(n int) *Store {
	s := NewStore()
	s.PutAll(w.measurements(n, 1, time.Now()))
	return s
}

// BenchmarkScaleIngest puts every network's measurements into an empty store; heap-MB is what
// the store keeps.
func BenchmarkScaleIngest(b *testing.B) {
	w := newScaleWorld()
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("nets=%d", n), func(b *testing.B) {
			ms := w.measurements(n, 1, time.Now())
			b.ReportAllocs()
			var s *Store
			for b.Loop() {
				s = nil
				s = NewStore()
				s.PutAll(ms)
			}
			b.StopTimer()
			ms = nil
			base := heapInUse()
			runtime.KeepAlive(s)
			s = nil
			b.ReportMetric(float64(base-heapInUse())/(1<<20), "heap-MB")
		})
	}
}

// BenchmarkScaleCompile compiles the whole matrix from the store (a full rebuild, as at start or
// when an edge moves); heap-MB is what the matrix keeps besides the store.
func BenchmarkScaleCompile(b *testing.B) {
	w := newScaleWorld()
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("nets=%d", n), func(b *testing.B) {
			s := w.scaleStore(n)
			without := heapInUse()
			b.ReportAllocs()
			for b.Loop() {
				CompileStore(s, w.edges, w.locate, Options{})
			}
			b.StopTimer()
			b.ReportMetric(float64(heapInUse()-without)/(1<<20), "heap-MB") // the store follows the last
			runtime.KeepAlive(s)
		})
	}
}

// BenchmarkScaleRefresh is what a second of reports costs: 100,000 measurements of networks
// already measured, folded into the store and made visible to queries.
func BenchmarkScaleRefresh(b *testing.B) {
	w := newScaleWorld()
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("nets=%d", n), func(b *testing.B) {
			s := w.scaleStore(n)
			m, _ := CompileStore(s, w.edges, w.locate, Options{})
			upd := w.measurements(min(n, 100_000/scaleEdges), 2, time.Now())
			b.ReportAllocs()
			for b.Loop() {
				s.PutAll(upd)
				m.Update(w.locate)
			}
		})
	}
}

// scaleClients are queries' clients: 5,000 random /24s (a dnsperf query file's worth).
func (w *scaleWorld) scaleClients() []lookupClient {
	rng := rand.New(rand.NewPCG(11, 12))
	out := make([]lookupClient, 5000)
	for i := range out {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), 1})
		s := w.locate(a)
		out[i] = lookupClient{key: KeyOf(a), geo: netip.PrefixFrom(a, 20).Masked(), info: ClientInfo{ID: s.CityID, Point: s.Point, HasPoint: true, ASN: s.ASN, CityID: s.CityID}}
	}
	return out
}

type lookupClient struct {
	key  NetKey
	geo  netip.Prefix
	info ClientInfo
}

// lookup is what a routed query asks of the matrix (route.Client.lookRTT, RTTTo per edge,
// latencyScope).
func lookup(m *Matrix, c *lookupClient, edges int) float32 {
	if m.Empty() {
		return 0
	}
	row := m.Row(c.key)
	p := m.Profile(c.info)
	var sum float32
	for e := range edges {
		if v := m.Measured(row, e); !math.IsNaN(float64(v)) {
			sum += v
			continue
		}
		v, _ := p.At(e)
		sum += v
	}
	if m.MeasuredWithin(c.geo) {
		sum++
	}
	if m.ComparesASNs() {
		sum++
	}
	return sum
}

// BenchmarkScaleLookup is the matrix's part of one routed query with 0 and 1,000,000 measured
// networks: cached (5,000 clients, their estimates cached after the first query) and uncached
// (every query estimates its client again: the cost of a cache miss).
func BenchmarkScaleLookup(b *testing.B) {
	w := newScaleWorld()
	clients := w.scaleClients()
	for _, n := range []int{0, 1_000_000} {
		m, _ := CompileStore(w.scaleStore(n), w.edges, w.locate, Options{})
		for _, cached := range []bool{true, false} {
			b.Run(fmt.Sprintf("nets=%d/cached=%v", n, cached), func(b *testing.B) {
				cs := clients
				if !cached {
					cs = make([]lookupClient, len(clients))
					copy(cs, clients)
					for i := range cs {
						cs[i].info.ID = 0
					}
				}
				for i := range cs {
					lookup(m, &cs[i], scaleEdges)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					lookup(m, &cs[i%len(cs)], scaleEdges)
					i++
				}
			})
		}
	}
}
