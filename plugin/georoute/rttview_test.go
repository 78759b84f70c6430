package georoute

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestAPIRTTViewSnakeCase: every key of GET /v1/rtt is snake_case, neighbours included.
func TestAPIRTTViewSnakeCase(t *testing.T) {
	s := startAPI(t, t.TempDir())
	s.expect("POST", "/v1/rtt", writeToken, []any{map[string]any{"client": "85.214.1.0/24", "edge": "iad1", "rtt_ms": 200}, map[string]any{"client": "85.214.1.0/24", "edge": "fra1", "rtt_ms": 40}}, 202, "", "")
	var out map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		out = s.expect("GET", "/v1/rtt?client=85.214.2.9", readToken, nil, 200, "", "")
		b, _ := json.Marshal(out)
		if regexp.MustCompile(`"neighbours"`).Match(b) || time.Now().After(deadline) {
			t.Logf("%s", b)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, v any)
	seen := map[string]bool{}
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				seen[k] = true
				if !snake.MatchString(k) {
					t.Errorf("%s: key %q is not snake_case", path, k)
				}
				walk(path+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		}
	}
	walk("", out)
	for _, k := range []string{"label", "distance_km", "rtt_ms", "residual_ms", "weight", "neighbours", "matrix_compiled_at"} {
		if !seen[k] {
			t.Errorf("no key %q in the RTT view", k)
		}
	}
}

// TestAPIRTTApplied: a report is durable at its 202 and shown as not applied until the matrix
// holds it; then the answers follow it.
func TestAPIRTTApplied(t *testing.T) {
	s := startAPI(t, t.TempDir())
	s.expect("POST", "/v1/rtt", writeToken, []any{map[string]any{"client": "81.2.69.0/24", "edge": "nrt1", "rtt_ms": 1}}, 202, "", "")
	measured := func() map[string]any {
		out := s.expect("GET", "/v1/rtt?client=81.2.69.142", readToken, nil, 200, "", "")
		for _, e := range out["edges"].([]any) {
			if e := e.(map[string]any); e["edge"] == "nrt1" {
				m, _ := e["measured"].(map[string]any)
				return m
			}
		}
		return nil
	}
	m := measured()
	if m == nil || m["rtt_ms"] != 1.0 {
		t.Fatalf("the accepted report is not shown: %v", m)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m["applied"] != true && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		m = measured()
	}
	if m["applied"] != true {
		t.Fatalf("not applied after 5 s: %v", m)
	}
	if got := s.addr("www.example.net.", dns.TypeA); got != "203.0.113.21" {
		t.Errorf("www from London answers %q once the report is applied, want nrt1", got)
	}
}
