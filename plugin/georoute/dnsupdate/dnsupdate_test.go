package dnsupdate

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// zone is a Zone of records, with names whose A and AAAA records are not fixed (routed).
type zone struct {
	rrs    []dns.RR
	routed map[string]bool
}

func newZone(t testing.TB, text string, routed ...string) *zone {
	z := &zone{routed: map[string]bool{}}
	for _, n := range routed {
		z.routed[n] = true
	}
	zp := dns.NewZoneParser(strings.NewReader(text), "example.net.", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		z.rrs = append(z.rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return z
}

func (z *zone) Types(name string) []uint16 {
	var ts []uint16
	if z.routed[name] {
		ts = []uint16{dns.TypeA, dns.TypeAAAA}
	}
	for _, rr := range z.rrs {
		if strings.EqualFold(rr.Header().Name, name) && !slices.Contains(ts, rr.Header().Rrtype) {
			ts = append(ts, rr.Header().Rrtype)
		}
	}
	return ts
}

func (z *zone) RRSet(name string, t uint16) []dns.RR {
	if z.routed[name] && (t == dns.TypeA || t == dns.TypeAAAA) {
		return nil
	}
	var out []dns.RR
	for _, rr := range z.rrs {
		if strings.EqualFold(rr.Header().Name, name) && rr.Header().Rrtype == t {
			out = append(out, rr)
		}
	}
	return out
}

const data = `
@    3600 IN SOA ns1 hostmaster 7 7200 3600 1209600 300
@    3600 IN NS  ns1
@    3600 IN NS  ns2
@    3600 IN MX  10 mail
ns1  3600 IN A   192.0.2.53
ns2  3600 IN A   198.51.100.53
mail 300  IN A   192.0.2.25
mail 300  IN A   192.0.2.26
mail 300  IN TXT "v=1"
api  300  IN CNAME www
`

// rr parses one record of example.net.
func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(s), "example.net.", "")
	r, ok := zp.Next()
	if !ok {
		t.Fatalf("%q: %v", s, zp.Err())
	}
	return r
}

// none is a record without data, of class c: what deletions and prerequisites on sets hold.
func none(name string, t uint16, c uint16) dns.RR {
	return &dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: t, Class: c}}
}

// wire is m as the server reads it: packed by the client, unpacked here.
func wire(t testing.TB, m *dns.Msg) *dns.Msg {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := new(dns.Msg)
	if err := out.Unpack(b); err != nil {
		t.Fatal(err)
	}
	return out
}

// sets writes a result's sets as "name TYPE: rdata ttl, ..." lines, each RRset's records sorted.
func sets(res Result) []string {
	var out []string
	for _, s := range res.Sets {
		var vals []string
		for _, r := range s.RRs {
			vals = append(vals, strings.TrimPrefix(r.String(), r.Header().String())+" "+strconv.Itoa(int(r.Header().Ttl)))
			if r.Header().Class != dns.ClassINET || r.Header().Name != s.Name {
				vals = append(vals, "BAD HEADER "+r.Header().String())
			}
		}
		slices.Sort(vals)
		out = append(out, s.Name+" "+dns.TypeToString[s.Type]+": "+strings.Join(vals, ", "))
	}
	return out
}

