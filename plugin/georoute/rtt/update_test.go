package rtt

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// updateWorld places 10.0.0.0/16's networks: a /24 in one of 30 places and 12 cities, most of
// the first 150 in AS 64600 (a bucket large enough to count its members by edge), a few with no
// location; 10.0.200.0/24 and up sit at places of their own (more than the tree takes pending).
func updateLocator(a netip.Addr) Site {
	b := a.As4()
	if b[0] != 10 || b[1] != 0 {
		return Site{}
	}
	i := int(b[2])
	if i%17 == 5 {
		return Site{ASN: 64700 + uint32(i%3)}
	}
	p := geo.Point{Lat: 35 + float64(i%30)*0.7, Lon: -5 + float64(i%30)*1.3}
	if i >= 200 {
		p = geo.Point{Lat: -40 + float64(i-200)*1.5, Lon: 100 + float64(i%7)}
	}
	asn := 64600 + uint32(i%5)
	if i < 150 && i%4 != 0 {
		asn = 64600
	}
	return Site{Point: p, HasPoint: true, ASN: asn, CityID: 1 + uint64(i%12)}
}

func updateEdges() []EdgeInfo {
	return []EdgeInfo{
		{ID: "fra1", Point: fra, HasPoint: true}, {ID: "iad1", Point: iad, HasPoint: true}, {ID: "sin1", Point: sin, HasPoint: true},
		{ID: "any1"}, {}, {ID: "lhr1", Point: lhr, HasPoint: true},
	}
}

func updateNet(i int) Client {
	return Client{Kind: Net, Net: KeyOf(netip.AddrFrom4([4]byte{10, 0, byte(i), 0}))}
}

// TestUpdateIsCompile: a matrix that follows its store through Update reads, after every change,
// exactly as one compiled from scratch from what the store then holds: figures, details, the
// networks measured inside prefixes, every estimate and the neighbours behind it (and estimates
// cached before a change are not served after it).
func TestUpdateIsCompile(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	edges := updateEdges()
	ids := []string{"fra1", "iad1", "sin1", "any1", "lhr1", "gone1"}
	now := time.Unix(1_000_000, 0)
	put := func(s *Store, i int, edge string, ms float64, at time.Time) {
		s.Put(Measurement{Client: updateNet(i), Edge: edge, Millis: ms, Count: 1, Updated: at, Origin: FromReport})
	}
	s := NewStore()
	for i := 0; i < 100; i++ {
		for _, e := range ids[:1+i%5] {
			put(s, i, e, 5+float64((i*7)%200), now)
		}
	}
	inc, _ := CompileStore(s, edges, updateLocator, Options{Neighbours: 2})
	steps := []struct {
		name string
		do   func()
	}{
		{"nothing", func() {}},
		{"new networks at known places", func() {
			for i := 100; i < 180; i++ {
				put(s, i, ids[i%3], 40+float64(i%90), now)
			}
		}},
		{"new places, more than wait outside the tree", func() {
			for i := 200; i < 256; i++ {
				put(s, i, "fra1", 300-float64(i), now)
				put(s, i, "sin1", float64(i)/3, now)
			}
			for j := 0; j < 150; j++ {
				s.Put(Measurement{Client: Client{Kind: Place, Point: geo.Point{Lat: -60 + float64(j)*0.8, Lon: -170 + float64(j)*2}}, Edge: "iad1", Millis: 50 + float64(j), Origin: FromFile, Updated: now})
			}
		}},
		{"new figures", func() {
			for i := 0; i < 180; i += 3 {
				put(s, i, ids[i%5], 1+rng.Float64()*250, now.Add(time.Minute))
			}
		}},
		{"networks measure more edges", func() {
			for i := 0; i < 60; i++ {
				put(s, i, "lhr1", 20+float64(i), now)
				put(s, i, "sin1", 180+float64(i), now)
			}
		}},
		{"an area", func() {
			c, _ := ParseClient("10.0.0.0/16")
			s.Put(Measurement{Client: c, Edge: "fra1", Millis: 22, Origin: FromReport, Updated: now})
		}},
		{"old measurements expire", func() {
			for i := 10; i < 120; i += 2 {
				put(s, i, "fra1", 9, now.Add(-48*time.Hour))
			}
			s.Expire(now.Add(-24 * time.Hour))
		}},
		{"networks lose every measurement", func() {
			for i := 0; i < 40; i++ {
				for _, e := range ids {
					put(s, i, e, 1, now.Add(-72*time.Hour))
				}
			}
			s.Expire(now.Add(-24 * time.Hour))
		}},
		{"and come back", func() {
			for i := 0; i < 20; i++ {
				put(s, i, "iad1", 70+float64(i), now)
			}
		}},
		{"files replaced", func() {
			s.ReplaceFiles([]Measurement{{Client: updateNet(3), Edge: "fra1", Millis: 3}, {Client: updateNet(250), Edge: "iad1", Millis: 222}})
		}},
	}
	var nets []string
	for i := 0; i < 256; i += 3 {
		nets = append(nets, fmt.Sprintf("10.0.%d.0/24", i))
	}
	prefixes := []string{"10.0.0.0/16", "10.0.0.0/20", "10.0.16.0/21", "10.0.200.0/22", "10.0.37.0/24", "10.0.0.0/8", "0.0.0.0/0"}
	var clients []ClientInfo
	for i := range 40 {
		l := updateLocator(netip.AddrFrom4([4]byte{10, 0, byte(i * 6), 1}))
		c := ClientInfo{ID: uint64(i + 1), Point: l.Point, HasPoint: l.HasPoint, ASN: l.ASN, CityID: l.CityID}
		switch i % 4 {
		case 1:
			c.Point = geo.Point{Lat: c.Point.Lat + 0.4, Lon: c.Point.Lon - 0.3}
			c.CityID = 0
		case 2:
			c.ASN = 0
		case 3:
			c.Point, c.HasPoint = geo.Point{Lat: rng.Float64()*120 - 60, Lon: rng.Float64()*360 - 180}, true
		}
		clients = append(clients, c)
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			for _, c := range clients {
				inc.Profile(c) // cached before the change
			}
			st.do()
			inc.Update(updateLocator)
			all, _ := s.Snapshot()
			again := NewStore()
			again.PutAll(all)
			full, _ := CompileStore(again, edges, updateLocator, Options{Neighbours: 2})
			sameFor(t, "Update", inc, "Compile", full, nets, prefixes, clients)
			if inc.Networks() != full.Networks() {
				t.Errorf("Update holds %d networks, Compile %d", inc.Networks(), full.Networks())
			}
		})
	}
}

