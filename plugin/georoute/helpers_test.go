package georoute

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// The fixture databases (testdata/README.md) place these clients.
const (
	london    = "81.2.69.142"
	mtnView   = "8.8.8.8"
	sydney    = "1.1.1.1"
	tokyo     = "126.0.0.1"
	singapore = "103.1.0.1"
	saoPaulo  = "200.160.0.1"
	frankfurt = "203.0.113.9"
	unknown   = "192.0.2.1"
	london6   = "2a02:c7f::1"
	sydney6   = "2400:cb00::1"
)

// Schemas of the city database: the same clients, the same answers.
var schemas = map[string][]string{
	"geoip2": {"testdata/geoip2-city.mmdb"},
	"flat":   {"testdata/dbip-city-ipv4.mmdb", "testdata/dbip-city-ipv6.mmdb"},
}

// newTestRoute loads the test zones, the given routing config and city databases.
func newTestRoute(t testing.TB, config string, city ...string) *GeoRoute {
	t.Helper()
	if len(city) == 0 {
		city = schemas["geoip2"]
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "georoute.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	g := newGeoRoute(inputs{zones: []string{"testdata/zones"}, config: path, geoip: city, asn: []string{"testdata/asn.mmdb"}})
	if err := g.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return g
}

func testConfig(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/georoute.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ask sends m to g as client ip and returns the reply and the rcode ServeDNS returned.
func ask(t testing.TB, g *GeoRoute, ip string, m *dns.Msg) (*dns.Msg, int) {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: ip})
	rcode, err := g.ServeDNS(context.Background(), rec, m)
	if err != nil {
		t.Fatalf("ServeDNS: %v", err)
	}
	return rec.Msg, rcode
}

// withECS adds an EDNS Client Subnet option for subnet (an address with its prefix length).
func withECS(m *dns.Msg, addr string, bits uint8) *dns.Msg {
	ip := net.ParseIP(addr)
	family := uint16(1)
	if ip.To4() == nil {
		family = 2
	} else {
		ip = ip.To4()
	}
	m.SetEdns0(1232, false)
	o := m.IsEdns0()
	o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: bits, Address: ip})
	return m
}

// replyECS returns the ECS option of a reply, or nil.
func replyECS(m *dns.Msg) *dns.EDNS0_SUBNET {
	if m == nil {
		return nil
	}
	o := m.IsEdns0()
	if o == nil {
		return nil
	}
	for _, opt := range o.Option {
		if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
			return e
		}
	}
	return nil
}
