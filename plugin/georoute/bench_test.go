package georoute

import (
	"context"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// discard is a ResponseWriter that drops the reply and, like the server's, has its client's
// address at hand, so the benchmark measures the answer path, not the test writer.
type discard struct {
	test.ResponseWriter
	remote net.Addr
}

func (*discard) WriteMsg(*dns.Msg) error { return nil }
func (d *discard) RemoteAddr() net.Addr  { return d.remote }

func benchServe(b *testing.B, m *dns.Msg, from string) {
	g := newTestRoute(b, testConfig(b))
	w := &discard{remote: &net.UDPAddr{IP: net.ParseIP(from), Port: 40212}}
	ctx := context.Background()
	if _, err := g.ServeDNS(ctx, w, m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g.ServeDNS(ctx, w, m)
	}
}

// BenchmarkRouted is one routed answer (latency pool, six edges, GeoIP lookup, reply built).
func BenchmarkRouted(b *testing.B) {
	benchServe(b, new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), london)
}

// BenchmarkRoutedECS adds an EDNS Client Subnet option to parse and echo.
func BenchmarkRoutedECS(b *testing.B) {
	benchServe(b, withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), "1.1.1.0", 24), "10.240.0.1")
}

// BenchmarkRoutedWildcard goes through the closest-encloser search to a routed wildcard.
func BenchmarkRoutedWildcard(b *testing.B) {
	benchServe(b, new(dns.Msg).SetQuestion("k3x8.t.example.net.", dns.TypeA), london)
}

// BenchmarkStatic is a zone file answer through CoreDNS's zone lookup, for comparison.
func BenchmarkStatic(b *testing.B) {
	benchServe(b, new(dns.Msg).SetQuestion("static.example.net.", dns.TypeA), london)
}
