package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// The catalog benchmarks: writes of edges, overrides and pools through the API on a store of
// 1,000,000 names and 100,000 measured networks, and name writes with and without overrides
// beside them. Run with:
//
//	go test ./test -run XXX -bench 'Catalog|APIWrite' -benchtime 1x [-count 3]
//
// Set GEOROUTE_BENCH_CPUPROFILE=PREFIX to write CPU profiles of the phases (PREFIX-startup.prof,
// PREFIX-override.prof, …, PREFIX-namewrites.prof for the 64 writers without overrides). Samples
// are labelled side=server (the appliance's goroutines) or side=client (pprof -tagfocus).

const (
	catalogNames = 1_000_000
	fra1Names    = 100_000 // tunnelName(0 … fra1Names-1) are pinned to fra1
	measuredNets = 100_000
	edgesPerNet  = 3
	catalogOps   = 200 // writes measured per kind
)

// configEdges are georoute.yaml's edges, fra1 first.
var configEdges = []string{"fra1", "lhr1", "iad1", "sfo1", "gru1", "sin1", "nrt1", "syd1", "jnb1"}

// storedRTT is how the plugin keeps an RTT measurement (encodeMeasurement, plugin/georoute).
type storedRTT struct {
	Client  string    `json:"client"`
	Edge    string    `json:"edge"`
	Millis  float64   `json:"rtt_ms"`
	Count   uint32    `json:"count"`
	Updated time.Time `json:"updated"`
}

// notPublic are the IPv4 ranges no measured client network comes from.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("224.0.0.0/3"),
}

// measuredNetworks returns n public /24s spread over the IPv4 space.
func measuredNetworks(n int) []netip.Prefix {
	out := make([]netip.Prefix, 0, n)
	for slash24 := uint32(0); len(out) < n; slash24 += 137 {
		a := slash24 << 8
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)
		public := true
		for _, np := range notPublic {
			if np.Overlaps(p) {
				public = false
				break
			}
		}
		if public {
			out = append(out, p)
		}
	}
	return out
}

