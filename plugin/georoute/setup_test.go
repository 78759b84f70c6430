package georoute

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

func TestParse(t *testing.T) {
	t.Setenv("GEOROUTE_PARSE_TOKEN", "0123456789abcdef0123")
	t.Setenv("GEOROUTE_SHORT_TOKEN", "short")
	tests := []struct {
		input   string
		wantErr string
	}{
		{"georoute {\n zones testdata/zones\n}", ""},
		{"georoute {\n zones testdata/zones/example.net.zone testdata/zones/example.org.zone\n config c.yaml\n geoip a.mmdb b.mmdb\n asn c.mmdb\n reload 5s\n fallthrough\n}", ""},
		{"georoute {\n zones testdata/zones\n reload 0\n}", ""},
		{"georoute", "georoute needs 'zones'"},
		{"georoute {\n zones\n}", "zones needs at least one file"},
		{"georoute {\n geoip\n}", "geoip needs at least one file"},
		{"georoute example.net {\n zones testdata/zones\n}", "georoute takes no arguments"},
		{"georoute {\n zones testdata/zones\n config a.yaml b.yaml\n}", "config takes one file"},
		{"georoute {\n zones testdata/zones\n reload soon\n}", `reload "soon" is not a duration`},
		{"georoute {\n zones testdata/zones\n reload -1s\n}", `reload "-1s" is not a duration`},
		{"georoute {\n zones testdata/zones\n reload 1ms\n}", "too often"},
		{"georoute {\n zones testdata/zones\n policy latency\n}", "unknown property 'policy'"},
		{"georoute {\n zones testdata/zones\n}\ngeoroute {\n zones testdata/zones\n}", "once per Server Block"},
		{"georoute {\n zones testdata/zones\n store s.db\n api 127.0.0.1:8053\n api_token env:GEOROUTE_PARSE_TOKEN write example.net\n}", ""},
		{"georoute {\n zones testdata/zones\n store s.db\n api 127.0.0.1:8053\n}", "the API does not start without a token"},
		{"georoute {\n zones testdata/zones\n api 127.0.0.1:8053\n api_token env:GEOROUTE_PARSE_TOKEN write\n}", "the API needs 'store FILE'"},
		{"georoute {\n zones testdata/zones\n store s.db\n api 127.0.0.1:8053\n api_token env:GEOROUTE_UNSET_TOKEN write\n}", "GEOROUTE_UNSET_TOKEN: the environment variable is empty or unset"},
		{"georoute {\n zones testdata/zones\n store s.db\n api 127.0.0.1:8053\n api_token env:GEOROUTE_SHORT_TOKEN write\n}", "at least 16 characters"},
		{"georoute {\n zones testdata/zones\n store s.db\n api 127.0.0.1:8053\n api_token env:GEOROUTE_PARSE_TOKEN god\n}", `scope "god" is not read, write or admin`},
		{"georoute {\n zones testdata/zones\n store s.db\n api 127.0.0.1:8053\n api_token s3cr3t-in-the-corefile write\n}", "tokens do not belong in a Corefile"},
		{"georoute {\n zones testdata/zones\n store s.db\n api 8053\n api_token env:GEOROUTE_PARSE_TOKEN write\n}", "is not host:port"},
		{"georoute {\n zones testdata/zones\n api_token env:GEOROUTE_PARSE_TOKEN write\n}", "need 'api ADDRESS'"},
		{"georoute {\n zones testdata/zones\n store s.db\n api 127.0.0.1:8053\n api_tokens /nonexistent/tokens\n}", "api_tokens: open /nonexistent/tokens"},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		_, _, err := parse(c)
		if tc.wantErr == "" && err != nil {
			t.Errorf("%q: unexpected error %v", tc.input, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%q: error %v, want %q", tc.input, err, tc.wantErr)
		}
	}
}

func TestParseRoute53(t *testing.T) {
	t.Setenv("GEOROUTE_PARSE_AWS_KEY", "AKIAGEOROUTEPARSE001")
	t.Setenv("GEOROUTE_PARSE_AWS_SECRET", "parse/secret/0123456789abcdefghijABCDEF")
	t.Setenv("GEOROUTE_SHORT_AWS_SECRET", "short")
	keys := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(keys, []byte("# comment\nAKIAGEOROUTEPARSE002 parse/secret/0123456789abcdefghijABCDEF example.net\n"), 0o600)
	dup := filepath.Join(t.TempDir(), "dup")
	os.WriteFile(dup, []byte("AKIAGEOROUTEPARSE001 parse/secret/0123456789abcdefghijABCDEF\n"), 0o600)
	badLine := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(badLine, []byte("AKIAGEOROUTEPARSE003\n"), 0o600)
	const base = "georoute {\n zones testdata/zones\n store s.db\n route53 127.0.0.1:8054\n"
	tests := []struct {
		input   string
		wantErr string
	}{
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY env:GEOROUTE_PARSE_AWS_SECRET\n}", ""},
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY env:GEOROUTE_PARSE_AWS_SECRET example.org\n route53_keys " + keys + "\n}", ""},
		{base + " route53_keys " + keys + "\n}", ""},
		{base + "}", "the Route 53 API does not start without a key"},
		{"georoute {\n zones testdata/zones\n route53 127.0.0.1:8054\n route53_keys " + keys + "\n}", "the Route 53 API needs 'store FILE'"},
		{"georoute {\n zones testdata/zones\n store s.db\n route53_keys " + keys + "\n}", "need 'route53 ADDRESS'"},
		{base + " route53 8054\n}", "is not host:port"},
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY\n}", "route53_key takes env:ACCESS_KEY_VARIABLE env:SECRET_VARIABLE"},
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY secret-in-the-corefile-0123456789\n}", "secrets do not belong in a Corefile"},
		{base + " route53_key env:GEOROUTE_UNSET_AWS_KEY env:GEOROUTE_PARSE_AWS_SECRET\n}", "GEOROUTE_UNSET_AWS_KEY: the environment variable is empty or unset"},
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY env:GEOROUTE_UNSET_AWS_SECRET\n}", "GEOROUTE_UNSET_AWS_SECRET: the environment variable is empty or unset"},
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY env:GEOROUTE_SHORT_AWS_SECRET\n}", "at least 16 characters"},
		{base + " route53_key lowercase-key env:GEOROUTE_PARSE_AWS_SECRET\n}", "not 16 to 128 characters of A-Z and 0-9"},
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY env:GEOROUTE_PARSE_AWS_SECRET bad..zone\n}", `zone "bad..zone" is not a domain name`},
		{base + " route53_key env:GEOROUTE_PARSE_AWS_KEY env:GEOROUTE_PARSE_AWS_SECRET\n route53_keys " + dup + "\n}", "given twice"},
		{base + " route53_keys " + badLine + "\n}", "want ACCESS_KEY_ID SECRET [ZONE...]"},
		{base + " route53_keys /nonexistent/keys\n}", "route53_keys: open /nonexistent/keys"},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		_, _, err := parse(c)
		if tc.wantErr == "" && err != nil {
			t.Errorf("%q: unexpected error %v", tc.input, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%q: error %v, want %q", tc.input, err, tc.wantErr)
		}
	}
}

