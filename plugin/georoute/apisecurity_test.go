package georoute

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
)

// send sends a request with the headers given and returns the response and its body.
func (s *apiServer) send(method, path string, header map[string]string, body string) (*http.Response, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// checkJSONError checks that a response is the API's error of status and code, with the headers
// every answer carries.
func checkJSONError(t *testing.T, what string, resp *http.Response, raw []byte, status int, code string) {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal(raw, &body) != nil || body.Error.Code != code || body.Error.Message == "" {
		t.Errorf("%s: %d %s %q, want %d with JSON error %q", what, resp.StatusCode, resp.Header.Get("Content-Type"), raw, status, code)
	}
	checkSecurityHeaders(t, what, resp)
}

func checkSecurityHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: Cache-Control %q, X-Content-Type-Options %q", what, resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"))
	}
}

// TestAPIBearerScheme: the scheme is case-insensitive and may be followed by several spaces.
func TestAPIBearerScheme(t *testing.T) {
	s := startAPI(t, t.TempDir())
	for _, auth := range []string{"Bearer " + readToken, "bearer " + readToken, "BEARER " + readToken, "Bearer   " + readToken, "bearer \t" + readToken + " "} {
		resp, raw := s.send("GET", "/v1/edges", map[string]string{"Authorization": auth}, "")
		if resp.StatusCode != 200 {
			t.Errorf("Authorization %q: %d %s", auth, resp.StatusCode, raw)
		}
	}
	for _, auth := range []string{"Basic " + readToken, "Bearer", "Bearer " + readToken + " extra", readToken, "Bearer" + readToken} {
		resp, raw := s.send("GET", "/v1/edges", map[string]string{"Authorization": auth}, "")
		checkJSONError(t, fmt.Sprintf("Authorization %q", auth), resp, raw, 401, "unauthorized")
	}
}

