package route

import (
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/geo"
	"github.com/georoute/appliance/plugin/georoute/geoip"
	"github.com/georoute/appliance/plugin/georoute/model"
)

// policyTable compiles edges on four continents and the given pools; every pool gets a name
// "<pool>.example.net.".
func policyTable(t testing.TB, pools map[string]model.Pool) *fixture {
	t.Helper()
	cfg := &model.Config{
		Edges: map[string]model.Edge{
			"fra1": edge("192.0.2.10 2001:db8::10", 50.11, 8.68),
			"lhr1": edge("192.0.2.11", 51.51, -0.13),
			"iad1": edge("198.51.100.10 2001:db8::20", 39.04, -77.49),
			"sfo1": edge("198.51.100.11", 37.77, -122.42),
			"sin1": edge("203.0.113.20", 1.35, 103.82),
			"syd1": edge("203.0.113.30 2001:db8::30", -33.87, 151.21),
		},
		Pools: pools,
		Names: map[string]model.Name{},
	}
	for id := range pools {
		cfg.Names[id+".example.net."] = model.Name{Pool: id}
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return build(t, cfg)
}

func i(v int) *int { return &v }

// place is a client somewhere: address, GeoIP network bits, location and AS.
func place(addr string, bits int, country, sub string, lat, lon float64, asn uint32) Client {
	l := &geoip.Location{ID: uint64(math.Float64bits(lat) ^ math.Float64bits(lon)), Point: geo.Point{Lat: lat, Lon: lon}, Vec: geo.Point{Lat: lat, Lon: lon}.Vec(), HasPoint: true,
		Country: country, Continent: geo.ContinentOf(country), Subdivision: sub}
	return NewClient(netip.MustParseAddr(addr), geoip.Result{Loc: l, Bits: bits, ASN: asn, ASNBits: 20})
}

var (
	mountainView = place("8.8.8.8", 24, "US", "CA", 37.39, -122.08, 15169)
	newYork      = place("24.0.0.1", 12, "US", "NY", 40.71, -74.0, 7843)
	berlin       = place("85.214.0.1", 16, "DE", "BE", 52.52, 13.40, 6724)
	london       = place("81.2.69.142", 24, "GB", "ENG", 51.51, -0.09, 5089)
	sydney       = place("1.1.1.1", 24, "AU", "NSW", -33.87, 151.21, 13335)
	reykjavik    = place("157.157.0.1", 16, "IS", "", 64.15, -21.94, 6677)
	nowhere      = NewClient(netip.MustParseAddr("192.0.2.1"), geoip.Result{Bits: 24})
)

func decide(t testing.TB, tb *fixture, pool string, f Family, c Client, down health) *Decision {
	t.Helper()
	b := tb.Names.Get(pool + ".example.net.")
	if b == nil {
		t.Fatalf("no name for pool %s", pool)
	}
	d := &Decision{}
	Decide(tb.Table, b, f, &c, &Env{Health: down}, d)
	return d
}

type policyCase struct {
	name  string
	pool  string
	fam   Family
	c     Client
	down  health
	want  string // edge ids in order; "NODATA", "SERVFAIL"
	scope int
}

func runCases(t *testing.T, tb *fixture, cases []policyCase) {
	t.Helper()
	for _, tc := range cases {
		if tc.fam == 0 {
			tc.fam = V4
		}
		d := decide(t, tb, tc.pool, tc.fam, tc.c, tc.down)
		got := ids(d)
		switch d.Outcome {
		case NoData:
			got = "NODATA"
		case Servfail:
			got = "SERVFAIL"
		}
		if got != tc.want {
			t.Errorf("%s: got [%s], want [%s]", tc.name, got, tc.want)
		}
		if tc.scope >= 0 && d.Scope != tc.scope {
			t.Errorf("%s: scope %d, want %d", tc.name, d.Scope, tc.scope)
		}
	}
}

func TestGeo(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"eu": {Policy: "latency", Edges: []string{"fra1", "lhr1"}},
		"geo": {Policy: "geo", Rules: []model.Rule{
			{Country: "US", Subdivision: "CA", Members: []model.Member{{Edge: "sfo1"}}},
			{Country: "US", Members: []model.Member{{Edge: "iad1"}}},
			{Country: "DE", Members: []model.Member{{Edge: "fra1"}}},
			{Continent: "EU", Members: []model.Member{{Pool: "eu"}}},
			{Default: true, Members: []model.Member{{Edge: "iad1"}}},
		}},
		"nodefault": {Policy: "geo", Rules: []model.Rule{
			{Continent: "EU", Members: []model.Member{{Pool: "eu"}}},
			{Country: "US", Members: []model.Member{{Edge: "iad1"}}},
		}},
		"byname": {Policy: "geo", Rules: []model.Rule{
			{Country: "US", Subdivision: "California", Members: []model.Member{{Edge: "sfo1"}}},
			{Default: true, Members: []model.Member{{Edge: "iad1"}}},
		}},
		"twoperrule": {Policy: "geo", Rules: []model.Rule{
			{Continent: "EU", Members: []model.Member{{Edge: "iad1"}, {Edge: "lhr1"}, {Edge: "fra1"}}},
		}},
	})
	nameOnly := mountainView
	nameOnly.Geo.Loc = &geoip.Location{ID: 99, Country: "US", Continent: "NA", SubdivisionName: "California", Point: mountainView.Geo.Loc.Point, Vec: mountainView.Geo.Loc.Vec, HasPoint: true}
	runCases(t, tb, []policyCase{
		{"subdivision rule", "geo", V4, mountainView, nil, "sfo1", 24},
		{"country rule", "geo", V4, newYork, nil, "iad1", 12},
		{"country beats continent", "geo", V4, berlin, nil, "fra1", 16},
		{"continent rule to a nested latency pool", "geo", V4, london, nil, "lhr1", 24},
		{"default rule", "geo", V4, sydney, nil, "iad1", 24},
		{"unknown location: default", "geo", V4, nowhere, nil, "iad1", 24},
		{"unhealthy subdivision falls back to the country", "geo", V4, mountainView, health{"sfo1": true}, "iad1", 24},
		{"unhealthy country falls back to the continent", "geo", V4, berlin, health{"fra1": true}, "lhr1", 16},
		{"no rule and no default: NODATA (Route 53)", "nodefault", V4, sydney, nil, "NODATA", 24},
		{"no rule, unknown location: NODATA", "nodefault", V4, nowhere, nil, "NODATA", 24},
		{"a rule without the family falls to a less specific one", "geo", V6, mountainView, nil, "iad1", 24},
		{"subdivision written as a name", "byname", V4, nameOnly, nil, "sfo1", 24},
		{"several members in a rule: by latency", "twoperrule", V4, berlin, nil, "fra1", 16},
	})
}