// TestSetupErrors: what stops the server from starting says which file and what is wrong.
func TestSetupErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, err := os.ReadFile("testdata/geoip2-city.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	truncated := writeFile("truncated.mmdb", string(good[:len(good)/2]))
	garbage := writeFile("garbage.mmdb", strings.Repeat("not an mmdb ", 100))
	badZone := writeFile("example.net.zone", "$ORIGIN example.net.\n@ IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nwww IN A 999.1.1.1\n")
	noSOA := writeFile("example.com.zone", "$ORIGIN example.com.\nwww IN A 192.0.2.1\n")
	noNS := writeFile("example.edu.zone", "$ORIGIN example.edu.\n@ IN SOA ns1 host 1 2 3 4 5\n")
	unnamed := writeFile("zonefile.txt", "$ORIGIN example.net.\n")
	outside := writeFile("outside.yaml", "edges:\n  fra1: {addresses: [192.0.2.1]}\nnames:\n  www.example.com: {edge: fra1}\n")
	invalid := writeFile("invalid.yaml", "edges:\n  fra1: {addresses: [nope]}\n")
	csvBad := writeFile("rtt.csv", "1.2.3.0/24,fra1,fast\n")
	withCSV := writeFile("csv.yaml", "rtt: {files: [rtt.csv]}\n")

	tests := []struct {
		name, block string
		want        []string
	}{
		{"missing geoip", "zones testdata/zones\ngeoip " + filepath.Join(dir, "missing.mmdb"), []string{"missing.mmdb", "scripts/fetch-geoip"}},
		{"truncated geoip", "zones testdata/zones\ngeoip " + truncated, []string{"truncated.mmdb", "not a usable MaxMind DB"}},
		{"garbage geoip", "zones testdata/zones\ngeoip " + garbage, []string{"garbage.mmdb"}},
		{"asn file as city", "zones testdata/zones\ngeoip testdata/asn.mmdb", []string{"asn.mmdb"}},
		{"city file as asn", "zones testdata/zones\nasn testdata/geoip2-city.mmdb", []string{"geoip2-city.mmdb"}},
		{"bad zone file", "zones " + badZone, []string{"example.net.zone", "999.1.1.1"}},
		{"zone without SOA", "zones " + noSOA, []string{"example.com.zone", "no SOA"}},
		{"zone without NS", "zones " + noNS, []string{"example.edu.zone", "no NS"}},
		{"zone file without origin", "zones " + unnamed, []string{"zonefile.txt", "name it ORIGIN.zone"}},
		{"no zone files in folder", "zones " + t.TempDir(), []string{"no zone files"}},
		{"missing zones", "zones " + filepath.Join(dir, "nothing"), []string{"nothing", "no such file"}},
		{"missing config", "zones testdata/zones\nconfig " + filepath.Join(dir, "none.yaml"), []string{"none.yaml", "does not exist"}},
		{"name outside zones", "zones testdata/zones\nconfig " + outside, []string{"outside.yaml", "www.example.com.", "not inside a zone served here"}},
		{"invalid config", "zones testdata/zones\nconfig " + invalid, []string{"invalid.yaml", "edges.fra1.addresses[0]"}},
		{"bad rtt csv", "zones testdata/zones\nconfig " + withCSV, []string{"rtt.csv:1", "fast"}},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", "georoute {\n"+tc.block+"\n}")
		err := setup(c)
		if err == nil {
			t.Errorf("%s: setup succeeded", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
	_ = csvBad
}

func TestSetup(t *testing.T) {
	c := caddy.NewTestController("dns", "georoute {\n zones testdata/zones\n config testdata/georoute.yaml\n geoip testdata/geoip2-city.mmdb\n}")
	if err := setup(c); err != nil {
		t.Fatalf("setup: %v", err)
	}
	// georoute, and the entry ahead of the whole chain (entry.go)
	plugins := dnsserver.GetConfig(c).Plugin
	if n := len(plugins); n != 2 {
		t.Fatalf("setup added %d plugins, want 2", n)
	}
	if e, ok := plugins[0](nil).(*entry); !ok || e.g == nil {
		t.Fatalf("the first plugin is %T, want the entry", plugins[0](nil))
	}
	g := plugins[1](nil).(*GeoRoute)
	if !g.Ready() {
		t.Error("not ready after setup")
	}
}
