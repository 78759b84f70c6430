package geoip

import (
	"net/netip"
	"testing"
)

// benchAddrs are addresses in different records of the fixtures, IPv4 and IPv6.
var benchAddrs = []netip.Addr{
	netip.MustParseAddr("81.2.69.142"),
	netip.MustParseAddr("85.214.132.117"),
	netip.MustParseAddr("8.8.8.8"),
	netip.MustParseAddr("198.51.100.7"),
	netip.MustParseAddr("126.10.20.30"),
	netip.MustParseAddr("192.0.2.1"), // unknown
	netip.MustParseAddr("2a02:c7f::1"),
	netip.MustParseAddr("2001:db8:1::53"),
}

var benchConfigs = []struct {
	name string
	o    Options
}{
	{"geoip2+asn", Options{City: []string{geoip2City}, ASN: []string{asnDB}}},
	{"flat+asn", Options{City: []string{flatV4, flatV6}, ASN: []string{asnDB}}},
	{"flat", Options{City: []string{flatV4, flatV6}}},
}

var sink Result

// BenchmarkLookupCached cycles over a few addresses whose records stay cached.
func BenchmarkLookupCached(b *testing.B) {
	for _, cfg := range benchConfigs {
		b.Run(cfg.name, func(b *testing.B) {
			db := mustOpen(b, cfg.o)
			for _, a := range benchAddrs {
				db.Lookup(a)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = db.Lookup(benchAddrs[i%len(benchAddrs)])
				i++
			}
		})
	}
}

// BenchmarkLookupMiss decodes every time: with a one-slot cache each lookup evicts the record
// the previous one cached.
func BenchmarkLookupMiss(b *testing.B) {
	for _, cfg := range benchConfigs {
		b.Run(cfg.name, func(b *testing.B) {
			o := cfg.o
			o.CacheSize = 1
			db := mustOpen(b, o)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = db.Lookup(benchAddrs[i%len(benchAddrs)])
				i++
			}
		})
	}
}
