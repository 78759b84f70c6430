package georoute

import (
	"reflect"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/georoute/appliance/plugin/georoute/dnsupdate"
	"github.com/miekg/dns"
)

func TestParseUpdate(t *testing.T) {
	for _, tc := range []struct {
		input   string
		grants  map[string][]dnsupdate.Grant
		wantErr string
	}{
		{"update Update.Example.Net", map[string][]dnsupdate.Grant{"update.example.net.": {{}}}, ""},
		{"update k. example.net example.ORG.", map[string][]dnsupdate.Grant{"k.": {{Zones: []string{"example.net.", "example.org."}}}}, ""},
		{"update k. example.net {\n names www *.t @ _acme-challenge.www.example.net.\n types a TXT\n }\n update k. example.org\n reload 0",
			map[string][]dnsupdate.Grant{"k.": {
				{Zones: []string{"example.net."}, Names: []string{"www", "*.t", "@", "_acme-challenge.www.example.net."}, Types: []uint16{dns.TypeA, dns.TypeTXT}},
				{Zones: []string{"example.org."}},
			}}, ""},
		{"update k. {\n }", map[string][]dnsupdate.Grant{"k.": {{}}}, ""},
		{"update", nil, "update takes KEY"},
		{"update k. { names\n }", nil, "names takes NAME"},
		{"update k. {\n types SOA\n }", nil, `"SOA" is not a record type that can be changed here`},
		{"update k. {\n types\n }", nil, "types takes TYPE"},
		{"update k. {\n colour red\n }", nil, "unknown property 'colour'"},
		{"update k. {\n names a..b\n }", nil, `"a..b" is not a name`},
		{"update a..b", nil, "is not a key name"},
		{"update k. a..b", nil, "is not a zone"},
	} {
		c := caddy.NewTestController("dns", "georoute {\n zones testdata/zones\n store s.db\n "+tc.input+"\n}")
		g, _, err := parse(c)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want %q", tc.input, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.input, err)
		case tc.wantErr == "" && !reflect.DeepEqual(g.updates, tc.grants):
			t.Errorf("%q: grants %+v, want %+v", tc.input, g.updates, tc.grants)
		}
	}
}

func TestSetupUpdate(t *testing.T) {
	for _, tc := range []struct {
		input   string
		secrets map[string]string
		wantErr string
	}{
		{"store s.db\n update k.", map[string]string{"k.": updateSecret}, ""},
		{"store s.db\n update k.", map[string]string{"other.": updateSecret}, "update k.: no such TSIG key in this server block"},
		{"update k.", map[string]string{"k.": updateSecret}, "update needs 'store FILE'"},
		{"store s.db", nil, ""},
		{"store s.db", map[string]string{"k.": updateSecret}, ""}, // md5 for tsig all the same
	} {
		c := caddy.NewTestController("dns", "georoute {\n zones testdata/zones\n "+tc.input+"\n}")
		cfg := dnsserver.GetConfig(c)
		cfg.TsigSecret = tc.secrets
		g, _, err := parse(c)
		if err != nil {
			t.Fatal(err)
		}
		plugins := len(cfg.Plugin)
		err = g.setupUpdate(c)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want %q", tc.input, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.input, err)
		case tc.wantErr == "" && len(tc.secrets) > 0 && len(cfg.Plugin) != plugins+1,
			tc.wantErr == "" && len(tc.secrets) == 0 && len(cfg.Plugin) != plugins:
			t.Errorf("%q: the hmac-md5 handler is not in the chain exactly when tsig has keys", tc.input)
		}
	}
}
