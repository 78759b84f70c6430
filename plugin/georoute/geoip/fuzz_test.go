package geoip

import (
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

var (
	fuzzOnce sync.Once
	fuzzDB   *DB
	fuzzErr  error
)

// FuzzLookup looks up arbitrary 16-byte addresses, as IPv6 and (their last 4 bytes) as IPv4,
// in all fixtures at once, and checks the invariants of a Result.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"81.2.69.142", "::ffff:8.8.8.8", "2a02:c7f::1", "2001:db8:1::1", "::", "::1", "192.0.2.1", "2002:808:808::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:])
	}
	fuzzOnce.Do(func() {
		fuzzDB, fuzzErr = Open(Options{
			City:      []string{flatV4, geoip2City, flatV6},
			ASN:       []string{asnDB},
			CacheSize: 8, // small, to exercise eviction
		})
	})
	if fuzzErr != nil {
		f.Fatal(fuzzErr)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a16 [16]byte
		copy(a16[:], b)
		v6 := netip.AddrFrom16(a16)
		v4 := netip.AddrFrom4([4]byte(a16[12:]))
		for _, addr := range []netip.Addr{v6, v4} {
			got := fuzzDB.Lookup(addr)
			checkResult(t, addr, got)
			if again := fuzzDB.Lookup(addr); again.Bits != got.Bits || again.ASN != got.ASN ||
				again.ASNBits != got.ASNBits || (again.Loc == nil) != (got.Loc == nil) ||
				again.Loc != nil && *again.Loc != *got.Loc {
				t.Fatalf("%s: lookups differ: %+v, %+v", addr, got, again)
			}
		}
		if v6.Is4In6() {
			if a, b := fuzzDB.Lookup(v6), fuzzDB.Lookup(v4); a.Bits != b.Bits || a.ASN != b.ASN || (a.Loc == nil) != (b.Loc == nil) {
				t.Fatalf("%s and %s differ: %+v, %+v", v6, v4, a, b)
			}
		}
	})
}

func checkResult(t *testing.T, addr netip.Addr, r Result) {
	t.Helper()
	maxBits := addr.Unmap().BitLen()
	if r.Bits < 0 || r.Bits > maxBits || r.ASNBits < 0 || r.ASNBits > maxBits {
		t.Fatalf("%s: Bits %d ASNBits %d out of range", addr, r.Bits, r.ASNBits)
	}
	if l := r.Loc; l != nil {
		if l.ID == 0 || (l.Country != "" && !geo.IsCountry(l.Country)) ||
			(l.Continent != "" && !geo.IsContinent(l.Continent)) || (l.HasPoint && !l.Point.Valid()) {
			t.Fatalf("%s: bad Location %+v", addr, *l)
		}
		if r.Bits == 0 {
			t.Fatalf("%s: found with Bits 0", addr)
		}
	}
}

// FuzzOpen opens arbitrary bytes, seeded with the fixtures: it must fail or give a database
// whose lookups keep the invariants, never panic.
func FuzzOpen(f *testing.F) {
	for _, p := range []string{geoip2City, flatV4, flatV6, asnDB, notACity} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, p == asnDB)
	}
	f.Fuzz(func(t *testing.T, data []byte, asn bool) {
		kind := KindCity
		if asn {
			kind = KindASN
		}
		fl, _, err := openBuf(data, FileInfo{Path: "fuzz.mmdb", Kind: kind}, 0)
		if err != nil {
			return
		}
		st := &state{cities: newCache[*Location](4), asns: newCache[uint32](4), nets: newCache[Result](4)}
		list4, list6 := &st.city4, &st.city6
		if asn {
			list4, list6 = &st.asn4, &st.asn6
		}
		*list4 = []*file{fl}
		if !fl.v4only {
			*list6 = []*file{fl}
		}
		db := &DB{}
		db.st.Store(st)
		for _, w := range lookups {
			addr := netip.MustParseAddr(w.addr)
			checkResult(t, addr, db.Lookup(addr))
		}
	})
}