// TestExpireSome: expiring a slice of the clients at a time, then Update, ends where a matrix
// compiled with MaxAge starts: no measurement older than the age, every newer one, and no
// client looked at twice before all were looked at once.
func TestExpireSome(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	s := NewStore()
	for i := range 200 {
		for j, e := range []string{"fra1", "iad1", "sin1"} {
			age := time.Duration((i*3+j)%5) * time.Hour
			s.Put(Measurement{Client: updateNet(i), Edge: e, Millis: float64(10 + i + j), Updated: now.Add(-age), Origin: FromReport})
		}
	}
	s.Put(Measurement{Client: updateNet(7), Edge: "lhr1", Millis: 30, Updated: now.Add(-100 * time.Hour), Origin: FromFile})
	inc, _ := CompileStore(s, updateEdges(), updateLocator, Options{})
	all, _ := s.Snapshot()
	want, _ := Compile(all, updateEdges(), updateLocator, Options{MaxAge: 150 * time.Minute, Now: now})
	dropped := 0
	for range (200 + 6) / 7 { // one sweep of the 200 clients, 7 at a time
		dropped += s.ExpireSome(now.Add(-150*time.Minute), 7)
		inc.Update(updateLocator)
	}
	// Ages 0..4 h: those of 3 and 4 hours go, two in five.
	if dropped != 240 {
		t.Errorf("ExpireSome dropped %d in one sweep, want 240", dropped)
	}
	var nets []string
	for i := 0; i < 200; i += 7 {
		nets = append(nets, updateNet(i).String())
	}
	sameFor(t, "ExpireSome+Update", inc, "Compile with MaxAge", want, nets, []string{"10.0.0.0/24", "10.0.0.0/17"}, []ClientInfo{{ID: 1, Point: fra, HasPoint: true, ASN: 64600}, {Point: iad, HasPoint: true}})
	if n := s.ExpireSome(now.Add(-150*time.Minute), 1000); n != 0 {
		t.Errorf("a second sweep dropped %d more", n)
	}
}

