package georoute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

// BenchmarkAXFR is one AXFR of example.net, over TCP with TSIG through the tsig and transfer
// plugins, with n names set through the native API (a third pinned to an edge, a third with a
// TXT record, a third with two A records) besides the zone file's and the config's.
func BenchmarkAXFR(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("names=%d", n), func(b *testing.B) {
			addr, api, _, corefile := transferCorefile(b, "", "")
			serverMu.Lock()
			caddy.Quiet, dnsserver.Quiet = true, true
			inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
			serverMu.Unlock()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })
			for start := 0; start < n; start += 10000 {
				put := map[string]any{}
				for i := start; i < min(n, start+10000); i++ {
					name := fmt.Sprintf("n%06d.t", i)
					switch i % 3 {
					case 0:
						put[name] = map[string]any{"edge": "fra1", "ttl": 20}
					case 1:
						put[name] = map[string]any{"records": []map[string]any{{"type": "TXT", "ttl": 60, "value": fmt.Sprintf(`"tunnel %d"`, i)}}}
					default:
						put[name] = map[string]any{"records": []map[string]any{{"type": "A", "ttl": 60, "value": "192.0.2.1"}, {"type": "A", "ttl": 60, "value": "192.0.2.2"}}}
					}
				}
				body, _ := json.Marshal(map[string]any{"put": put})
				req, _ := http.NewRequest("POST", "http://"+api+"/v1/zones/example.net/batch", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+writeToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("batch: %v %v", resp, err)
				}
				resp.Body.Close()
			}
			var records int
			for b.Loop() {
				rrs, err := transferIn(addr, "example.net.", 0, updateKey, updateSecret)
				if err != nil {
					b.Fatal(err)
				}
				records = len(rrs)
			}
			if records < n {
				b.Fatalf("AXFR of %d records with %d names", records, n)
			}
			b.ReportMetric(float64(records), "records")
		})
	}
}
