package geoip

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// TestNetworkCacheSplitNetwork: two /25s of one /24 in different cities. The cache of client
// networks must not answer one half with the other's city.
func TestNetworkCacheSplitNetwork(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", IPVersion: 6, RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	city := func(cc string, lat float64) mmdbtype.Map {
		return mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(cc)},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(lat), "longitude": mmdbtype.Float64(1)}}
	}
	for cidr, rec := range map[string]mmdbtype.Map{"198.51.100.0/25": city("DE", 50), "198.51.100.128/25": city("FR", 48), "203.0.113.0/24": city("GB", 51)} {
		_, n, _ := net.ParseCIDR(cidr)
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "split.mmdb")
	f, _ := os.Create(path)
	tree.WriteTo(f)
	f.Close()
	db, err := Open(Options{City: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // again and again: the second time would come from a cache
		for addr, want := range map[string]string{"198.51.100.1": "DE", "198.51.100.200": "FR", "203.0.113.7": "GB", "203.0.113.250": "GB"} {
			r := db.Lookup(netip.MustParseAddr(addr))
			if r.Loc == nil || r.Loc.Country != want {
				t.Errorf("round %d: %s = %+v, want %s", i, addr, r.Loc, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { db.Lookup(netip.MustParseAddr("203.0.113.9")) }); n != 0 {
		t.Errorf("a cached network allocates %.0f times", n)
	}
}
