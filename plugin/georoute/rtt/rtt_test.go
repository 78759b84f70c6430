package rtt

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

func TestKeyOf(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		{"203.0.113.9", "203.0.113.0/24"},
		{"203.0.113.255", "203.0.113.0/24"},
		{"::ffff:203.0.113.9", "203.0.113.0/24"},
		{"0.0.0.1", "0.0.0.0/24"},
		{"2001:db8:1:2::1", "2001:db8:1::/48"},
		{"2001:db8:1:ffff:ffff::1", "2001:db8:1::/48"},
		{"::1", "::/48"},
	}
	for _, tc := range tests {
		k := KeyOf(netip.MustParseAddr(tc.addr))
		if got := k.Prefix().String(); got != tc.want {
			t.Errorf("KeyOf(%s) = %s, want %s", tc.addr, got, tc.want)
		}
		if KeyOf(k.Prefix().Addr()) != k {
			t.Errorf("KeyOf(%s) does not round-trip", tc.addr)
		}
	}
	if KeyOf(netip.MustParseAddr("1.2.3.4")) == KeyOf(netip.MustParseAddr("102:300::")) {
		t.Error("an IPv4 and an IPv6 network share a key")
	}
}

func TestParseClient(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		kind    ClientKind
		wantErr string
	}{
		{"203.0.113.7", "203.0.113.0/24", Net, ""},
		{"203.0.113.0/24", "203.0.113.0/24", Net, ""},
		{"203.0.113.128/25", "203.0.113.0/24", Net, ""},
		{" 2001:db8:1::/48 ", "2001:db8:1::/48", Net, ""},
		{"2001:db8:1:5::/64", "2001:db8:1::/48", Net, ""},
		{"198.51.0.0/16", "198.51.0.0/16", Area, ""},
		{"198.51.7.0/16", "198.51.0.0/16", Area, ""},
		{"2001:db8::/32", "2001:db8::/32", Area, ""},
		{"geo:50.11,8.68", "geo:50.11,8.68", Place, ""},
		{"geo: -33.9 , 151.2", "geo:-33.9,151.2", Place, ""},
		{"geo:95,0", "", 0, "not a place"},
		{"geo:50", "", 0, "not a place"},
		{"0.0.0.0/0", "", 0, "whole address space"},
		{"example.net", "", 0, "not an address"},
		{"203.0.113.7%eth0", "", 0, "not an address"},
	}
	for _, tc := range tests {
		c, err := ParseClient(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseClient(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseClient(%q): %v", tc.in, err)
			continue
		}
		if c.String() != tc.want || c.Kind != tc.kind {
			t.Errorf("ParseClient(%q) = %s (kind %d), want %s (kind %d)", tc.in, c, c.Kind, tc.want, tc.kind)
		}
	}
}

