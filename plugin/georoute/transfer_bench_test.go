package georoute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
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
			addr, api := startBenchServer(b, true)
			for start := 0; start < n; start += 10000 {
				putNames(b, api, start, min(n, start+10000), 0)
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

// startBenchServer starts startTransfer's appliance for a benchmark, without the transfer
// plugin unless transfers, and returns its DNS and API addresses.
func startBenchServer(b *testing.B, transfers bool) (addr, api string) {
	addr, api, _, corefile := transferCorefile(b, "", "")
	if !transfers {
		corefile = regexp.MustCompile(`(?s)transfer \{.*?\}`).ReplaceAllString(corefile, "")
	}
	serverMu.Lock()
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	serverMu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })
	return addr, api
}

// putNames sets names from to to (a third pinned to an edge, a third with a TXT record, a
// third with two A records; round makes their records differ from an earlier round's) in one
// batch through the native API.
func putNames(b *testing.B, api string, from, to, round int) {
	put := map[string]any{}
	for i := from; i < to; i++ {
		name := fmt.Sprintf("n%06d.t", i)
		switch i % 3 {
		case 0:
			put[name] = map[string]any{"edge": "fra1", "ttl": 20 + round%2}
		case 1:
			put[name] = map[string]any{"records": []map[string]any{{"type": "TXT", "ttl": 60, "value": fmt.Sprintf(`"tunnel %d round %d"`, i, round)}}}
		default:
			put[name] = map[string]any{"records": []map[string]any{{"type": "A", "ttl": 60, "value": "192.0.2.1"}, {"type": "A", "ttl": 60 + round%2, "value": "192.0.2.2"}}}
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

// BenchmarkTransferWrites is what keeping the IXFR journal costs writes: one API batch
// replacing 1,000 names, with and without the transfer plugin.
func BenchmarkTransferWrites(b *testing.B) {
	for _, transfers := range []bool{false, true} {
		b.Run(fmt.Sprintf("transfers=%v", transfers), func(b *testing.B) {
			_, api := startBenchServer(b, transfers)
			round := 0
			for b.Loop() {
				putNames(b, api, 0, 1000, round)
				round++
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/name")
		})
	}
}
