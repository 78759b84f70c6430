package georoute

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/pkg/cache"
	"github.com/miekg/dns"
)

// BenchmarkRoutedSigning is routed answers through the dnssec plugin in front of georoute, on
// both cores, for clients of seven cities (six answer sets): off is queries without DO (dnssec
// passes them through), on is with DO (each answer signed, its RRSIG from dnssec's cache after
// the first), on-0x20 has every query's name in a case of its own, as resolvers that randomize
// it send them (dnssec's cache key holds the owner as written: a signature per query).
func BenchmarkRoutedSigning(b *testing.B) {
	g := newTestRoute(b, testConfig(b))
	var keys []*dnssec.DNSKEY
	for _, base := range signingKeys(b, b.TempDir(), "example.net") {
		k, err := dnssec.ParseKeyFile(base+".key", base+".private")
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, k)
	}
	d := dnssec.New([]string{"example.net.", "example.org."}, keys, true, g, cache.New[[]dns.RR](10000))
	g.signing.use(d)
	clients := []string{london, mtnView, sydney, tokyo, singapore, saoPaulo, frankfurt}
	for _, mode := range []string{"off", "on", "on-0x20"} {
		b.Run(mode, func(b *testing.B) {
			var next atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				msgs := make([]*dns.Msg, len(clients)) // a goroutine's own: on-0x20 rewrites their names
				for i, c := range clients {
					subnet := netip.PrefixFrom(netip.MustParseAddr(c), 24).Masked().Addr().String() // as it is sent
					msgs[i] = withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), subnet, 24)
					if mode != "off" {
						msgs[i].IsEdns0().SetDo()
					}
				}
				w := &discard{remote: &net.UDPAddr{IP: net.ParseIP("10.240.0.1"), Port: 40212}}
				ctx := context.Background()
				want := 2 // the A and its RRSIG
				if mode == "off" {
					want = 1
				}
				for i, m := range msgs {
					if r, _ := askVia(b, d, "10.240.0.1", m); r == nil || len(r.Answer) != want {
						b.Fatalf("%s: %v", clients[i], r)
					}
				}
				for pb.Next() {
					n := next.Add(1)
					m := msgs[n%uint64(len(msgs))]
					if mode == "on-0x20" {
						m.Question[0].Name = randomCase("www.example.net.", n)
					}
					d.ServeDNS(ctx, w, m)
				}
			})
		})
	}
}

// randomCase is name with its letters' case set by the bits of a hash of seed.
func randomCase(name string, seed uint64) string {
	var sb strings.Builder
	x := uint32(seed)*2654435761 + 1
	for _, c := range []byte(name) {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		if c >= 'a' && c <= 'z' && x&1 == 1 {
			c -= 'a' - 'A'
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
