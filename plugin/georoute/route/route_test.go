package route

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
	"github.com/georoute/appliance/plugin/georoute/geoip"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/pkg/health/check"
)

func f(v float64) *float64 { return &v }

func edge(addrs string, lat, lon float64) model.Edge {
	return model.Edge{Addresses: strings.Fields(addrs), Location: model.Location{Lat: f(lat), Lon: f(lon)}}
}

func testTable(t testing.TB, pools map[string]model.Pool) *fixture {
	t.Helper()
	cfg := &model.Config{
		Edges: map[string]model.Edge{
			"fra1": edge("192.0.2.10 2001:db8::10", 50.11, 8.68),
			"iad1": edge("198.51.100.10 2001:db8::20", 39.04, -77.49),
			"sin1": edge("203.0.113.20", 1.35, 103.82),
			"syd1": edge("203.0.113.30 2001:db8::30", -33.87, 151.21),
		},
		Pools: pools,
		Names: map[string]model.Name{},
	}
	for id := range pools {
		cfg.Names[id+".example.net."] = model.Name{Pool: id}
	}
	cfg.Names["pin.example.net."] = model.Name{Edge: "sin1", TTL: 5}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return build(t, cfg)
}

var all4 = []string{"fra1", "iad1", "sin1", "syd1"}

func client(addr string, lat, lon float64, bits int) Client {
	return NewClient(netip.MustParseAddr(addr), geoip.Result{Loc: &geoip.Location{ID: uint64(lat*1000 + lon), Point: geo.Point{Lat: lat, Lon: lon}, Vec: geo.Point{Lat: lat, Lon: lon}.Vec(), HasPoint: true}, Bits: bits})
}

// health is a set of edges that are down.
type health map[string]bool

func (h health) Up(e *Edge) bool { return !h[e.ID] }

func ids(d *Decision) string {
	var out []string
	for _, e := range d.Edges {
		out = append(out, e.ID)
	}
	return strings.Join(out, " ")
}

func TestLatency(t *testing.T) {
	tb := testTable(t, map[string]model.Pool{
		"one":      {Policy: "latency", Edges: all4},
		"three":    {Policy: "latency", Edges: all4, Answers: 3},
		"none":     {Policy: "latency", Edges: all4, WhenAllDown: "none"},
		"servfail": {Policy: "latency", Edges: all4, WhenAllDown: "servfail"},
	})
	london := client("81.2.69.1", 51.5, -0.1, 24)
	tokyo := client("126.0.0.1", 35.7, 139.7, 8)
	nowhere := NewClient(netip.MustParseAddr("192.0.2.1"), geoip.Result{Bits: 24})
	tests := []struct {
		name    string
		pool    string
		fam     Family
		c       Client
		down    health
		want    string
		outcome Outcome
		open    bool
		scope   int
	}{
		{"nearest", "one", V4, london, nil, "fra1", Answer, false, 24},
		{"nearest from Tokyo", "one", V4, tokyo, nil, "sin1", Answer, false, 8},
		{"best three in order", "three", V4, london, nil, "fra1 iad1 sin1", Answer, false, 24},
		{"IPv6 skips edges without it", "three", V6, tokyo, nil, "syd1 fra1 iad1", Answer, false, 8},
		{"down edge skipped", "one", V4, london, health{"fra1": true}, "iad1", Answer, false, 24},
		{"fewer healthy than asked", "three", V4, london, health{"fra1": true, "sin1": true}, "iad1 syd1", Answer, false, 24},
		{"all down fails open, ranked", "three", V4, london, health{"fra1": true, "iad1": true, "sin1": true, "syd1": true}, "fra1 iad1 sin1", Answer, true, 24},
		{"all down, when_all_down none", "none", V4, london, health{"fra1": true, "iad1": true, "sin1": true, "syd1": true}, "", NoData, false, 24},
		{"all down, when_all_down servfail", "servfail", V4, london, health{"fra1": true, "iad1": true, "sin1": true, "syd1": true}, "", Servfail, false, 24},
		{"unknown location: pool order", "three", V4, nowhere, nil, "fra1 iad1 sin1", Answer, false, 24},
	}
	for _, tc := range tests {
		var d Decision
		c := tc.c
		Decide(tb.Table, tb.Names.Get(tc.pool+".example.net."), tc.fam, &c, &Env{Health: tc.down}, &d)
		if got := ids(&d); got != tc.want || d.Outcome != tc.outcome || d.FailOpen != tc.open || d.Scope != tc.scope {
			t.Errorf("%s: got [%s] outcome %d open %v scope %d; want [%s] %d %v %d", tc.name, got, d.Outcome, d.FailOpen, d.Scope, tc.want, tc.outcome, tc.open, tc.scope)
		}
	}
}

