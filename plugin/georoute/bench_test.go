package georoute

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
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

// BenchmarkPinnedNames answers pinned tunnel names with 100 and with 1,000,000 names loaded, on
// both cores: queries to the same 100 names (hot) and to names spread over all of them (spread,
// where each lookup misses the CPU caches).
func BenchmarkPinnedNames(b *testing.B) {
	for _, n := range []int{100, 1000000} {
		g := newTestRoute(b, testConfig(b))
		st := g.state.Load()
		msgs := make([]*dns.Msg, n)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("t%07x.t.example.net.", i)
			bd, err := st.table.Bind(name, "example.net.", model.Name{Edge: "fra1", TTL: 10}, route.FromAPI)
			if err != nil {
				b.Fatal(err)
			}
			g.names.Put(bd)
			msgs[i] = new(dns.Msg).SetQuestion(name, dns.TypeA)
		}
		for _, pattern := range []string{"hot", "spread"} {
			b.Run(fmt.Sprintf("names=%d/%s", n, pattern), func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Uint64
				b.RunParallel(func(pb *testing.PB) {
					w := &discard{remote: &net.UDPAddr{IP: net.ParseIP(london), Port: 40212}}
					ctx := context.Background()
					i := int(next.Add(7919))
					for pb.Next() {
						var m *dns.Msg
						if pattern == "hot" {
							m = msgs[i%100]
						} else {
							m = msgs[(i*2654435761)%n]
						}
						g.ServeDNS(ctx, w, m)
						i++
					}
				})
			})
		}
	}
}
