package test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
	"github.com/miekg/dns"
)

// BenchmarkCluster runs three appliances (processes) on one etcd member (in this process, its
// data on the test's disk, fsync on) on loopback. Run with -benchtime 1x.
//
// propagation: one writer moves a name to another edge on n1, 500 times; reported is the time
// from sending the write to both n2 and n3 answering the new edge (p50/p99), and from n1's 2xx.
//
// writers: 64 writers on one node, then 64 on each of the three at once, for 10 s: durable
// writes/s (each 2xx is on etcd's quorum) and the p50/p99 of a write.
func BenchmarkCluster(b *testing.B) {
	etcd := etcdtest.Start(b, 1)
	nodes := startNodes(b, etcd.Endpoints(), "/georoute/bench/")
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	put := func(n *node, name, edge string) (time.Duration, error) {
		req, _ := http.NewRequest("PUT", n.api+"/v1/zones/example.net/names/"+name, bytes.NewReader([]byte(`{"edge":"`+edge+`","ttl":10}`)))
		req.Header.Set("Authorization", "Bearer "+durableToken)
		t0 := time.Now()
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return 0, fmt.Errorf("PUT %s on %s: %d %s", name, n.name, resp.StatusCode, body)
		}
		return time.Since(t0), nil
	}

	b.Run("propagation", func(b *testing.B) {
		for b.Loop() {
			var sent, acked []time.Duration
			for i := range 500 {
				edge := []string{"fra1", "iad1"}[i%2]
				var wg sync.WaitGroup
				seen := make([]time.Time, 2)
				t0 := time.Now()
				for j, n := range nodes[1:] {
					wg.Add(1)
					go func() {
						defer wg.Done()
						seen[j] = awaitEdge(b, n, "moved.example.net.", childEdgeAddr[edge])
					}()
				}
				took, err := put(nodes[0], "moved", edge)
				if err != nil {
					b.Fatal(err)
				}
				wg.Wait()
				last := seen[0]
				if seen[1].After(last) {
					last = seen[1]
				}
				sent, acked = append(sent, last.Sub(t0)), append(acked, max(0, last.Sub(t0)-took))
			}
			b.ReportMetric(pct(sent, 0.5), "B+C-p50-ms")
			b.ReportMetric(pct(sent, 0.99), "B+C-p99-ms")
			b.ReportMetric(pct(acked, 0.5), "after-2xx-p50-ms")
			b.ReportMetric(pct(acked, 0.99), "after-2xx-p99-ms")
		}
	})

	for _, through := range []int{1, 3} {
		b.Run(fmt.Sprintf("writers=64x%d", through), func(b *testing.B) {
			for b.Loop() {
				var mu sync.Mutex
				var lat []time.Duration
				stop := time.Now().Add(10 * time.Second)
				var wg sync.WaitGroup
				for w := range 64 * through {
					wg.Add(1)
					go func() {
						defer wg.Done()
						n := nodes[w%through]
						for i := 0; time.Now().Before(stop); i++ {
							took, err := put(n, fmt.Sprintf("w%d-%d.t", w, i), "fra1")
							if err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							lat = append(lat, took)
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(len(lat))/10, "writes/s")
				b.ReportMetric(pct(lat, 0.5), "write-p50-ms")
				b.ReportMetric(pct(lat, 0.99), "write-p99-ms")
			}
		})
	}
}

// awaitEdge asks n for name until it answers want, and returns when it did.
func awaitEdge(b *testing.B, n *node, name, want string) time.Time {
	dc := &dns.Client{Timeout: time.Second}
	conn, err := dc.Dial(n.dns)
	if err != nil {
		b.Error(err)
		return time.Now()
	}
	defer conn.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		r, _, err := dc.ExchangeWithConn(new(dns.Msg).SetQuestion(name, dns.TypeA), conn)
		if err == nil && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == want {
			return time.Now()
		}
	}
	b.Errorf("%s does not answer %s with %s", n.name, name, want)
	return time.Now()
}