func TestPinned(t *testing.T) {
	tb := testTable(t, map[string]model.Pool{"one": {Policy: "latency", Edges: all4}})
	b := tb.Names.Get("pin.example.net.")
	c := client("81.2.69.1", 51.5, -0.1, 24)
	var d Decision
	// A pinned name follows its edge even when it is down: there is nowhere else to go.
	Decide(tb.Table, b, V4, &c, &Env{Health: health{"sin1": true}}, &d)
	if ids(&d) != "sin1" || d.TTL != 5 || d.Scope != 0 {
		t.Errorf("pinned: [%s] ttl %d scope %d", ids(&d), d.TTL, d.Scope)
	}
	d.Reset()
	Decide(tb.Table, b, V6, &c, &Env{}, &d)
	if d.Outcome != NoData {
		t.Errorf("pinned edge without IPv6: outcome %d, want NoData", d.Outcome)
	}
}

func TestMeasuredBeatsDistance(t *testing.T) {
	tb := testTable(t, map[string]model.Pool{"one": {Policy: "latency", Edges: all4}})
	c, _ := rtt.ParseClient("81.2.69.0/24")
	m, _ := rtt.Compile([]rtt.Measurement{{Client: c, Edge: "iad1", Millis: 3, Origin: rtt.FromFile, Updated: time.Now()}}, tb.EdgeInfos(), func(netip.Addr) rtt.Site { return rtt.Site{} }, rtt.Options{})
	london := client("81.2.69.77", 51.5, -0.1, 16)
	var d Decision
	Decide(tb.Table, tb.Names.Get("one.example.net."), V4, &london, &Env{RTT: m}, &d)
	if ids(&d) != "iad1" || d.Scope != 24 {
		t.Errorf("measured: [%s] scope %d, want iad1 with scope 24 (the measured /24 inside the /16)", ids(&d), d.Scope)
	}
	elsewhere := client("82.1.1.1", 51.5, -0.1, 16)
	d.Reset()
	Decide(tb.Table, tb.Names.Get("one.example.net."), V4, &elsewhere, &Env{RTT: m}, &d)
	if d.Scope != 16 {
		t.Errorf("no measurement inside the client's GeoIP network: scope %d, want 16", d.Scope)
	}
}

func TestBindErrors(t *testing.T) {
	cfg := &model.Config{
		Edges: map[string]model.Edge{"fra1": edge("192.0.2.10", 50, 8)},
		Pools: map[string]model.Pool{"web": {Policy: "latency", Edges: []string{"fra1"}}},
	}
	cfg.Normalize()
	tb, err := Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec model.Name
		want string
	}{
		{model.Name{Records: []model.Record{{Type: "CNAME", Value: "a."}, {Type: "TXT", Value: "b"}}}, "records: a CNAME is the only record of its name"},
		{model.Name{Pool: "nope"}, `pool: no pool "nope"`},
		{model.Name{Edge: "nope"}, `edge: no edge "nope"`},
		{model.Name{Records: []model.Record{{Type: "A", Value: "1.2.3"}}}, "records[0].value: A value"},
	} {
		if _, err := tb.Bind("x.example.net.", "example.net.", tc.spec, FromAPI); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Bind(%+v) = %v, want %q", tc.spec, err, tc.want)
		}
	}
	b, err := tb.Bind("x.example.net.", "example.net.", model.Name{Records: []model.Record{{Type: "TXT", TTL: 60, Value: `"hello world"`}, {Type: "MX", Value: "10 mail.example.net."}}}, FromAPI)
	if err != nil {
		t.Fatal(err)
	}
	if spec := b.Spec(); len(spec.Records) != 2 || spec.Records[0].Value != "10 mail.example.net." || spec.Records[1].Value != `"hello world"` || spec.Records[1].TTL != 60 {
		t.Errorf("Spec() = %+v", spec)
	}
}