// TestEstimateUnchanged: estimates of a fixed world, as the matrix before the incremental one
// computed them (neighbours from a 2° grid scanned in rings; values recorded from it).
func TestEstimateUnchanged(t *testing.T) {
	ms := measurements(t, `203.0.113.0/24,fra1,5
203.0.113.0/24,sin1,300
198.51.100.0/24,iad1,4
198.51.100.0/24,fra1,95
192.0.2.0/24,sin1,3
192.0.2.0/24,fra1,170
"geo:48.85,2.35",fra1,12
"geo:48.85,2.35",iad1,80
"geo:40.71,-74.0",iad1,9
"geo:35.68,139.65",sin1,70
203.0.114.0/24,iad1,85
`)
	m, _ := Compile(ms, threeEdges(), slotLocator, Options{Neighbours: 2})
	nan := math.NaN()
	tests := []struct {
		client ClientInfo
		want   [3]float64
		src    [3]Source
	}{
		{ClientInfo{Point: geo.Point{Lat: 50.0, Lon: 8.5}, HasPoint: true, ASN: 64500}, [3]float64{5.3130, 91.1873, 300.1237}, [3]Source{Corrected, Corrected, Corrected}},
		{ClientInfo{Point: geo.Point{Lat: 52.5, Lon: 13.4}, HasPoint: true}, [3]float64{13.4184, 99.3419, 285.1270}, [3]Source{Corrected, Corrected, Corrected}},
		{ClientInfo{Point: geo.Point{Lat: 38.9, Lon: -77.04}, HasPoint: true, ASN: 64501, CityID: 2}, [3]float64{94.7271, 4.7187, 289.1570}, [3]Source{Corrected, Corrected, Distance}},
		{ClientInfo{Point: geo.Point{Lat: 3.1, Lon: 101.7}, HasPoint: true, CityID: 4}, [3]float64{164.9283, 285.5865, 8.2184}, [3]Source{Corrected, Distance, Corrected}},
		{ClientInfo{Point: geo.Point{Lat: 34.7, Lon: 135.5}, HasPoint: true}, [3]float64{182.0118, 214.4046, 67.5086}, [3]Source{Distance, Distance, Corrected}},
		{ClientInfo{ASN: 64502}, [3]float64{nan, 85, nan}, [3]Source{None, Neighbour, None}},
		{ClientInfo{CityID: 1}, [3]float64{5, nan, 300}, [3]Source{Neighbour, None, Neighbour}},
	}
	for _, tc := range tests {
		p := m.Profile(tc.client)
		for e := range 3 {
			v, src := p.At(e)
			if math.Abs(float64(v)-tc.want[e]) > 1e-3 && !(math.IsNaN(float64(v)) && math.IsNaN(tc.want[e])) || src != tc.src[e] {
				t.Errorf("client %+v edge %d: %v (%v), want %v (%v)", tc.client, e, v, src, tc.want[e], tc.src[e])
			}
		}
	}
}

