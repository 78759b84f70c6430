package georoute

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/api/route53"
)

// fuzzAPIs builds the appliance in process from a Corefile block, with a store, the native API
// and the Route 53 API, and returns their handlers without listening: requests go straight in.
func fuzzAPIs(f *testing.F) (native, r53 http.Handler) {
	f.Helper()
	f.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	f.Setenv("GEOROUTE_TEST_AWS_KEY", awsKeyID)
	f.Setenv("GEOROUTE_TEST_AWS_SECRET", awsSecret)
	dir := f.TempDir()
	tokens := filepath.Join(dir, "tokens")
	keys := filepath.Join(dir, "aws-keys")
	cfg := filepath.Join(dir, "georoute.yaml")
	for p, body := range map[string]string{
		tokens: fmt.Sprintf("%s read\n%s write example.org\n", readToken, orgToken),
		keys:   fmt.Sprintf("%s %s example.org\n", awsOrgKeyID, awsOrgSecret),
		cfg:    testConfig(f),
	} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	c := caddy.NewTestController("dns", fmt.Sprintf(`georoute {
		zones testdata/zones
		config %s
		geoip testdata/geoip2-city.mmdb
		asn testdata/asn.mmdb
		store %s
		api 127.0.0.1:0
		api_token env:GEOROUTE_TEST_TOKEN write
		api_tokens %s
		api_max_body 65536
		route53 127.0.0.1:0
		route53_key env:GEOROUTE_TEST_AWS_KEY env:GEOROUTE_TEST_AWS_SECRET
		route53_keys %s
		reload 0
	}`, cfg, filepath.Join(dir, "georoute.db"), tokens, keys))
	g, _, err := parse(c)
	if err != nil {
		f.Fatal(err)
	}
	if err := g.open(); err != nil {
		f.Fatal(err)
	}
	// The committer and the matrix refresh, without the listeners: the handlers are served here.
	apiConf, r53Conf := g.apiConf, g.r53Conf
	g.apiConf, g.r53Conf = nil, nil
	bg := &background{}
	if err := g.startBackground(bg); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { g.stopBackground(bg) })
	native = api.New(backend{g}, api.NewAuth(apiConf.tokens), api.Options{MaxBody: apiConf.maxBody})
	r53 = route53.New(newRoute53Backend(g), r53Conf.verifier, route53.Options{})
	return native, r53
}

// FuzzAPI sends requests with arbitrary paths, query strings and bodies to the native API: no
// panic, and every answer has a valid status and is a JSON object: an error {"error": {code,
// message}} for a 4xx or 5xx.
func FuzzAPI(f *testing.F) {
	h, _ := fuzzAPIs(f)
	methods := []string{"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"}
	tokens := []string{writeToken, readToken, orgToken, "", "w-0123456789abcdef0124"}
	for _, s := range []struct {
		method, token uint8
		path, query   string
		body          []byte
	}{
		{0, 0, "explain", "name=www.example.net&type=A&client=81.2.69.142", nil},
		{0, 1, "explain", "name=www.example.net&type=AAAA&ecs=1.1.1.0/24", nil},
		{0, 0, "explain", "name=%00&type=65536&client=::ffff:1.2.3.4&ecs=1.1.1.1/33", nil},
		{0, 0, "explain", "name=" + strings.Repeat("a.", 200) + "&type=TYPE999", nil},
		{0, 0, "rtt", "client=81.2.69.142", nil},
		{0, 0, "rtt", "client=geo:91,0&edge=fra1", nil},
		{0, 0, "rtt", "client=0.0.0.0/0", nil},
		{0, 0, "zones/example.net/names", "limit=2&cursor=", nil},
		{0, 0, "zones/example.net/names", "limit=-1&cursor=%ff%fe", nil},
		{0, 0, "zones/example.net./names", "limit=99999999999999999999&cursor=zzz", nil},
		{0, 2, "zones/example.net/names/www", "", nil},
		{0, 0, "zones/%2e%2e/names", "", nil},
		{0, 0, "zones//names", "", nil},
		{0, 0, "edges/../pools", "", nil},
		{0, 0, "edges", "", nil},
		{0, 3, "pools", "", nil},
		{1, 0, "zones/example.com", "", []byte(`{}`)},
		{1, 2, "zones/example.net/names/x", "", []byte(`{"edge":"fra1"}`)},
		{2, 0, "rtt", "", []byte(`[{"client":"81.2.69.0/24","edge":"fra1","rtt_ms":12}]`)},
		{2, 0, "rtt", "", []byte(`[{"client":"81.2.69.0/24","edge":"fra1","failed":true,"source":"sdk"},{"client":"81.2.69.9","edge":"fra1","loss":0.7}]`)},
		{1, 0, "edges/fra1/load", "", []byte(`{"utilisation":0.9,"ttl":"5s"}`)},
		{1, 0, "edges/fra1/load", "", []byte(`{"current":9,"max":10}`)},
		{0, 1, "routing", "pool=web&type=AAAA", nil},
		{0, 0, "events", "since=0&types=health,change", nil},
		{0, 0, "zones/example.net/names", "q=ww&limit=3", nil},
		{2, 0, "zones/example.net/batch", "", []byte(`{"ops":[{"op":"delete","name":"nope"}]}`)},
		{3, 1, "edges/fra1", "", nil},
		{4, 0, "zones", "", nil},
		{5, 4, "zones", "", nil},
	} {
		f.Add(s.method, s.token, s.path, s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, method, token uint8, path, query string, body []byte) {
		u, err := url.Parse("http://127.0.0.1/v1/" + path)
		if err != nil {
			return
		}
		u.RawQuery = query
		// An event stream lasts until its client goes: this one has gone already (it is answered
		// its replay and the live mark, and ends). Others are not cut short.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if strings.Contains(path, "events") {
			cancel()
		}
		req, err := http.NewRequestWithContext(ctx, methods[int(method)%len(methods)], u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		if tok := tokens[int(token)%len(tokens)]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		status, raw := rec.Code, rec.Body.Bytes()
		if status < 200 || status > 599 || http.StatusText(status) == "" {
			t.Fatalf("%s %s: status %d", req.Method, u, status)
		}
		if status == http.StatusNoContent || req.Method == "HEAD" && len(raw) == 0 {
			return
		}
		if status == http.StatusOK && rec.Header().Get("Content-Type") == "text/event-stream" {
			if !bytes.Contains(raw, []byte(": live after ")) {
				t.Fatalf("%s %s: an event stream without its live mark: %q", req.Method, u, raw)
			}
			return
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, the body is not a JSON object: %v: %q", req.Method, u, status, err, raw)
		}
		if status >= 400 {
			e, _ := out["error"].(map[string]any)
			if code, _ := e["code"].(string); code == "" {
				t.Fatalf("%s %s: %d, not an error object: %s", req.Method, u, status, raw)
			}
			if msg, _ := e["message"].(string); msg == "" {
				t.Fatalf("%s %s: %d, an error without a message: %s", req.Method, u, status, raw)
			}
		}
	})
}