func TestNamesIndex(t *testing.T) {
	n := NewNames()
	n.Put(&Binding{Name: "a.b.example.net.", Edge: "fra1"})
	n.Put(&Binding{Name: "*.t.example.net.", Pool: "web"})
	n.Put(&Binding{Name: "a.b.example.net.", Edge: "iad1"}) // replaced, not counted twice
	for name, want := range map[string]bool{"b.example.net.": true, "example.net.": true, "t.example.net.": true, "a.b.example.net.": false, "c.example.net.": false} {
		if got := n.HasBelow(name); got != want {
			t.Errorf("HasBelow(%s) = %v, want %v", name, got, want)
		}
	}
	if n.Len() != 2 || n.Uses("edge", "fra1") != 0 || n.Uses("edge", "iad1") != 1 || n.Uses("pool", "web") != 1 {
		t.Errorf("Len %d, uses fra1 %d iad1 %d web %d", n.Len(), n.Uses("edge", "fra1"), n.Uses("edge", "iad1"), n.Uses("pool", "web"))
	}
	if u := n.Users("edge", "iad1", 10); len(u) != 1 || u[0] != "a.b.example.net." {
		t.Errorf("Users = %v", u)
	}
	if n.Delete("a.b.example.net.") == nil || n.HasBelow("b.example.net.") || !n.HasBelow("example.net.") || n.Uses("edge", "iad1") != 0 {
		t.Error("Delete did not undo the counts")
	}
	if n.Delete("nope.example.net.") != nil {
		t.Error("Delete of a missing name returned a binding")
	}
}

func TestDecideAllocs(t *testing.T) {
	tb := testTable(t, map[string]model.Pool{"three": {Policy: "latency", Edges: all4, Answers: 3}})
	b := tb.Names.Get("three.example.net.")
	var d Decision
	env := &Env{Health: health{"iad1": true}}
	c := client("81.2.69.1", 51.5, -0.1, 24)
	Decide(tb.Table, b, V4, &c, env, &d)
	allocs := testing.AllocsPerRun(1000, func() {
		d.Reset()
		c := client("81.2.69.1", 51.5, -0.1, 24)
		Decide(tb.Table, b, V4, &c, env, &d)
	})
	if allocs > 1 { // the test's own *geoip.Location
		t.Errorf("Decide allocates %.0f times per call", allocs)
	}
	if !slices.Equal(strings.Fields(ids(&d)), []string{"fra1", "sin1", "syd1"}) {
		t.Errorf("decision [%s]", ids(&d))
	}
}

func BenchmarkDecideLatency(b *testing.B) {
	tb := testTable(b, map[string]model.Pool{"three": {Policy: "latency", Edges: all4, Answers: 3}})
	bind := tb.Names.Get("three.example.net.")
	loc := &geoip.Location{ID: 1, Point: geo.Point{Lat: 51.5, Lon: -0.1}, Vec: geo.Point{Lat: 51.5, Lon: -0.1}.Vec(), HasPoint: true}
	m, _ := rtt.Compile(nil, tb.EdgeInfos(), nil, rtt.Options{})
	env := &Env{Health: AllUp, RTT: m}
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		c := NewClient(netip.MustParseAddr("81.2.69.1"), geoip.Result{Loc: loc, Bits: 24})
		Decide(tb.Table, bind, V4, &c, env, &d)
	}
}