// TestNeighboursAreNearest: the neighbours behind every estimate are, per edge, the first k of
// the networks of the client's AS, then of its city, then of the rest by distance (within
// maxSearchKm; as near: by place, then client), that measured the edge: what a search of every
// measured network finds, in random worlds where many networks share places, ASes and cities.
func TestNeighboursAreNearest(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 5))
		places := make([]geo.Point, 5+rng.IntN(40))
		for i := range places {
			places[i] = geo.Point{Lat: 30 + rng.Float64()*30, Lon: -20 + rng.Float64()*60}
		}
		sites := map[NetKey]Site{}
		locate := func(a netip.Addr) Site { return sites[KeyOf(a)] }
		edges := updateEdges()
		var ms []Measurement
		for i := range 120 + rng.IntN(300) {
			c := Client{Kind: Net, Net: KeyOf(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}))}
			s := Site{ASN: uint32(1 + rng.IntN(6)), CityID: uint64(rng.IntN(8))}
			if rng.IntN(8) != 0 {
				s.Point, s.HasPoint = places[rng.IntN(len(places))], true
			}
			sites[c.Net] = s
			for _, e := range edges {
				if e.ID != "" && rng.IntN(3) != 0 {
					ms = append(ms, Measurement{Client: c, Edge: e.ID, Millis: 1 + 300*rng.Float64(), Origin: FromFile})
				}
			}
		}
		k := 1 + rng.IntN(5)
		m, _ := Compile(ms, edges, locate, Options{Neighbours: k})
		for q := range 60 {
			c := ClientInfo{Point: geo.Point{Lat: 25 + rng.Float64()*40, Lon: -30 + rng.Float64()*80}, HasPoint: true}
			if q%2 == 0 {
				c.ASN = uint32(rng.IntN(7))
			}
			if q%3 == 0 {
				c.CityID = uint64(rng.IntN(9))
			}
			for slot, e := range edges {
				if !e.HasPoint {
					continue
				}
				_, _, got := m.Explain(c, slot)
				var labels []string
				for _, n := range got {
					labels = append(labels, n.Label)
				}
				if want := nearestBySearchingAll(ms, sites, c, e.ID, k); fmt.Sprint(labels) != fmt.Sprint(want) {
					t.Fatalf("seed %d k %d client %+v edge %s: neighbours %v, want %v", seed, k, c, e.ID, labels, want)
				}
			}
		}
	}
}

// nearestBySearchingAll is the definition TestNeighboursAreNearest checks against: it looks at
// every measured network. Those without a location take a place among the k but show no
// residual, so they are left out of what it returns, as Explain leaves them out.
func nearestBySearchingAll(ms []Measurement, sites map[NetKey]Site, c ClientInfo, edge string, k int) []string {
	type cand struct {
		net   NetKey
		dist  float64
		phase int
		at    geo.Point
	}
	var all []cand
	for _, x := range ms {
		if x.Edge != edge {
			continue
		}
		s := sites[x.Client.Net]
		switch {
		case c.ASN != 0 && s.ASN == c.ASN:
			all = append(all, cand{x.Client.Net, 0, 0, geo.Point{}})
		case c.CityID != 0 && s.CityID == c.CityID:
			all = append(all, cand{x.Client.Net, 0, 1, geo.Point{}})
		case s.HasPoint:
			if d := geo.DistanceKm(c.Point, s.Point); d <= maxSearchKm {
				all = append(all, cand{x.Client.Net, d, 2, s.Point})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.phase, b.phase), cmp.Compare(a.at.Lat, b.at.Lat), cmp.Compare(a.at.Lon, b.at.Lon), cmp.Compare(a.net, b.net))
	})
	var out []string
	for _, x := range all[:min(k, len(all))] {
		if sites[x.net].HasPoint {
			out = append(out, x.net.String())
		}
	}
	return out
}

// TestUpdateWhileReading: queries read the matrix while Update changes it (go test -race).
func TestUpdateWhileReading(t *testing.T) {
	s := NewStore()
	now := time.Now()
	for i := range 120 {
		s.Put(Measurement{Client: updateNet(i), Edge: "fra1", Millis: float64(10 + i), Updated: now, Origin: FromReport})
	}
	m, _ := CompileStore(s, updateEdges(), updateLocator, Options{CacheSize: 64})
	stop := make(chan struct{})
	done := make(chan int)
	var reading sync.WaitGroup // each reader has read once before the writer starts
	reading.Add(2)
	for r := range 2 {
		go func() {
			n := 0
			for i := 0; ; i++ {
				if n == 1 {
					reading.Done()
				}
				select {
				case <-stop:
					done <- n
					return
				default:
				}
				a := netip.AddrFrom4([4]byte{10, 0, byte(i*7 + r), 1})
				l := updateLocator(a)
				c := ClientInfo{ID: uint64(i%50 + 1), Point: l.Point, HasPoint: l.HasPoint, ASN: l.ASN, CityID: l.CityID}
				if row := m.Row(KeyOf(a)); row != nil {
					m.Measured(row, 0)
				}
				m.Profile(c).At(0)
				m.Explain(c, 1)
				m.MeasuredWithin(netip.PrefixFrom(a, 20).Masked())
				m.Detail(KeyOf(a))
				n++
			}
		}()
	}
	reading.Wait()
	for round := range 30 {
		for i := range 256 {
			if (i+round)%3 == 0 {
				s.Put(Measurement{Client: updateNet(i), Edge: []string{"fra1", "iad1", "sin1"}[i%3], Millis: float64(round + i), Updated: now, Origin: FromReport})
			}
		}
		if round%5 == 4 {
			s.Expire(now.Add(time.Duration(round) * time.Millisecond))
		}
		m.Update(updateLocator)
	}
	close(stop)
	if n := <-done + <-done; n == 0 {
		t.Error("the readers read nothing")
	}
}