// TestAPIAuthenticatesFirst: without a valid token every path and method gets the same 401, so
// no route is discoverable; every answer is JSON with the security headers.
func TestAPIAuthenticatesFirst(t *testing.T) {
	s := startAPI(t, t.TempDir())
	requests := [][2]string{
		{"GET", "/v1/edges"}, {"PUT", "/v1/edges/x"}, {"POST", "/v1/edges"}, {"GET", "/v1/nothing"},
		{"DELETE", "/"}, {"PATCH", "/v1/zones/example.net"}, {"OPTIONS", "/v1/edges"}, {"GET", "/v1//edges"},
		{"GET", "/v1/edges/../pools"}, {"HEAD", "/v1/edges"},
	}
	for _, tok := range []string{"", "not-a-valid-token-at-all"} {
		for _, rq := range requests {
			header := map[string]string{}
			if tok != "" {
				header["Authorization"] = "Bearer " + tok
			}
			resp, raw := s.send(rq[0], rq[1], header, "")
			what := fmt.Sprintf("%s %s token %q", rq[0], rq[1], tok)
			if rq[0] == "HEAD" {
				if resp.StatusCode != 401 {
					t.Errorf("%s: %d, want 401", what, resp.StatusCode)
				}
				checkSecurityHeaders(t, what, resp)
			} else {
				checkJSONError(t, what, resp, raw, 401, "unauthorized")
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer realm="georoute"`) {
				t.Errorf("%s: WWW-Authenticate %q", what, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	// With a token: 404, 405 and unclean paths are JSON too (the mux would redirect in HTML).
	auth := map[string]string{"Authorization": "Bearer " + readToken}
	resp, raw := s.send("GET", "/v1/nothing", auth, "")
	checkJSONError(t, "GET /v1/nothing", resp, raw, 404, "not_found")
	resp, raw = s.send("POST", "/v1/edges", map[string]string{"Authorization": "Bearer " + writeToken}, "")
	checkJSONError(t, "POST /v1/edges", resp, raw, 405, "method_not_allowed")
	for _, p := range []string{"/v1//edges", "/v1/pools/../edges", "/v1/./edges"} {
		resp, raw = s.send("GET", p, auth, "")
		checkJSONError(t, "GET "+p, resp, raw, 404, "not_found")
	}
	resp, raw = s.send("PUT", "/v1/edges/x", auth, `{}`)
	checkJSONError(t, "PUT with a read token", resp, raw, 403, "forbidden")
	resp, _ = s.send("GET", "/v1/edges", auth, "")
	if resp.StatusCode != 200 {
		t.Errorf("GET /v1/edges: %d", resp.StatusCode)
	}
	checkSecurityHeaders(t, "GET /v1/edges", resp)
}

// TestAPIExpectContinueRefusedAtOnce: a request that waits on Expect: 100-continue and fails auth
// is answered at once, before its body is sent; one that passes gets 100 Continue.
func TestAPIExpectContinueRefusedAtOnce(t *testing.T) {
	s := startAPI(t, t.TempDir())
	body := `{"addresses": ["192.0.2.99"], "location": {"lat": 52.37, "lon": 4.90, "country": "NL"}}`
	tests := []struct {
		method, path, token string
		want                string // status line
	}{
		{"PUT", "/v1/edges/ams9", "", "HTTP/1.1 401 "},
		{"PUT", "/v1/edges/ams9", "not-a-valid-token-at-all", "HTTP/1.1 401 "},
		{"PUT", "/v1/nothing", "", "HTTP/1.1 401 "},
		{"POST", "/v1/zones/example.net/batch", "", "HTTP/1.1 401 "},
		{"PUT", "/v1/edges/ams9", readToken, "HTTP/1.1 403 "},
		{"PUT", "/v1/edges/ams9", orgToken, "HTTP/1.1 403 "},
		{"PUT", "/v1/edges/ams9", writeToken, "HTTP/1.1 100 Continue"},
	}
	for _, tc := range tests {
		c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n", tc.method, tc.path, len(body))
		if tc.token != "" {
			fmt.Fprintf(c, "Authorization: Bearer %s\r\n", tc.token)
		}
		fmt.Fprintf(c, "\r\n")
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		rd := bufio.NewReader(c)
		status, err := rd.ReadString('\n')
		if err != nil || !strings.HasPrefix(status, tc.want) {
			t.Errorf("%s %s token %q: %q %v, want %q without sending the body", tc.method, tc.path, tc.token, status, err, tc.want)
		}
		if strings.HasPrefix(status, "HTTP/1.1 100") {
			for line, _ := rd.ReadString('\n'); line != "\r\n" && line != ""; line, _ = rd.ReadString('\n') {
			}
			io.WriteString(c, body)
			if status, err = rd.ReadString('\n'); !strings.HasPrefix(status, "HTTP/1.1 201 ") {
				t.Errorf("after the body: %q %v, want 201", status, err)
			}
		}
		c.Close()
	}
}

// TestAPIZoneLimitedToken: a token limited to example.org reads and changes only example.org;
// it reads edges, pools and the RTT matrix and changes none of them.
func TestAPIZoneLimitedToken(t *testing.T) {
	s := startAPI(t, t.TempDir())
	if out := s.expect("GET", "/v1/zones", orgToken, nil, 200, "", ""); fmt.Sprint(out["zones"]) != "[example.org.]" {
		t.Errorf("zones of the example.org token: %v", out["zones"])
	}
	if out := s.expect("GET", "/v1/zones", readToken, nil, 200, "", ""); len(out["zones"].([]any)) != 2 {
		t.Errorf("zones of a token for every zone: %v", out["zones"])
	}
	// Its own zone.
	s.expect("GET", "/v1/zones/example.org", orgToken, nil, 200, "", "")
	s.expect("PUT", "/v1/zones/example.org/names/t1", orgToken, map[string]any{"edge": "fra1"}, 201, "", "")
	s.expect("GET", "/v1/zones/example.org/names/t1", orgToken, nil, 200, "", "")
	s.expect("GET", "/v1/zones/EXAMPLE.ORG./names", orgToken, nil, 200, "", "")
	s.expect("POST", "/v1/zones/example.org/batch", orgToken, map[string]any{"delete": []string{"t1"}}, 200, "", "")
	s.expect("GET", "/v1/explain?name=www.example.org&type=A&client=81.2.69.142", orgToken, nil, 200, "", "")
	// Another zone's, read or written.
	s.expect("PUT", "/v1/zones/example.net/names/t1", writeToken, map[string]any{"edge": "fra1"}, 201, "", "")
	for _, rq := range [][2]string{
		{"GET", "/v1/zones/example.net"}, {"GET", "/v1/zones/example.net/names"},
		{"GET", "/v1/zones/example.net/names/t1"}, {"GET", "/v1/zones/example.net./names/t1.example.net."},
		{"DELETE", "/v1/zones/example.net/names/t1"}, {"PUT", "/v1/zones/example.net/names/t2"},
		{"POST", "/v1/zones/example.net/batch"}, {"PUT", "/v1/zones/example.info"},
		{"GET", "/v1/explain?name=t1.example.net&type=A&client=81.2.69.142"},
		{"GET", "/v1/explain?name=nowhere.example.com&type=A&client=81.2.69.142"},
	} {
		s.expect(rq[0], rq[1], orgToken, map[string]any{"edge": "fra1"}, 403, "forbidden", "")
	}
	// Edges, pools and RTT: read, not changed.
	for _, p := range []string{"/v1/edges", "/v1/edges/fra1", "/v1/pools", "/v1/rtt?client=81.2.69.142"} {
		s.expect("GET", p, orgToken, nil, 200, "", "")
	}
	s.expect("PUT", "/v1/edges/ams9", orgToken, map[string]any{"addresses": []string{"192.0.2.99"}}, 403, "forbidden", "")
	s.expect("DELETE", "/v1/edges/fra1", orgToken, nil, 403, "forbidden", "")
	s.expect("PUT", "/v1/edges/fra1/override", orgToken, map[string]any{"state": "down"}, 403, "forbidden", "")
	s.expect("PUT", "/v1/pools/p9", orgToken, map[string]any{"policy": "latency", "edges": []string{"fra1"}}, 403, "forbidden", "")
	s.expect("POST", "/v1/rtt", orgToken, []map[string]any{{"client": "81.2.69.0/24", "edge": "fra1", "rtt_ms": 9}}, 403, "forbidden", "")
}

// TestAPITokenFileErrorsHoldNoSecret: a token file's mistakes stop the start, naming the file
// and line, never quoting the secret.
func TestAPITokenFileErrorsHoldNoSecret(t *testing.T) {
	const secret = "s3cr3t-0123456789abcdef"
	for _, tc := range []struct{ file, want string }{
		{"read " + secret + "\n", ":1: the scope comes first"},
		{"# ok\n" + secret + " read\n" + secret + " write example.org\n", ":3: the same secret as line 2"},
	} {
		tokens := filepath.Join(t.TempDir(), "tokens")
		os.WriteFile(tokens, []byte(tc.file), 0o600)
		c := caddy.NewTestController("dns", "georoute {\n zones testdata/zones\n api 127.0.0.1:0\n api_tokens "+tokens+"\n}")
		_, _, err := parse(c)
		if err == nil || !strings.Contains(err.Error(), tokens+tc.want) || strings.Contains(err.Error(), secret) {
			t.Errorf("%q: error %v, want %q and no secret", tc.file, err, tokens+tc.want)
		}
	}
}

// TestAPIReloadRebindsAPI: a Corefile reload stops the old API (OnRestart) before the new one
// binds the address, so the API binds it alone and still comes back.
func TestAPIReloadRebindsAPI(t *testing.T) {
	s := startAPI(t, t.TempDir())
	s.expect("PUT", "/v1/zones/example.net/names/r1", writeToken, map[string]any{"edge": "fra1"}, 201, "", "")
	serverMu.Lock()
	old := instances[len(instances)-1]
	serverMu.Unlock()
	inst, err := old.Restart(nil)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	serverMu.Lock()
	instances = append(instances, inst)
	serverMu.Unlock()
	s.expect("GET", "/v1/zones/example.net/names/r1", readToken, nil, 200, "", "")
}