func TestDetectionBound(t *testing.T) {
	httpCheck := func(every, timeout time.Duration, fall int) check.Spec {
		s := check.Spec{Type: "http", URL: "http://127.0.0.1:8080/healthz", Interval: check.Duration(every), Timeout: check.Duration(timeout), Fall: fall}
		s.Normalize()
		return s
	}
	build := func(c check.Spec, ttl uint32, pin bool) error {
		e := edge("192.0.2.10", 50, 8)
		e.Checks = []check.Spec{c}
		cfg := &model.Config{
			Edges: map[string]model.Edge{"fra1": e},
			Pools: map[string]model.Pool{"inner": {Policy: "latency", Edges: []string{"fra1"}}, "web": {Policy: "failover", Members: []model.Member{{Pool: "inner"}}, TTL: ttl}},
			Names: map[string]model.Name{"www.example.net.": {Pool: "web"}},
		}
		if pin {
			cfg.Names = map[string]model.Name{"pin.example.net.": {Edge: "fra1", TTL: ttl}}
		}
		cfg.Normalize()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		tb, err := Compile(cfg, nil)
		if err != nil {
			return err
		}
		for name, spec := range cfg.Names {
			if _, err := tb.Bind(name, "example.net.", spec, FromConfig); err != nil {
				return err
			}
		}
		return nil
	}
	if err := build(httpCheck(5*time.Second, 2*time.Second, 3), 30, false); err != nil {
		t.Errorf("5s × 3 + 2s = 17s within a TTL of 30s: %v", err)
	}
	err := build(httpCheck(10*time.Second, 2*time.Second, 3), 30, false)
	want := `names["www.example.net."]: edge fra1 check 0 (http) needs interval 10s × fall 3 + timeout 2s = 32s to notice a dead edge, longer than the TTL of 30s (pool web)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bound above the TTL, through a nested pool:\n got %v\nwant %s", err, want)
	}
	if err := build(httpCheck(10*time.Second, 2*time.Second, 3), 30, true); err != nil {
		t.Errorf("a pinned name answers its edge up or not; its TTL is not bound: %v", err)
	}
}

// fixture is a compiled table and its names.
type fixture struct {
	*Table
	Names *Names
}

// build compiles cfg's edges and pools and binds its names, as the plugin does.
func build(t testing.TB, cfg *model.Config) *fixture {
	t.Helper()
	tb, err := Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{Table: tb, Names: NewNames()}
	for name, spec := range cfg.Names {
		b, err := tb.Bind(name, "example.net.", spec, FromConfig)
		if err != nil {
			t.Fatal(err)
		}
		f.Names.Put(b)
	}
	return f
}

func TestCompileKeepsSlots(t *testing.T) {
	cfg := func(ids ...string) *model.Config {
		c := &model.Config{Edges: map[string]model.Edge{}}
		for _, id := range ids {
			c.Edges[id] = model.Edge{Addresses: []string{"192.0.2.1"}}
		}
		return c
	}
	slots := func(tb *Table) map[string]int {
		out := map[string]int{}
		for i, e := range tb.Slots {
			if e != nil {
				out[e.ID] = i
				if e.Index != i {
					t.Errorf("edge %s has index %d in slot %d", e.ID, e.Index, i)
				}
			}
		}
		return out
	}
	t1, _ := Compile(cfg("b", "d", "f"), nil)
	t2, _ := Compile(cfg("a", "b", "f"), t1) // d leaves slot 1 free, a takes it
	t3, _ := Compile(cfg("a", "b", "c", "e", "f"), t2)
	t4, _ := Compile(cfg("a"), t3)
	for _, tc := range []struct {
		tb   *Table
		want map[string]int
	}{
		{t1, map[string]int{"b": 0, "d": 1, "f": 2}},
		{t2, map[string]int{"b": 0, "a": 1, "f": 2}},
		{t3, map[string]int{"b": 0, "a": 1, "f": 2, "c": 3, "e": 4}},
		{t4, map[string]int{"a": 1}},
	} {
		if got := slots(tc.tb); !maps.Equal(got, tc.want) {
			t.Errorf("slots %v, want %v", got, tc.want)
		}
	}
	if len(t4.Slots) != 2 || t4.Slots[0] != nil || len(t4.EdgeInfos()) != 2 || t4.EdgeInfos()[0].ID != "" {
		t.Errorf("t4 slots %v: want a free slot 0 and a in 1", t4.Slots)
	}
}

// TestUpdateIsCompile: updating a table by what changed gives the table Compile gives, and every
// member of every pool points into the new table (not at an edge or pool of the old one).
func TestUpdateIsCompile(t *testing.T) {
	edge := func(addr string) model.Edge { return model.Edge{Addresses: []string{addr}} }
	cfg := &model.Config{
		Edges: map[string]model.Edge{"a": edge("192.0.2.1"), "b": edge("192.0.2.2"), "c": edge("192.0.2.3"), "d": edge("192.0.2.4")},
		Pools: map[string]model.Pool{
			"p1":  {Policy: "latency", Edges: []string{"a", "b"}},
			"p2":  {Policy: "failover", Members: []model.Member{{Pool: "p1"}, {Edge: "c"}}},
			"p3":  {Policy: "latency", Edges: []string{"d"}},
			"geo": {Policy: "geo", Rules: []model.Rule{{Country: "DE", Members: []model.Member{{Pool: "p2"}}}, {Default: true, Members: []model.Member{{Edge: "d"}}}}},
		},
	}
	cfg.Normalize()
	prev, err := Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		name    string
		change  func(c *model.Config)
		edgeIDs []string
		poolIDs []string
	}
	for _, s := range []step{
		{name: "edge address", change: func(c *model.Config) { c.Edges["a"] = edge("198.51.100.1") }, edgeIDs: []string{"a"}},
		{name: "new edge", change: func(c *model.Config) { c.Edges["aa"] = edge("198.51.100.9") }, edgeIDs: []string{"aa"}},
		{name: "edge gone", change: func(c *model.Config) { delete(c.Edges, "aa") }, edgeIDs: []string{"aa"}},
		{name: "pool spec", change: func(c *model.Config) {
			p := c.Pools["p1"]
			p.TTL = 5
			c.Pools["p1"] = p
		}, poolIDs: []string{"p1"}},
		{name: "new pool", change: func(c *model.Config) {
			c.Pools["p4"] = model.Pool{Policy: "latency", Members: []model.Member{{Edge: "b"}}}
		}, poolIDs: []string{"p4"}},
		{name: "edge and pool", change: func(c *model.Config) {
			c.Edges["e"] = edge("198.51.100.5")
			c.Pools["p3"] = model.Pool{Policy: "latency", Members: []model.Member{{Edge: "d"}, {Edge: "e"}}}
		}, edgeIDs: []string{"e"}, poolIDs: []string{"p3"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			s.change(cfg)
			set := func(ids []string) map[string]bool {
				m := map[string]bool{}
				for _, id := range ids {
					m[id] = true
				}
				return m
			}
			got, err := Update(prev, cfg, set(s.edgeIDs), set(s.poolIDs))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Compile(cfg, prev)
			if len(got.Edges) != len(want.Edges) || len(got.Slots) != len(want.Slots) || len(got.Pools) != len(want.Pools) {
				t.Fatalf("sizes differ: %d/%d/%d vs %d/%d/%d", len(got.Edges), len(got.Slots), len(got.Pools), len(want.Edges), len(want.Slots), len(want.Pools))
			}
			for i, e := range want.Edges {
				g := got.Edges[i]
				if g.ID != e.ID || g.Index != e.Index || !slices.Equal(g.V4, e.V4) || got.Slots[g.Index] != g || got.Edge(g.ID) != g {
					t.Errorf("edge %s: got %+v, want %+v", e.ID, g, e)
				}
			}
			for i, p := range want.Pools {
				g := got.Pools[i]
				if g.ID != p.ID || g.Index != p.Index || g.TTL != p.TTL || len(g.Members) != len(p.Members) || len(g.Rules) != len(p.Rules) || got.Pool(g.ID) != g {
					t.Errorf("pool %s: got %+v, want %+v", p.ID, g, p)
				}
				for _, m := range g.allMembers() {
					if m.Edge != nil && got.Edge(m.Edge.ID) != m.Edge || m.Pool != nil && got.Pool(m.Pool.ID) != m.Pool {
						t.Errorf("pool %s: member %s points out of the table", g.ID, m)
					}
				}
			}
			// What did not change is shared.
			if s.name == "pool spec" && got.Pool("p3") != prev.Pool("p3") {
				t.Error("p3 recompiled though nothing it reaches changed")
			}
			if s.name == "edge address" && (got.Edge("b") != prev.Edge("b") || got.Pool("p3") != prev.Pool("p3") || got.Pool("geo") == prev.Pool("geo")) {
				t.Error("edge a's change recompiled too much or too little")
			}
			prev = got
		})
	}
}