func TestGeoproximity(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"plain":      {Policy: "geoproximity", Members: []model.Member{{Edge: "fra1"}, {Edge: "iad1"}}},
		"iadgrows":   {Policy: "geoproximity", Members: []model.Member{{Edge: "fra1"}, {Edge: "iad1", Bias: 60}}},
		"frashrink":  {Policy: "geoproximity", Members: []model.Member{{Edge: "fra1", Bias: -50}, {Edge: "iad1"}}},
		"frashrink2": {Policy: "geoproximity", Members: []model.Member{{Edge: "fra1", Bias: -99}, {Edge: "iad1"}}},
	})
	// Reykjavik: Frankfurt 2,400 km, Ashburn 4,600 km.
	runCases(t, tb, []policyCase{
		{"nearest", "plain", V4, reykjavik, nil, "fra1", 16},
		{"a bias of +60 makes Ashburn 1,840 km away", "iadgrows", V4, reykjavik, nil, "iad1", 16},
		{"a bias of -50 makes Frankfurt 3,600 km away: still nearer", "frashrink", V4, reykjavik, nil, "fra1", 16},
		{"a bias of -99 makes Frankfurt 4,776 km away", "frashrink2", V4, reykjavik, nil, "iad1", 16},
		{"bias does not reach across the world", "iadgrows", V4, berlin, nil, "fra1", 16},
		{"down edge skipped", "plain", V4, reykjavik, health{"fra1": true}, "iad1", 16},
	})
}