func TestReadCSV(t *testing.T) {
	good := "client,edge,rtt_ms\n# a comment\n203.0.113.0/24,FRA1,23.5\n198.51.100.7, iad1, 88\n\"geo:1.35,103.8\",sin1,2\n"
	ms, err := ReadCSV(strings.NewReader(good), "m.csv", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Edge != "fra1" || ms[0].Millis != 23.5 || ms[1].Client.String() != "198.51.100.0/24" || ms[2].Client.Kind != Place {
		t.Fatalf("ReadCSV = %+v", ms)
	}
	bad := []struct{ in, want string }{
		{"client,edge,rtt\n203.0.113.0/24,fra1,x\n", "m.csv:2: rtt_ms \"x\""},
		{"203.0.113.0/24,fra1,abc\n", "m.csv:1: rtt_ms \"abc\""},
		{"203.0.113.0/24,fra1,-4\n", "m.csv:1: rtt_ms"},
		{"203.0.113.0/24,fra1,0\n", "m.csv:1: rtt_ms"},
		{"203.0.113.0/24,fra1,NaN\n", "m.csv:1: rtt_ms"},
		{"203.0.113.0/24,fra1,90000\n", "m.csv:1: rtt_ms"},
		{"203.0.113.0/24,fra1\n", "m.csv:1: 2 fields, want client,edge,rtt_ms"},
		{"geo:1,2,fra1,20\n", "quote a place"},
		{"nowhere,fra1,20\n", "m.csv:1: client: \"nowhere\""},
		{"203.0.113.0/24,,20\n", "m.csv:1: edge is empty"},
		// Found by FuzzReadCSV: a quoted edge may hold anything, line breaks and quotes included.
		{"0.0.0.0,\"\"\"\r\r\n\"\"\",1", "m.csv:1: edge \"\\\"\\r"},
		{"203.0.113.0/24,fra 1,20\n", `m.csv:1: edge "fra 1" is not an edge id`},
		{"203.0.113.0/24,-fra1,20\n", `m.csv:1: edge "-fra1" is not an edge id`},
		{"203.0.113.0/24,fra1,\"20\n", "m.csv:1:"},
	}
	for _, tc := range bad {
		_, err := ReadCSV(strings.NewReader(tc.in), "m.csv", time.Unix(0, 0))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadCSV(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestStore(t *testing.T) {
	s := NewStore()
	c, _ := ParseClient("203.0.113.0/24")
	t0 := time.Unix(1000, 0)
	s.Add(c, "fra1", 100, t0, FromReport)
	s.Add(c, "fra1", 50, t0.Add(time.Second), FromReport)
	ms, gen := s.Snapshot()
	if len(ms) != 1 || ms[0].Count != 2 || math.Abs(ms[0].Millis-85) > 1e-9 {
		t.Fatalf("after two samples: %+v (want EWMA 85, count 2)", ms)
	}
	s.ReplaceFiles([]Measurement{{Client: c, Edge: "iad1", Millis: 80}, {Client: c, Edge: "iad1", Millis: 90}})
	ms, gen2 := s.Snapshot()
	if gen2 == gen || len(ms) != 2 {
		t.Fatalf("after ReplaceFiles: gen %d->%d, %d measurements", gen, gen2, len(ms))
	}
	for _, m := range ms {
		if m.Edge == "iad1" && (m.Millis != 85 || m.Count != 2) {
			t.Errorf("a pair twice in files averages: %+v", m)
		}
	}
	s.ReplaceFiles(nil)
	if ms, _ := s.Snapshot(); len(ms) != 1 {
		t.Errorf("ReplaceFiles(nil) kept %d measurements, want the 1 reported", len(ms))
	}
	if n := s.Expire(t0.Add(time.Hour)); n != 1 {
		t.Errorf("Expire dropped %d, want 1", n)
	}
}

var (
	fra = geo.Point{Lat: 50.11, Lon: 8.68}
	iad = geo.Point{Lat: 39.04, Lon: -77.49}
	sin = geo.Point{Lat: 1.35, Lon: 103.82}
)

func threeEdges() []EdgeInfo {
	return []EdgeInfo{{ID: "fra1", Point: fra, HasPoint: true}, {ID: "iad1", Point: iad, HasPoint: true}, {ID: "sin1", Point: sin, HasPoint: true}}
}

// locator places 203.0.113.0/24 in Frankfurt (AS64500), 198.51.100.0/24 in Ashburn (AS64501).
func locator(a netip.Addr) Site {
	switch {
	case netip.MustParsePrefix("203.0.113.0/24").Contains(a):
		return Site{Point: fra, HasPoint: true, ASN: 64500, CityID: 1}
	case netip.MustParsePrefix("198.51.100.0/24").Contains(a):
		return Site{Point: iad, HasPoint: true, ASN: 64501, CityID: 2}
	}
	return Site{}
}

func measurements(t *testing.T, csv string) []Measurement {
	t.Helper()
	ms, err := ReadCSV(strings.NewReader(csv), "t.csv", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestMatrixMeasuredAndEstimated(t *testing.T) {
	ms := measurements(t, "203.0.113.0/24,fra1,5\n203.0.113.0/24,sin1,300\n203.0.113.0/24,nowhere,1\n")
	m, skipped := Compile(ms, threeEdges(), locator, Options{})
	if skipped != 1 {
		t.Errorf("skipped = %d, want 1 (edge not in the set)", skipped)
	}
	row := m.Row(KeyOf(netip.MustParseAddr("203.0.113.77")))
	if row == nil || m.Measured(row, 0) != 5 || m.Measured(row, 2) != 300 || !math.IsNaN(float64(m.Measured(row, 1))) {
		t.Fatalf("Row = %v %v %v, want [5 NaN 300]", m.Measured(row, 0), m.Measured(row, 1), m.Measured(row, 2))
	}
	if m.Row(KeyOf(netip.MustParseAddr("203.0.114.1"))) != nil {
		t.Error("an unmeasured network has a row")
	}

	// A client in Frankfurt's AS whose network was not measured: its estimate to sin1 carries the
	// neighbour's residual (300 ms measured against ~196 ms modelled), to iad1 the pure model.
	c := ClientInfo{ID: 7, Point: geo.Point{Lat: 50.0, Lon: 8.5}, HasPoint: true, ASN: 64500}
	p := m.Profile(c)
	modelSin := geo.ModelRTTMillis(geo.DistanceKm(c.Point, sin))
	if p.Source[2] != Corrected || float64(p.Millis[2]) < modelSin+90 {
		t.Errorf("sin1 estimate %.1f (%v), want about the neighbour's residual above the model %.1f", p.Millis[2], p.Source[2], modelSin)
	}
	modelIad := geo.ModelRTTMillis(geo.DistanceKm(c.Point, iad))
	if p.Source[1] != Distance || math.Abs(float64(p.Millis[1])-modelIad) > 0.01 {
		t.Errorf("iad1 estimate %.1f (%v), want the pure model %.1f", p.Millis[1], p.Source[1], modelIad)
	}
	// The measured 5 ms to fra1 is below the model's 25 ms floor: a nearby client is corrected down.
	if p.Millis[0] > 10 {
		t.Errorf("fra1 estimate %.1f, want close to the 5 ms measured next door", p.Millis[0])
	}
	// Cached: the same pointer, and no allocation.
	if m.Profile(c) != p {
		t.Error("second Profile call did not hit the cache")
	}
	if n := testing.AllocsPerRun(100, func() { m.Profile(c) }); n != 0 {
		t.Errorf("cached Profile allocates %.0f times", n)
	}
	v, src, near := m.Explain(c, 2)
	if math.Abs(v-float64(p.Millis[2])) > 0.01 || src != Corrected || len(near) != 1 || near[0].Label != "203.0.113.0/24" || near[0].DistanceKm != 0 {
		t.Errorf("Explain = %v %v %+v", v, src, near)
	}
}

func TestMatrixFarNeighbourHasLittleWeight(t *testing.T) {
	// A residual measured in Frankfurt should barely move an estimate for a client in Singapore.
	ms := measurements(t, "203.0.113.0/24,iad1,400\n")
	m, _ := Compile(ms, threeEdges(), locator, Options{})
	c := ClientInfo{ID: 1, Point: sin, HasPoint: true}
	p := m.Profile(c)
	model := geo.ModelRTTMillis(geo.DistanceKm(sin, iad))
	if p.Source[1] != Distance || math.Abs(float64(p.Millis[1])-model) > 0.01 {
		t.Errorf("a neighbour beyond the search radius changed the estimate: %.1f vs model %.1f (%v)", p.Millis[1], model, p.Source[1])
	}
}

func TestMatrixNoLocation(t *testing.T) {
	ms := measurements(t, "203.0.113.0/24,fra1,30\n")
	m, _ := Compile(ms, threeEdges(), locator, Options{})
	// Unknown location, same AS as a measured network: the edge gets that network's figure.
	p := m.Profile(ClientInfo{ASN: 64500})
	if p.Source[0] != Neighbour || p.Millis[0] != 30 {
		t.Errorf("fra1 = %v %v, want 30 from the same AS", p.Millis[0], p.Source[0])
	}
	if p.Source[1] != None || !math.IsNaN(float64(p.Millis[1])) {
		t.Errorf("iad1 = %v %v, want nothing", p.Millis[1], p.Source[1])
	}
}

func TestMeasuredWithin(t *testing.T) {
	ms := measurements(t, "203.0.113.0/24,fra1,5\n2001:db8:1::/48,fra1,5\n")
	m, _ := Compile(ms, threeEdges(), locator, Options{})
	tests := []struct {
		prefix string
		want   bool
	}{
		{"203.0.0.0/16", true}, {"203.0.112.0/23", true}, {"203.0.113.0/24", true}, {"203.0.113.64/26", true},
		{"203.0.112.0/24", false}, {"203.0.114.0/23", false}, {"202.0.0.0/8", false}, {"128.0.0.0/1", true}, {"128.0.0.0/2", false},
		{"0.0.0.0/1", false}, {"192.0.0.0/2", true},
		{"2001:db8::/32", true}, {"2001:db8:1::/56", true}, {"2001:db8:2::/48", false}, {"::/1", true},
	}
	for _, tc := range tests {
		if got := m.MeasuredWithin(netip.MustParsePrefix(tc.prefix)); got != tc.want {
			t.Errorf("MeasuredWithin(%s) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
	var empty *Matrix
	if empty.MeasuredWithin(netip.MustParsePrefix("0.0.0.0/1")) || empty.Row(1) != nil || empty.Profile(ClientInfo{}) != nil {
		t.Error("a nil matrix holds something")
	}
}

func TestExpiryAtCompile(t *testing.T) {
	c, _ := ParseClient("203.0.113.0/24")
	now := time.Unix(100000, 0)
	ms := []Measurement{
		{Client: c, Edge: "fra1", Millis: 5, Updated: now.Add(-2 * time.Hour), Origin: FromReport},
		{Client: c, Edge: "iad1", Millis: 90, Updated: now.Add(-2 * time.Hour), Origin: FromFile},
	}
	m, _ := Compile(ms, threeEdges(), locator, Options{MaxAge: time.Hour, Now: now})
	row := m.Row(c.Net)
	if row == nil || !math.IsNaN(float64(m.Measured(row, 0))) || m.Measured(row, 1) != 90 {
		t.Errorf("row = %v %v: an expired report must be gone, a file measurement kept", m.Measured(row, 0), m.Measured(row, 1))
	}
}

// TestEstimateAccuracy builds a synthetic world in which the real RTT is the distance model plus
// a bias per (region, edge) – peering and routing detours that distance cannot see – and noise.
// Half of the client cities are measured; for the other half, the router picks the edge with the
// lowest estimate. Its regret (real RTT of the pick minus that of the real best) must be far below
// what distance alone achieves.
func TestEstimateAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	edges := []EdgeInfo{
		{ID: "fra", Point: geo.Point{Lat: 50.11, Lon: 8.68}}, {ID: "lhr", Point: geo.Point{Lat: 51.5, Lon: -0.12}},
		{ID: "iad", Point: geo.Point{Lat: 39.04, Lon: -77.49}}, {ID: "pdx", Point: geo.Point{Lat: 45.5, Lon: -122.7}},
		{ID: "gru", Point: geo.Point{Lat: -23.55, Lon: -46.63}}, {ID: "sin", Point: geo.Point{Lat: 1.35, Lon: 103.82}},
		{ID: "nrt", Point: geo.Point{Lat: 35.68, Lon: 139.65}}, {ID: "syd", Point: geo.Point{Lat: -33.87, Lon: 151.21}},
	}
	for i := range edges {
		edges[i].HasPoint = true
	}
	type region struct{ latLo, latHi, lonLo, lonHi float64 }
	regions := []region{
		{36, 60, -10, 30}, {45, 60, 30, 60}, {25, 48, -125, -70}, {-35, 5, -75, -35}, {-35, 10, 10, 40},
		{5, 35, 70, 90}, {20, 45, 100, 125}, {-40, -15, 115, 153}, {-10, 15, 95, 125}, {30, 42, 35, 50},
	}
	bias := make([][]float64, len(regions))
	for r := range regions {
		bias[r] = make([]float64, len(edges))
		for e := range edges {
			bias[r][e] = -15 + 120*rng.Float64()*rng.Float64()
		}
	}
	type city struct {
		p geo.Point
		r int
	}
	var cities []city
	for len(cities) < 240 {
		r := rng.IntN(len(regions))
		g := regions[r]
		cities = append(cities, city{geo.Point{Lat: g.latLo + rng.Float64()*(g.latHi-g.latLo), Lon: g.lonLo + rng.Float64()*(g.lonHi-g.lonLo)}, r})
	}
	real := func(c city, e int) float64 {
		return geo.ModelRTTMillis(geo.DistanceKm(c.p, edges[e].Point)) + bias[c.r][e] + 3*rng.NormFloat64()
	}
	truth := make([][]float64, len(cities))
	var ms []Measurement
	for i, c := range cities {
		truth[i] = make([]float64, len(edges))
		for e := range edges {
			truth[i][e] = math.Max(1, real(c, e))
			if i%2 == 0 {
				ms = append(ms, Measurement{Client: Client{Kind: Place, Point: c.p}, Edge: edges[e].ID, Millis: truth[i][e], Origin: FromFile})
			}
		}
	}
	m, _ := Compile(ms, edges, func(netip.Addr) Site { return Site{} }, Options{})
	var regretModel, regretEstimate float64
	n := 0
	for i := 1; i < len(cities); i += 2 {
		c := cities[i]
		p := m.Profile(ClientInfo{ID: uint64(i), Point: c.p, HasPoint: true})
		best, byModel, byEstimate := 0, 0, 0
		for e := range edges {
			if truth[i][e] < truth[i][best] {
				best = e
			}
			if geo.DistanceKm(c.p, edges[e].Point) < geo.DistanceKm(c.p, edges[byModel].Point) {
				byModel = e
			}
			if p.Millis[e] < p.Millis[byEstimate] {
				byEstimate = e
			}
		}
		regretModel += truth[i][byModel] - truth[i][best]
		regretEstimate += truth[i][byEstimate] - truth[i][best]
		n++
	}
	regretModel /= float64(n)
	regretEstimate /= float64(n)
	t.Logf("mean regret over %d estimated cities: distance %.2f ms, corrected %.2f ms", n, regretModel, regretEstimate)
	if regretEstimate > regretModel/2 {
		t.Errorf("neighbour correction regret %.2f ms is not well below distance-only %.2f ms", regretEstimate, regretModel)
	}
}

func BenchmarkProfileCached(b *testing.B) {
	ms := []Measurement{}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		p := geo.Point{Lat: rng.Float64()*140 - 60, Lon: rng.Float64()*360 - 180}
		ms = append(ms, Measurement{Client: Client{Kind: Place, Point: p}, Edge: threeEdges()[i%3].ID, Millis: 50 + rng.Float64()*100, Origin: FromFile})
	}
	m, _ := Compile(ms, threeEdges(), locator, Options{})
	c := ClientInfo{ID: 9, Point: fra, HasPoint: true}
	m.Profile(c)
	b.ReportAllocs()
	for b.Loop() {
		m.Profile(c)
	}
}

func BenchmarkProfileMiss(b *testing.B) {
	ms := []Measurement{}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		p := geo.Point{Lat: rng.Float64()*140 - 60, Lon: rng.Float64()*360 - 180}
		ms = append(ms, Measurement{Client: Client{Kind: Place, Point: p}, Edge: threeEdges()[i%3].ID, Millis: 50 + rng.Float64()*100, Origin: FromFile})
	}
	m, _ := Compile(ms, threeEdges(), locator, Options{})
	b.ReportAllocs()
	for b.Loop() {
		m.estimate(ClientInfo{Point: geo.Point{Lat: 48, Lon: 2}, HasPoint: true}, nil)
	}
}

func TestStoreMeasures(t *testing.T) {
	s := NewStore()
	a, _ := ParseClient("203.0.113.0/24")
	b, _ := ParseClient("198.51.100.0/24")
	t0 := time.Unix(1000, 0)
	steps := []struct {
		name string
		do   func()
		want map[string]bool
	}{
		{"empty", func() {}, map[string]bool{"fra1": false, "iad1": false}},
		{"Put", func() { s.Add(a, "fra1", 10, t0, FromReport) }, map[string]bool{"fra1": true, "iad1": false}},
		{"Put again", func() { s.Add(a, "fra1", 20, t0.Add(time.Hour), FromReport) }, map[string]bool{"fra1": true}},
		{"Put another client", func() { s.Add(b, "fra1", 90, t0, FromProbe) }, map[string]bool{"fra1": true}},
		{"ReplaceFiles adds", func() {
			s.ReplaceFiles([]Measurement{{Client: a, Edge: "iad1", Millis: 80}, {Client: a, Edge: "iad1", Millis: 90}, {Client: b, Edge: "sin1", Millis: 200}})
		}, map[string]bool{"fra1": true, "iad1": true, "sin1": true}},
		{"ReplaceFiles over a report", func() {
			s.ReplaceFiles([]Measurement{{Client: a, Edge: "iad1", Millis: 80}, {Client: b, Edge: "fra1", Millis: 88}})
		}, map[string]bool{"fra1": true, "iad1": true, "sin1": false}},
		{"Expire one of two", func() { s.Expire(t0.Add(time.Minute)) }, map[string]bool{"fra1": true, "iad1": true}},
		{"ReplaceFiles drops", func() { s.ReplaceFiles(nil) }, map[string]bool{"fra1": true, "iad1": false}},
		{"Expire the last", func() { s.Expire(t0.Add(2 * time.Hour)) }, map[string]bool{"fra1": false, "iad1": false, "sin1": false}},
	}
	for _, st := range steps {
		st.do()
		for edge, want := range st.want {
			if got := s.Measures(edge); got != want {
				t.Errorf("%s: Measures(%s) = %v, want %v", st.name, edge, got, want)
			}
		}
		ms, _ := s.Snapshot()
		count := map[string]int{}
		for _, m := range ms {
			count[m.Edge]++
		}
		held := map[string]int{}
		for i, n := range s.perEdge {
			if n > 0 {
				held[s.edgeIDs[i]] = n
			}
		}
		if !reflect.DeepEqual(held, count) {
			t.Errorf("%s: per-edge counts %v, held %v", st.name, held, count)
		}
	}
}

var (
	par = geo.Point{Lat: 48.85, Lon: 2.35}
	nrt = geo.Point{Lat: 35.68, Lon: 139.65}
	lhr = geo.Point{Lat: 51.5, Lon: -0.12}
	syd = geo.Point{Lat: -33.87, Lon: 151.21}
)

// slotSites places the networks of TestWithEdges; 100.64.0.0/24 has an AS and no location.
var slotSites = map[string]Site{
	"203.0.113.0/24":  {Point: fra, HasPoint: true, ASN: 64500, CityID: 1},
	"203.0.114.0/24":  {Point: par, HasPoint: true, ASN: 64502, CityID: 3},
	"198.51.100.0/24": {Point: iad, HasPoint: true, ASN: 64501, CityID: 2},
	"192.0.2.0/24":    {Point: sin, HasPoint: true, ASN: 64503, CityID: 4},
	"2001:db8:1::/48": {Point: nrt, HasPoint: true, ASN: 64504},
	"198.18.0.0/15":   {Point: lhr, HasPoint: true},
	"100.64.0.0/24":   {ASN: 64502},
}

func slotLocator(a netip.Addr) Site {
	for p, s := range slotSites {
		if netip.MustParsePrefix(p).Contains(a) {
			return s
		}
	}
	return Site{}
}

// TestWithEdges checks that a matrix moved to a new slot layout reads exactly as one compiled
// from the same measurements for that layout.
func TestWithEdges(t *testing.T) {
	const csv = `203.0.113.0/24,fra1,5
203.0.113.0/24,iad1,90
203.0.113.0/24,sin1,160
203.0.113.0/24,any1,20
203.0.114.0/24,iad1,85
198.51.100.0/24,iad1,4
198.51.100.0/24,fra1,95
192.0.2.0/24,sin1,3
192.0.2.0/24,fra1,170
192.0.2.0/24,iad1,230
2001:db8:1::/48,sin1,70
198.18.0.0/15,fra1,15
"geo:-33.87,151.21",sin1,95
"geo:-33.87,151.21",iad1,210
100.64.0.0/24,iad1,40
100.64.0.0/24,any1,12
`
	all := measurements(t, csv)
	var noIad []Measurement
	for _, m := range all {
		if m.Edge != "iad1" {
			noIad = append(noIad, m)
		}
	}
	e := map[string]EdgeInfo{
		"fra1": {ID: "fra1", Point: fra, HasPoint: true}, "iad1": {ID: "iad1", Point: iad, HasPoint: true},
		"sin1": {ID: "sin1", Point: sin, HasPoint: true}, "any1": {ID: "any1"},
		"nrt1": {ID: "nrt1", Point: nrt, HasPoint: true}, "lhr1": {ID: "lhr1", Point: lhr, HasPoint: true},
		"": {},
	}
	layout := func(ids ...string) []EdgeInfo {
		out := make([]EdgeInfo, len(ids))
		for i, id := range ids {
			out[i] = e[id]
		}
		return out
	}
	compile := func(ms []Measurement, edges []EdgeInfo) *Matrix {
		m, _ := Compile(slices.Clone(ms), edges, slotLocator, Options{})
		return m
	}
	base := compile(all, layout("fra1", "iad1", "sin1", "any1"))
	freed := base.WithEdges(layout("fra1", "", "sin1", "any1"))
	tests := []struct {
		name string
		got  *Matrix
		want *Matrix
	}{
		{"same layout", base.WithEdges(layout("fra1", "iad1", "sin1", "any1")), compile(all, layout("fra1", "iad1", "sin1", "any1"))},
		{"append", base.WithEdges(layout("fra1", "iad1", "sin1", "any1", "nrt1")), compile(all, layout("fra1", "iad1", "sin1", "any1", "nrt1"))},
		{"free in the middle, append", base.WithEdges(layout("fra1", "", "sin1", "any1", "nrt1")), compile(all, layout("fra1", "", "sin1", "any1", "nrt1"))},
		{"free the last", base.WithEdges(layout("fra1", "iad1", "sin1", "")), compile(all, layout("fra1", "iad1", "sin1", ""))},
		{"drop the last", base.WithEdges(layout("fra1", "iad1", "sin1")), compile(all, layout("fra1", "iad1", "sin1"))},
		{"reuse by another id", base.WithEdges(layout("fra1", "lhr1", "sin1", "any1")), compile(all, layout("fra1", "lhr1", "sin1", "any1"))},
		{"free, then reuse", freed.WithEdges(layout("fra1", "lhr1", "sin1", "any1")), compile(all, layout("fra1", "lhr1", "sin1", "any1"))},
		{"free, then the same id back", freed.WithEdges(layout("fra1", "iad1", "sin1", "any1")), compile(noIad, layout("fra1", "iad1", "sin1", "any1"))},
		{"moved edge", base.WithEdges([]EdgeInfo{e["fra1"], {ID: "iad1", Point: lhr, HasPoint: true}, e["sin1"], e["any1"]}), compile(noIad, []EdgeInfo{e["fra1"], {ID: "iad1", Point: lhr, HasPoint: true}, e["sin1"], e["any1"]})},
		{"free all", base.WithEdges(layout("", "", "", "")), compile(all, layout("", "", "", ""))},
		{"nil matrix", (*Matrix)(nil).WithEdges(layout("fra1", "iad1")), compile(nil, layout("fra1", "iad1"))},
		{"compiled with a free slot, then filled", compile(all, layout("fra1", "", "sin1")).WithEdges(layout("fra1", "nrt1", "sin1")), compile(all, layout("fra1", "nrt1", "sin1"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sameMatrix(t, "WithEdges", tc.got, "Compile", tc.want)
			sameMatrix(t, "Compile", tc.want, "WithEdges", tc.got)
		})
	}
}

// sameMatrix checks that every figure a reads for its edges is what b reads.
func sameMatrix(t *testing.T, an string, a *Matrix, bn string, b *Matrix) {
	t.Helper()
	nets := []string{"203.0.113.0/24", "203.0.114.0/24", "198.51.100.0/24", "192.0.2.0/24", "2001:db8:1::/48", "198.18.0.0/24", "100.64.0.0/24", "203.0.115.0/24"}
	prefixes := []string{"203.0.112.0/22", "203.0.114.0/24", "203.0.114.0/23", "198.51.100.0/24", "100.64.0.0/10", "0.0.0.0/1", "2001:db8::/32", "198.18.0.0/15"}
	clients := []ClientInfo{
		{ID: 1, Point: fra, HasPoint: true, ASN: 64500, CityID: 1},       // measured network's own location
		{ID: 2, Point: geo.Point{Lat: 50.85, Lon: 4.35}, HasPoint: true}, // Brussels
		{ID: 3, Point: par, HasPoint: true, ASN: 64502, CityID: 3},
		{ID: 4, Point: geo.Point{Lat: 38.9, Lon: -77.04}, HasPoint: true, ASN: 64501},
		{ID: 5, Point: geo.Point{Lat: 3.1, Lon: 101.7}, HasPoint: true},
		{ID: 6, Point: geo.Point{Lat: -37.8, Lon: 144.96}, HasPoint: true},
		{ID: 7, ASN: 64502},
		{ID: 8},
		{Point: geo.Point{Lat: 52.5, Lon: 13.4}, HasPoint: true, ASN: 64500}, // not cached
	}
	sameFor(t, an, a, bn, b, nets, prefixes, clients)
}

// sameFor checks that a and b read the same for the networks, prefixes and clients given.
func sameFor(t *testing.T, an string, a *Matrix, bn string, b *Matrix, nets, prefixes []string, clients []ClientInfo) {
	t.Helper()
	if !slices.Equal(a.Edges(), b.Edges()) || a.Empty() != b.Empty() || a.ComparesASNs() != b.ComparesASNs() {
		t.Fatalf("%s edges %v empty %v ASNs %v; %s edges %v empty %v ASNs %v", an, a.Edges(), a.Empty(), a.ComparesASNs(), bn, b.Edges(), b.Empty(), b.ComparesASNs())
	}
	slots := len(a.Edges()) + 1 // one past the end reads as unmeasured
	for _, n := range nets {
		k := KeyOf(netip.MustParsePrefix(n).Addr())
		ra, rb := a.Row(k), b.Row(k)
		if (ra == nil) != (rb == nil) {
			t.Errorf("%s: %s row %v, %s row %v", n, an, ra, bn, rb)
		}
		for s := -1; s < slots; s++ {
			if va, vb := a.Measured(ra, s), b.Measured(rb, s); !sameFloat(va, vb) {
				t.Errorf("%s slot %d: %s measured %v, %s %v", n, s, an, va, bn, vb)
			}
		}
		if da, db := a.Detail(k), b.Detail(k); len(da) != len(db) || (len(da) > 0 && !reflect.DeepEqual(da, db)) {
			t.Errorf("%s: %s detail %+v, %s %+v", n, an, da, bn, db)
		}
	}
	for _, p := range prefixes {
		if wa, wb := a.MeasuredWithin(netip.MustParsePrefix(p)), b.MeasuredWithin(netip.MustParsePrefix(p)); wa != wb {
			t.Errorf("MeasuredWithin(%s): %s %v, %s %v", p, an, wa, bn, wb)
		}
	}
	for _, c := range clients {
		pa, pb := a.Profile(c), b.Profile(c)
		for s := -1; s < slots; s++ {
			va, sa := pa.At(s)
			vb, sb := pb.At(s)
			if !sameFloat(va, vb) || sa != sb {
				t.Errorf("client %+v slot %d: %s profile %v (%v), %s %v (%v)", c, s, an, va, sa, bn, vb, sb)
			}
			ea, esa, na := a.Explain(c, s)
			eb, esb, nb := b.Explain(c, s)
			if !sameFloat(float32(ea), float32(eb)) || esa != esb || !reflect.DeepEqual(na, nb) {
				t.Errorf("client %+v slot %d: %s explains %v (%v) %+v, %s %v (%v) %+v", c, s, an, ea, esa, na, bn, eb, esb, nb)
			}
		}
	}
}

func sameFloat(a, b float32) bool {
	return a == b || (math.IsNaN(float64(a)) && math.IsNaN(float64(b)))
}

func TestFreeSlot(t *testing.T) {
	ms := measurements(t, "203.0.113.0/24,fra1,5\n203.0.113.0/24,sin1,300\n")
	ms = append(ms, Measurement{Client: ms[0].Client, Edge: "", Millis: 1, Origin: FromFile})
	edges := []EdgeInfo{{ID: "fra1", Point: fra, HasPoint: true}, {Point: iad, HasPoint: true}, {ID: "sin1", Point: sin, HasPoint: true}}
	m, skipped := Compile(ms, edges, locator, Options{})
	if skipped != 1 {
		t.Errorf("skipped = %d, want 1 (the measurement of edge \"\")", skipped)
	}
	row := m.Row(KeyOf(netip.MustParseAddr("203.0.113.1")))
	if v := m.Measured(row, 1); !math.IsNaN(float64(v)) {
		t.Errorf("free slot measured %v", v)
	}
	for _, c := range []ClientInfo{{ID: 1, Point: fra, HasPoint: true, ASN: 64500}, {ID: 2, ASN: 64500}} {
		if v, src := m.Profile(c).At(1); !math.IsNaN(float64(v)) || src != None {
			t.Errorf("client %+v: free slot estimate %v (%v), want NaN (none)", c, v, src)
		}
	}
	// A reused slot shows nothing of the edge that had it, also after WithEdges again.
	reused := m.WithEdges([]EdgeInfo{edges[0], {ID: "sin2", Point: sin, HasPoint: true}, {}}).WithEdges([]EdgeInfo{edges[0], {ID: "sin2", Point: sin, HasPoint: true}, {ID: "sin1", Point: sin, HasPoint: true}})
	row = reused.Row(KeyOf(netip.MustParseAddr("203.0.113.1")))
	if v := reused.Measured(row, 2); !math.IsNaN(float64(v)) {
		t.Errorf("slot freed and refilled by sin1 measures %v, want nothing until Compile", v)
	}
	if d := reused.Detail(KeyOf(netip.MustParseAddr("203.0.113.1"))); len(d) != 1 || d[0].Edge != "fra1" {
		t.Errorf("Detail = %+v, want only fra1's", d)
	}
}

// benchNets measures 100,000 /24 networks in 10.0.0.0/8 against 3 of 8 edges each.
func benchNets() ([]Measurement, []EdgeInfo, Locator) {
	edges := []EdgeInfo{
		{ID: "fra", Point: fra}, {ID: "lhr", Point: lhr}, {ID: "iad", Point: iad}, {ID: "pdx", Point: geo.Point{Lat: 45.5, Lon: -122.7}},
		{ID: "gru", Point: geo.Point{Lat: -23.55, Lon: -46.63}}, {ID: "sin", Point: sin}, {ID: "nrt", Point: nrt}, {ID: "syd", Point: syd},
	}
	for i := range edges {
		edges[i].HasPoint = true
	}
	// Where a network is follows from its address, as GeoIP would say it.
	locate := func(a netip.Addr) Site {
		b := a.As4()
		h := hash64(uint64(b[1])<<8|uint64(b[2]), 0)
		return Site{Point: geo.Point{Lat: float64(h%1200)/10 - 55, Lon: float64(h>>16%3600)/10 - 180}, HasPoint: true, ASN: 64500 + uint32(h>>32%500), CityID: 1 + h>>40%5000}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Now()
	var ms []Measurement
	for i := range 100000 {
		c := Client{Kind: Net, Net: KeyOf(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}))}
		for _, e := range rng.Perm(len(edges))[:3] {
			ms = append(ms, Measurement{Client: c, Edge: edges[e].ID, Millis: 5 + 250*rng.Float64(), Count: 1, Updated: now, Origin: FromReport})
		}
	}
	return ms, edges, locate
}

func BenchmarkCompile100k(b *testing.B) {
	ms, edges, locate := benchNets()
	b.ReportAllocs()
	for b.Loop() {
		Compile(ms, edges, locate, Options{})
	}
}

func BenchmarkWithEdges100k(b *testing.B) {
	ms, edges, locate := benchNets()
	m, _ := Compile(ms, edges, locate, Options{})
	more := append(slices.Clip(edges), EdgeInfo{ID: "jnb", Point: geo.Point{Lat: -26.2, Lon: 28.05}, HasPoint: true})
	b.ReportAllocs()
	for b.Loop() {
		m.WithEdges(more)
	}
}

// TestParseClientMapped: an IPv4-mapped prefix is the IPv4 prefix it maps; one shorter than
// /96 covers more than IPv4 and is refused (FuzzReadCSV found ::ffff:0.0.0.0/0 accepted as an
// invalid prefix that read back as "invalid Prefix").
func TestParseClientMapped(t *testing.T) {
	for in, want := range map[string]string{"::ffff:192.0.2.0/120": "192.0.2.0/24", "::ffff:10.0.0.0/104": "10.0.0.0/8"} {
		c, err := ParseClient(in)
		if err != nil || c.String() != want {
			t.Errorf("ParseClient(%q) = %v, %v; want %s", in, c, err, want)
		}
	}
	for _, in := range []string{"::ffff:0.0.0.0/0", "::ffff:0.0.0.0/95"} {
		if c, err := ParseClient(in); err == nil {
			t.Errorf("ParseClient(%q) = %v, want an error", in, c)
		}
	}
}
