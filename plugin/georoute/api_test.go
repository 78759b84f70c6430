package georoute

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	writeToken = "w-0123456789abcdef0123"
	readToken  = "r-0123456789abcdef0123"
	orgToken   = "o-0123456789abcdef0123" // write, limited to example.org
)

// apiServer starts the appliance with a store and the API, and returns a client for both.
type apiServer struct {
	t    testing.TB
	base string // http://127.0.0.1:PORT
	dns  string // UDP address
	cfg  string // the config file
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func startAPI(t testing.TB, dir string) *apiServer { return startAPIReload(t, dir, "0") }

func startAPIReload(t testing.TB, dir, reload string) *apiServer {
	t.Helper()
	t.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte(fmt.Sprintf("# read-only\n%s read\n%s write example.org\n", readToken, orgToken)), 0o600)
	cfg := filepath.Join(dir, "georoute.yaml")
	if _, err := os.Stat(cfg); err != nil {
		os.WriteFile(cfg, []byte(testConfig(t)), 0o644)
	}
	addr := freePort(t)
	udp, _ := startServer(t, fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		georoute {
			zones testdata/zones
			config %s
			geoip testdata/geoip2-city.mmdb
			asn testdata/asn.mmdb
			store %s
			api %s
			api_token env:GEOROUTE_TEST_TOKEN write
			api_tokens %s
			api_max_body 65536
			reload %s
		}
	}`, cfg, filepath.Join(dir, "georoute.db"), addr, tokens, reload))
	return &apiServer{t: t, base: "http://" + addr, dns: udp, cfg: cfg}
}

// do sends a request and returns the status and the decoded JSON body.
func (s *apiServer) do(method, path, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			s.t.Fatalf("%s %s: %d, body is not a JSON object: %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// expect checks a response: its status and, for errors, the code and field of the error.
func (s *apiServer) expect(method, path, token string, body any, status int, code, field string) map[string]any {
	s.t.Helper()
	got, out := s.do(method, path, token, body)
	if got != status {
		s.t.Errorf("%s %s: status %d, want %d: %v", method, path, got, status, out)
		return out
	}
	if code != "" || field != "" {
		e, _ := out["error"].(map[string]any)
		if e == nil || e["code"] != code || (field != "" && e["field"] != field) || e["message"] == "" {
			s.t.Errorf("%s %s: error %v, want code %q field %q", method, path, out["error"], code, field)
		}
	}
	return out
}

// addr asks the server for name as a client in London and returns the answer's addresses.
func (s *apiServer) addr(name string, qtype uint16) string {
	s.t.Helper()
	m := withECS(new(dns.Msg).SetQuestion(name, qtype), "81.2.69.0", 24)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, s.dns)
	if err != nil {
		s.t.Fatalf("dns %s: %v", name, err)
	}
	var out []string
	for _, rr := range r.Answer {
		switch x := rr.(type) {
		case *dns.A:
			out = append(out, x.A.String())
		case *dns.AAAA:
			out = append(out, x.AAAA.String())
		case *dns.TXT:
			out = append(out, strings.Join(x.Txt, ""))
		}
	}
	return strings.Join(out, " ")
}

func TestAPIAuth(t *testing.T) {
	s := startAPI(t, t.TempDir())
	req, _ := http.NewRequest("GET", s.base+"/v1/edges", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	s.expect("GET", "/v1/edges", "", nil, 401, "unauthorized", "")
	s.expect("GET", "/v1/edges", "not-a-token-but-long-enough", nil, 401, "unauthorized", "")
	s.expect("GET", "/v1/edges", readToken, nil, 200, "", "")
	s.expect("PUT", "/v1/edges/ams1", readToken, map[string]any{"addresses": []string{"192.0.2.99"}}, 403, "forbidden", "")
	// A token limited to example.org writes there, and nowhere else.
	s.expect("PUT", "/v1/zones/example.org/names/x", orgToken, map[string]any{"edge": "fra1"}, 201, "", "")
	s.expect("PUT", "/v1/zones/example.net/names/x", orgToken, map[string]any{"edge": "fra1"}, 403, "forbidden", "")
	s.expect("PUT", "/v1/edges/ams1", orgToken, map[string]any{"addresses": []string{"192.0.2.99"}}, 403, "forbidden", "")
	s.expect("GET", "/v1/zones", orgToken, nil, 200, "", "")
}

func TestAPIEdgesAndPools(t *testing.T) {
	s := startAPI(t, t.TempDir())
	ams := map[string]any{"addresses": []string{"192.0.2.60", "2001:db8:60::1"}, "location": map[string]any{"lat": 52.37, "lon": 4.90, "country": "nl"}}
	out := s.expect("PUT", "/v1/edges/AMS1", writeToken, ams, 201, "", "")
	if out["id"] != "ams1" || out["source"] != "api" || out["location"].(map[string]any)["continent"] != "EU" {
		t.Errorf("created edge: %v", out)
	}
	s.expect("PUT", "/v1/edges/ams1", writeToken, ams, 200, "", "")
	if out = s.expect("GET", "/v1/edges/ams1", readToken, nil, 200, "", ""); out["health"] == nil {
		t.Errorf("an edge shows its health: %v", out)
	}
	list := s.expect("GET", "/v1/edges", readToken, nil, 200, "", "")
	if n := len(list["edges"].([]any)); n != 7 {
		t.Errorf("%d edges listed, want the config's 6 and ams1", n)
	}
	s.expect("GET", "/v1/edges/nope", readToken, nil, 404, "not_found", "")

	// Bad input: a 4xx that names the field, nothing applied.
	s.expect("PUT", "/v1/edges/bad1", writeToken, map[string]any{"addresses": []string{"192.0.2.1", "192.0.2.300"}}, 400, "invalid_field", "addresses[1]")
	s.expect("PUT", "/v1/edges/bad1", writeToken, map[string]any{"addresses": []string{"192.0.2.1"}, "weight": "heavy"}, 400, "invalid_field", "weight")
	s.expect("PUT", "/v1/edges/bad1", writeToken, map[string]any{"addresses": []string{"192.0.2.1"}, "adresses": 1}, 400, "unknown_field", "adresses")
	s.expect("PUT", "/v1/edges/bad1", writeToken, `{"addresses": [`, 400, "invalid_json", "")
	s.expect("PUT", "/v1/edges/bad1", writeToken, ``, 400, "invalid_json", "")
	s.expect("PUT", "/v1/edges/bad1", writeToken, `{} {}`, 400, "invalid_json", "")
	s.expect("PUT", "/v1/edges/bad1", writeToken, `{"addresses": ["`+strings.Repeat("x", 70000)+`"]}`, 413, "too_large", "")
	s.expect("PUT", "/v1/edges/bad1", writeToken, map[string]any{"addresses": []string{"192.0.2.1"}, "checks": []any{map[string]any{"type": "http", "url": "ftp://x"}}}, 400, "invalid_field", "checks[0].url")
	s.expect("PUT", "/v1/edges/Bad%20Id", writeToken, map[string]any{"addresses": []string{"192.0.2.1"}}, 400, "invalid_field", "id")
	s.expect("GET", "/v1/edges/bad1", readToken, nil, 404, "not_found", "")
	s.expect("POST", "/v1/edges", writeToken, nil, 405, "method_not_allowed", "")
	s.expect("GET", "/v1/nothing", readToken, nil, 404, "not_found", "")

	// Pools: references must exist, cycles are refused, a pool in use cannot go.
	s.expect("PUT", "/v1/pools/eu", writeToken, map[string]any{"policy": "latency", "edges": []string{"fra1", "ams1"}}, 201, "", "")
	s.expect("PUT", "/v1/pools/bad", writeToken, map[string]any{"policy": "latency", "edges": []string{"nope"}}, 400, "unknown_reference", "edges[0]")
	s.expect("PUT", "/v1/pools/bad", writeToken, map[string]any{"policy": "fastest", "edges": []string{"fra1"}}, 400, "invalid_field", "policy")
	s.expect("PUT", "/v1/pools/a", writeToken, map[string]any{"policy": "failover", "members": []any{map[string]any{"pool": "eu"}}}, 201, "", "")
	s.expect("PUT", "/v1/pools/eu", writeToken, map[string]any{"policy": "failover", "members": []any{map[string]any{"pool": "a"}}}, 400, "cycle", "")
	s.expect("PUT", "/v1/zones/example.net/names/eu", writeToken, map[string]any{"pool": "eu"}, 201, "", "")
	out = s.expect("DELETE", "/v1/pools/eu", writeToken, nil, 409, "in_use", "")
	if msg := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "pools a") || !strings.Contains(msg, "eu.example.net.") {
		t.Errorf("409 does not name the users: %q", msg)
	}
	s.expect("DELETE", "/v1/pools/web", writeToken, nil, 409, "in_config", "")
	s.expect("DELETE", "/v1/pools/nope", writeToken, nil, 404, "not_found", "")
	s.expect("DELETE", "/v1/pools/a", writeToken, nil, 204, "", "")
	if out = s.expect("GET", "/v1/pools/eu", readToken, nil, 200, "", ""); out["used_by"] != 1.0 {
		t.Errorf("pool eu: %v", out)
	}

	// Deleting an edge in use answers 409 and names the users.
	s.expect("PUT", "/v1/zones/example.net/names/k1.t", writeToken, map[string]any{"edge": "ams1", "ttl": 10}, 201, "", "")
	out = s.expect("DELETE", "/v1/edges/ams1", writeToken, nil, 409, "in_use", "")
	if msg := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "k1.t.example.net.") || !strings.Contains(msg, "pools eu") {
		t.Errorf("409 does not name the users: %q", msg)
	}
	s.expect("DELETE", "/v1/edges/fra1", writeToken, nil, 409, "in_config", "")

	// A pinned name follows its edge: change the edge's address, the name's answer follows.
	if got := s.addr("k1.t.example.net.", dns.TypeA); got != "192.0.2.60" {
		t.Errorf("k1.t: %q", got)
	}
	ams["addresses"] = []string{"192.0.2.61"}
	s.expect("PUT", "/v1/edges/ams1", writeToken, ams, 200, "", "")
	if got := s.addr("k1.t.example.net.", dns.TypeA); got != "192.0.2.61" {
		t.Errorf("after the edge moved, k1.t answers %q, want 192.0.2.61", got)
	}

	// Drain and back: the override takes fra1 out of London's answer, auto puts it back.
	if got := s.addr("www.example.net.", dns.TypeA); got != "192.0.2.10" {
		t.Fatalf("www from London: %q", got)
	}
	out = s.expect("PUT", "/v1/edges/fra1/override", writeToken, map[string]any{"state": "down"}, 200, "", "")
	if out["override"] != "down" {
		t.Errorf("override not shown: %v", out)
	}
	if got := s.addr("www.example.net.", dns.TypeA); got == "192.0.2.10" {
		t.Errorf("drained fra1 still answers")
	}
	s.expect("PUT", "/v1/edges/fra1/override", writeToken, map[string]any{"state": "auto"}, 200, "", "")
	if got := s.addr("www.example.net.", dns.TypeA); got != "192.0.2.10" {
		t.Errorf("after auto: %q", got)
	}
	s.expect("PUT", "/v1/edges/fra1/override", writeToken, map[string]any{"state": "sideways"}, 400, "invalid_field", "state")
	s.expect("PUT", "/v1/edges/nope/override", writeToken, map[string]any{"state": "down"}, 404, "not_found", "")
}

func TestAPINames(t *testing.T) {
	s := startAPI(t, t.TempDir())
	// Pinned, pool-bound and static names; each visible in DNS on the next query.
	s.expect("PUT", "/v1/zones/example.net/names/k3y4.t", writeToken, map[string]any{"edge": "syd1", "ttl": 10}, 201, "", "")
	if got := s.addr("k3y4.t.example.net.", dns.TypeA); got != "203.0.113.30" {
		t.Errorf("pinned name: %q", got)
	}
	s.expect("PUT", "/v1/zones/example.net/names/app.example.net.", writeToken, map[string]any{"pool": "web"}, 201, "", "")
	if got := s.addr("app.example.net.", dns.TypeA); got != "192.0.2.10" {
		t.Errorf("pool-bound name from London: %q", got)
	}
	s.expect("PUT", "/v1/zones/example.net/names/note", writeToken, map[string]any{"records": []any{map[string]any{"type": "TXT", "ttl": 60, "value": `"hi there"`}}}, 201, "", "")
	if got := s.addr("note.example.net.", dns.TypeTXT); got != "hi there" {
		t.Errorf("TXT: %q", got)
	}
	out := s.expect("GET", "/v1/zones/example.net/names/note", readToken, nil, 200, "", "")
	if out["name"] != "note.example.net." || out["source"] != "api" || len(out["records"].([]any)) != 1 {
		t.Errorf("GET name: %v", out)
	}
	// A name set through the API wins over the config file's; deleting it shows the config's again.
	s.expect("PUT", "/v1/zones/example.net/names/www", writeToken, map[string]any{"edge": "gru1"}, 200, "", "")
	if got := s.addr("www.example.net.", dns.TypeA); got != "203.0.113.10" {
		t.Errorf("www set through the API: %q", got)
	}
	s.expect("DELETE", "/v1/zones/example.net/names/www", writeToken, nil, 204, "", "")
	if got := s.addr("www.example.net.", dns.TypeA); got != "192.0.2.10" {
		t.Errorf("www back to the config's pool: %q", got)
	}
	s.expect("DELETE", "/v1/zones/example.net/names/www", writeToken, nil, 409, "in_config", "")
	s.expect("DELETE", "/v1/zones/example.net/names/nope", writeToken, nil, 404, "not_found", "")
	s.expect("DELETE", "/v1/zones/example.net/names/k3y4.t", writeToken, nil, 204, "", "")
	if got := s.addr("k3y4.t.example.net.", dns.TypeA); got != "192.0.2.10" {
		t.Errorf("deleted name: %q, want the *.t wildcard's answer", got)
	}

	// Bad input.
	s.expect("PUT", "/v1/zones/example.net/names/www.example.com.", writeToken, map[string]any{"edge": "fra1"}, 400, "outside_zone", "name")
	s.expect("PUT", "/v1/zones/example.com/names/www", writeToken, map[string]any{"edge": "fra1"}, 404, "not_found", "")
	s.expect("PUT", "/v1/zones/example.net/names/x", writeToken, map[string]any{"edge": "nope"}, 400, "unknown_reference", "edge")
	s.expect("PUT", "/v1/zones/example.net/names/x", writeToken, map[string]any{"edge": "fra1", "pool": "web"}, 400, "invalid_field", "")
	s.expect("PUT", "/v1/zones/example.net/names/x", writeToken, map[string]any{"records": []any{map[string]any{"type": "A", "value": "1.2.3"}}}, 400, "invalid_field", "records[0].value")
	s.expect("PUT", "/v1/zones/example.net/names/x", writeToken, map[string]any{"edge": "fra1", "ttl": 99999999}, 400, "invalid_field", "ttl")
	s.expect("PUT", "/v1/zones/example.net/names/a.*.b", writeToken, map[string]any{"edge": "fra1"}, 400, "invalid_field", "name")
	s.expect("PUT", "/v1/zones/example.net/names/x", writeToken, map[string]any{"edge": "fra1", "colour": "red"}, 400, "unknown_field", "colour")
	s.expect("PUT", "/v1/zones/example.org/names/sub.example.net.", writeToken, map[string]any{"edge": "fra1"}, 400, "outside_zone", "name")

	// Paging in name order, config names included.
	for _, n := range []string{"p1", "p2", "p3", "p4", "p5"} {
		s.expect("PUT", "/v1/zones/example.net/names/"+n+".list", writeToken, map[string]any{"edge": "fra1"}, 201, "", "")
	}
	var all []string
	cursor := ""
	for page := 0; page < 20; page++ {
		out := s.expect("GET", "/v1/zones/example.net/names?limit=3&cursor="+cursor, readToken, nil, 200, "", "")
		for _, n := range out["names"].([]any) {
			all = append(all, n.(map[string]any)["name"].(string))
		}
		if cursor = out["next"].(string); cursor == "" {
			break
		}
	}
	joined := strings.Join(all, " ")
	for _, want := range []string{"p1.list.example.net. p2.list.example.net. p3.list.example.net. p4.list.example.net. p5.list.example.net.", "www.example.net.", "note.example.net.", "*.t.example.net."} {
		if !strings.Contains(joined, want) {
			t.Errorf("paged listing %q lacks %q", joined, want)
		}
	}
	if strings.Count(joined, "www.example.net.") != 1 {
		t.Errorf("a name listed twice: %q", joined)
	}
	s.expect("GET", "/v1/zones/example.net/names?limit=5000", readToken, nil, 400, "invalid_field", "limit")
	s.expect("GET", "/v1/zones", readToken, nil, 200, "", "")
}

func TestAPIBatch(t *testing.T) {
	s := startAPI(t, t.TempDir())
	// One bad entry: nothing of the batch is applied.
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{
		"put": map[string]any{"b1.t": map[string]any{"edge": "fra1"}, "b2.t": map[string]any{"edge": "nope"}, "b3.t": map[string]any{"edge": "iad1"}},
	}, 400, "unknown_reference", `put["b2.t.example.net."].edge`)
	s.expect("GET", "/v1/zones/example.net/names/b1.t", readToken, nil, 404, "not_found", "")
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{
		"put": map[string]any{"b1.t": map[string]any{"edge": "fra1"}}, "delete": []string{"nope"},
	}, 404, "not_found", "")
	s.expect("GET", "/v1/zones/example.net/names/b1.t", readToken, nil, 404, "not_found", "")
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{}, 400, "invalid_field", "")
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{"put": map[string]any{"b1.t": map[string]any{"edge": "fra1"}}, "delete": []string{"b1.t"}}, 400, "invalid_field", "delete[0]")

	// A good batch: all of it.
	put := map[string]any{}
	for i := 0; i < 50; i++ {
		put[fmt.Sprintf("n%d.t", i)] = map[string]any{"edge": "syd1"}
	}
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{"put": put}, 200, "", "")
	if got := s.addr("n49.t.example.net.", dns.TypeA); got != "203.0.113.30" {
		t.Errorf("n49 after the batch: %q", got)
	}
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{"delete": []string{"n0.t", "n1.t.example.net."}}, 200, "", "")
	s.expect("GET", "/v1/zones/example.net/names/n0.t", readToken, nil, 404, "not_found", "")
	s.expect("GET", "/v1/zones/example.net/names/n2.t", readToken, nil, 200, "", "")
}

func TestAPIRTTAndExplain(t *testing.T) {
	s := startAPI(t, t.TempDir())
	// London's network reports Ashburn at 2 ms: within the matrix refresh, London is sent there.
	s.expect("POST", "/v1/rtt", writeToken, []any{map[string]any{"client": "81.2.69.0/24", "edge": "iad1", "rtt_ms": 2}, map[string]any{"client": "81.2.69.7", "edge": "fra1", "rtt_ms": 90}}, 202, "", "")
	deadline := time.Now().Add(5 * time.Second)
	for s.addr("www.example.net.", dns.TypeA) != "198.51.100.10" {
		if time.Now().After(deadline) {
			t.Fatal("the reported RTT did not change the answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := s.expect("GET", "/v1/rtt?client=81.2.69.142", readToken, nil, 200, "", "")
	first := out["edges"].([]any)[0].(map[string]any)
	if first["edge"] != "iad1" || first["source"] != "measured" || first["measured"].(map[string]any)["origin"] != "report" {
		t.Errorf("RTT view: %v", first)
	}
	s.expect("POST", "/v1/rtt", writeToken, []any{map[string]any{"client": "81.2.69.0/24", "edge": "nope", "rtt_ms": 2}}, 400, "unknown_reference", "[0].edge")
	s.expect("POST", "/v1/rtt", writeToken, []any{map[string]any{"client": "x", "edge": "iad1", "rtt_ms": 2}}, 400, "invalid_field", "[0].client")
	s.expect("POST", "/v1/rtt", writeToken, []any{map[string]any{"client": "81.2.69.0/24", "edge": "iad1", "rtt_ms": -1}}, 400, "invalid_field", "[0].rtt_ms")
	s.expect("POST", "/v1/rtt", writeToken, []any{}, 400, "invalid_field", "")
	s.expect("GET", "/v1/rtt", readToken, nil, 400, "invalid_field", "client")

	// Explain: the same decision as DNS, step by step.
	out = s.expect("GET", "/v1/explain?name=www.example.net&type=A&client=126.0.0.1", readToken, nil, 200, "", "")
	if ans := out["answer"].([]any); len(ans) != 1 || !strings.Contains(ans[0].(string), "203.0.113.21") {
		t.Errorf("explain answer: %v", out["answer"])
	}
	steps := out["steps"].([]any)
	if len(steps) != 1 || steps[0].(map[string]any)["pool"] != "web" || len(steps[0].(map[string]any)["members"].([]any)) != 6 {
		t.Errorf("explain steps: %v", steps)
	}
	if out["ecs_scope"] != 8.0 || out["client_location"].(map[string]any)["country"] != "JP" {
		t.Errorf("explain: scope %v location %v", out["ecs_scope"], out["client_location"])
	}
	// A client GeoIP does not know: no score for any edge, null in JSON.
	out = s.expect("GET", "/v1/explain?name=www.example.net&type=A&client=192.0.2.1", readToken, nil, 200, "", "")
	if m := out["steps"].([]any)[0].(map[string]any)["members"].([]any)[0].(map[string]any); m["score"] != nil || m["member"] != "edge fra1" {
		t.Errorf("unknown client's member: %v", m)
	}
	s.expect("GET", "/v1/explain?name=www.example.net&type=BOGUS&client=1.1.1.1", readToken, nil, 400, "invalid_field", "type")
	s.expect("GET", "/v1/explain?name=www.example.net&client=nope", readToken, nil, 400, "invalid_field", "client")
}

// TestAPIDurableAcrossRestart: what the API acknowledged is there after a restart.
func TestAPIDurableAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := startAPI(t, dir)
	s.expect("PUT", "/v1/edges/ams1", writeToken, map[string]any{"addresses": []string{"192.0.2.60"}, "location": map[string]any{"lat": 52.37, "lon": 4.90}}, 201, "", "")
	s.expect("PUT", "/v1/zones/example.net/names/keep.t", writeToken, map[string]any{"edge": "ams1"}, 201, "", "")
	s.expect("PUT", "/v1/edges/iad1/override", writeToken, map[string]any{"state": "down"}, 200, "", "")
	s.expect("POST", "/v1/rtt", writeToken, []any{map[string]any{"client": "81.2.69.0/24", "edge": "gru1", "rtt_ms": 1}}, 202, "", "")
	stopServers(t)

	s = startAPI(t, dir)
	if got := s.addr("keep.t.example.net.", dns.TypeA); got != "192.0.2.60" {
		t.Errorf("after restart keep.t answers %q", got)
	}
	if out := s.expect("GET", "/v1/edges/iad1", readToken, nil, 200, "", ""); out["override"] != "down" {
		t.Errorf("override lost: %v", out)
	}
	if got := s.addr("www.example.net.", dns.TypeA); got != "203.0.113.10" {
		t.Errorf("the reported RTT was lost: www from London answers %q, want gru1", got)
	}
}

// TestConfigReloadKeepsAPINames: a config edit that would take away an edge that names set
// through the API are pinned to is refused; the last good config keeps serving.
func TestConfigReloadKeepsAPINames(t *testing.T) {
	dir := t.TempDir()
	s := startAPIReload(t, dir, "100ms")
	s.expect("PUT", "/v1/zones/example.net/names/tun.t", writeToken, map[string]any{"edge": "gru1"}, 201, "", "")
	without := strings.NewReplacer("  gru1: {addresses: [203.0.113.10], location: {lat: -23.55, lon: -46.63, country: BR}}\n", "", "gru1, ", "", "[gru1, sin1]", "[sin1]").Replace(testConfig(t))
	if strings.Contains(without, "gru1") {
		t.Fatalf("the edited config still names gru1:\n%s", without)
	}
	if err := os.WriteFile(s.cfg, []byte(without), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if got := s.addr("tun.t.example.net.", dns.TypeA); got != "203.0.113.10" {
		t.Errorf("tun.t answers %q after the refused edit, want gru1's 203.0.113.10", got)
	}
	s.expect("GET", "/v1/edges/gru1", readToken, nil, 200, "", "")
	// Once the name goes, the same edit loads.
	s.expect("DELETE", "/v1/zones/example.net/names/tun.t", writeToken, nil, 204, "", "")
	os.WriteFile(s.cfg, []byte(without+"\n# touched\n"), 0o644)
	waitFor(t, "the edit to load", func() bool {
		st, _ := s.do("GET", "/v1/edges/gru1", readToken, nil)
		return st == 404
	})
}

func TestAPITLS(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	t.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	addr := freePort(t)
	startServer(t, fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		georoute {
			zones testdata/zones
			store %s
			api %s
			api_token env:GEOROUTE_TEST_TOKEN write
			api_tls %s %s
		}
	}`, filepath.Join(dir, "g.db"), addr, certFile, keyFile))
	pool := x509.NewCertPool()
	pool.AddCert(func() *x509.Certificate { c, _ := x509.ParseCertificate(der); return c }())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	req, _ := http.NewRequest("GET", "https://"+addr+"/v1/zones", nil)
	req.Header.Set("Authorization", "Bearer "+writeToken)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("https: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := http.Get("http://" + addr + "/v1/zones"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP answered on the TLS address")
	}
}