func TestWeighted(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"w":      {Policy: "weighted", Members: []model.Member{{Edge: "fra1", Weight: i(3)}, {Edge: "iad1", Weight: i(1)}, {Edge: "sin1", Weight: i(0)}}},
		"zeros":  {Policy: "weighted", Members: []model.Member{{Edge: "fra1", Weight: i(0)}, {Edge: "iad1", Weight: i(0)}}},
		"sticky": {Policy: "weighted", Sticky: true, Members: []model.Member{{Edge: "fra1", Weight: i(3)}, {Edge: "iad1", Weight: i(1)}}},
		"two":    {Policy: "weighted", Answers: 2, Members: []model.Member{{Edge: "fra1", Weight: i(3)}, {Edge: "iad1", Weight: i(1)}, {Edge: "sin1", Weight: i(0)}}},
	})
	share := func(pool string, c func(int) Client, down health, n int) map[string]float64 {
		counts := map[string]float64{}
		for k := 0; k < n; k++ {
			d := decide(t, tb, pool, V4, c(k), down)
			counts[ids(d)] += 1.0 / float64(n)
		}
		return counts
	}
	same := func(int) Client { return london }
	// 10,000 draws: a share is within 0.02 of its weight's share (more than 4 standard deviations).
	if s := share("w", same, nil, 10000); math.Abs(s["fra1"]-0.75) > 0.02 || math.Abs(s["iad1"]-0.25) > 0.02 || s["sin1"] != 0 {
		t.Errorf("weights 3:1:0 gave %v", s)
	}
	if s := share("w", same, health{"fra1": true}, 1000); s["iad1"] < 0.999 {
		t.Errorf("fra1 down: %v, want iad1 always (weight 0 only when all others are down)", s)
	}
	if s := share("w", same, health{"fra1": true, "iad1": true}, 1000); s["sin1"] < 0.999 {
		t.Errorf("all weighted down: %v, want the weight-0 edge", s)
	}
	if s := share("zeros", same, nil, 10000); math.Abs(s["fra1"]-0.5) > 0.02 {
		t.Errorf("all weights 0: %v, want an even split (Route 53)", s)
	}
	// Sticky: a client keeps its edge; many clients split by weight.
	first := ids(decide(t, tb, "sticky", V4, london, nil))
	for k := 0; k < 100; k++ {
		if got := ids(decide(t, tb, "sticky", V4, london, nil)); got != first {
			t.Fatalf("sticky pool moved the same client from %s to %s", first, got)
		}
	}
	clients := func(k int) Client {
		return NewClient(netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 1}), geoip.Result{})
	}
	if s := share("sticky", clients, nil, 4000); math.Abs(s["fra1"]-0.75) > 0.03 {
		t.Errorf("sticky over 4000 networks: %v, want about 0.75 fra1", s)
	}
	// Two answers: both weighted edges, in weighted order; the weight-0 edge never.
	if s := share("two", same, nil, 4000); math.Abs(s["fra1 iad1"]-0.75) > 0.03 || math.Abs(s["iad1 fra1"]-0.25) > 0.03 {
		t.Errorf("answers 2: %v", s)
	}
	runCases(t, tb, []policyCase{
		{"a random pick does not depend on the client: scope 0", "w", V4, london, health{"fra1": true}, "iad1", 0},
		{"a sticky pick depends on the client's /24", "sticky", V4, london, health{"iad1": true}, "fra1", 24},
	})
	if d := decide(t, tb, "w", V4, london, health{"fra1": true, "iad1": true, "sin1": true}); !d.FailOpen || len(d.Edges) != 1 {
		t.Errorf("all down: fail open with one edge, got %+v", d)
	}
}

