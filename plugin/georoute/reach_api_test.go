package georoute

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// from asks s for name as a client of network (ECS) and returns the answer's addresses.
func (s *apiServer) from(name, network string) string {
	s.t.Helper()
	m := withECS(new(dns.Msg).SetQuestion(name, dns.TypeA), network, 24)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, s.dns)
	if err != nil {
		s.t.Fatalf("dns %s from %s: %v", name, network, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return strings.Join(out, " ")
}

const (
	fraAddr = "192.0.2.10"
	iadAddr = "198.51.100.10"
)

// TestFailureReports: a network whose reports say it cannot reach fra1 gets iad1, from the
// report's 202 on, while a network next to it keeps fra1; successes bring it back; explain and
// the edge say why. Bad reports are refused whole, naming the entry.
func TestFailureReports(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)
	s.awaitHealth("fra1", "up")
	const london, berlin = "81.2.69.0", "85.214.1.0"
	if a, b := s.from("www.example.net.", london), s.from("www.example.net.", berlin); a != fraAddr || b != fraAddr {
		t.Fatalf("London %s, Berlin %s: both nearest fra1", a, b)
	}
	yes := true
	bad := []struct {
		body  any
		code  string
		field string
	}{
		{[]map[string]any{{"client": "81.2.69.0/24", "edge": "nope", "failed": true}}, "unknown_reference", "[0].edge"},
		{[]map[string]any{{"client": "81.2.69.300", "edge": "fra1", "failed": true}}, "invalid_field", "[0].client"},
		{[]map[string]any{{"client": "81.2.0.0/16", "edge": "fra1", "failed": true}}, "invalid_field", "[0].client"},
		{[]map[string]any{{"client": "geo:51.5,-0.1", "edge": "fra1", "loss": 0.9}}, "invalid_field", "[0].client"},
		{[]map[string]any{{"client": london, "edge": "fra1", "failed": true, "rtt_ms": 20}}, "invalid_field", "[0].rtt_ms"},
		{[]map[string]any{{"client": london, "edge": "fra1", "loss": 1.5}}, "invalid_field", "[0].loss"},
		{[]map[string]any{{"client": london, "edge": "fra1", "loss": -0.1}}, "invalid_field", "[0].loss"},
		{[]map[string]any{{"client": london, "edge": "fra1", "loss": 0.9, "failed": &yes}}, "invalid_field", "[0].loss"},
		{[]map[string]any{{"client": london, "edge": "fra1", "failed": true, "source": "a\x01b"}}, "invalid_field", "[0].source"},
		{[]map[string]any{{"client": london, "edge": "fra1", "failed": "yes"}}, "invalid_field", "[0].failed"},
		// One bad entry refuses the report whole: the good failure before it is not counted.
		{[]map[string]any{{"client": london, "edge": "fra1", "failed": true}, {"client": london, "edge": "fra1", "loss": 2}}, "invalid_field", "[1].loss"},
	}
	for _, b := range bad {
		s.expect("POST", "/v1/rtt", writeToken, b.body, 400, b.code, b.field)
	}
	fail := []map[string]any{{"client": "81.2.69.7", "edge": "fra1", "failed": true}}
	s.expect("POST", "/v1/rtt", writeToken, fail, 202, "", "")
	if got := s.from("www.example.net.", london); got != fraAddr {
		t.Fatalf("one failure (of fall 2, the refused report's not counted): London gets %s, want still fra1", got)
	}
	s.expect("POST", "/v1/rtt", writeToken, []map[string]any{{"client": "81.2.69.0/24", "edge": "fra1", "loss": 0.8}}, 202, "", "")
	if got := s.from("www.example.net.", london); got != iadAddr {
		t.Errorf("London after two failures: %s, want iad1 at once", got)
	}
	if got := s.from("www.example.net.", berlin); got != fraAddr {
		t.Errorf("Berlin, which reported nothing: %s, want fra1", got)
	}
	out := s.expect("GET", "/v1/explain?name=www.example.net&type=A&client=81.2.69.9", writeToken, nil, 200, "", "")
	why, _ := out["unreachable"].([]any)
	if len(why) != 1 || why[0].(map[string]any)["edge"] != "fra1" || why[0].(map[string]any)["scope"] != "network" || why[0].(map[string]any)["reports"] != float64(2) {
		t.Errorf("explain's unreachable: %v", out["unreachable"])
	}
	if !strings.Contains(fmt.Sprint(out["steps"]), "unreachable from the client's network") {
		t.Errorf("explain's steps do not say why fra1 is passed over: %v", out["steps"])
	}
	if e := s.expect("GET", "/v1/edges/fra1", writeToken, nil, 200, "", ""); fmt.Sprint(e["avoided_by"]) != "map[ases:0 cities:0 networks:1 vantages:0]" {
		t.Errorf("fra1's avoided_by: %v", e["avoided_by"])
	}
	if h := s.edgeHealth("fra1"); h["state"] != "up" {
		t.Errorf("fra1's health for everyone else: %v", h)
	}

	// Back after two successes: an RTT report of the network counts as one.
	s.expect("POST", "/v1/rtt", writeToken, []map[string]any{{"client": london, "edge": "fra1", "rtt_ms": 15}}, 202, "", "")
	if got := s.from("www.example.net.", london); got != iadAddr {
		t.Errorf("one success (of rise 2): %s, want still iad1", got)
	}
	s.expect("POST", "/v1/rtt", writeToken, []map[string]any{{"client": london, "edge": "fra1", "failed": false}}, 202, "", "")
	if got := s.from("www.example.net.", london); got != fraAddr {
		t.Errorf("London after two successes: %s, want fra1 again", got)
	}
	if e := s.expect("GET", "/v1/edges/fra1", writeToken, nil, 200, "", ""); e["avoided_by"] != nil {
		t.Errorf("fra1 avoided by nobody now: %v", e["avoided_by"])
	}
}

