package georoute

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func records(rs ...string) map[string]any {
	var out []any
	for _, r := range rs {
		typ, value, _ := strings.Cut(r, " ")
		out = append(out, map[string]any{"type": typ, "value": value})
	}
	return map[string]any{"records": out}
}

// TestAPIBadData: what DNS cannot serve as written is refused with a 4xx that says why, and what
// it can is served as the zone file would serve it (issue 15).
func TestAPIBadData(t *testing.T) {
	s := startAPI(t, t.TempDir())
	names := "/v1/zones/example.net/names/"
	for _, tc := range []struct {
		name, path  string
		body        map[string]any
		status      int
		code, field string
	}{
		// A CNAME is alone at its name: not at the apex, nor beside the zone file's records.
		{"CNAME at the apex", "@", records("CNAME www.example.net."), 400, "invalid_field", "records[0]"},
		{"CNAME beside the file's A", "mail", records("CNAME www.example.net."), 409, "in_config", "records[0]"},
		{"records beside the file's CNAME", "alias", records("TXT x"), 409, "in_config", ""},
		{"routed beside the file's CNAME", "api", map[string]any{"edge": "fra1"}, 409, "in_config", ""},
		// Values that do not pack, or pack into a reply resolvers call FORMERR.
		{"DS digest", "ds", records("DS 12345 8 2 zz"), 400, "invalid_field", "records[0].value"},
		{"SSHFP fingerprint", "ssh", records("SSHFP 1 1 xyz"), 400, "invalid_field", "records[0].value"},
		{"TLSA data", "_443._tcp", records("TLSA 3 1 1 nothex"), 400, "invalid_field", "records[0].value"},
		{"CAA tag", "caa", records(`CAA 0 bad-tag! "x"`), 400, "invalid_field", "records[0].value"},
		// Names DNS never answers as written, and names only a referral is served for.
		{"space", "a%20b", map[string]any{"edge": "fra1"}, 400, "invalid_field", "name"},
		{"NUL", `a%5C000b`, map[string]any{"edge": "fra1"}, 400, "invalid_field", "name"},
		{"UTF-8", "b%C3%BCcher", map[string]any{"edge": "fra1"}, 400, "invalid_field", "name"},
		{"escaped dot", `x%5C046y`, map[string]any{"edge": "fra1"}, 400, "invalid_field", "name"},
		{"at a delegation", "lab", map[string]any{"edge": "fra1"}, 409, "in_config", ""},
		{"below a delegation", "x.lab", map[string]any{"edge": "fra1"}, 409, "in_config", ""},
		// Values that would be served otherwise than written.
		{"comment", "c", records("TXT abc ; comment"), 400, "invalid_field", "records[0].value"},
		{"duplicate", "dup", records("A 192.0.2.1", "A 192.0.2.2", "A 192.0.2.1"), 400, "invalid_field", "records[2]"},
		{"CNAME to itself", "loop", records("CNAME loop"), 400, "invalid_field", "records[0].value"},
		{"NS below the apex", "sub", records("NS ns1.example.org."), 400, "invalid_field", "records[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			out := s.expect("PUT", names+tc.path, writeToken, tc.body, tc.status, tc.code, tc.field)
			if e, _ := out["error"].(map[string]any); e != nil {
				t.Logf("%s", e["message"])
			}
		})
	}
	s.t = t
	if r := s.exchange("example.net.", dns.TypeSOA); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA {
		t.Errorf("SOA of the apex: %v", r.Answer)
	}
	if got := s.addr("mail.example.net.", dns.TypeA); got != "192.0.2.25" {
		t.Errorf("mail answers %q, want the zone file's address", got)
	}

	// Relative names in values are relative to the zone; a quoted ';' is text; DS records at a
	// delegation are the parent's to serve.
	s.expect("PUT", names+"mx", writeToken, records("MX 10 mail", "MX 20 mail.example.org."), 201, "", "")
	r := s.exchange("mx.example.net.", dns.TypeMX)
	var mx []string
	for _, rr := range r.Answer {
		mx = append(mx, rr.(*dns.MX).Mx)
	}
	if strings.Join(mx, " ") != "mail.example.net. mail.example.org." {
		t.Errorf("MX answers %v", mx)
	}
	s.expect("PUT", names+"quoted", writeToken, records(`TXT "abc ; not a comment"`), 201, "", "")
	if got := s.addr("quoted.example.net.", dns.TypeTXT); got != "abc ; not a comment" {
		t.Errorf("TXT answers %q", got)
	}
	s.expect("PUT", names+"caa", writeToken, records(`CAA 0 issue "ca.example.net; account=1"`), 201, "", "")
	s.expect("PUT", names+"lab", writeToken, records("DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4B6A5B8D2F4C6B3A2E1D0C9B"), 201, "", "")
	if r := s.exchange("lab.example.net.", dns.TypeDS); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeDS {
		t.Errorf("DS at the delegation: %v", r)
	}
	if r := s.exchange("lab.example.net.", dns.TypeA); r.Authoritative || len(r.Ns) == 0 || r.Ns[0].Header().Rrtype != dns.TypeNS {
		t.Errorf("A at the delegation is not a referral: %v", r)
	}
}

// TestConfigBadData: the config file's names are checked as the API's are, against the zone files
// too; what it can hold is served as a zone file would serve it.
func TestConfigBadData(t *testing.T) {
	var big strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&big, `{type: TXT, value: '"%03d%s"'}, `, i, strings.Repeat("x", 240))
	}
	for name, spec := range map[string]string{
		"mail.example.net":  "{records: [{type: CNAME, value: www.example.net.}]}",
		"alias.example.net": "{edge: fra1}",
		"x.lab.example.net": "{edge: fra1}",
		"big.t.example.net": "{records: [" + big.String() + "]}",
		"txt2.example.net":  `{records: [{type: TXT, value: 'abc ; comment'}]}`,
		"ns.t.example.net":  "{records: [{type: NS, value: ns1.example.org.}]}",
		"ds.example.net":    "{records: [{type: DS, value: 12345 8 2 zz}]}",
	} {
		path := filepath.Join(t.TempDir(), "georoute.yaml")
		os.WriteFile(path, []byte(testConfig(t)+"  "+name+": "+spec+"\n"), 0o644)
		g := newGeoRoute(inputs{zones: []string{"testdata/zones"}, config: path})
		err := g.Load()
		if err == nil || !strings.Contains(err.Error(), `names["`+name+`."]`) {
			t.Errorf("%s: %v", name, err)
		}
	}

	g := newTestRoute(t, testConfig(t)+"  mx.example.net: {records: [{type: MX, value: 10 mail}]}\n  bücher.example.net: {edge: fra1}\n")
	r, _ := ask(t, g, "81.2.69.142", new(dns.Msg).SetQuestion("mx.example.net.", dns.TypeMX))
	if len(r.Answer) != 1 || r.Answer[0].(*dns.MX).Mx != "mail.example.net." {
		t.Errorf("MX 10 mail answers %v", r.Answer)
	}
	r, _ = ask(t, g, "81.2.69.142", new(dns.Msg).SetQuestion("xn--bcher-kva.example.net.", dns.TypeA))
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
		t.Errorf("bücher, as punycode, answers %v", r.Answer)
	}
}