func TestFailover(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"primary":  {Policy: "latency", Edges: []string{"fra1", "lhr1"}},
		"backup":   {Policy: "latency", Edges: []string{"iad1", "sfo1"}},
		"fo":       {Policy: "failover", Members: []model.Member{{Pool: "primary"}, {Pool: "backup"}}},
		"fo3":      {Policy: "failover", Answers: 3, Members: []model.Member{{Pool: "primary"}, {Edge: "iad1"}}},
		"edges":    {Policy: "failover", Members: []model.Member{{Edge: "sin1"}, {Edge: "syd1"}}},
		"servfail": {Policy: "failover", WhenAllDown: "servfail", Members: []model.Member{{Edge: "sin1"}, {Edge: "syd1"}}},
		"none":     {Policy: "failover", WhenAllDown: "none", Members: []model.Member{{Edge: "sin1"}, {Edge: "syd1"}}},
	})
	runCases(t, tb, []policyCase{
		{"primary pool up: its nearest", "fo", V4, berlin, nil, "fra1", 16},
		{"primary pool partly down", "fo", V4, berlin, health{"fra1": true}, "lhr1", 16},
		{"primary pool down: the backup pool, by latency", "fo", V4, mountainView, health{"fra1": true, "lhr1": true}, "sfo1", 24},
		{"answers 3: primary's edges, then the secondary", "fo3", V4, london, nil, "lhr1 fra1 iad1", 24},
		{"primary edge down", "edges", V4, london, health{"sin1": true}, "syd1", 0},
		{"order, not distance", "edges", V4, sydney, nil, "sin1", 0},
		{"all down: fail open in order", "edges", V4, london, health{"sin1": true, "syd1": true}, "sin1", 0},
		{"all down: servfail", "servfail", V4, london, health{"sin1": true, "syd1": true}, "SERVFAIL", 0},
		{"all down: nodata", "none", V4, london, health{"sin1": true, "syd1": true}, "NODATA", 0},
	})
}

func TestMultivalue(t *testing.T) {
	all := []string{"fra1", "lhr1", "iad1", "sfo1", "sin1", "syd1"}
	tb := policyTable(t, map[string]model.Pool{
		"mv":  {Policy: "multivalue", Edges: all},
		"mv3": {Policy: "multivalue", Edges: all, Answers: 3},
	})
	orders := map[string]bool{}
	for k := 0; k < 200; k++ {
		d := decide(t, tb, "mv3", V4, london, health{"sin1": true, "syd1": true})
		got := strings.Fields(ids(d))
		if len(got) != 3 {
			t.Fatalf("answers %v, want 3", got)
		}
		for _, e := range got {
			if e == "sin1" || e == "syd1" {
				t.Fatalf("a down edge answered: %v", got)
			}
		}
		orders[ids(d)] = true
	}
	if len(orders) < 10 {
		t.Errorf("only %d different answers in 200: not shuffled", len(orders))
	}
	d := decide(t, tb, "mv", V4, london, nil)
	if n := len(d.Edges); n != 6 || d.Scope != 0 {
		t.Errorf("default answers: %d edges (want all 6, up to 8), scope %d", n, d.Scope)
	}
	d = decide(t, tb, "mv", V4, london, health{"fra1": true, "lhr1": true, "iad1": true, "sfo1": true})
	if got := strings.Fields(ids(d)); len(got) != 2 {
		t.Errorf("fewer healthy than asked: %v, want the 2 healthy", got)
	}
	d = decide(t, tb, "mv", V6, london, nil)
	if got := strings.Fields(ids(d)); len(got) != 3 {
		t.Errorf("AAAA: %v, want the 3 edges with IPv6", got)
	}
}

