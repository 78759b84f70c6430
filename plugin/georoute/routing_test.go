package georoute

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// addresses returns the A/AAAA values of an answer, in order.
func addresses(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch x := rr.(type) {
		case *dns.A:
			out = append(out, x.A.String())
		case *dns.AAAA:
			out = append(out, x.AAAA.String())
		}
	}
	return out
}

// TestNearestEdge: clients on every continent get their nearest edge, by source address and by
// EDNS Client Subnet, with both GeoIP schemas.
func TestNearestEdge(t *testing.T) {
	tests := []struct {
		client string
		qname  string
		qtype  uint16
		want   string
	}{
		{london, "www.example.net.", dns.TypeA, "192.0.2.10"},       // fra1
		{frankfurt, "www.example.net.", dns.TypeA, "192.0.2.10"},    // fra1
		{mtnView, "www.example.net.", dns.TypeA, "198.51.100.10"},   // iad1
		{saoPaulo, "www.example.net.", dns.TypeA, "203.0.113.10"},   // gru1
		{singapore, "www.example.net.", dns.TypeA, "203.0.113.20"},  // sin1
		{tokyo, "www.example.net.", dns.TypeA, "203.0.113.21"},      // nrt1
		{sydney, "www.example.net.", dns.TypeA, "203.0.113.30"},     // syd1
		{sydney, "www.example.net.", dns.TypeAAAA, "2001:db8:5::1"}, // syd1
		{london6, "www.example.net.", dns.TypeAAAA, "2001:db8:f::1"},
		{sydney6, "www.example.net.", dns.TypeAAAA, "2001:db8:5::1"},
		{sydney6, "www.example.net.", dns.TypeA, "203.0.113.30"},
		// Singapore has no IPv6 edge: the nearest that has one.
		{singapore, "www.example.net.", dns.TypeAAAA, "2001:db8:e::1"}, // nrt1
		// Unknown to GeoIP: the pool's first edge.
		{unknown, "www.example.net.", dns.TypeA, "192.0.2.10"},
		{tokyo, "anything.t.example.net.", dns.TypeA, "203.0.113.21"},
	}
	for schema, files := range schemas {
		g := newTestRoute(t, testConfig(t), files...)
		for _, tc := range tests {
			for _, how := range []string{"source", "ecs"} {
				m := new(dns.Msg)
				m.SetQuestion(tc.qname, tc.qtype)
				from := tc.client
				if how == "ecs" {
					bits := uint8(32)
					if strings.Contains(tc.client, ":") {
						bits = 128
					}
					withECS(m, tc.client, bits)
					from = "10.240.0.1"
				}
				reply, _ := ask(t, g, from, m)
				if got := addresses(reply); len(got) != 1 || got[0] != tc.want {
					t.Errorf("%s, %s by %s, %s: answered %v, want %s", schema, tc.client, how, dns.TypeToString[tc.qtype], got, tc.want)
				}
			}
		}
	}
}

// TestAnswersInOrder: a pool with answers: 3 gives the best three, best first.
func TestAnswersInOrder(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	tests := []struct {
		client string
		qtype  uint16
		want   []string
	}{
		// From London: Frankfurt 0.6k km, Ashburn 5.9k, Sao Paulo 9.5k (Tokyo 9.6k next).
		{london, dns.TypeA, []string{"192.0.2.10", "198.51.100.10", "203.0.113.10"}},
		// IPv6: only fra1, iad1, nrt1 and syd1 have it.
		{london, dns.TypeAAAA, []string{"2001:db8:f::1", "2001:db8:a::1", "2001:db8:e::1"}},
		// From Sydney: Sydney, Singapore 6.3k, Tokyo 7.8k.
		{sydney, dns.TypeA, []string{"203.0.113.30", "203.0.113.20", "203.0.113.21"}},
	}
	for _, tc := range tests {
		m := new(dns.Msg)
		m.SetQuestion("three.example.net.", tc.qtype)
		reply, _ := ask(t, g, tc.client, m)
		got := addresses(reply)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s %s: %v, want %v", tc.client, dns.TypeToString[tc.qtype], got, tc.want)
		}
		for _, rr := range reply.Answer {
			if rr.Header().Ttl != 20 {
				t.Errorf("TTL %d, want the pool's 20", rr.Header().Ttl)
			}
		}
	}
}

