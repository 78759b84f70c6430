package georoute

import (
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/miekg/dns"
)

// The reachability and load simulations (issue 18) run a synthetic world through a real server:
// a GeoIP2-City and an ASN database written at test time place /24 client networks of six
// continents in cities and ASes, eight edges share one latency pool, every network's RTT to
// every edge is reported through POST /v1/rtt, with regional routing quirks the distance model
// would not guess. Answers are read over DNS with EDNS Client Subnet, one query per network.

// simEdge is an edge of the synthetic world.
type simEdge struct {
	id, addr, country string
	lat, lon          float64
}

var simEdges = []simEdge{
	{"fra1", "198.18.0.1", "DE", 50.11, 8.68},
	{"lhr1", "198.18.0.2", "GB", 51.51, -0.13},
	{"iad1", "198.18.0.3", "US", 39.04, -77.49},
	{"sjc1", "198.18.0.4", "US", 37.34, -121.89},
	{"gru1", "198.18.0.5", "BR", -23.55, -46.63},
	{"sin1", "198.18.0.6", "SG", 1.35, 103.82},
	{"nrt1", "198.18.0.7", "JP", 35.68, 139.65},
	{"syd1", "198.18.0.8", "AU", -33.87, 151.21},
}

type simCity struct {
	name, country, continent string
	id                       uint32
	lat, lon                 float64
}

var simCities = map[string]simCity{}

func init() {
	for i, c := range []simCity{
		{"Berlin", "DE", "EU", 0, 52.52, 13.40}, {"Munich", "DE", "EU", 0, 48.14, 11.58}, {"Hamburg", "DE", "EU", 0, 53.55, 9.99},
		{"Paris", "FR", "EU", 0, 48.86, 2.35}, {"Lyon", "FR", "EU", 0, 45.76, 4.84},
		{"London", "GB", "EU", 0, 51.51, -0.13}, {"Manchester", "GB", "EU", 0, 53.48, -2.24},
		{"Madrid", "ES", "EU", 0, 40.42, -3.70}, {"Warsaw", "PL", "EU", 0, 52.23, 21.01},
		{"New York", "US", "NA", 0, 40.71, -74.01}, {"Chicago", "US", "NA", 0, 41.88, -87.63},
		{"Los Angeles", "US", "NA", 0, 34.05, -118.24}, {"Seattle", "US", "NA", 0, 47.61, -122.33},
		{"Toronto", "CA", "NA", 0, 43.65, -79.38}, {"Mexico City", "MX", "NA", 0, 19.43, -99.13},
		{"Sao Paulo", "BR", "SA", 0, -23.55, -46.63}, {"Rio de Janeiro", "BR", "SA", 0, -22.91, -43.17},
		{"Buenos Aires", "AR", "SA", 0, -34.60, -58.38}, {"Santiago", "CL", "SA", 0, -33.45, -70.67},
		{"Tokyo", "JP", "AS", 0, 35.68, 139.65}, {"Osaka", "JP", "AS", 0, 34.69, 135.50},
		{"Seoul", "KR", "AS", 0, 37.57, 126.98}, {"Singapore", "SG", "AS", 0, 1.35, 103.82},
		{"Mumbai", "IN", "AS", 0, 19.08, 72.88}, {"Delhi", "IN", "AS", 0, 28.70, 77.10}, {"Bangalore", "IN", "AS", 0, 12.97, 77.59},
		{"Sydney", "AU", "OC", 0, -33.87, 151.21}, {"Perth", "AU", "OC", 0, -31.95, 115.86}, {"Auckland", "NZ", "OC", 0, -36.85, 174.76},
		{"Johannesburg", "ZA", "AF", 0, -26.20, 28.05}, {"Lagos", "NG", "AF", 0, 6.52, 3.38}, {"Nairobi", "KE", "AF", 0, -1.29, 36.82},
	} {
		c.id = uint32(7000001 + i)
		simCities[c.name] = c
	}
}

// simAS is an AS of the synthetic world: its networks by city, and what its routing does to
// the RTT to some edges (ms added; negative: a better path than distance says).
type simAS struct {
	asn    uint32
	org    string
	cities []string // one network per entry
	quirk  map[string]float64
}