func TestCIDR(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"web": {Policy: "latency", Edges: []string{"fra1", "iad1", "syd1"}},
		"cidr": {Policy: "cidr", Rules: []model.Rule{
			{Prefixes: []string{"203.0.113.0/24", "2001:db8:1::/48"}, Members: []model.Member{{Edge: "fra1"}}},
			{Prefixes: []string{"203.0.113.128/25"}, Members: []model.Member{{Edge: "iad1"}}},
			{Prefixes: []string{"10.0.0.0/8"}, Members: []model.Member{{Edge: "sin1"}}},
			{Default: true, Members: []model.Member{{Pool: "web"}}},
		}},
		"nodefault": {Policy: "cidr", Rules: []model.Rule{{Prefixes: []string{"203.0.113.0/24"}, Members: []model.Member{{Edge: "fra1"}}}}},
	})
	at := func(addr string) Client { return NewClient(netip.MustParseAddr(addr), geoip.Result{}) }
	runCases(t, tb, []policyCase{
		// 203.0.113.0/25 all answer fra1: the /25 next door decides the scope.
		{"matched /24, a /25 inside it elsewhere", "cidr", V4, at("203.0.113.5"), nil, "fra1", 25},
		{"longest prefix wins", "cidr", V4, at("203.0.113.200"), nil, "iad1", 25},
		{"plain match", "cidr", V4, at("10.1.2.3"), nil, "sin1", 8},
		{"IPv6 match", "cidr", V6, at("2001:db8:1::5"), nil, "fra1", 48},
		// 198.x leaves the trie at bit 4 (203 = 11001011, 198 = 11000110... shares 11000): /5.
		{"no match: default pool", "cidr", V4, at("198.51.100.1"), nil, "fra1", 5},
		{"matched rule down: default", "cidr", V4, at("10.1.2.3"), health{"sin1": true}, "fra1", 8},
		{"no match and no default: NODATA", "nodefault", V4, at("198.51.100.1"), nil, "NODATA", 5},
	})
}

func TestASN(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"asn": {Policy: "asn", Rules: []model.Rule{
			{ASNs: []uint32{6724, 5089}, Members: []model.Member{{Edge: "fra1"}}},
			{Default: true, Members: []model.Member{{Edge: "iad1"}}},
		}},
	})
	runCases(t, tb, []policyCase{
		{"matched AS", "asn", V4, berlin, nil, "fra1", 20},
		{"other AS", "asn", V4, sydney, nil, "iad1", 20},
		{"unknown AS: default", "asn", V4, nowhere, nil, "iad1", 0},
	})
}

func TestCompositionAndTrace(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"eu":     {Policy: "latency", Edges: []string{"fra1", "lhr1"}},
		"us":     {Policy: "latency", Edges: []string{"iad1", "sfo1"}},
		"apac":   {Policy: "latency", Edges: []string{"sin1", "syd1"}},
		"world":  {Policy: "geo", Rules: []model.Rule{{Continent: "EU", Members: []model.Member{{Pool: "eu"}}}, {Continent: "NA", Members: []model.Member{{Pool: "us"}}}, {Default: true, Members: []model.Member{{Pool: "apac"}}}}},
		"safe":   {Policy: "failover", Answers: 2, Members: []model.Member{{Pool: "world"}, {Pool: "us"}}},
		"ofpool": {Policy: "latency", Answers: 6, Members: []model.Member{{Pool: "eu"}, {Pool: "us"}, {Pool: "apac"}}},
	})
	runCases(t, tb, []policyCase{
		{"geo picks a continent pool, latency picks in it", "world", V4, berlin, nil, "fra1", 16},
		{"geo falls back to its default rule when the continent's pool is down", "safe", V4, berlin, health{"fra1": true, "lhr1": true}, "sin1 syd1", 16},
		{"a nested pool that is down is down: failover to the next member", "safe", V4, berlin, health{"fra1": true, "lhr1": true, "sin1": true, "syd1": true}, "iad1 sfo1", 16},
		{"latency over pools: nearest pool first, its edges in its order", "ofpool", V4, sydney, nil, "syd1 sin1 sfo1 iad1 fra1 lhr1", 24},
	})
	// Explain: the path through the nested pools.
	c := berlin
	d := &Decision{Trace: &Trace{}}
	Decide(tb.Table, tb.Names.Get("safe.example.net."), V4, &c, &Env{Health: health{"fra1": true}}, d)
	var path []string
	for _, s := range d.Trace.Steps {
		path = append(path, strings.Repeat(" ", s.Depth)+s.Pool+"("+s.Policy+" "+s.Rule+")")
	}
	want := []string{"  eu(latency )", " world(geo continent EU)", " us(latency )", "safe(failover )"}
	if strings.Join(path, "|") != strings.Join(want, "|") {
		t.Errorf("trace path:\n%s\nwant:\n%s", strings.Join(path, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range d.Trace.Steps {
		if s.Pool == "eu" && (len(s.Members) != 2 || s.Members[0].Name != "edge lhr1" || !s.Members[0].Up || s.Members[1].Up || s.Members[0].Source == "") {
			t.Errorf("eu step: %+v", s)
		}
	}
}

func TestNestedNoAllocs(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"eu":    {Policy: "latency", Edges: []string{"fra1", "lhr1"}},
		"us":    {Policy: "latency", Edges: []string{"iad1", "sfo1"}},
		"world": {Policy: "geo", Rules: []model.Rule{{Continent: "EU", Members: []model.Member{{Pool: "eu"}}}, {Default: true, Members: []model.Member{{Pool: "us"}}}}},
		"safe":  {Policy: "failover", Answers: 2, Members: []model.Member{{Pool: "world"}, {Pool: "us"}}},
	})
	b := tb.Names.Get("safe.example.net.")
	env := &Env{Health: health{"fra1": true}}
	var d Decision
	c := berlin
	Decide(tb.Table, b, V4, &c, env, &d)
	if n := testing.AllocsPerRun(1000, func() {
		d.Reset()
		Decide(tb.Table, b, V4, &c, env, &d)
	}); n != 0 {
		t.Errorf("nested decision allocates %.0f times", n)
	}
}