func TestUpdate(t *testing.T) {
	const (
		in   = dns.ClassINET
		any_ = dns.ClassANY
		nada = dns.ClassNONE
	)
	for _, tc := range []struct {
		name    string
		prereq  []dns.RR
		update  []dns.RR
		rcode   int
		sets    []string
		ignored int
	}{
		// Additions.
		{name: "add a name", update: []dns.RR{rr(t, "new 60 IN A 192.0.2.1"), rr(t, "new 60 IN A 192.0.2.2")},
			sets: []string{"new.example.net. A: 192.0.2.1 60, 192.0.2.2 60"}},
		{name: "add to an RRset: it takes the new TTL", update: []dns.RR{rr(t, "mail 60 IN A 192.0.2.27")},
			sets: []string{"mail.example.net. A: 192.0.2.25 60, 192.0.2.26 60, 192.0.2.27 60"}},
		{name: "a record again: its TTL replaced", update: []dns.RR{rr(t, "mail 300 IN A 192.0.2.25")}},
		{name: "a record again with another TTL", update: []dns.RR{rr(t, "MAIL.example.net. 30 IN A 192.0.2.25")},
			sets: []string{"mail.example.net. A: 192.0.2.25 30, 192.0.2.26 30"}},
		{name: "a CNAME beside other data is ignored", update: []dns.RR{rr(t, "mail 60 IN CNAME www")}, ignored: 1},
		{name: "data beside a CNAME is ignored", update: []dns.RR{rr(t, "api 60 IN TXT x")}, ignored: 1},
		{name: "a CNAME replaces the CNAME", update: []dns.RR{rr(t, "api 60 IN CNAME mail")},
			sets: []string{"api.example.net. CNAME: mail.example.net. 60"}},
		{name: "an older SOA is ignored", update: []dns.RR{rr(t, "@ 3600 IN SOA ns1 hostmaster 6 1 1 1 1")}, ignored: 1},
		{name: "a newer SOA replaces it", update: []dns.RR{rr(t, "@ 3600 IN SOA ns1 hostmaster 8 1 1 1 1")},
			sets: []string{"example.net. SOA: ns1.example.net. hostmaster.example.net. 8 1 1 1 1 3600"}},
		{name: "addresses of a routed name change it", update: []dns.RR{rr(t, "www 60 IN A 192.0.2.1")},
			sets: []string{"www.example.net. A: 192.0.2.1 60"}},

		// Deletions.
		{name: "delete an RR", update: []dns.RR{func() dns.RR { r := rr(t, "mail 0 IN A 192.0.2.25"); r.Header().Class = nada; return r }()},
			sets: []string{"mail.example.net. A: 192.0.2.26 300"}},
		{name: "delete an RR that is not there", update: []dns.RR{func() dns.RR { r := rr(t, "mail 0 IN A 192.0.2.99"); r.Header().Class = nada; return r }()}},
		{name: "delete an RRset", update: []dns.RR{none("mail.example.net.", dns.TypeA, any_)}, sets: []string{"mail.example.net. A: "}},
		{name: "delete an RRset that is not there", update: []dns.RR{none("mail.example.net.", dns.TypeMX, any_)}},
		{name: "delete a name", update: []dns.RR{none("mail.example.net.", dns.TypeANY, any_)},
			sets: []string{"mail.example.net. A: ", "mail.example.net. TXT: "}},
		{name: "delete a routed name", update: []dns.RR{none("www.example.net.", dns.TypeANY, any_)},
			sets: []string{"www.example.net. A: ", "www.example.net. AAAA: "}},
		{name: "delete the apex: its SOA and NS stay", update: []dns.RR{none("example.net.", dns.TypeANY, any_)},
			sets: []string{"example.net. MX: "}},
		{name: "delete the apex NS RRset: ignored", update: []dns.RR{none("example.net.", dns.TypeNS, any_)}, ignored: 1},
		{name: "delete the apex SOA: ignored", update: []dns.RR{none("example.net.", dns.TypeSOA, any_)}, ignored: 1},
		{name: "delete one apex NS", update: []dns.RR{func() dns.RR { r := rr(t, "@ 0 IN NS ns2"); r.Header().Class = nada; return r }()},
			sets: []string{"example.net. NS: ns1.example.net. 3600"}},
		{name: "delete both apex NS: the last stays", update: []dns.RR{
			func() dns.RR { r := rr(t, "@ 0 IN NS ns2"); r.Header().Class = nada; return r }(),
			func() dns.RR { r := rr(t, "@ 0 IN NS ns1"); r.Header().Class = nada; return r }()},
			sets: []string{"example.net. NS: ns1.example.net. 3600"}, ignored: 1},

		// In order: a replacement is a deletion then an addition; a CNAME after its name's data is deleted.
		{name: "replace an RRset", update: []dns.RR{none("mail.example.net.", dns.TypeA, any_), rr(t, "mail 60 IN A 192.0.2.30")},
			sets: []string{"mail.example.net. A: 192.0.2.30 60"}},
		{name: "a name becomes a CNAME", update: []dns.RR{none("mail.example.net.", dns.TypeANY, any_), rr(t, "mail 60 IN CNAME www")},
			sets: []string{"mail.example.net. A: ", "mail.example.net. TXT: ", "mail.example.net. CNAME: www.example.net. 60"}},
		{name: "added then deleted: no change", update: []dns.RR{rr(t, "new 60 IN TXT x"), none("new.example.net.", dns.TypeTXT, any_)}},

		// Prerequisites.
		{name: "yxdomain holds", prereq: []dns.RR{none("mail.example.net.", dns.TypeANY, any_)}},
		{name: "yxdomain fails", prereq: []dns.RR{none("nope.example.net.", dns.TypeANY, any_)}, rcode: dns.RcodeNameError},
		{name: "a routed name is in use", prereq: []dns.RR{none("www.example.net.", dns.TypeANY, any_)}},
		{name: "nxdomain holds", prereq: []dns.RR{none("nope.example.net.", dns.TypeANY, nada)}},
		{name: "nxdomain fails", prereq: []dns.RR{none("mail.example.net.", dns.TypeANY, nada)}, rcode: dns.RcodeYXDomain},
		{name: "yxrrset holds", prereq: []dns.RR{none("mail.example.net.", dns.TypeTXT, any_)}},
		{name: "yxrrset of a routed name's addresses holds", prereq: []dns.RR{none("www.example.net.", dns.TypeAAAA, any_)}},
		{name: "yxrrset fails", prereq: []dns.RR{none("mail.example.net.", dns.TypeMX, any_)}, rcode: dns.RcodeNXRrset},
		{name: "nxrrset holds", prereq: []dns.RR{none("mail.example.net.", dns.TypeMX, nada)}},
		{name: "nxrrset fails", prereq: []dns.RR{none("mail.example.net.", dns.TypeA, nada)}, rcode: dns.RcodeYXRrset},
		{name: "value-dependent holds, in any order and TTL", prereq: []dns.RR{rr(t, "mail 0 IN A 192.0.2.26"), rr(t, "mail 0 IN A 192.0.2.25")}},
		{name: "value-dependent fails on a missing value", prereq: []dns.RR{rr(t, "mail 0 IN A 192.0.2.25")}, rcode: dns.RcodeNXRrset},
		{name: "value-dependent fails on an extra value", prereq: []dns.RR{rr(t, "mail 0 IN A 192.0.2.25"), rr(t, "mail 0 IN A 192.0.2.26"), rr(t, "mail 0 IN A 192.0.2.27")}, rcode: dns.RcodeNXRrset},
		{name: "value-dependent on a routed name's addresses fails", prereq: []dns.RR{rr(t, "www 0 IN A 192.0.2.1")}, rcode: dns.RcodeNXRrset},
		{name: "a failed prerequisite: nothing changes", prereq: []dns.RR{none("mail.example.net.", dns.TypeANY, nada)},
			update: []dns.RR{rr(t, "new 60 IN A 192.0.2.1")}, rcode: dns.RcodeYXDomain},
		{name: "prerequisites are of the zone before the update", prereq: []dns.RR{none("new.example.net.", dns.TypeANY, nada)},
			update: []dns.RR{rr(t, "new 60 IN A 192.0.2.1"), rr(t, "new 60 IN TXT x")}, sets: []string{"new.example.net. A: 192.0.2.1 60", "new.example.net. TXT: \"x\" 60"}},

		// Malformed.
		{name: "a prerequisite with a TTL", prereq: []dns.RR{func() dns.RR { r := none("mail.example.net.", dns.TypeA, any_); r.Header().Ttl = 1; return r }()}, rcode: dns.RcodeFormatError},
		{name: "a prerequisite outside the zone", prereq: []dns.RR{none("mail.example.org.", dns.TypeANY, any_)}, rcode: dns.RcodeNotZone},
		{name: "a prerequisite of class CH", prereq: []dns.RR{none("mail.example.net.", dns.TypeA, dns.ClassCHAOS)}, rcode: dns.RcodeFormatError},
		{name: "a prerequisite ANY with data", prereq: []dns.RR{func() dns.RR { r := rr(t, "mail 0 IN A 192.0.2.25"); r.Header().Class = any_; return r }()}, rcode: dns.RcodeFormatError},
		{name: "a prerequisite of type AXFR", prereq: []dns.RR{none("mail.example.net.", dns.TypeAXFR, any_)}, rcode: dns.RcodeFormatError},
		{name: "an update outside the zone", update: []dns.RR{rr(t, "x.example.org. 60 IN A 192.0.2.1")}, rcode: dns.RcodeNotZone},
		{name: "an update of a meta type", update: []dns.RR{none("mail.example.net.", dns.TypeAXFR, any_)}, rcode: dns.RcodeFormatError},
		{name: "a deletion with a TTL", update: []dns.RR{func() dns.RR { r := none("mail.example.net.", dns.TypeA, any_); r.Header().Ttl = 5; return r }()}, rcode: dns.RcodeFormatError},
		{name: "a deletion of class ANY with data", update: []dns.RR{func() dns.RR { r := rr(t, "mail 0 IN A 192.0.2.25"); r.Header().Class = any_; return r }()}, rcode: dns.RcodeFormatError},
		{name: "an update of class CH", update: []dns.RR{func() dns.RR { r := rr(t, "mail 60 IN A 192.0.2.25"); r.Header().Class = dns.ClassCHAOS; return r }()}, rcode: dns.RcodeFormatError},
		{name: "a malformed update after a good one: nothing changes", update: []dns.RR{rr(t, "new 60 IN A 192.0.2.1"), none("mail.example.net.", dns.TypeMAILA, any_)}, rcode: dns.RcodeFormatError},
	} {
		m := new(dns.Msg)
		m.SetUpdate("example.net.")
		m.Answer, m.Ns = tc.prereq, tc.update
		res := Update("example.net.", wire(t, m), newZone(t, data, "www.example.net."))
		got := sets(res)
		if res.Rcode != tc.rcode || !slices.Equal(got, tc.sets) || len(res.Ignored) != tc.ignored {
			t.Errorf("%s: got %s %q, %d ignored %q (%s); want %s %q, %d ignored", tc.name, dns.RcodeToString[res.Rcode], got, len(res.Ignored), res.Ignored, res.Reason,
				dns.RcodeToString[tc.rcode], tc.sets, tc.ignored)
		}
		if res.Rcode != dns.RcodeSuccess && (res.Reason == "" || len(res.Sets) > 0) {
			t.Errorf("%s: a refusal needs a reason and no sets: %+v", tc.name, res)
		}
	}
}