// TestEdgeLoad: a latency pool with watermarks stops sending clients to an edge reported
// full, and takes them back when its load falls or its report expires. Bad loads are refused.
func TestEdgeLoad(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)
	s.awaitHealth("fra1", "up")
	s.expect("PUT", "/v1/pools/busy", writeToken, map[string]any{"policy": "weighted", "edges": []string{"fra1", "iad1"}, "load": map[string]any{"shed_at": 0.7, "full_at": 0.95}}, 400, "invalid_field", "load")
	s.expect("PUT", "/v1/pools/busy", writeToken, map[string]any{"policy": "latency", "edges": []string{"fra1", "iad1"}, "load": map[string]any{"shed_at": 0.9, "full_at": 0.8}}, 400, "invalid_field", "load.full_at")
	s.expect("PUT", "/v1/pools/busy", writeToken, map[string]any{"policy": "latency", "edges": []string{"fra1", "iad1"}, "load": map[string]any{"shed_at": 0.7, "full_at": 0.95}}, 201, "", "")
	s.expect("PUT", "/v1/zones/example.net/names/busy", writeToken, map[string]any{"pool": "busy"}, 201, "", "")
	const london = "81.2.69.0"
	for _, b := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"utilisation": 1.5}, "utilisation"},
		{map[string]any{"utilisation": -0.1}, "utilisation"},
		{map[string]any{"utilisation": 0.5, "current": 5, "max": 10}, "utilisation"},
		{map[string]any{"current": 5}, "max"},
		{map[string]any{"max": 10}, "current"},
		{map[string]any{"current": 5, "max": 0}, "max"},
		{map[string]any{"current": -5, "max": 10}, "current"},
		{map[string]any{"utilisation": 0.5, "ttl": "1ms"}, "ttl"},
		{map[string]any{"utilisation": 0.5, "ttl": "1h"}, "ttl"},
		{map[string]any{}, "utilisation"},
	} {
		s.expect("PUT", "/v1/edges/fra1/load", writeToken, b.body, 400, "invalid_field", b.field)
	}
	s.expect("PUT", "/v1/edges/nope/load", writeToken, map[string]any{"utilisation": 0.5}, 404, "not_found", "")
	if got := s.from("busy.example.net.", london); got != fraAddr {
		t.Fatalf("no load reported (the refused ones are not): London gets %s, want fra1", got)
	}
	e := s.expect("PUT", "/v1/edges/fra1/load", writeToken, map[string]any{"current": 980, "max": 1000}, 200, "", "")
	if l, _ := e["load"].(map[string]any); l == nil || l["utilisation"] != 0.98 || l["max"] != float64(1000) {
		t.Errorf("fra1's load as shown: %v", e["load"])
	}
	if got := s.from("busy.example.net.", london); got != iadAddr {
		t.Errorf("fra1 at 98%% (full at 95%%): London gets %s, want iad1", got)
	}
	if got := s.from("www.example.net.", london); got != fraAddr {
		t.Errorf("a pool without watermarks ignores load: %s", got)
	}
	out := s.expect("GET", "/v1/explain?name=busy.example.net&type=A&client=81.2.69.9", writeToken, nil, 200, "", "")
	if !strings.Contains(fmt.Sprint(out["steps"]), "note:full") {
		t.Errorf("explain does not say fra1 is full: %v", out["steps"])
	}
	s.expect("PUT", "/v1/edges/fra1/load", writeToken, map[string]any{"utilisation": 0.5}, 200, "", "")
	if got := s.from("busy.example.net.", london); got != fraAddr {
		t.Errorf("fra1 at 50%%: London gets %s, want fra1 back", got)
	}
	// A report that is not renewed expires.
	s.expect("PUT", "/v1/edges/fra1/load", writeToken, map[string]any{"utilisation": 1, "ttl": "1s"}, 200, "", "")
	if got := s.from("busy.example.net.", london); got != iadAddr {
		t.Errorf("fra1 at 100%%: London gets %s, want iad1", got)
	}
	deadline := time.Now().Add(4 * time.Second)
	for s.from("busy.example.net.", london) != fraAddr {
		if time.Now().After(deadline) {
			t.Fatal("fra1's load report of 1 s still holds after 4 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e := s.expect("GET", "/v1/edges/fra1", writeToken, nil, 200, "", ""); e["load"] != nil {
		t.Errorf("an expired load shown: %v", e["load"])
	}
}