var simASes = []simAS{
	{64600, "Rhein Net", []string{"Berlin", "Berlin", "Munich", "Munich", "Hamburg"}, nil},
	// Reaches London through a congested transit.
	{64601, "Elbe Kabel", []string{"Hamburg", "Hamburg", "Berlin"}, map[string]float64{"lhr1": 25}},
	{64602, "Seine Telecom", []string{"Paris", "Paris", "Lyon"}, nil},
	{64603, "Thames Broadband", []string{"London", "London", "London", "Manchester"}, nil},
	{64604, "Meseta", []string{"Madrid", "Madrid"}, nil},
	// Peers only at the Frankfurt exchange: anything but fra1 is a long way round.
	{64605, "Vistula", []string{"Warsaw", "Warsaw"}, map[string]float64{"lhr1": 55, "iad1": 40, "sin1": 40}},
	{64610, "Coast to Coast", []string{"New York", "New York", "Chicago", "Chicago", "Los Angeles", "Los Angeles", "Seattle", "Seattle"}, nil},
	{64611, "Lakeshore", []string{"New York", "Chicago"}, nil},
	{64612, "Maple", []string{"Toronto", "Toronto"}, nil},
	// Its transit to the west coast goes round through Dallas.
	{64613, "Azteca", []string{"Mexico City", "Mexico City"}, map[string]float64{"sjc1": 12}},
	{64620, "Paulista", []string{"Sao Paulo", "Sao Paulo", "Rio de Janeiro", "Rio de Janeiro"}, nil},
	// Hairpins through Miami: Sao Paulo is further than Ashburn.
	{64621, "Pampa", []string{"Buenos Aires", "Buenos Aires", "Buenos Aires"}, map[string]float64{"gru1": 130}},
	{64622, "Andes", []string{"Santiago", "Santiago"}, nil},
	{64630, "Sakura", []string{"Tokyo", "Tokyo", "Tokyo", "Osaka", "Osaka"}, nil},
	// A transpacific cable of its own: San Jose nearly as close as Singapore, closer for some.
	{64631, "Fuji Pacific", []string{"Tokyo", "Tokyo", "Osaka"}, map[string]float64{"sjc1": -55}},
	{64632, "Han River", []string{"Seoul", "Seoul"}, nil},
	{64633, "Merlion", []string{"Singapore", "Singapore"}, nil},
	{64634, "Ganges Net", []string{"Mumbai", "Delhi", "Mumbai", "Delhi", "Bangalore"}, nil},
	// A cable of its own to Marseille, a congested transit to Singapore: Frankfurt answers
	// faster than any Asian edge.
	{64635, "Arabian Sea Transit", []string{"Mumbai", "Mumbai"}, map[string]float64{"sin1": 60, "fra1": -20}},
	{64640, "Southern Cross", []string{"Sydney", "Sydney", "Perth", "Perth"}, nil},
	{64641, "Kiwi", []string{"Auckland", "Auckland"}, nil},
	{64650, "Highveld", []string{"Johannesburg", "Johannesburg"}, map[string]float64{"lhr1": -15}},
	{64651, "Niger Delta", []string{"Lagos"}, nil},
	{64652, "Rift", []string{"Nairobi"}, nil},
}

// simNet is one client /24.
type simNet struct {
	prefix, ip string
	city       simCity
	asn        uint32
	rtt        map[string]float64 // by edge
	ranked     []string           // edges, fastest first
}

type simWorld struct {
	nets   []*simNet
	byAddr map[string]string // edge address -> id
}

func simKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 6371 * 2 * math.Asin(math.Sqrt(a))
}

// simJitter is a deterministic 0-6 ms of last-mile noise per (network, edge).
func simJitter(prefix, edge string) float64 {
	h := fnv.New32a()
	h.Write([]byte(prefix + " " + edge))
	return float64(h.Sum32()%60) / 10
}