// TestDropRemoved: once an edge is removed (its slot freed), dropping its measurements from the
// data leaves a matrix that reads as one compiled without them, filters nothing any more, and
// takes no measurement of that edge that comes later.
func TestDropRemoved(t *testing.T) {
	s := NewStore()
	now := time.Now()
	var noIad []Measurement
	for i := range 120 {
		for j, e := range []string{"fra1", "iad1", "sin1"} {
			if i%4 == 1 && e != "iad1" {
				continue // networks only iad1 measured: gone with it
			}
			m := Measurement{Client: updateNet(i), Edge: e, Millis: float64(5 + i + 40*j), Updated: now, Origin: FromReport}
			s.Put(m)
			if e != "iad1" {
				noIad = append(noIad, m)
			}
		}
	}
	edges := updateEdges()
	base, _ := CompileStore(s, edges, updateLocator, Options{})
	freed := slices.Clone(edges)
	freed[1] = EdgeInfo{}
	m := base.WithEdges(freed)
	if !m.HoldsRemoved() {
		t.Fatal("a freed slot holding measurements is not reported")
	}
	m.DropRemoved()
	if m.HoldsRemoved() {
		t.Error("still holds the removed edge's measurements")
	}
	s.Put(Measurement{Client: updateNet(3), Edge: "iad1", Millis: 1, Updated: now, Origin: FromReport})
	m.Update(updateLocator)
	want, _ := Compile(noIad, freed, updateLocator, Options{})
	var nets []string
	for i := 0; i < 120; i += 5 {
		nets = append(nets, updateNet(i).String())
	}
	clients := []ClientInfo{{ID: 1, Point: fra, HasPoint: true, ASN: 64600}, {ID: 2, Point: iad, HasPoint: true, CityID: 3}, {ID: 3, ASN: 64601}}
	sameFor(t, "DropRemoved", m, "Compile", want, nets, []string{"10.0.0.0/16", "10.0.1.0/24", "10.0.4.0/22"}, clients)
	if m.Networks() != want.Networks() {
		t.Errorf("%d networks after DropRemoved, %d compiled", m.Networks(), want.Networks())
	}
}

// TestEstimateEvery: with EstimateEvery, Update brings measured figures in at once and keeps
// cached estimates until the interval has passed.
func TestEstimateEvery(t *testing.T) {
	s := NewStore()
	now := time.Now()
	s.Put(Measurement{Client: updateNet(1), Edge: "fra1", Millis: 40, Updated: now, Origin: FromReport})
	for _, every := range []time.Duration{0, time.Hour} {
		m, _ := CompileStore(s, updateEdges(), updateLocator, Options{EstimateEvery: every})
		c := ClientInfo{ID: 1, Point: geo.Point{Lat: 36, Lon: -4}, HasPoint: true}
		before := m.Profile(c)
		s.Put(Measurement{Client: updateNet(1), Edge: "fra1", Millis: 90 + float64(every/time.Hour), Updated: now, Origin: FromReport})
		m.Update(updateLocator)
		if got := m.Measured(m.Row(updateNet(1).Net), 0); got != float32(90+every/time.Hour) {
			t.Errorf("every %v: measured %v after Update", every, got)
		}
		if kept := m.Profile(c) == before; kept != (every > 0) {
			t.Errorf("every %v: cached estimate kept %v", every, kept)
		}
	}
}