// fillCatalogStore writes catalogNames names pinned to edges (fra1Names of them to fra1, the rest
// over the other eight) and edgesPerNet measurements of each of measuredNets client networks
// straight into a store file, as the plugin keeps them.
func fillCatalogStore(tb testing.TB, path string) {
	tb.Helper()
	s, err := store.OpenBolt(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	const batch = 20000
	for start := 0; start < catalogNames; start += batch {
		ops := make([]store.Op, 0, batch)
		for i := start; i < min(start+batch, catalogNames); i++ {
			edge := "fra1"
			if i >= fra1Names {
				edge = configEdges[1+i%(len(configEdges)-1)]
			}
			ops = append(ops, store.Op{Kind: store.Names, Key: store.NameKey(tunnelName(i)), Value: []byte(`{"edge":"` + edge + `","ttl":10}`)})
		}
		if err := s.Commit(ops); err != nil {
			tb.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	var ops []store.Op
	for _, p := range measuredNetworks(measuredNets) {
		for _, e := range rng.Perm(len(configEdges))[:edgesPerNet] {
			m := storedRTT{Client: p.String(), Edge: configEdges[e], Millis: float64(5 + rng.IntN(250)), Count: uint32(1 + rng.IntN(20)), Updated: now}
			v, _ := json.Marshal(m)
			ops = append(ops, store.Op{Kind: store.RTT, Key: m.Client + "|" + m.Edge, Value: v})
		}
		if len(ops) >= batch {
			if err := s.Commit(ops); err != nil {
				tb.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	if err := s.Commit(ops); err != nil {
		tb.Fatal(err)
	}
}

// appliance is the appliance running in this process.
type appliance struct {
	api, dns string
	http     *http.Client
}

// startAppliance runs the appliance on the store at storePath with the API, with the GeoIP
// fixture when geoip is set, labelled side=server for the CPU profile. Unlike Server it also
// runs the shutdown callbacks when b ends (or stop is called), so that the store, its memory and
// the API's port are released before the next benchmark.
func startAppliance(b *testing.B, storePath string, geoip bool) (a *appliance, stop func()) {
	b.Helper()
	os.Setenv("GEOROUTE_API_TOKEN", durableToken)
	apiAddr := freeAddrTB(b)
	geo := ""
	if geoip {
		geo = "geoip ../plugin/georoute/testdata/geoip2-city.mmdb"
	}
	corefile := fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		georoute {
			zones ../zones
			config ../georoute.yaml
			%s
			store %s
			api %s
			api_token env:GEOROUTE_API_TOKEN write
			reload 0
		}
	}`, geo, storePath, apiAddr)
	var inst *caddy.Instance
	var err error
	pprof.Do(context.Background(), pprof.Labels("side", "server"), func(context.Context) {
		mu.Lock()
		defer mu.Unlock()
		caddy.Quiet, dnsserver.Quiet = true, true
		inst, err = caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	})
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	stop = sync.OnceFunc(func() {
		inst.Stop()
		inst.ShutdownCallbacks()
		// caddy's Stop splices the instance out of its list but leaves it in the backing array
		// (and so alive, with all it serves) until the next Start overwrites it: do that now.
		mu.Lock()
		defer mu.Unlock()
		if empty, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(".:0 {\n bind 127.0.0.1\n}"), Filepath: "Corefile", ServerTypeName: "dns"}); err == nil {
			empty.Stop()
		}
	})
	b.Cleanup(stop)
	return &appliance{
		api:  "http://" + apiAddr,
		dns:  inst.Servers()[0].LocalAddr().String(),
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 30 * time.Second},
	}, stop
}

// do sends one API request and returns its status and how long it took; a non-2xx comes with
// its body as the error.
func (a *appliance) do(method, path, body string) (time.Duration, error) {
	req, _ := http.NewRequest(method, a.api+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+durableToken)
	t0 := time.Now()
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	out, _ := io.ReadAll(resp.Body) // drained, so the connection is kept alive
	resp.Body.Close()
	took := time.Since(t0)
	if resp.StatusCode/100 != 2 {
		return took, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(out))
	}
	return took, nil
}

// answerA asks for name's A records and returns the first address and TTL ("" if none).
func answerA(dc *dns.Client, conn *dns.Conn, name string) (addr string, ttl uint32, err error) {
	r, _, err := dc.ExchangeWithConn(new(dns.Msg).SetQuestion(name, dns.TypeA), conn)
	if err != nil {
		return "", 0, err
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String(), a.Hdr.Ttl, nil
		}
	}
	return "", 0, nil
}

// startProfile starts the CPU profile of phase when GEOROUTE_BENCH_CPUPROFILE is set, and returns
// what stops it.
func startProfile(b *testing.B, phase string) (stop func()) {
	prefix := os.Getenv("GEOROUTE_BENCH_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	out, err := os.Create(prefix + "-" + phase + ".prof")
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); out.Close() }
}

// rssFileMB is how much of this process's resident memory is file pages (the store's mmap).
func rssFileMB() float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

func heapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// catalogRun is the appliance started on a freshly filled store, and what its start-up measured.
type catalogRun struct {
	a          *appliance
	dc         *dns.Client
	conn       *dns.Conn
	startup    time.Duration
	rss, heap  float64 // once started
	rssFile    float64 // of rss: file pages
	rssBefore  float64 // the test process before the appliance started
	dir        string
	stopServer func()
}

func (r *catalogRun) stop() {
	r.conn.Close()
	r.stopServer()
	os.RemoveAll(r.dir)
}

// startCatalogRun fills a store in a directory of parent's (which also stops the appliance at
// the end), starts the appliance on it and times it until it answers a stored name, then adds
// what the writes measured need: fra1 made an API edge and the API latency pool bench-lat with a
// name that uses it. b reports the errors.
func startCatalogRun(parent, b *testing.B) *catalogRun {
	r := &catalogRun{dir: parent.TempDir(), dc: &dns.Client{Timeout: time.Second}}
	path := filepath.Join(r.dir, "georoute.db")
	t0 := time.Now()
	fillCatalogStore(b, path)
	b.Logf("store filled in %s", time.Since(t0).Round(time.Millisecond))
	runtime.GC() // what filling (or a previous run) left is not the appliance's
	debug.FreeOSMemory()
	r.rssBefore = rssMB(os.Getpid())

	stopProfile := startProfile(b, "startup")
	start := time.Now()
	r.a, r.stopServer = startAppliance(parent, path, true)
	var err error
	if r.conn, err = r.dc.Dial(r.a.dns); err != nil {
		b.Fatal(err)
	}
	last := tunnelName(catalogNames - 1)
	for deadline := start.Add(2 * time.Minute); ; {
		if addr, _, err := answerA(r.dc, r.conn, last); err == nil && addr != "" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s is not answered", last)
		}
	}
	r.startup = time.Since(start)
	stopProfile()
	time.Sleep(2 * time.Second) // let the collector settle, as BenchmarkStartup does
	r.heap = heapMB()
	r.rss, r.rssFile = rssMB(os.Getpid()), rssFileMB()

	// fra1 is the config file's; this PUT makes it an API edge, laid over the file's.
	took, err := r.a.do("PUT", "/v1/edges/fra1", fra1Edge("192.0.2.10"))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("fra1 made an API edge in %s", took.Round(time.Microsecond))
	if _, err := r.a.do("PUT", "/v1/pools/bench-lat", latencyPool(30, `"fra1","lhr1","iad1"`)); err != nil {
		b.Fatal(err)
	}
	if _, err := r.a.do("PUT", "/v1/zones/example.net/names/latbench", `{"pool":"bench-lat"}`); err != nil {
		b.Fatal(err)
	}
	return r
}

func fra1Edge(addr string) string {
	return `{"addresses":["` + addr + `","2001:db8:10::1"],"location":{"lat":50.11,"lon":8.68,"country":"DE"}}`
}

func latencyPool(ttl int, edges string) string {
	return fmt.Sprintf(`{"policy":"latency","edges":[%s],"ttl":%d}`, edges, ttl)
}

// measureWrites times catalogOps writes made by write(i) and reports their p50/p99; each is
// followed by check(i), not timed, whose failures are reported as stale.
func measureWrites(b *testing.B, write func(i int) (time.Duration, error), check func(i int) error) {
	b.Helper()
	phase := b.Name()[strings.LastIndex(b.Name(), "/")+1:]
	for b.Loop() {
		stopProfile := startProfile(b, phase)
		var lat []time.Duration
		failed := 0
		for i := range catalogOps {
			took, err := write(i)
			if err != nil {
				b.Error(err)
				continue
			}
			lat = append(lat, took)
			if check != nil {
				if err := check(i); err != nil {
					if failed++; failed <= 5 {
						b.Errorf("after write %d: %v", i, err)
					}
				}
			}
		}
		stopProfile()
		if len(lat) == 0 {
			b.Fatal("no write succeeded")
		}
		b.ReportMetric(pct(lat, 0.5), "p50-ms")
		b.ReportMetric(pct(lat, 0.99), "p99-ms")
		b.ReportMetric(float64(len(lat)), "count")
		b.ReportMetric(float64(failed), "stale")
	}
}

// BenchmarkCatalog starts the appliance on a store of 1,000,000 pinned names and 100,000
// measured networks (3 edges each) and reports its start-up time (to the first DNS answer),
// resident memory and live heap, then the p50/p99 latency of catalogOps writes of each kind
// through the API: an override of a config edge (down/auto), an address change of fra1 (made an
// API edge first; fra1Names names are pinned to it, and one of them is asked right after each
// 2xx), a new edge (deleted afterwards, untimed, so that repeated runs start from the same
// edges), and an API latency pool's ttl (checked in DNS) and edge list. Run with -benchtime 1x.
// With -count N, startup fills and starts a new appliance each time; the writes that follow
// use the last one.
func BenchmarkCatalog(b *testing.B) {
	if testing.Short() {
		b.Skip("fills a store of 1,000,000 names")
	}
	parent := b
	var cur *catalogRun
	run := func(b *testing.B) *catalogRun {
		if cur == nil {
			cur = startCatalogRun(parent, b)
		}
		return cur
	}

	b.Run("startup", func(b *testing.B) {
		if cur != nil {
			cur.stop()
			cur = nil
		}
		r := run(b)
		for b.Loop() {
		}
		b.ReportMetric(r.startup.Seconds(), "startup-s")
		b.ReportMetric(r.rss, "rss-MB")
		b.ReportMetric(r.rssFile, "rss-file-MB")
		b.ReportMetric(r.rssBefore, "rss-before-MB")
		b.ReportMetric(r.heap, "heap-MB")
	})

	b.Run("override", func(b *testing.B) {
		r := run(b)
		measureWrites(b, func(i int) (time.Duration, error) {
			return r.a.do("PUT", "/v1/edges/lhr1/override", `{"state":"`+[]string{"down", "auto"}[i%2]+`"}`)
		}, nil)
	})

	b.Run("edge-address", func(b *testing.B) {
		r := run(b)
		addrs := []string{"192.0.2.110", "192.0.2.111"}
		measureWrites(b, func(i int) (time.Duration, error) {
			return r.a.do("PUT", "/v1/edges/fra1", fra1Edge(addrs[i%2]))
		}, func(i int) error {
			name := tunnelName((i * 7919) % fra1Names)
			addr, _, err := answerA(r.dc, r.conn, name)
			if err != nil || addr != addrs[i%2] {
				return fmt.Errorf("%s answers %q (%v), want %s", name, addr, err, addrs[i%2])
			}
			return nil
		})
	})

	var newEdges atomic.Int64
	b.Run("new-edge", func(b *testing.B) {
		r := run(b)
		first := newEdges.Load() + 1
		measureWrites(b, func(int) (time.Duration, error) {
			n := newEdges.Add(1)
			return r.a.do("PUT", fmt.Sprintf("/v1/edges/new-%d", n), fmt.Sprintf(
				`{"addresses":["198.51.100.%d"],"location":{"lat":%.2f,"lon":%.2f,"country":"DE"}}`, 1+n%250, -60+float64(n%120), -170+float64(n%340)))
		}, nil)
		for n := first; n <= newEdges.Load(); n++ {
			if _, err := r.a.do("DELETE", fmt.Sprintf("/v1/edges/new-%d", n), ""); err != nil {
				b.Error(err)
			}
		}
	})

	b.Run("pool-ttl", func(b *testing.B) {
		r := run(b)
		ttls := []int{31, 30}
		measureWrites(b, func(i int) (time.Duration, error) {
			return r.a.do("PUT", "/v1/pools/bench-lat", latencyPool(ttls[i%2], `"fra1","lhr1","iad1"`))
		}, func(i int) error {
			_, ttl, err := answerA(r.dc, r.conn, "latbench.example.net.")
			if err != nil || int(ttl) != ttls[i%2] {
				return fmt.Errorf("latbench.example.net. answers TTL %d (%v), want %d", ttl, err, ttls[i%2])
			}
			return nil
		})
	})

	b.Run("pool-edges", func(b *testing.B) {
		r := run(b)
		measureWrites(b, func(i int) (time.Duration, error) {
			return r.a.do("PUT", "/v1/pools/bench-lat", latencyPool(30, []string{`"fra1","lhr1","sin1"`, `"fra1","lhr1","iad1"`}[i%2]))
		}, nil)
	})
}

// commitStats reads the plugin's store commit histograms: commits, changes committed, and the
// seconds spent committing.
func commitStats() (commits, changes, seconds float64) {
	mfs, _ := prometheus.DefaultGatherer.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			switch mf.GetName() {
			case "coredns_georoute_store_commit_changes":
				commits, changes = float64(h.GetSampleCount()), h.GetSampleSum()
			case "coredns_georoute_store_commit_duration_seconds":
				seconds = h.GetSampleSum()
			}
		}
	}
	return commits, changes, seconds
}

// BenchmarkCatalogNameWrites puts pinned names through the API with 64 concurrent writers for
// 10 s (durable: each 2xx is on disk), as BenchmarkAPIWrite does but without waiting for DNS,
// on a fresh store each: alone, and while one edge's override is set 10 times a second
// (down/auto). Every 64th write that moves a name is asked once in DNS right after its 2xx
// (stale: answers that did not show it). Reports writes/s, the p50/p99 of a write, the changes
// per store commit and, with overrides, their p50/p99. Run with -benchtime 1x.
func BenchmarkCatalogNameWrites(b *testing.B) {
	if testing.Short() {
		b.Skip("writes for 10 s")
	}
	const writers = 64
	const window = 10 * time.Second
	for _, overridesPerSec := range []int{0, 10} {
		b.Run(fmt.Sprintf("overrides=%d", overridesPerSec), func(b *testing.B) {
			a, _ := startAppliance(b, filepath.Join(b.TempDir(), "georoute.db"), false)
			if _, err := a.do("GET", "/v1/zones", ""); err != nil {
				b.Fatal(err)
			}
			addrs := map[string]string{"fra1": "192.0.2.10", "iad1": "198.51.100.10"}
			for b.Loop() {
				var mu sync.Mutex
				var lat, olat []time.Duration
				var stale, checked, failed atomic.Int64
				commits0, changes0, secs0 := commitStats()
				stopProfile := func() {}
				if overridesPerSec == 0 {
					stopProfile = startProfile(b, "namewrites")
				}
				began := time.Now()
				stop := began.Add(window)
				var wg sync.WaitGroup
				ctx := pprof.WithLabels(context.Background(), pprof.Labels("side", "client"))
				if overridesPerSec > 0 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						pprof.SetGoroutineLabels(ctx)
						t := time.NewTicker(time.Second / time.Duration(overridesPerSec))
						defer t.Stop()
						for i := 0; time.Now().Before(stop); i++ {
							<-t.C
							took, err := a.do("PUT", "/v1/edges/sin1/override", `{"state":"`+[]string{"down", "auto"}[i%2]+`"}`)
							if err != nil {
								b.Error(err)
								continue
							}
							mu.Lock()
							olat = append(olat, took)
							mu.Unlock()
						}
					}()
				}
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						pprof.SetGoroutineLabels(ctx)
						dc := &dns.Client{Timeout: time.Second}
						conn, err := dc.Dial(a.dns)
						if err != nil {
							b.Error(err)
							return
						}
						defer conn.Close()
						mine := make([]time.Duration, 0, 4096)
						for i := 0; time.Now().Before(stop); i++ {
							name := fmt.Sprintf("c-w%d-%d.t.example.net.", w, i%50)
							edge := []string{"fra1", "iad1"}[(i/50)%2]
							took, err := a.do("PUT", "/v1/zones/example.net/names/"+name, `{"edge":"`+edge+`"}`)
							if err != nil {
								if failed.Add(1) <= 5 {
									b.Error(err)
								}
								continue
							}
							mine = append(mine, took)
							if i >= 50 && i%64 == w%64 {
								checked.Add(1)
								if got, _, err := answerA(dc, conn, name); err != nil || got != addrs[edge] {
									stale.Add(1)
								}
							}
						}
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
					}()
				}
				wg.Wait()
				took := time.Since(began)
				stopProfile()
				commits1, changes1, secs1 := commitStats()
				if len(lat) == 0 {
					b.Fatal("no write succeeded")
				}
				b.ReportMetric(float64(len(lat))/took.Seconds(), "writes/s")
				b.ReportMetric(pct(lat, 0.5), "p50-ms")
				b.ReportMetric(pct(lat, 0.99), "p99-ms")
				b.ReportMetric(float64(failed.Load()), "failed")
				b.ReportMetric(float64(stale.Load()), "stale")
				b.ReportMetric(float64(checked.Load()), "checked")
				if n := commits1 - commits0; n > 0 {
					b.ReportMetric((changes1-changes0)/n, "changes/commit")
					b.ReportMetric(n/took.Seconds(), "commits/s")
					b.ReportMetric((secs1-secs0)/n*1000, "commit-ms")
				}
				if len(olat) > 0 {
					b.ReportMetric(float64(len(olat)), "overrides")
					b.ReportMetric(pct(olat, 0.5), "override-p50-ms")
					b.ReportMetric(pct(olat, 0.99), "override-p99-ms")
				}
			}
		})
	}
}