func newSimWorld(t *testing.T) *simWorld {
	t.Helper()
	w := &simWorld{byAddr: map[string]string{}}
	for _, e := range simEdges {
		w.byAddr[e.addr] = e.id
	}
	for ai, as := range simASes {
		for ni, cname := range as.cities {
			c := simCities[cname]
			n := &simNet{prefix: fmt.Sprintf("45.%d.%d.0/24", 10+ai, ni), ip: fmt.Sprintf("45.%d.%d.0", 10+ai, ni), city: c, asn: as.asn, rtt: map[string]float64{}}
			for _, e := range simEdges {
				// Fibre round trip with path inflation, a fixed last mile, the AS's quirks.
				ms := 4 + 0.018*simKm(c.lat, c.lon, e.lat, e.lon) + simJitter(n.prefix, e.id) + as.quirk[e.id]
				n.rtt[e.id] = math.Round(max(ms, 1)*10) / 10
				n.ranked = append(n.ranked, e.id)
			}
			sort.SliceStable(n.ranked, func(i, j int) bool { return n.rtt[n.ranked[i]] < n.rtt[n.ranked[j]] })
			if n.rtt[n.ranked[1]]-n.rtt[n.ranked[0]] < 0.5 || n.rtt[n.ranked[2]]-n.rtt[n.ranked[1]] < 0.5 {
				t.Fatalf("the world is ambiguous: %s ranks %v at %v", n.prefix, n.ranked[:3], n.rtt)
			}
			w.nets = append(w.nets, n)
		}
	}
	return w
}

// best is n's fastest edge not in avoid.
func (n *simNet) best(avoid ...string) string {
	for _, e := range n.ranked {
		if !slices.Contains(avoid, e) {
			return e
		}
	}
	return ""
}

// writeMMDBs writes the world's GeoIP2-City and GeoLite2-ASN databases into dir.
func (w *simWorld) writeMMDBs(t *testing.T, dir string) (city, asn string) {
	t.Helper()
	tree := func(dbType string) *mmdbwriter.Tree {
		tr, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, Languages: []string{"en"}, IPVersion: 6, RecordSize: 24, IncludeReservedNetworks: true})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	insert := func(tr *mmdbwriter.Tree, prefix string, v mmdbtype.DataType) {
		_, ipnet, err := net.ParseCIDR(prefix) //nolint:forbidigo // mmdbwriter takes *net.IPNet
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Insert(ipnet, v); err != nil {
			t.Fatal(err)
		}
	}
	ct, at := tree("GeoIP2-City"), tree("GeoLite2-ASN")
	orgs := map[uint32]string{}
	for _, as := range simASes {
		orgs[as.asn] = as.org
	}
	for _, n := range w.nets {
		c := n.city
		insert(ct, n.prefix, mmdbtype.Map{
			"continent":          mmdbtype.Map{"code": mmdbtype.String(c.continent)},
			"country":            mmdbtype.Map{"iso_code": mmdbtype.String(c.country)},
			"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String(c.country)},
			"city":               mmdbtype.Map{"geoname_id": mmdbtype.Uint32(c.id), "names": mmdbtype.Map{"en": mmdbtype.String(c.name)}},
			"location":           mmdbtype.Map{"accuracy_radius": mmdbtype.Uint16(20), "latitude": mmdbtype.Float64(c.lat), "longitude": mmdbtype.Float64(c.lon)},
		})
		insert(at, n.prefix, mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(n.asn), "autonomous_system_organization": mmdbtype.String(orgs[n.asn])})
	}
	city, asn = filepath.Join(dir, "sim-city.mmdb"), filepath.Join(dir, "sim-asn.mmdb")
	for path, tr := range map[string]*mmdbwriter.Tree{city: ct, asn: at} {
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.WriteTo(fh); err != nil {
			t.Fatal(err)
		}
		fh.Close()
	}
	return city, asn
}