// TestECS: the reply echoes the client subnet with the scope the answer depended on (RFC 7871).
func TestECS(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	tests := []struct {
		name      string
		qname     string
		addr      string
		bits      uint8
		scope     uint8
		wantAddrs []string
		rcode     int
	}{
		// The fixture places London by a /24, Tokyo by a /8: the answer holds for that network.
		{"london /24", "www.example.net.", "81.2.69.0", 24, 24, []string{"192.0.2.10"}, 0},
		{"london /32", "www.example.net.", london, 32, 24, []string{"192.0.2.10"}, 0},
		{"tokyo /24", "www.example.net.", "126.0.0.0", 24, 8, []string{"203.0.113.21"}, 0},
		{"sydney ipv6 /56", "www.example.net.", "2400:cb00::", 56, 32, []string{"203.0.113.30"}, 0},
		// Static answers do not depend on the client.
		{"static", "static.example.net.", "81.2.69.0", 24, 0, []string{"192.0.2.80"}, 0},
		{"nxdomain", "nope.example.net.", "81.2.69.0", 24, 0, nil, dns.RcodeNameError},
		// A pinned name answers the same everywhere.
		{"pinned", "k3x9.t.example.net.", "81.2.69.0", 24, 0, []string{"203.0.113.20"}, 0},
		// Source /0: the resolver hides the client; the answer is for the resolver and scope /0.
		{"source /0", "www.example.net.", "0.0.0.0", 0, 0, []string{"198.51.100.10"}, 0},
	}
	for _, tc := range tests {
		m := withECS(new(dns.Msg).SetQuestion(tc.qname, dns.TypeA), tc.addr, tc.bits)
		reply, _ := ask(t, g, mtnView, m) // the resolver sits in Mountain View
		if reply.Rcode != tc.rcode || strings.Join(addresses(reply), " ") != strings.Join(tc.wantAddrs, " ") {
			t.Errorf("%s: rcode %s, answer %v, want %s %v", tc.name, dns.RcodeToString[reply.Rcode], addresses(reply), dns.RcodeToString[tc.rcode], tc.wantAddrs)
		}
		e := replyECS(reply)
		if e == nil {
			t.Errorf("%s: no ECS option in the reply", tc.name)
			continue
		}
		if e.SourceScope != tc.scope || e.SourceNetmask != tc.bits {
			t.Errorf("%s: ECS source/scope %d/%d, want %d/%d", tc.name, e.SourceNetmask, e.SourceScope, tc.bits, tc.scope)
		}
	}

	// No ECS in the query, none in the reply.
	reply, _ := ask(t, g, london, new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA))
	if replyECS(reply) != nil {
		t.Error("a query without ECS got ECS back")
	}

	// Address bits beyond the source prefix: FORMERR (RFC 7871 6).
	_, rcode := ask(t, g, london, withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), london, 24))
	if rcode != dns.RcodeFormatError {
		t.Errorf("ECS 81.2.69.142/24: rcode %s, want FORMERR", dns.RcodeToString[rcode])
	}
}

const rttConfigTail = `
rtt:
  files: [rtt.csv]
`

// TestMeasuredRTT: a measurement of the client's own network beats distance; a network nobody
// measured is estimated from nearby measured ones; the scope narrows to the measured /24.
func TestMeasuredRTT(t *testing.T) {
	dir := t.TempDir()
	csv := "client,edge,rtt_ms\n" +
		// London's /24 sees Frankfurt badly and Ashburn well (a peering oddity).
		"81.2.69.0/24,fra1,95\n81.2.69.0/24,iad1,70\n" +
		// One Tokyo /24 sees Tokyo at 300 ms and Singapore at 50: a bad route inside the AS.
		"126.1.2.0/24,nrt1,300\n126.1.2.0/24,sin1,50\n"
	if err := os.WriteFile(filepath.Join(dir, "rtt.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "georoute.yaml")
	if err := os.WriteFile(cfgPath, []byte(testConfig(t)+rttConfigTail), 0o644); err != nil {
		t.Fatal(err)
	}
	for schema, files := range schemas {
		g := newGeoRoute(inputs{zones: []string{"testdata/zones"}, config: cfgPath, geoip: files, asn: []string{"testdata/asn.mmdb"}})
		if err := g.Load(); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, addr string
			bits       uint8
			want       string
			scope      uint8
		}{
			{"measured network", "81.2.69.0", 24, "198.51.100.10", 24},
			{"measured network, by a /32", london, 32, "198.51.100.10", 24},
			{"unmeasured network, same city as a measured one", "126.9.9.0", 24, "203.0.113.20", 24},
			{"measured network itself", "126.1.2.0", 24, "203.0.113.20", 24},
			{"far from any measurement: distance", "1.1.1.0", 24, "203.0.113.30", 24},
		}
		for _, tc := range tests {
			m := withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), tc.addr, tc.bits)
			reply, _ := ask(t, g, "10.240.0.1", m)
			if got := addresses(reply); len(got) != 1 || got[0] != tc.want {
				t.Errorf("%s: %s: answered %v, want %s", schema, tc.name, got, tc.want)
			}
			if e := replyECS(reply); e == nil || e.SourceScope != tc.scope {
				t.Errorf("%s: %s: ECS %v, want scope %d", schema, tc.name, e, tc.scope)
			}
		}
	}
}

func TestTruncationAndTCP(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	m := new(dns.Msg).SetQuestion("big.example.net.", dns.TypeTXT)
	reply, _ := ask(t, g, london, m)
	if len(reply.Answer) != 2 {
		t.Fatalf("big TXT: %d answers", len(reply.Answer))
	}
	if reply.Len() <= 512 {
		t.Fatalf("the test record is too small to truncate: %d bytes", reply.Len())
	}
	_ = test.Case{}
}
