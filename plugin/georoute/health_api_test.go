package georoute

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"

	_ "github.com/georoute/appliance/plugin/healthprobe"
)

// healthprobe runs before georoute in the chain, as in the custom build.
func init() {
	if !slices.Contains(dnsserver.Directives, "healthprobe") {
		i := slices.Index(dnsserver.Directives, pluginName)
		if i < 0 {
			i = slices.Index(dnsserver.Directives, "file")
		}
		dnsserver.Directives = slices.Insert(dnsserver.Directives, i, "healthprobe")
	}
}

// startHealthAPI starts georoute with healthprobe and the API in one server, routing
// www.example.net between fra1, whose health endpoint is edgeURL, and iad1, which has no checks.
func startHealthAPI(t *testing.T, edgeURL string) *apiServer {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "georoute.yaml")
	body := fmt.Sprintf(`
edges:
  fra1:
    addresses: [192.0.2.10]
    location: {lat: 50.11, lon: 8.68, country: DE}
    checks: [{type: http, url: "%s/healthz", expect_status: [200, 204], interval: 200ms, timeout: 100ms, rise: 1, fall: 2}]
  iad1:
    addresses: [198.51.100.10]
    location: {lat: 39.04, lon: -77.49, country: US}
pools:
  web: {policy: latency, edges: [fra1, iad1], ttl: 5}
names:
  www.example.net: {pool: web}
`, edgeURL)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	addr := freePort(t)
	udp, _ := startServer(t, fmt.Sprintf(`example.net:0 {
		bind 127.0.0.1
		healthprobe
		georoute {
			zones testdata/zones
			config %s
			geoip testdata/geoip2-city.mmdb
			store %s
			api %s
			api_token env:GEOROUTE_TEST_TOKEN write
			reload 0
		}
	}`, cfg, filepath.Join(dir, "georoute.db"), addr))
	return &apiServer{t: t, base: "http://" + addr, dns: udp, cfg: cfg}
}

// edgeHealth is the health the API shows of edge id.
func (s *apiServer) edgeHealth(id string) map[string]any {
	s.t.Helper()
	out := s.expect("GET", "/v1/edges/"+id, writeToken, nil, 200, "", "")
	h, _ := out["health"].(map[string]any)
	if h == nil {
		s.t.Fatalf("edge %s shows no health: %v", id, out)
	}
	return h
}

// awaitHealth polls the API until edge id's health is in state and returns it.
func (s *apiServer) awaitHealth(id, state string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h := s.edgeHealth(id)
		if h["state"] == state {
			return h
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("edge %s still %v after 5s, want %s: %v", id, h["state"], state, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// firstCheck is the status of an edge's first check.
func firstCheck(t *testing.T, h map[string]any) map[string]any {
	t.Helper()
	checks, _ := h["checks"].([]any)
	if len(checks) != 1 {
		t.Fatalf("want one check: %v", h)
	}
	c, _ := checks[0].(map[string]any)
	return c
}

// TestHealthAPIProbedEdge: the health healthprobe finds is what the native API shows and what
// DNS answers follow, through the typed contract between the two plugins.
func TestHealthAPIProbedEdge(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)

	h := s.awaitHealth("fra1", "up")
	if c := firstCheck(t, h); c["check"] != "0:http" || c["state"] != "up" || c["ok"] != true {
		t.Errorf("fra1's check while its endpoint answers: %v", c)
	}
	if h["reason"] != "1 of 1 checks up" || h["since"] == nil {
		t.Errorf("fra1 up: %v", h)
	}
	// London's nearest edge is Frankfurt.
	if got := s.addr("www.example.net.", dns.TypeA); got != "192.0.2.10" {
		t.Errorf("fra1 up: www answers %q, want 192.0.2.10", got)
	}
	// An edge without checks is tracked too: healthprobe, not the fallback, says it is up.
	if iad := s.edgeHealth("iad1"); iad["state"] != "up" || iad["reason"] != "no checks" {
		t.Errorf("iad1: %v, want up with no checks", iad)
	}

	// The endpoint goes away: the API shows fra1 down and why, and it leaves the answers. Both
	// read the same published state, so once the API says down, so does DNS.
	edge.Close()
	h = s.awaitHealth("fra1", "down")
	if h["reason"] != "0 of 1 checks up, 1 needed" {
		t.Errorf("fra1 down: reason %v", h["reason"])
	}
	if c := firstCheck(t, h); c["state"] != "down" || c["ok"] != false || c["reason"] != "refused" || c["detail"] != "connection refused" {
		t.Errorf("fra1's check after its endpoint stopped: %v", c)
	}
	if got := s.addr("www.example.net.", dns.TypeA); got != "198.51.100.10" {
		t.Errorf("fra1 down: www answers %q, want iad1's 198.51.100.10", got)
	}

	// An operator's override reaches the prober too: the API shows why an edge is out.
	s.expect("PUT", "/v1/edges/iad1/override", writeToken, map[string]any{"state": "down"}, 200, "", "")
	if h := s.edgeHealth("iad1"); h["state"] != "down" || h["reason"] != "drained" || h["override"] != "down" {
		t.Errorf("iad1 drained: %v", h)
	}
}

// TestHealthAPINoChecker: without healthprobe in the server block every edge is up, and the
// API says so.
func TestHealthAPINoChecker(t *testing.T) {
	s := startAPI(t, t.TempDir())
	want := map[string]any{"state": "up", "reason": "no health checker"}
	if h := s.edgeHealth("fra1"); !reflect.DeepEqual(h, want) {
		t.Errorf("health %v, want %v", h, want)
	}
	list := s.expect("GET", "/v1/edges", readToken, nil, 200, "", "")
	for _, e := range list["edges"].([]any) {
		if h := e.(map[string]any)["health"]; !reflect.DeepEqual(h, want) {
			t.Errorf("listed %v: health %v, want %v", e.(map[string]any)["id"], h, want)
		}
	}
}

// TestEdgeAPIExpectStatus: a check's expect_status takes numbers, as in shared/API.md, and
// strings.
func TestEdgeAPIExpectStatus(t *testing.T) {
	s := startAPI(t, t.TempDir())
	edge := func(status any) map[string]any {
		return map[string]any{"addresses": []string{"192.0.2.60"}, "checks": []any{
			map[string]any{"type": "http", "url": "http://192.0.2.60:8080/healthz", "expect_status": status}}}
	}
	out := s.expect("PUT", "/v1/edges/ams1", writeToken, edge([]any{200, 204, "301-302"}), 201, "", "")
	checks, _ := out["checks"].([]any)
	if len(checks) != 1 || !reflect.DeepEqual(checks[0].(map[string]any)["expect_status"], []any{"200", "204", "301-302"}) {
		t.Errorf("created edge's checks: %v", out["checks"])
	}
	s.expect("PUT", "/v1/edges/ams1", writeToken, edge([]any{600}), 400, "invalid_field", "checks[0].expect_status[0]")
	s.expect("PUT", "/v1/edges/ams1", writeToken, edge([]any{200, true}), 400, "invalid_field", "checks[0].expect_status")
	s.expect("PUT", "/v1/edges/ams1", writeToken, edge(200), 400, "invalid_field", "checks[0].expect_status")
}
