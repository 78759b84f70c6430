package test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startInProcess runs the appliance with a store and the API in this process.
func startInProcess(b *testing.B) (api, dnsAddr string) {
	b.Helper()
	dir := b.TempDir()
	os.Setenv("GEOROUTE_API_TOKEN", durableToken)
	apiAddr := freeAddrTB(b)
	udp := Server(b, fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		georoute {
			zones ../zones
			config ../georoute.yaml
			store %s
			api %s
			api_token env:GEOROUTE_API_TOKEN write
			reload 0
		}
	}`, filepath.Join(dir, "georoute.db"), apiAddr))
	return "http://" + apiAddr, udp
}

func freeAddrTB(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func pct(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	return float64(d[int(p*float64(len(d)-1))]) / 1e6
}

// BenchmarkAPIWrite puts pinned names through the API for 10 s with 1 and with 64 concurrent
// writers (durable: each 2xx is on disk) and reports writes/s and the p50/p99 latency of a write.
// Each write also moves an existing name to another edge, and the time from its 2xx to the first
// DNS answer that shows the change is reported (visible-p50/p99-ms). Run with -benchtime 1x.
func BenchmarkAPIWrite(b *testing.B) {
	api, dnsAddr := startInProcess(b)
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 10 * time.Second}
	addrs := map[string]string{"fra1": "192.0.2.10", "iad1": "198.51.100.10"}
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			for b.Loop() {
				var mu sync.Mutex
				var lat, vis []time.Duration
				stop := time.Now().Add(10 * time.Second)
				var wg sync.WaitGroup
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						dc := &dns.Client{Timeout: time.Second}
						conn, err := dc.Dial(dnsAddr)
						if err != nil {
							b.Error(err)
							return
						}
						defer conn.Close()
						for i := 0; time.Now().Before(stop); i++ {
							name := fmt.Sprintf("b%d-w%d-%d.t.example.net.", writers, w, i%50)
							edge := []string{"fra1", "iad1"}[(i/50)%2]
							req, _ := http.NewRequest("PUT", api+"/v1/zones/example.net/names/"+name, bytes.NewReader([]byte(`{"edge":"`+edge+`"}`)))
							req.Header.Set("Authorization", "Bearer "+durableToken)
							t0 := time.Now()
							resp, err := httpc.Do(req)
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, resp.Body) // drained, so the connection is kept alive
							resp.Body.Close()
							acked := time.Now()
							if resp.StatusCode/100 != 2 {
								b.Errorf("PUT %s: %d", name, resp.StatusCode)
								return
							}
							var seen time.Duration
							if i >= 50 { // the name existed on another edge: wait for the change in DNS
								for {
									r, _, err := dc.ExchangeWithConn(new(dns.Msg).SetQuestion(name, dns.TypeA), conn)
									if err == nil && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == addrs[edge] {
										seen = time.Since(acked)
										break
									}
								}
							}
							mu.Lock()
							lat = append(lat, acked.Sub(t0))
							if i >= 50 {
								vis = append(vis, seen)
							}
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(len(lat))/10, "writes/s")
				b.ReportMetric(pct(lat, 0.5), "write-p50-ms")
				b.ReportMetric(pct(lat, 0.99), "write-p99-ms")
				b.ReportMetric(pct(vis, 0.5), "visible-p50-ms")
				b.ReportMetric(pct(vis, 0.99), "visible-p99-ms")
			}
		})
	}
}
