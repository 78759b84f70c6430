package georoute

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/miekg/dns"
)

// FuzzZoneFile reads arbitrary bytes as the zone file of example.net. the way the plugin does
// (parseZone, then the whole load): no panic, and a zone that loads answers queries for its apex
// and its names with replies that pack.
func FuzzZoneFile(f *testing.F) {
	for _, p := range []string{"testdata/zones/example.net.zone", "testdata/zones/example.org.zone"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	const apex = "$ORIGIN example.net.\n@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n"
	for _, s := range []string{
		"",
		apex,
		apex + "*.w IN CNAME w.example.net.\nw IN CNAME *.w.example.net.\n",
		apex + "a IN DNAME b.example.net.\nx.a IN A 192.0.2.1\n",
		apex + "sub IN NS ns.sub\nns.sub IN A 192.0.2.2\nsub IN DS 1 8 2 ABCDEF\n",
		apex + "$INCLUDE /etc/passwd\n",
		apex + "$GENERATE 1-3 h$ A 192.0.2.$\n",
		apex + "long IN TXT \"" + string(make([]byte, 300)) + "\"\n",
		"@ IN NS ns1.example.com.\n",
		"$ORIGIN example.com.\n@ IN SOA a b 1 2 3 4 5\n@ IN NS a\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "example.net.zone")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		z, err := parseZone(path, "example.net.")
		if err != nil {
			return
		}
		g := newGeoRoute(inputs{zones: []string{path}})
		if g.Load() != nil {
			return
		}
		names := []string{"example.net.", "nope.example.net."}
		z.Tree.Walk(func(e *tree.Elem, _ map[uint16][]dns.RR) error {
			if len(names) < 8 {
				names = append(names, e.Name(), "x."+e.Name())
			}
			return nil
		})
		for _, name := range names {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeNS, dns.TypeSOA, dns.TypeDS, dns.TypeANY} {
				q := new(dns.Msg).SetQuestion(name, qtype)
				q.SetEdns0(4096, true)
				r, _ := ask(t, g, london, q)
				if r == nil {
					continue
				}
				if _, err := r.Pack(); err != nil {
					t.Fatalf("%s %s: reply does not pack: %v\n%v", name, dns.TypeToString[qtype], err, r)
				}
			}
		}
	})
}