func TestUpdateNames(t *testing.T) {
	m := new(dns.Msg)
	m.SetUpdate("example.net.")
	m.Answer = []dns.RR{none("Mail.Example.Net.", dns.TypeANY, dns.ClassANY), none("nope.example.net.", dns.TypeA, dns.ClassNONE)}
	m.Ns = []dns.RR{rr(t, "new 60 IN A 192.0.2.1"), rr(t, "mail 60 IN A 192.0.2.1")}
	res := Update("example.net.", wire(t, m), newZone(t, data))
	if want := []string{"mail.example.net.", "nope.example.net.", "new.example.net."}; !slices.Equal(res.Names, want) {
		t.Errorf("names read: %q, want %q", res.Names, want)
	}
}

func TestUpdateZoneSection(t *testing.T) {
	m := new(dns.Msg)
	m.SetUpdate("example.net.")
	m.Question[0].Qtype = dns.TypeA
	if res := Update("example.net.", wire(t, m), newZone(t, data)); res.Rcode != dns.RcodeFormatError {
		t.Errorf("a zone section of type A: %s", dns.RcodeToString[res.Rcode])
	}
	m.Question[0].Qtype = dns.TypeSOA
	for i := 0; i <= MaxRecords; i++ {
		m.Ns = append(m.Ns, rr(t, "new 60 IN TXT x"))
	}
	if res := Update("example.net.", m, newZone(t, data)); res.Rcode != dns.RcodeRefused {
		t.Errorf("%d records: %s", len(m.Ns), dns.RcodeToString[res.Rcode])
	}
}

