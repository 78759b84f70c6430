package test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
)

// fillStore writes n names pinned to edges straight into a store file, as the API would.
func fillStore(tb testing.TB, path string, n int) {
	tb.Helper()
	s, err := store.OpenBolt(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	edges := []string{"fra1", "lhr1", "iad1", "sfo1", "gru1", "sin1", "nrt1", "syd1", "jnb1"}
	for start := 0; start < n; start += 20000 {
		var ops []store.Op
		for i := start; i < min(start+20000, n); i++ {
			ops = append(ops, store.Op{Kind: store.Names, Key: store.NameKey(tunnelName(i)), Value: []byte(`{"edge":"` + edges[i%len(edges)] + `","ttl":10}`)})
		}
		if err := s.Commit(ops); err != nil {
			tb.Fatal(err)
		}
	}
}

func tunnelName(i int) string { return fmt.Sprintf("t%07x.t.example.net.", i) }

func rssMB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkStartup runs the appliance as its own process on a store of 100 and of 1,000,000
// pinned names and reports the time until its API answers, its resident memory once started, and
// the store file's size. Run with -benchtime 1x.
func BenchmarkStartup(b *testing.B) {
	for _, n := range []int{100, 1000000} {
		b.Run(fmt.Sprintf("names=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			fillStore(b, filepath.Join(dir, "georoute.db"), n)
			for b.Loop() {
				start := time.Now()
				c := startChildTB(b, dir, freeAddrTB(b), freeUDP(b))
				took := time.Since(start)
				time.Sleep(2 * time.Second) // let the collector settle
				b.ReportMetric(took.Seconds(), "startup-s")
				b.ReportMetric(rssMB(c.cmd.Process.Pid), "rss-MB")
				fi, _ := os.Stat(filepath.Join(dir, "georoute.db"))
				b.ReportMetric(float64(fi.Size())/(1<<20), "store-MB")
				// Spot-check: the last name is served.
				r, _, err := (&dns.Client{}).Exchange(new(dns.Msg).SetQuestion(tunnelName(n-1), dns.TypeA), c.dns)
				if err != nil || len(r.Answer) != 1 {
					b.Errorf("%s: %v %v", tunnelName(n-1), r, err)
				}
				c.cmd.Process.Kill()
				<-c.exited
			}
		})
	}
}

// BenchmarkNamesPages pages and searches the names of a zone of 1,000,000 through the API, as
// the console's Names page does: the first page, a page deep in the zone (its cursor), a search
// that fills its page at once and one that holds for a single name (the whole zone is read
// for it). It reports the median of 5 requests of each, in ms. Run with -benchtime 1x.
func BenchmarkNamesPages(b *testing.B) {
	const n = 1000000
	dir := b.TempDir()
	fillStore(b, filepath.Join(dir, "georoute.db"), n)
	c := startChildTB(b, dir, freeAddrTB(b), freeUDP(b))
	defer func() { c.cmd.Process.Kill(); <-c.exited }()
	for b.Loop() {
		for _, q := range []struct{ name, query string }{
			{"first-page", "limit=100"},
			{"deep-page", "limit=100&cursor=" + strings.TrimSuffix(tunnelName(n/2), ".example.net.")},
			{"search-many", "limit=100&q=t.example"},
			{"search-one", "limit=100&q=" + strings.TrimSuffix(tunnelName(n-7), ".t.example.net.")},
		} {
			var took []time.Duration
			var body []byte
			for range 5 {
				start := time.Now()
				code, out, err := c.call("GET", "/v1/zones/example.net/names?"+q.query, nil)
				took = append(took, time.Since(start))
				if err != nil || code != 200 {
					b.Fatalf("%s: %d %v %s", q.name, code, err, out)
				}
				body = out
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[2].Microseconds())/1000, q.name+"-ms")
			if q.name == "search-one" && !strings.Contains(string(body), tunnelName(n-7)) {
				b.Errorf("search for %s: %.200s", tunnelName(n-7), body)
			}
		}
	}
}