func BenchmarkPolicies(b *testing.B) {
	tb := policyTable(b, map[string]model.Pool{
		"latency":      {Policy: "latency", Edges: []string{"fra1", "lhr1", "iad1", "sfo1", "sin1", "syd1"}, Answers: 3},
		"geo":          {Policy: "geo", Rules: []model.Rule{{Country: "DE", Members: []model.Member{{Edge: "fra1"}}}, {Default: true, Members: []model.Member{{Edge: "iad1"}}}}},
		"geoproximity": {Policy: "geoproximity", Members: []model.Member{{Edge: "fra1", Bias: 10}, {Edge: "iad1"}, {Edge: "sin1"}}},
		"weighted":     {Policy: "weighted", Members: []model.Member{{Edge: "fra1", Weight: i(3)}, {Edge: "iad1", Weight: i(1)}}},
		"failover":     {Policy: "failover", Members: []model.Member{{Edge: "fra1"}, {Edge: "iad1"}}},
		"multivalue":   {Policy: "multivalue", Edges: []string{"fra1", "lhr1", "iad1", "sfo1", "sin1", "syd1"}},
		"cidr":         {Policy: "cidr", Rules: []model.Rule{{Prefixes: []string{"85.214.0.0/16"}, Members: []model.Member{{Edge: "fra1"}}}, {Default: true, Members: []model.Member{{Edge: "iad1"}}}}},
		"asn":          {Policy: "asn", Rules: []model.Rule{{ASNs: []uint32{6724}, Members: []model.Member{{Edge: "fra1"}}}, {Default: true, Members: []model.Member{{Edge: "iad1"}}}}},
		"eu":           {Policy: "latency", Edges: []string{"fra1", "lhr1"}},
		"nested":       {Policy: "failover", Members: []model.Member{{Pool: "geonested"}, {Edge: "iad1"}}},
		"geonested":    {Policy: "geo", Rules: []model.Rule{{Continent: "EU", Members: []model.Member{{Pool: "eu"}}}, {Default: true, Members: []model.Member{{Edge: "iad1"}}}}},
	})
	for _, pool := range []string{"latency", "geo", "geoproximity", "weighted", "failover", "multivalue", "cidr", "asn", "nested"} {
		b.Run(pool, func(b *testing.B) {
			bind := tb.Names.Get(pool + ".example.net.")
			env := &Env{Health: AllUp}
			var d Decision
			c := berlin
			b.ReportAllocs()
			for b.Loop() {
				d.Reset()
				c.looked = false
				Decide(tb.Table, bind, V4, &c, env, &d)
			}
		})
	}
}
