package model

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestRecordRelativeNames: a relative name in a value is relative to the zone the name is in, as
// in a zone file, not to the root.
func TestRecordRelativeNames(t *testing.T) {
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{Type: "MX", Value: "10 mail"}, "10 mail.example.net."},
		{Record{Type: "CNAME", Value: "web.eu"}, "web.eu.example.net."},
		{Record{Type: "CNAME", Value: "@"}, "example.net."},
		{Record{Type: "SRV", Value: "10 5 5060 sip"}, "10 5 5060 sip.example.net."},
		{Record{Type: "MX", Value: "10 mail.example.org."}, "10 mail.example.org."},
		{Record{Type: "HTTPS", Value: "1 . port=8443 alpn=h2"}, `1 . alpn="h2" port="8443"`}, // as DNS sends it
	} {
		rr, err := tc.r.RR("x.example.net.", "example.net.")
		if err != nil {
			t.Errorf("%s %s: %v", tc.r.Type, tc.r.Value, err)
			continue
		}
		if got := strings.TrimPrefix(rr.String(), rr.Header().String()); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.r.Type, tc.r.Value, got, tc.want)
		}
	}
}

// TestNameIDNA: a name in UTF-8 is written in its punycode form where names are normalized, and
// refused with that form where they are not.
func TestNameIDNA(t *testing.T) {
	if got := CanonicalName("Bücher.Example.net"); got != "xn--bcher-kva.example.net." {
		t.Errorf("CanonicalName = %q", got)
	}
	if got := CanonicalName("_dmarc.WWW.example.net"); got != "_dmarc.www.example.net." {
		t.Errorf("CanonicalName of an ASCII name = %q", got)
	}
	err := CheckName("bücher.example.net.")
	if err == nil || !strings.Contains(err.Error(), "xn--bcher-kva.example.net.") {
		t.Errorf("CheckName(bücher) = %v, want the punycode form in the message", err)
	}
	c := Config{Edges: map[string]Edge{"fra1": {Addresses: []string{"192.0.2.1"}}}, Names: map[string]Name{"bücher.example.net": {Edge: "fra1"}}}
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Names["xn--bcher-kva.example.net."]; !ok {
		t.Errorf("names %v", c.Names)
	}
}

// FuzzRecord: any type and value either fails validation or is a record that packs and reads back
// to itself, whose presentation (what a listing shows) reads back to it too.
func FuzzRecord(f *testing.F) {
	for _, seed := range [][2]string{
		{"A", "192.0.2.1"}, {"AAAA", "2001:db8::1"}, {"CNAME", "www"}, {"TXT", `"a b" c\;d`}, {"TXT", "abc ; x"},
		{"MX", "10 mail"}, {"SRV", "0 5 443 @"}, {"CAA", `0 issue "ca.example.net; account=1"`}, {"CAA", `0 bad-tag! "x"`},
		{"NS", "ns1.example.org."}, {"PTR", "host"}, {"HTTPS", `1 . alpn=h2,h3 ech="AEX+DQ=="`}, {"SVCB", "0 svc"},
		{"DS", "12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4B6A5B8D2F4C6B3A2E1D0C9B"}, {"DS", "12345 8 2 zz"},
		{"SSHFP", "1 1 123456789abcdef67890123456789abcdef67890"}, {"SSHFP", "1 1 xyz"},
		{"TLSA", "3 1 1 0123456789abcdef"}, {"TLSA", "3 1 1 nothex"}, {"TXT", `\# 3 026869`}, {"A", `( 192.0.2.1 )`},
	} {
		f.Add(seed[0], seed[1], uint32(0))
	}
	f.Fuzz(func(t *testing.T, typ, value string, ttl uint32) {
		r := Record{Type: strings.ToUpper(strings.TrimSpace(typ)), TTL: ttl, Value: value}
		rr, err := r.RR("www.example.net.", "example.net.")
		if err != nil {
			return
		}
		h := rr.Header()
		if h.Name != "www.example.net." || h.Rrtype != StaticTypes[r.Type] || h.Class != dns.ClassINET {
			t.Fatalf("%s %q is %s", r.Type, value, rr)
		}
		buf := make([]byte, dns.MaxMsgSize)
		off, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatalf("%s %q: %s does not pack: %v", r.Type, value, rr, err)
		}
		back, _, err := dns.UnpackRR(buf[:off], 0)
		if err != nil || back.String() != rr.String() {
			t.Fatalf("%s %q: %s reads back as %v (%v)", r.Type, value, rr, back, err)
		}
		listed := Record{Type: r.Type, TTL: h.Ttl, Value: strings.TrimPrefix(rr.String(), h.String())}
		again, err := listed.RR("www.example.net.", "example.net.")
		if err != nil || again.String() != rr.String() {
			t.Fatalf("%s %q: listed as %q, which reads back as %v (%v)", r.Type, value, listed.Value, again, err)
		}
	})
}
