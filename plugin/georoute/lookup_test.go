package georoute

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

var (
	soaNet = test.SOA("example.net. 3600 IN SOA ns1.example.net. hostmaster.example.net. 2026112201 7200 3600 1209600 300")
	// Negative answers carry the SOA with the TTL a resolver may cache them: min(TTL, minimum).
	soaNeg = test.SOA("example.net. 300 IN SOA ns1.example.net. hostmaster.example.net. 2026112201 7200 3600 1209600 300")
	nsNet  = []dns.RR{test.NS("example.net. 3600 IN NS ns1.example.net."), test.NS("example.net. 3600 IN NS ns2.example.net.")}
)

// TestAuthoritative checks the answers of an authoritative server: static and routed names, NODATA
// and NXDOMAIN with the SOA, empty non-terminals, CNAMEs, wildcards of both kinds, delegation,
// ANY (RFC 8482), and names outside the zones. The client (10.240.0.1) is unknown to GeoIP, so
// routed names answer their pool's first edge, fra1.
func TestAuthoritative(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	fra1 := "192.0.2.10"
	tests := []struct {
		name string
		test.Case
		aa bool
	}{
		{"static A", test.Case{Qname: "static.example.net.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("static.example.net. 3600 IN A 192.0.2.80")}, Ns: nsNet}, true},
		{"static NODATA", test.Case{Qname: "static.example.net.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soaNeg}}, true},
		{"NXDOMAIN", test.Case{Qname: "nope.example.net.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soaNeg}}, true},
		{"NXDOMAIN below a name", test.Case{Qname: "x.static.example.net.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soaNeg}}, true},
		{"empty non-terminal in the zone file", test.Case{Qname: "ent.example.net.", Qtype: dns.TypeA, Ns: []dns.RR{soaNeg}}, true},
		{"apex SOA", test.Case{Qname: "example.net.", Qtype: dns.TypeSOA, Answer: []dns.RR{soaNet}, Ns: nsNet}, true},
		{"apex NS with glue", test.Case{Qname: "example.net.", Qtype: dns.TypeNS, Answer: nsNet,
			Extra: []dns.RR{test.A("ns1.example.net. 3600 IN A 192.0.2.53"), test.A("ns2.example.net. 3600 IN A 192.0.2.54")}}, true},
		{"apex MX beside a routed apex", test.Case{Qname: "example.net.", Qtype: dns.TypeMX,
			Answer: []dns.RR{test.MX("example.net. 3600 IN MX 10 mail.example.net.")}, Ns: nsNet,
			Extra: []dns.RR{test.A("mail.example.net. 3600 IN A 192.0.2.25")}}, true},
		{"routed apex", test.Case{Qname: "example.net.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.net. 30 IN A " + fra1)}}, true},
		{"routed A", test.Case{Qname: "www.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("www.example.net. 30 IN A " + fra1)}}, true},
		{"routed AAAA", test.Case{Qname: "www.example.net.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("www.example.net. 30 IN AAAA 2001:db8:f::1")}}, true},
		{"static TXT beside a routed name", test.Case{Qname: "www.example.net.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`www.example.net. 3600 IN TXT "static beside routed"`)}, Ns: nsNet}, true},
		{"routed name, type it lacks", test.Case{Qname: "www.example.net.", Qtype: dns.TypeMX, Ns: []dns.RR{soaNeg}}, true},
		{"routed pool without IPv6", test.Case{Qname: "v4only.example.net.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soaNeg}}, true},
		{"routed name, CNAME type", test.Case{Qname: "v4only.example.net.", Qtype: dns.TypeCNAME, Ns: []dns.RR{soaNeg}}, true},
		{"zone CNAME to a routed name", test.Case{Qname: "api.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("api.example.net. 3600 IN CNAME www.example.net."), test.A("www.example.net. 30 IN A " + fra1)}}, true},
		{"zone CNAME asked as CNAME", test.Case{Qname: "api.example.net.", Qtype: dns.TypeCNAME, Answer: []dns.RR{
			test.CNAME("api.example.net. 3600 IN CNAME www.example.net.")}, Ns: nsNet}, true},
		{"zone CNAME in the zone", test.Case{Qname: "alias.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("alias.example.net. 3600 IN CNAME mail.example.net."), test.A("mail.example.net. 3600 IN A 192.0.2.25")}, Ns: nsNet}, true},
		{"zone CNAME to another zone served here", test.Case{Qname: "other.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("other.example.net. 3600 IN CNAME www.example.org."), test.A("www.example.org. 3600 IN A 192.0.2.100")}, Ns: nsNet}, true},
		{"zone CNAME out of our zones", test.Case{Qname: "out.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("out.example.net. 3600 IN CNAME www.example.com.")}}, true},
		{"zone wildcard", test.Case{Qname: "x.dev.example.net.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("x.dev.example.net. 3600 IN A 192.0.2.81")}, Ns: nsNet}, true},
		{"zone wildcard NODATA", test.Case{Qname: "x.dev.example.net.", Qtype: dns.TypeTXT, Ns: []dns.RR{soaNeg}}, true},
		{"routed wildcard", test.Case{Qname: "abc.t.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("abc.t.example.net. 30 IN A " + fra1)}}, true},
		{"routed wildcard, deeper name", test.Case{Qname: "x.abc.t.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("x.abc.t.example.net. 30 IN A " + fra1)}}, true},
		{"pinned name beats the wildcard", test.Case{Qname: "k3x9.t.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("k3x9.t.example.net. 10 IN A 203.0.113.20")}}, true},
		{"pinned edge without IPv6", test.Case{Qname: "k3x9.t.example.net.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soaNeg}}, true},
		{"zone name under a routed wildcard: no wildcard", test.Case{Qname: "info.t.example.net.", Qtype: dns.TypeA, Ns: []dns.RR{soaNeg}}, true},
		{"zone name under a routed wildcard: its data", test.Case{Qname: "info.t.example.net.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`info.t.example.net. 3600 IN TXT "tunnel docs"`)}, Ns: nsNet}, true},
		{"wildcard owner itself", test.Case{Qname: "*.t.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("*.t.example.net. 30 IN A " + fra1)}}, true},
		{"empty non-terminal of routed names", test.Case{Qname: "t.example.net.", Qtype: dns.TypeA, Ns: []dns.RR{soaNeg}}, true},
		{"empty non-terminal of a pinned name", test.Case{Qname: "b.c.example.net.", Qtype: dns.TypeA, Ns: []dns.RR{soaNeg}}, true},
		{"below an empty non-terminal: NXDOMAIN", test.Case{Qname: "x.c.example.net.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soaNeg}}, true},
		{"deep pinned name", test.Case{Qname: "a.b.c.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("a.b.c.example.net. 30 IN A " + fra1)}}, true},
		{"config records", test.Case{Qname: "txt.example.net.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.TXT(`txt.example.net. 60 IN TXT "hello"`)}}, true},
		{"config records NODATA", test.Case{Qname: "txt.example.net.", Qtype: dns.TypeA, Ns: []dns.RR{soaNeg}}, true},
		{"config CNAME to a routed name", test.Case{Qname: "cn.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("cn.example.net. 300 IN CNAME www.example.net."), test.A("www.example.net. 30 IN A " + fra1)}}, true},
		{"config CNAME to a zone name", test.Case{Qname: "cnorg.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("cnorg.example.net. 300 IN CNAME www.example.org."), test.A("www.example.org. 3600 IN A 192.0.2.100")},
			Ns: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")}}, true},
		{"delegation", test.Case{Qname: "host.lab.example.net.", Qtype: dns.TypeA,
			Ns: []dns.RR{test.NS("lab.example.net. 3600 IN NS ns.lab.example.net.")}, Extra: []dns.RR{test.A("ns.lab.example.net. 3600 IN A 192.0.2.90")}}, false},
		{"delegation point", test.Case{Qname: "lab.example.net.", Qtype: dns.TypeA,
			Ns: []dns.RR{test.NS("lab.example.net. 3600 IN NS ns.lab.example.net.")}, Extra: []dns.RR{test.A("ns.lab.example.net. 3600 IN A 192.0.2.90")}}, false},
		{"ANY on a routed name", test.Case{Qname: "www.example.net.", Qtype: dns.TypeANY, Answer: []dns.RR{test.HINFO("www.example.net. 8482 IN HINFO RFC8482 \"\"")}}, true},
		{"ANY on a zone name", test.Case{Qname: "static.example.net.", Qtype: dns.TypeANY, Answer: []dns.RR{test.HINFO("static.example.net. 8482 IN HINFO RFC8482 \"\"")}}, true},
		{"ANY on a zone wildcard", test.Case{Qname: "q.dev.example.net.", Qtype: dns.TypeANY, Answer: []dns.RR{test.HINFO("q.dev.example.net. 8482 IN HINFO RFC8482 \"\"")}}, true},
		{"ANY on nothing", test.Case{Qname: "nope.example.net.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Ns: []dns.RR{soaNeg}}, true},
		// RFC 8482 section 4.2: at a CNAME, ANY gets the CNAME, not the synthesized HINFO.
		{"ANY at a zone file's CNAME", test.Case{Qname: "api.example.net.", Qtype: dns.TypeANY, Answer: []dns.RR{test.CNAME("api.example.net. 3600 IN CNAME www.example.net.")}}, true},
		{"ANY at a config CNAME", test.Case{Qname: "cn.example.net.", Qtype: dns.TypeANY, Answer: []dns.RR{test.CNAME("cn.example.net. 300 IN CNAME www.example.net.")}}, true},
		{"second zone", test.Case{Qname: "www.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("www.example.org. 3600 IN A 192.0.2.100")},
			Ns: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")}}, true},
		{"mixed case keeps the asked case", test.Case{Qname: "WwW.ExAmPlE.NeT.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("WwW.ExAmPlE.NeT. 30 IN A " + fra1)}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, rcode := ask(t, g, "10.240.0.1", tc.Msg())
			if m == nil {
				t.Fatalf("no reply written (ServeDNS returned %s)", dns.RcodeToString[rcode])
			}
			if err := test.SortAndCheck(m, tc.Case); err != nil {
				t.Errorf("%v\n%v", err, m)
			}
			if m.Authoritative != tc.aa {
				t.Errorf("AA = %v, want %v", m.Authoritative, tc.aa)
			}
		})
	}
}

// TestCNAMELoop: a wildcard CNAME to a name it covers, and two CNAMEs to each other, answer the
// chain up to where it repeats (NOERROR, as BIND and Knot do), not SERVFAIL.
func TestCNAMELoop(t *testing.T) {
	g := newTestRoute(t, testConfig(t)+`
  "*.loop.example.net": {records: [{type: CNAME, value: x.loop.example.net.}]}
  a.ring.example.net: {records: [{type: CNAME, value: b.ring.example.net.}]}
  b.ring.example.net: {records: [{type: CNAME, value: a.ring.example.net.}]}
`)
	for _, tc := range []test.Case{
		{Qname: "q.loop.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("q.loop.example.net. 300 IN CNAME x.loop.example.net."),
			test.CNAME("x.loop.example.net. 300 IN CNAME x.loop.example.net.")}},
		{Qname: "a.ring.example.net.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("a.ring.example.net. 300 IN CNAME b.ring.example.net."),
			test.CNAME("b.ring.example.net. 300 IN CNAME a.ring.example.net.")}},
	} {
		m, _ := ask(t, g, london, tc.Msg())
		if m == nil {
			t.Fatalf("%s: no reply", tc.Qname)
		}
		if err := test.SortAndCheck(m, tc); err != nil {
			t.Errorf("%s: %v\n%v", tc.Qname, err, m)
		}
	}
}

func TestRefused(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	for _, tc := range []struct {
		qname string
		qtype uint16
		want  int
	}{
		{"www.example.com.", dns.TypeA, dns.RcodeRefused},
		{"example.", dns.TypeSOA, dns.RcodeRefused},
		{"example.net.", dns.TypeAXFR, dns.RcodeRefused},
		{"example.net.", dns.TypeIXFR, dns.RcodeRefused},
	} {
		m := new(dns.Msg)
		m.SetQuestion(tc.qname, tc.qtype)
		reply, rcode := ask(t, g, "10.240.0.1", m)
		if reply != nil || rcode != tc.want {
			t.Errorf("%s %s: rcode %s (wrote %v), want %s left to the server to write", tc.qname, dns.TypeToString[tc.qtype], dns.RcodeToString[rcode], reply != nil, dns.RcodeToString[tc.want])
		}
	}
	m := new(dns.Msg)
	m.SetUpdate("example.net.")
	if _, rcode := ask(t, g, "10.240.0.1", m); rcode != dns.RcodeNotImplemented {
		t.Errorf("UPDATE: rcode %s, want NOTIMP", dns.RcodeToString[rcode])
	}
}

func TestFallthrough(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	g.Fall.SetZonesFromArgs(nil)
	g.Next = test.NextHandler(dns.RcodeBadCookie, nil)
	if _, rcode := ask(t, g, london, new(dns.Msg).SetQuestion("www.example.com.", dns.TypeA)); rcode != dns.RcodeBadCookie {
		t.Errorf("outside the zones with fallthrough: rcode %s, want the next plugin's", dns.RcodeToString[rcode])
	}
	// Inside the zones, fallthrough changes nothing: NXDOMAIN is ours to give.
	if m, _ := ask(t, g, london, new(dns.Msg).SetQuestion("nope.example.net.", dns.TypeA)); m == nil || m.Rcode != dns.RcodeNameError {
		t.Errorf("inside the zones with fallthrough: %v", m)
	}
}
