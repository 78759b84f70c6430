package georoute

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const policyConfig = `
edges:
  fra1: {addresses: [192.0.2.10, "2001:db8:f::1"], location: {lat: 50.11, lon: 8.68, country: DE}}
  lhr1: {addresses: [192.0.2.11], location: {lat: 51.51, lon: -0.13, country: GB}}
  iad1: {addresses: [198.51.100.10, "2001:db8:a::1"], location: {lat: 39.04, lon: -77.49, country: US}}
  sfo1: {addresses: [198.51.100.11], location: {lat: 37.77, lon: -122.42, country: US}}
  syd1: {addresses: [203.0.113.30], location: {lat: -33.87, lon: 151.21, country: AU}}
pools:
  eu: {policy: latency, edges: [fra1, lhr1]}
  geo:
    policy: geo
    rules:
      - {country: US, subdivision: CA, members: [{edge: sfo1}]}
      - {country: US, members: [{edge: iad1}]}
      - {continent: EU, members: [{pool: eu}]}
  prox: {policy: geoproximity, members: [{edge: fra1}, {edge: iad1, bias: 50}]}
  split: {policy: weighted, members: [{edge: fra1, weight: 1}, {edge: iad1, weight: 1}]}
  sticky: {policy: weighted, sticky: true, members: [{edge: fra1, weight: 1}, {edge: iad1, weight: 1}]}
  fo: {policy: failover, members: [{pool: eu}, {edge: iad1}], answers: 2}
  mv: {policy: multivalue, edges: [fra1, lhr1, iad1, sfo1, syd1]}
  cidr:
    policy: cidr
    rules:
      - {prefixes: [203.0.113.0/24], members: [{edge: syd1}]}
      - {default: true, members: [{pool: eu}]}
  asn:
    policy: asn
    rules:
      - {asns: [5089], members: [{edge: lhr1}]}
      - {default: true, members: [{edge: iad1}]}
names:
  geo.example.net: {pool: geo}
  prox.example.net: {pool: prox}
  split.example.net: {pool: split}
  sticky.example.net: {pool: sticky}
  fo.example.net: {pool: fo}
  mv.example.net: {pool: mv}
  cidr.example.net: {pool: cidr}
  asn.example.net: {pool: asn}
`

// TestPoliciesThroughDNS runs every policy through ServeDNS with both GeoIP schemas, by ECS,
// and checks the answer and the scope the reply gives resolvers.
func TestPoliciesThroughDNS(t *testing.T) {
	tests := []struct {
		name, qname, client string
		bits                uint8
		want                string // space-separated answer; "" for NODATA
		scope               uint8
	}{
		// The fixture names Mountain View's state; the flat schema gives "California", which the
		// subdivision table turns into CA.
		{"geo: subdivision", "geo.example.net.", "8.8.8.0", 24, "198.51.100.11", 24},
		{"geo: country", "geo.example.net.", "198.51.100.0", 24, "198.51.100.10", 24},
		{"geo: continent to a nested pool", "geo.example.net.", "81.2.69.0", 24, "192.0.2.11", 24},
		{"geo: no rule, no default: NODATA with the scope of the network", "geo.example.net.", "1.1.1.0", 24, "", 24},
		{"geoproximity with bias", "prox.example.net.", "81.2.69.0", 24, "192.0.2.10", 24},
		{"failover: nested pool first, then the backup", "fo.example.net.", "85.214.0.0", 24, "192.0.2.10 192.0.2.11", 16},
		{"cidr: matched prefix", "cidr.example.net.", "203.0.113.0", 24, "203.0.113.30", 24},
		{"asn: matched AS", "asn.example.net.", "81.2.69.0", 24, "192.0.2.11", 24},
		{"asn: another AS", "asn.example.net.", "85.214.0.0", 24, "198.51.100.10", 16},
		{"sticky weighted: scope of the client's /24", "sticky.example.net.", "81.2.69.0", 24, "?", 24},
		{"weighted: random, scope 0", "split.example.net.", "81.2.69.0", 24, "?", 0},
		{"multivalue: random, scope 0", "mv.example.net.", "81.2.69.0", 24, "?5", 0},
	}
	for schema, files := range schemas {
		g := newTestRoute(t, policyConfig, files...)
		for _, tc := range tests {
			m := withECS(new(dns.Msg).SetQuestion(tc.qname, dns.TypeA), tc.client, tc.bits)
			reply, _ := ask(t, g, "10.240.0.1", m)
			got := strings.Join(addresses(reply), " ")
			switch {
			case tc.want == "?":
				if len(addresses(reply)) != 1 {
					t.Errorf("%s %s: %q, want one answer", schema, tc.name, got)
				}
			case tc.want == "?5":
				if len(addresses(reply)) != 5 {
					t.Errorf("%s %s: %q, want all five", schema, tc.name, got)
				}
			case got != tc.want:
				t.Errorf("%s %s: answered %q, want %q", schema, tc.name, got, tc.want)
			}
			if e := replyECS(reply); e == nil || e.SourceScope != tc.scope {
				t.Errorf("%s %s: ECS %v, want scope %d", schema, tc.name, e, tc.scope)
			}
		}
	}
}