func TestGrant(t *testing.T) {
	const zone = "example.net."
	for _, tc := range []struct {
		g     Grant
		zone  string
		name  string
		t     uint16
		allow bool
	}{
		{Grant{}, zone, "anything.example.net.", dns.TypeMX, true},
		{Grant{Zones: []string{"example.org."}}, zone, "www.example.net.", dns.TypeA, false},
		{Grant{Zones: []string{zone}}, zone, "www.example.net.", dns.TypeA, true},
		{Grant{Types: []uint16{dns.TypeTXT}}, zone, "www.example.net.", dns.TypeA, false},
		{Grant{Types: []uint16{dns.TypeTXT}}, zone, "www.example.net.", dns.TypeTXT, true},
		{Grant{Types: []uint16{dns.TypeTXT}}, zone, "www.example.net.", dns.TypeANY, true}, // each type deleted is checked too
		{Grant{Names: []string{"_acme-challenge"}}, zone, "_acme-challenge.example.net.", dns.TypeTXT, true},
		{Grant{Names: []string{"_acme-challenge"}}, zone, "x._acme-challenge.example.net.", dns.TypeTXT, false},
		{Grant{Names: []string{"*._acme-challenge"}}, zone, "x._acme-challenge.example.net.", dns.TypeTXT, true},
		{Grant{Names: []string{"*._acme-challenge"}}, zone, "_acme-challenge.example.net.", dns.TypeTXT, false},
		{Grant{Names: []string{"*.t.example.net."}}, zone, "*.t.example.net.", dns.TypeA, true},
		{Grant{Names: []string{"*.t.example.net."}}, zone, "a.b.t.example.net.", dns.TypeA, true},
		{Grant{Names: []string{"*.t.example.net."}}, zone, "t.example.net.", dns.TypeA, false},
		{Grant{Names: []string{"@"}}, zone, "example.net.", dns.TypeMX, true},
		{Grant{Names: []string{"@"}}, zone, "www.example.net.", dns.TypeMX, false},
		{Grant{Names: []string{"*"}}, zone, "example.net.", dns.TypeMX, true},
		{Grant{Names: []string{"www.example.org."}}, zone, "www.example.net.", dns.TypeA, false},
	} {
		if got := tc.g.Allows(tc.zone, tc.name, tc.t); got != tc.allow {
			t.Errorf("%+v allows %s %s in %s: %v, want %v", tc.g, tc.name, dns.TypeToString[tc.t], tc.zone, got, tc.allow)
		}
	}
}