// startSim starts the appliance with the world's databases and its edges in one latency pool
// (poolExtra adds to the pool's spec), and reports every network's RTT to every edge.
func startSim(t *testing.T, w *simWorld, poolExtra string) *apiServer {
	t.Helper()
	dir := t.TempDir()
	city, asn := w.writeMMDBs(t, dir)
	var b strings.Builder
	b.WriteString("edges:\n")
	ids := []string{}
	for _, e := range simEdges {
		fmt.Fprintf(&b, "  %s: {addresses: [%s], location: {lat: %v, lon: %v, country: %s}}\n", e.id, e.addr, e.lat, e.lon, e.country)
		ids = append(ids, e.id)
	}
	fmt.Fprintf(&b, "pools:\n  world: {policy: latency, edges: [%s], ttl: 5%s}\nnames:\n  app.example.net: {pool: world}\n", strings.Join(ids, ", "), poolExtra)
	cfg := filepath.Join(dir, "georoute.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	addr := freePort(t)
	udp, _ := startServer(t, fmt.Sprintf(`example.net:0 {
		bind 127.0.0.1
		georoute {
			zones testdata/zones
			config %s
			geoip %s
			asn %s
			store %s
			api %s
			api_token env:GEOROUTE_TEST_TOKEN write
			reload 0
		}
	}`, cfg, city, asn, filepath.Join(dir, "georoute.db"), addr))
	s := &apiServer{t: t, base: "http://" + addr, dns: udp, cfg: cfg}

	var reports []any
	for _, n := range w.nets {
		for _, e := range simEdges {
			reports = append(reports, map[string]any{"client": n.prefix, "edge": e.id, "rtt_ms": n.rtt[e.id]})
		}
	}
	s.expect("POST", "/v1/rtt", writeToken, reports, 202, "", "")
	// (1) Within the matrix's refresh, every network is answered its fastest edge.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := w.answers(t, s)
		wrong := w.mismatches(got, func(n *simNet) string { return n.best() })
		if len(wrong) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5s after the RTT reports, %d of %d networks are not answered their fastest edge: %v", len(wrong), len(w.nets), wrong)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// answer asks for app.example.net as network n and returns the edge that answered.
func (w *simWorld) answer(t *testing.T, s *apiServer, c *dns.Client, n *simNet) string {
	t.Helper()
	m := withECS(new(dns.Msg).SetQuestion("app.example.net.", dns.TypeA), n.ip, 24)
	r, _, err := c.Exchange(m, s.dns)
	if err != nil {
		t.Fatalf("dns as %s: %v", n.prefix, err)
	}
	var edges []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			id := w.byAddr[a.A.String()]
			if id == "" {
				id = "?" + a.A.String()
			}
			edges = append(edges, id)
		}
	}
	return strings.Join(edges, ",")
}

// answers asks as every network.
func (w *simWorld) answers(t *testing.T, s *apiServer) map[*simNet]string {
	t.Helper()
	c := &dns.Client{Timeout: 2 * time.Second}
	out := make(map[*simNet]string, len(w.nets))
	for _, n := range w.nets {
		out[n] = w.answer(t, s, c, n)
	}
	return out
}

// mismatches lists the networks whose answer is not want's.
func (w *simWorld) mismatches(got map[*simNet]string, want func(*simNet) string) []string {
	var out []string
	for _, n := range w.nets {
		if e := want(n); got[n] != e {
			out = append(out, fmt.Sprintf("%s (AS%d %s %s) got %q want %q", n.prefix, n.asn, n.city.country, n.city.name, got[n], e))
		}
	}
	return out
}

// excess sums up how far answers are from the best edge each network can reach (unreach says
// what it cannot): networks sent to an edge they cannot reach are counted apart.
func excess(nets []*simNet, got map[*simNet]string, unreach func(*simNet) []string) string {
	sent, sum, count := 0, 0.0, 0
	for _, n := range nets {
		avoid := unreach(n)
		if slices.Contains(avoid, got[n]) {
			sent++
			continue
		}
		sum += n.rtt[got[n]] - n.rtt[n.best(avoid...)]
		count++
	}
	mean := 0.0
	if count > 0 {
		mean = sum / float64(count)
	}
	return fmt.Sprintf("sent to an unreachable edge: %d of %d; mean excess RTT over the best reachable edge of the rest: %.2f ms", sent, len(nets), mean)
}

// awaitAnswers asks as every network, again and again from since (a report's 202), until every
// one is answered want's, for at most limit, and returns the answers and how long after since
// the sweep that saw them all ended (one sweep of all networks takes a few milliseconds: a
// change seen by the first sweep took at most that).
func (w *simWorld) awaitAnswers(t *testing.T, s *apiServer, since time.Time, limit time.Duration, want func(*simNet) string) (map[*simNet]string, sweep) {
	t.Helper()
	for n := 1; ; n++ {
		got := w.answers(t, s)
		wrong := w.mismatches(got, want)
		took := time.Since(since)
		if len(wrong) == 0 {
			return got, sweep{n, took}
		}
		if took > limit {
			t.Fatalf("%v after the reports, %d of %d networks are answered otherwise:\n%s", took, len(wrong), len(w.nets), strings.Join(wrong, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sweep says which sweep of DNS queries saw a change, and when it ended.
type sweep struct {
	n    int
	took time.Duration
}

func (s sweep) String() string {
	return fmt.Sprintf("seen by sweep %d of the DNS queries, which ended %v after the report", s.n, s.took.Round(10*time.Microsecond))
}

// post sends RTT/failure report entries and returns when the API answered 202.
func post(s *apiServer, entries []any) time.Time {
	s.expect("POST", "/v1/rtt", writeToken, entries, 202, "", "")
	return time.Now()
}

func TestReachabilitySimulation(t *testing.T) {
	w := newSimWorld(t)
	s := startSim(t, w, "")
	continents, countries, cities, ases := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[uint32]bool{}
	for _, n := range w.nets {
		continents[n.city.continent], countries[n.city.country], cities[n.city.name], ases[n.asn] = true, true, true, true
	}
	t.Logf("world: %d client networks in %d cities, %d countries, %d continents, %d ASes; %d edges in one latency pool", len(w.nets), len(cities), len(countries), len(continents), len(ases), len(simEdges))
	// The quirks decide answers the distance model would not: check the world says so.
	quirks := map[string]string{"Arabian Sea Transit": "fra1", "Pampa": "iad1"}
	for _, n := range w.nets {
		for _, as := range simASes {
			if want, ok := quirks[as.org]; ok && as.asn == n.asn && n.best() != want {
				t.Fatalf("the world lost its quirk: %s of %s is fastest to %s, not %s", n.prefix, as.org, n.best(), want)
			}
		}
	}

	// (2) Japan's networks cannot reach nrt1. Seoul's networks, whose fastest edge is nrt1 too,
	// still can.
	const country, down = "JP", "nrt1"
	var hit []*simNet
	for _, n := range w.nets {
		if n.city.country == country {
			hit = append(hit, n)
		}
	}
	nextBest := map[string]int{}
	for _, n := range hit {
		if n.best() != down {
			t.Fatalf("%s (JP) is fastest to %s, not %s", n.prefix, n.best(), down)
		}
		nextBest[n.best(down)]++
	}
	if len(nextBest) < 2 {
		t.Fatalf("the affected networks all fall back to one edge (%v): the simulation would not tell next-best apart from a fixed fallback", nextBest)
	}
	failedNow := func(n *simNet) []string {
		if n.city.country == country {
			return []string{down}
		}
		return nil
	}
	none := func(*simNet) []string { return nil }
	before := w.answers(t, s)
	t.Logf("before the reports, %s networks: %s", country, excess(hit, before, failedNow))
	t.Logf("before the reports, all networks: %s", excess(w.nets, before, failedNow))

	var fails []any
	for i, n := range hit {
		if i%2 == 0 {
			fails = append(fails, map[string]any{"client": n.prefix, "edge": down, "failed": true})
		} else {
			fails = append(fails, map[string]any{"client": n.ip, "edge": down, "loss": 0.7}) // an address stands for its /24
		}
	}
	// One round is not enough (fall 2): nobody moves.
	post(s, fails)
	got := w.answers(t, s)
	if wrong := w.mismatches(got, func(n *simNet) string { return n.best() }); len(wrong) > 0 {
		t.Fatalf("after one failure report, networks moved already:\n%s", strings.Join(wrong, "\n"))
	}
	at := post(s, fails)
	avoiding := func(n *simNet) string { return n.best(failedNow(n)...) }
	got, took := w.awaitAnswers(t, s, at, time.Second, avoiding)
	t.Logf("after the second failure report the %d %s networks moved to their next-best edge %v (%v); all %d others kept theirs", len(hit), country, nextBest, took, len(w.nets)-len(hit))
	t.Logf("after the reports, %s networks: %s", country, excess(hit, got, failedNow))
	t.Logf("after the reports, all networks: %s", excess(w.nets, got, failedNow))
	detour := 0.0
	for _, n := range hit {
		detour += n.rtt[got[n]] - n.rtt[down]
	}
	t.Logf("the detour costs the %s networks %.1f ms on average over %s, were it reachable", country, detour/float64(len(hit)), down)

	// Explain says why, for a network of Japan, and names no reason for Seoul.
	out := s.expect("GET", "/v1/explain?name=app.example.net&type=A&client="+hit[1].ip, writeToken, nil, 200, "", "")
	scopes := map[string]bool{}
	for _, u := range asSlice(out["unreachable"]) {
		m, _ := u.(map[string]any)
		if m["edge"] != down {
			t.Errorf("explain of %s: unreachable %v", hit[1].prefix, m)
		}
		scopes[fmt.Sprint(m["scope"])] = true
	}
	if !scopes["network"] {
		t.Errorf("explain of %s: no network-scope reason in %v", hit[1].prefix, out["unreachable"])
	}
	if note := memberNote(out, "edge "+down); !strings.Contains(note, "unreachable") {
		t.Errorf("explain of %s: member %s noted %q", hit[1].prefix, down, note)
	}
	for _, n := range w.nets {
		if n.city.country == "KR" {
			if out := s.expect("GET", "/v1/explain?name=app.example.net&type=A&client="+n.ip, writeToken, nil, 200, "", ""); out["unreachable"] != nil {
				t.Errorf("explain of %s (KR): unreachable %v", n.prefix, out["unreachable"])
			}
		}
	}

	// (3) Recovery: one success is not enough (rise 2), the second brings them back.
	var oks []any
	for i, n := range hit {
		switch i % 3 {
		case 0:
			oks = append(oks, map[string]any{"client": n.prefix, "edge": down, "failed": false})
		case 1:
			oks = append(oks, map[string]any{"client": n.prefix, "edge": down, "loss": 0.1})
		default:
			oks = append(oks, map[string]any{"client": n.prefix, "edge": down, "rtt_ms": n.rtt[down]})
		}
	}
	post(s, oks)
	if wrong := w.mismatches(w.answers(t, s), avoiding); len(wrong) > 0 {
		t.Fatalf("after one success, networks came back already:\n%s", strings.Join(wrong, "\n"))
	}
	at = post(s, oks)
	got, took = w.awaitAnswers(t, s, at, time.Second, func(n *simNet) string { return n.best() })
	t.Logf("after the second success every network is answered its fastest edge again (%v)", took)
	t.Logf("after recovery, %s networks: %s", country, excess(hit, got, none))
	t.Logf("after recovery, all networks: %s", excess(w.nets, got, none))

	// (4) AS coverage: Ganges Net cannot reach sin1. Three of its networks are reported, by
	// two SDKs: those three avoid sin1, its other two (never reported) do not. A third source
	// makes the whole AS avoid it.
	const asn, asDown = 64634, "sin1"
	var asNets []*simNet
	for _, n := range w.nets {
		if n.asn == asn {
			asNets = append(asNets, n)
		}
	}
	if len(asNets) != 5 {
		t.Fatalf("AS%d has %d networks", asn, len(asNets))
	}
	for _, n := range asNets {
		if n.best() != asDown {
			t.Fatalf("%s of AS%d is fastest to %s, not %s", n.prefix, asn, n.best(), asDown)
		}
	}
	reported := map[*simNet]bool{asNets[0]: true, asNets[1]: true, asNets[2]: true}
	asAll := false
	asTruth := func(n *simNet) []string {
		if n.asn == asn {
			return []string{asDown}
		}
		return nil
	}
	asWant := func(n *simNet) string {
		if reported[n] || (asAll && n.asn == asn) {
			return n.best(asDown)
		}
		return n.best()
	}
	// asNets[0] and [2] are in Mumbai, [1] in Delhi: no city has three sources.
	twoSources := []any{
		map[string]any{"client": asNets[0].prefix, "edge": asDown, "failed": true, "source": "sdk-a"},
		map[string]any{"client": asNets[1].prefix, "edge": asDown, "failed": true, "source": "sdk-b"},
		map[string]any{"client": asNets[2].prefix, "edge": asDown, "failed": true, "source": "sdk-a"},
	}
	t.Logf("before the reports, AS%d networks: %s", asn, excess(asNets, w.answers(t, s), asTruth))
	post(s, twoSources)
	at = post(s, twoSources)
	got, took = w.awaitAnswers(t, s, at, time.Second, asWant)
	t.Logf("three networks of AS%d reported by 2 sources: those 3 moved (%v), its 2 others and every other network kept their edge; AS%d: %s", asn, took, asn, excess(asNets, got, asTruth))
	out = s.expect("GET", "/v1/explain?name=app.example.net&type=A&client="+asNets[3].ip, writeToken, nil, 200, "", "")
	if out["unreachable"] != nil {
		t.Errorf("explain of %s with 2 sources: unreachable %v", asNets[3].prefix, out["unreachable"])
	}
	asAll = true
	at = post(s, []any{map[string]any{"client": asNets[2].prefix, "edge": asDown, "failed": true, "source": "sdk-c"}})
	got, took = w.awaitAnswers(t, s, at, time.Second, asWant)
	t.Logf("a third source: all %d networks of AS%d avoid %s (%v), every other network kept its edge; AS%d: %s", len(asNets), asn, asDown, took, asn, excess(asNets, got, asTruth))
	out = s.expect("GET", "/v1/explain?name=app.example.net&type=A&client="+asNets[3].ip, writeToken, nil, 200, "", "")
	var asWhy map[string]any
	for _, u := range asSlice(out["unreachable"]) {
		if m, _ := u.(map[string]any); m["scope"] == "as" {
			asWhy = m
		}
	}
	if asWhy == nil || asWhy["edge"] != asDown || asWhy["key"] != fmt.Sprintf("AS%d", asn) || asWhy["sources"] != 3.0 {
		t.Errorf("explain of %s (never reported) after 3 sources: unreachable %v", asNets[3].prefix, out["unreachable"])
	}
	// The reported networks recover: the AS as a whole does too.
	var asOks []any
	for n := range reported {
		asOks = append(asOks, map[string]any{"client": n.prefix, "edge": asDown, "failed": false})
	}
	post(s, asOks)
	at = post(s, asOks)
	_, took = w.awaitAnswers(t, s, at, time.Second, func(n *simNet) string { return n.best() })
	t.Logf("the reported networks of AS%d recovered: all the world is answered its fastest edge (%v)", asn, took)
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// memberNote is the note explain's steps give member (such as "edge fra1").
func memberNote(out map[string]any, member string) string {
	for _, st := range asSlice(out["steps"]) {
		sm, _ := st.(map[string]any)
		for _, m := range asSlice(sm["members"]) {
			if mm, _ := m.(map[string]any); mm["member"] == member {
				note, _ := mm["note"].(string)
				return note
			}
		}
	}
	return ""
}

func TestLoadSimulation(t *testing.T) {
	w := newSimWorld(t)
	s := startSim(t, w, `, load: {shed_at: 0.7, full_at: 0.95}`)
	const loaded = "fra1"
	var clients []*simNet
	for _, n := range w.nets {
		if n.best() == loaded {
			clients = append(clients, n)
		}
	}
	penalty := func(n *simNet) float64 { return n.rtt[n.best(loaded)] - n.rtt[loaded] }
	sort.SliceStable(clients, func(i, j int) bool { return penalty(clients[i]) < penalty(clients[j]) })
	var ps []string
	for _, n := range clients {
		ps = append(ps, fmt.Sprintf("%s %.1f", n.prefix, penalty(n)))
	}
	t.Logf("%d networks are fastest to %s; their penalty for moving to the next-best edge (ms): %s", len(clients), loaded, strings.Join(ps, ", "))

	setLoad := func(u float64) time.Time {
		s.expect("PUT", "/v1/edges/"+loaded+"/load", writeToken, map[string]any{"utilisation": u}, 200, "", "")
		return time.Now()
	}
	const shedAt, fullAt = 0.7, 0.95
	var moved80 map[*simNet]bool
	for _, u := range []float64{0.8, 0.9, 0.96} {
		// Those whose penalty is below the share shed of the pool's penalty move, least first.
		share := min(1, (u-shedAt)/(fullAt-shedAt))
		moves := func(n *simNet) bool {
			return n.best() == loaded && (u >= fullAt || penalty(n) < share*model.DefaultPenaltyMillis)
		}
		want := func(n *simNet) string {
			if moves(n) {
				return n.best(loaded)
			}
			return n.best()
		}
		at := setLoad(u)
		got, took := w.awaitAnswers(t, s, at, time.Second, want)
		moved := map[*simNet]bool{}
		for _, n := range clients {
			if got[n] != loaded {
				moved[n] = true
			}
		}
		if u < fullAt && (len(moved) == 0 || len(moved) == len(clients)) {
			t.Errorf("at %.2f, %d of %d networks of %s moved: the world does not tell least penalty first apart", u, len(moved), len(clients), loaded)
		}
		if u == 0.8 {
			moved80 = moved
		}
		for n := range moved80 {
			if !moved[n] {
				t.Errorf("at %.2f, %s is back on %s though it moved at 0.80", u, n.prefix, loaded)
			}
		}
		// No network alternates: five queries each, all alike.
		c := &dns.Client{Timeout: 2 * time.Second}
		for _, n := range w.nets {
			for i := 0; i < 5; i++ {
				if a := w.answer(t, s, c, n); a != got[n] {
					t.Errorf("at %.2f, %s answered %s then %s", u, n.prefix, got[n], a)
				}
			}
		}
		t.Logf("%s at %.2f: %d of its %d networks moved to their next-best edge (%v); mean excess RTT of all networks %.2f ms", loaded, u, len(moved), len(clients), took, meanExcess(w.nets, got))
		if u == 0.9 {
			var one *simNet
			for n := range moved {
				one = n
			}
			out := s.expect("GET", "/v1/explain?name=app.example.net&type=A&client="+one.ip, writeToken, nil, 200, "", "")
			if note := memberNote(out, "edge "+loaded); note != "shed" {
				t.Errorf("explain of %s at 0.9: member %s noted %q", one.prefix, loaded, note)
			}
		}
	}
	// Below the low mark everything returns.
	at := setLoad(0.5)
	got, took := w.awaitAnswers(t, s, at, time.Second, func(n *simNet) string { return n.best() })
	t.Logf("%s at 0.50: every network is answered its fastest edge again (%v); mean excess %.2f ms", loaded, took, meanExcess(w.nets, got))

	// A load report that stops coming expires: 0.96 for 1s, then everything returns.
	s.expect("PUT", "/v1/edges/"+loaded+"/load", writeToken, map[string]any{"utilisation": 0.96, "ttl": "1s"}, 200, "", "")
	at = time.Now()
	w.awaitAnswers(t, s, at, time.Second, func(n *simNet) string { return n.best(loaded) })
	got, took = w.awaitAnswers(t, s, at, 3*time.Second, func(n *simNet) string { return n.best() })
	t.Logf("%s at 0.96 for 1s: its networks moved, and came back as the report expired (%v); mean excess %.2f ms", loaded, took, meanExcess(w.nets, got))
}

// meanExcess is the mean RTT of the answers over each network's fastest edge.
func meanExcess(nets []*simNet, got map[*simNet]string) float64 {
	sum := 0.0
	for _, n := range nets {
		sum += n.rtt[got[n]] - n.rtt[n.best()]
	}
	return sum / float64(len(nets))
}
