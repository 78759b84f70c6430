package geoip

import (
	"errors"
	"hash/fnv"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// The fixtures are written by ../testdata/mkmmdb; ../testdata/README.md lists their table.
const testdata = "../testdata"

func fixture(name string) string { return filepath.Join(testdata, name) }

var (
	geoip2City = fixture("geoip2-city.mmdb")
	flatV4     = fixture("dbip-city-ipv4.mmdb")
	flatV6     = fixture("dbip-city-ipv6.mmdb")
	asnDB      = fixture("asn.mmdb")
	notACity   = fixture("not-a-city.mmdb")
)

func mustOpen(t testing.TB, o Options) *DB {
	t.Helper()
	db, err := Open(o)
	if err != nil {
		t.Fatalf("Open(%+v): %v", o, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// want is the expected answer for one address; zero Country means "not found".
type want struct {
	addr            string
	bits            int
	country         string
	continent       string
	subdivision     string // ISO code; GeoIP2 schema only
	subdivisionName string
	city            string
	geonameID       uint64
	lat, lon        float64
	hasPoint        bool
}

// lookups is the fixture table, as the databases should give it back.
var lookups = []want{
	{"81.2.69.142", 24, "GB", "EU", "ENG", "England", "London", 2643743, 51.5142, -0.0931, true},
	{"81.2.69.1", 24, "GB", "EU", "ENG", "England", "London", 2643743, 51.5142, -0.0931, true},
	{"85.214.132.117", 16, "DE", "EU", "BE", "Berlin", "Berlin", 2950159, 52.52, 13.405, true},
	{"203.0.113.5", 24, "DE", "EU", "HE", "Hesse", "Frankfurt", 2925533, 50.1109, 8.6821, true},
	{"8.8.8.8", 24, "US", "NA", "CA", "California", "Mountain View", 5375480, 37.386, -122.0838, true},
	{"198.51.100.7", 24, "US", "NA", "VA", "Virginia", "Ashburn", 4744870, 39.0438, -77.4874, true},
	{"24.15.255.255", 12, "US", "NA", "NY", "New York", "New York", 5128581, 40.7128, -74.006, true},
	{"1.1.1.1", 24, "AU", "OC", "NSW", "New South Wales", "Sydney", 2147714, -33.8688, 151.2093, true},
	{"103.1.2.3", 16, "SG", "AS", "", "", "Singapore", 1880252, 1.3521, 103.8198, true},
	{"126.10.20.30", 8, "JP", "AS", "13", "Tokyo", "Tokyo", 1850147, 35.6762, 139.6503, true},
	{"200.160.7.8", 16, "BR", "SA", "SP", "Sao Paulo", "Sao Paulo", 3448439, -23.5505, -46.6333, true},
	{"41.31.0.1", 11, "ZA", "AF", "GP", "Gauteng", "Johannesburg", 993800, -26.2041, 28.0473, true},
	{"5.0.200.1", 16, "FR", "EU", "", "", "", 0, 0, 0, false}, // country only
	// IPv4-mapped IPv6 is looked up as IPv4, with IPv4 prefix lengths.
	{"::ffff:81.2.69.142", 24, "GB", "EU", "ENG", "England", "London", 2643743, 51.5142, -0.0931, true},
	{"::ffff:8.8.8.8", 24, "US", "NA", "CA", "California", "Mountain View", 5375480, 37.386, -122.0838, true},
	// IPv6.
	{"2a02:c7f:1234::1", 32, "GB", "EU", "ENG", "England", "London", 2643743, 51.5142, -0.0931, true},
	{"2001:db8:1::53", 48, "DE", "EU", "HE", "Hesse", "Frankfurt", 2925533, 50.1109, 8.6821, true},
	{"2001:db8:2:ffff::1", 48, "JP", "AS", "13", "Tokyo", "Tokyo", 1850147, 35.6762, 139.6503, true},
	{"2001:db8:3::1", 48, "US", "NA", "VA", "Virginia", "Ashburn", 4744870, 39.0438, -77.4874, true},
	{"2400:cb00::1111", 32, "AU", "OC", "NSW", "New South Wales", "Sydney", 2147714, -33.8688, 151.2093, true},
	{"2804:14c::1", 16, "BR", "SA", "SP", "Sao Paulo", "Sao Paulo", 3448439, -23.5505, -46.6333, true},
	// Unknown: Bits is the prefix of the empty network the address fell in.
	{"192.0.2.1", 6, "", "", "", "", "", 0, 0, 0, false},       // 192.0.0.0/6 holds none of the table
	{"10.0.0.1", 7, "", "", "", "", "", 0, 0, 0, false},        // 10.0.0.0/7
	{"127.0.0.1", 8, "", "", "", "", "", 0, 0, 0, false},       // 127.0.0.0/8
	{"::ffff:10.0.0.1", 7, "", "", "", "", "", 0, 0, 0, false}, // mapped, as IPv4
	{"2001:db8::1", 48, "", "", "", "", "", 0, 0, 0, false},    // 2001:db8::/48 next to the /48s
}

// cityConfigs are the ways of giving the same table; all must answer alike.
var cityConfigs = []struct {
	name   string
	files  []string
	schema func(addr netip.Addr) string // schema that answers addr
}{
	{"geoip2", []string{geoip2City}, func(netip.Addr) string { return SchemaGeoIP2 }},
	{"flat", []string{flatV4, flatV6}, func(netip.Addr) string { return SchemaFlat }},
	{"flat v6 first", []string{flatV6, flatV4}, func(netip.Addr) string { return SchemaFlat }},
	// IPv4 files come first for IPv4 addresses whatever the order given; IPv6 addresses only
	// go to IPv6 files.
	{"geoip2 then flat v4", []string{geoip2City, flatV4}, func(a netip.Addr) string {
		if a.Unmap().Is4() {
			return SchemaFlat
		}
		return SchemaGeoIP2
	}},
	{"flat v4 then geoip2", []string{flatV4, geoip2City}, func(a netip.Addr) string {
		if a.Unmap().Is4() {
			return SchemaFlat
		}
		return SchemaGeoIP2
	}},
}

func fnvCityID(country, city string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(country + "/" + city))
	return h.Sum64()
}

func TestLookupSchemas(t *testing.T) {
	for _, cfg := range cityConfigs {
		t.Run(cfg.name, func(t *testing.T) {
			db := mustOpen(t, Options{City: cfg.files})
			for _, w := range lookups {
				addr := netip.MustParseAddr(w.addr)
				got := db.Lookup(addr)
				if got.Bits != w.bits {
					t.Errorf("%s: Bits = %d, want %d", w.addr, got.Bits, w.bits)
				}
				if got.ASN != 0 || got.ASNBits != 0 {
					t.Errorf("%s: ASN %d/%d without an ASN database", w.addr, got.ASN, got.ASNBits)
				}
				if w.country == "" {
					if got.Loc != nil {
						t.Errorf("%s: Loc = %+v, want nil", w.addr, *got.Loc)
					}
					continue
				}
				if got.Loc == nil {
					t.Errorf("%s: Loc = nil, want %s", w.addr, w.country)
					continue
				}
				checkLoc(t, w, *got.Loc, cfg.schema(addr))
			}
		})
	}
}

func checkLoc(t *testing.T, w want, l Location, schema string) {
	t.Helper()
	if l.Country != w.country || l.Continent != w.continent || l.City != w.city ||
		l.SubdivisionName != w.subdivisionName || l.HasPoint != w.hasPoint {
		t.Errorf("%s: got %s/%s %q %q point=%v, want %s/%s %q %q point=%v", w.addr,
			l.Country, l.Continent, l.City, l.SubdivisionName, l.HasPoint,
			w.country, w.continent, w.city, w.subdivisionName, w.hasPoint)
	}
	if w.hasPoint && l.Point != (geo.Point{Lat: w.lat, Lon: w.lon}) {
		t.Errorf("%s: Point = %+v, want {%v %v}", w.addr, l.Point, w.lat, w.lon)
	}
	if !w.hasPoint && l.Point != (geo.Point{}) {
		t.Errorf("%s: Point = %+v without HasPoint", w.addr, l.Point)
	}
	if l.ID == 0 {
		t.Errorf("%s: ID = 0", w.addr)
	}
	wantSub, wantCityID := w.subdivision, w.geonameID
	if schema == SchemaFlat {
		wantSub = geo.SubdivisionCode(w.country, w.subdivisionName) // the flat schema names; codes come from geo's table
		wantCityID = 0
		if w.city != "" {
			wantCityID = fnvCityID(w.country, w.city)
		}
	}
	if l.Subdivision != wantSub {
		t.Errorf("%s (%s): Subdivision = %q, want %q", w.addr, schema, l.Subdivision, wantSub)
	}
	if l.CityID != wantCityID {
		t.Errorf("%s (%s): CityID = %d, want %d", w.addr, schema, l.CityID, wantCityID)
	}
}

func TestLookupASN(t *testing.T) {
	tests := []struct {
		addr    string
		asn     uint32
		asnBits int
	}{
		{"81.2.69.142", 5089, 24},
		{"85.214.132.117", 6724, 16},
		{"203.0.113.9", 64500, 24},
		{"2001:db8:1::9", 64500, 48},
		{"198.51.100.1", 64501, 24},
		{"8.8.8.8", 15169, 24},
		{"::ffff:8.8.8.8", 15169, 24},
		{"1.1.1.1", 0, 5},        // not in the ASN table: 0.0.0.0/5 is empty
		{"2001:db8:3::1", 0, 47}, // in the city table only: 2001:db8:2::/47 is empty
	}
	withCity := mustOpen(t, Options{City: []string{flatV4, flatV6}, ASN: []string{asnDB}})
	asnOnly := mustOpen(t, Options{ASN: []string{asnDB}})
	noASN := mustOpen(t, Options{City: []string{geoip2City}})
	for _, tc := range tests {
		addr := netip.MustParseAddr(tc.addr)
		for name, db := range map[string]*DB{"with city": withCity, "asn only": asnOnly} {
			got := db.Lookup(addr)
			if got.ASN != tc.asn || got.ASNBits != tc.asnBits {
				t.Errorf("%s %s: ASN %d/%d, want %d/%d", name, tc.addr, got.ASN, got.ASNBits, tc.asn, tc.asnBits)
			}
		}
		if got := asnOnly.Lookup(addr); got.Loc != nil || got.Bits != 0 {
			t.Errorf("asn only %s: Loc %v Bits %d, want nil 0", tc.addr, got.Loc, got.Bits)
		}
		if got := noASN.Lookup(addr); got.ASN != 0 || got.ASNBits != 0 {
			t.Errorf("no ASN database %s: ASN %d/%d, want 0/0", tc.addr, got.ASN, got.ASNBits)
		}
	}
	// The city answer does not depend on the ASN database.
	if got := withCity.Lookup(netip.MustParseAddr("81.2.69.142")); got.Loc == nil || got.Loc.City != "London" || got.Bits != 24 {
		t.Errorf("81.2.69.142 with ASN database: %+v", got)
	}
}

func TestLookupInvalidAndClosed(t *testing.T) {
	db := mustOpen(t, Options{City: []string{geoip2City}, ASN: []string{asnDB}})
	if got := db.Lookup(netip.Addr{}); got != (Result{}) {
		t.Errorf("Lookup(invalid) = %+v, want zero", got)
	}
	// A zone is ignored.
	if got := db.Lookup(netip.MustParseAddr("2a02:c7f::1%eth0")); got.Loc == nil || got.Loc.City != "London" || got.Bits != 32 {
		t.Errorf("Lookup with zone = %+v, want London", got)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := db.Lookup(netip.MustParseAddr("81.2.69.142")); got != (Result{}) {
		t.Errorf("Lookup after Close = %+v, want zero", got)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFiles(t *testing.T) {
	db := mustOpen(t, Options{City: []string{geoip2City, flatV4, flatV6}, ASN: []string{asnDB}})
	build := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []FileInfo{
		{geoip2City, KindCity, SchemaGeoIP2, "GeoIP2-City", 6, build},
		{flatV4, KindCity, SchemaFlat, "city ipv4", 4, build},
		{flatV6, KindCity, SchemaFlat, "city ipv6", 6, build},
		{asnDB, KindASN, SchemaASN, "GeoLite2-ASN", 6, build},
	}
	got := db.Files()
	if !slices.EqualFunc(got, want, func(a, b FileInfo) bool { return a == b }) {
		t.Errorf("Files() =\n%+v\nwant\n%+v", got, want)
	}
	got[0].Path = "changed"
	if db.Files()[0].Path != geoip2City {
		t.Error("Files() returns the DB's own slice")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	city, err := os.ReadFile(geoip2City)
	if err != nil {
		t.Fatal(err)
	}
	half := write("half.mmdb", city[:len(city)/2])
	short := write("short.mmdb", city[:len(city)-1])
	empty := write("empty.mmdb", nil)
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i>>3)
	}
	garbageFile := write("garbage.mmdb", garbage)
	// The fixture with its search tree (it starts the file) overwritten.
	badTree := slices.Clone(city)
	for i := 60; i < 160; i++ {
		badTree[i] = 0xFF
	}
	badTreeFile := write("bad-tree.mmdb", badTree)
	// The fixture with its data section overwritten (the metadata marker stays).
	badData := slices.Clone(city)
	marker := strings.LastIndex(string(badData), string(metadataMarker))
	for i := marker - 600; i < marker-16; i++ {
		badData[i] = 0xFF
	}
	badDataFile := write("bad-data.mmdb", badData)
	missing := filepath.Join(dir, "missing.mmdb")

	tests := []struct {
		name   string
		o      Options
		path   string // the file the error must name
		is     error
		schema string // SchemaError.Schema, for schema errors
	}{
		{"missing city file", Options{City: []string{missing}}, missing, fs.ErrNotExist, ""},
		{"missing ASN file", Options{City: []string{geoip2City}, ASN: []string{missing}}, missing, fs.ErrNotExist, ""},
		{"truncated to half", Options{City: []string{half}}, half, ErrInvalidDatabase, ""},
		{"truncated by a byte", Options{City: []string{short}}, short, ErrInvalidDatabase, ""},
		{"empty file", Options{City: []string{empty}}, empty, ErrInvalidDatabase, ""},
		{"garbage", Options{City: []string{garbageFile}}, garbageFile, ErrInvalidDatabase, ""},
		{"garbage in the search tree", Options{City: []string{badTreeFile}}, badTreeFile, ErrInvalidDatabase, ""},
		{"garbage in the data section", Options{City: []string{badDataFile}}, badDataFile, ErrInvalidDatabase, ""},
		{"unknown schema as city", Options{City: []string{notACity}}, notACity, ErrUnknownSchema, ""},
		{"unknown schema as ASN", Options{ASN: []string{notACity}}, notACity, ErrUnknownSchema, ""},
		{"ASN database as city", Options{City: []string{asnDB}}, asnDB, ErrWrongKind, SchemaASN},
		{"GeoIP2 city database as ASN", Options{ASN: []string{geoip2City}}, geoip2City, ErrWrongKind, SchemaGeoIP2},
		{"flat city database as ASN", Options{City: []string{flatV6}, ASN: []string{flatV4}}, flatV4, ErrWrongKind, SchemaFlat},
		{"bad file after good ones", Options{City: []string{geoip2City, flatV4, half}}, half, ErrInvalidDatabase, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(tc.o)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %s", err, tc.path)
			}
			var se *SchemaError
			if errors.As(err, &se) {
				if se.Schema != tc.schema || se.Path != tc.path {
					t.Errorf("SchemaError %+v, want Schema %q Path %s", se, tc.schema, tc.path)
				}
			} else if tc.is == ErrUnknownSchema || tc.is == ErrWrongKind {
				t.Errorf("error %q is not a *SchemaError", err)
			}
		})
	}

	t.Run("unknown schema lists keys", func(t *testing.T) {
		_, err := Open(Options{City: []string{notACity}})
		var se *SchemaError
		if !errors.As(err, &se) || !slices.Equal(se.Keys, []string{"foo"}) || se.DatabaseType != "Example-Foo" {
			t.Fatalf("got %#v", err)
		}
		if !strings.Contains(err.Error(), "foo") {
			t.Errorf("error %q does not list the keys", err)
		}
	})
	t.Run("no files", func(t *testing.T) {
		if _, err := Open(Options{}); err == nil {
			t.Error("Open without files succeeded")
		}
	})
}

// TestTruncatedAnywhere opens every prefix of every fixture: all must fail, none may panic.
func TestTruncatedAnywhere(t *testing.T) {
	for _, p := range []string{geoip2City, flatV4, flatV6, asnDB} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		kind := KindCity
		if p == asnDB {
			kind = KindASN
		}
		for n := range len(data) {
			// A copy with no spare capacity, as os.ReadFile of a short file would give.
			buf := slices.Clip(slices.Clone(data[:n]))
			if _, _, err := openBuf(buf, FileInfo{Path: p, Kind: kind}, 0); !errors.Is(err, ErrInvalidDatabase) {
				t.Fatalf("%s truncated to %d of %d bytes: err = %v, want ErrInvalidDatabase", p, n, len(data), err)
			}
		}
	}
}

func TestCache(t *testing.T) {
	db := mustOpen(t, Options{City: []string{flatV4, flatV6}, ASN: []string{asnDB}})
	a := db.Lookup(netip.MustParseAddr("81.2.69.142"))
	b := db.Lookup(netip.MustParseAddr("81.2.69.7")) // same network, same record
	if a.Loc == nil || a.Loc != b.Loc {
		t.Fatalf("second lookup of the network gave another *Location: %p %p", a.Loc, b.Loc)
	}
	c := db.Lookup(netip.MustParseAddr("2a02:c7f::1")) // London in the IPv6 file: another record
	if c.Loc == nil || c.Loc.ID == a.Loc.ID || *c.Loc != (Location{ID: c.Loc.ID, Point: a.Loc.Point, Vec: a.Loc.Vec, HasPoint: true,
		Country: "GB", Continent: "EU", SubdivisionName: "England", City: "London", CityID: a.Loc.CityID}) {
		t.Errorf("London in the IPv6 file: %+v, IPv4 file: %+v", c.Loc, a.Loc)
	}

	for _, addr := range []string{"81.2.69.142", "2001:db8:1::1", "192.0.2.1", "::ffff:8.8.8.8"} {
		ip := netip.MustParseAddr(addr)
		db.Lookup(ip) // warm the cache
		if n := testing.AllocsPerRun(100, func() { db.Lookup(ip) }); n != 0 {
			t.Errorf("cached Lookup(%s) allocates %v times", addr, n)
		}
	}
}

// TestTinyCache checks the answers stay right when every lookup evicts the previous record.
func TestTinyCache(t *testing.T) {
	for _, size := range []int{1, 2, 3} {
		db := mustOpen(t, Options{City: []string{geoip2City}, ASN: []string{asnDB}, CacheSize: size})
		if n := len(db.st.Load().cities.slots); n&(n-1) != 0 || n < size {
			t.Errorf("CacheSize %d: %d slots", size, n)
		}
		for range 3 {
			for _, w := range lookups {
				got := db.Lookup(netip.MustParseAddr(w.addr))
				if w.country == "" != (got.Loc == nil) || got.Loc != nil && got.Loc.City != w.city {
					t.Fatalf("CacheSize %d, %s: %+v", size, w.addr, got.Loc)
				}
			}
		}
	}
}

func TestConcurrentLookups(t *testing.T) {
	db := mustOpen(t, Options{City: []string{flatV4, geoip2City}, ASN: []string{asnDB}, CacheSize: 4})
	addrs := make([]netip.Addr, len(lookups))
	for i, w := range lookups {
		addrs[i] = netip.MustParseAddr(w.addr)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 3000 {
				k := (i + g) % len(lookups)
				got := db.Lookup(addrs[k])
				w := lookups[k]
				if got.Bits != w.bits || w.country == "" != (got.Loc == nil) ||
					got.Loc != nil && (got.Loc.Country != w.country || got.Loc.City != w.city) {
					t.Errorf("goroutine %d: %s: %+v", g, w.addr, got)
					return
				}
			}
		})
	}
	wg.Wait()

	// Close while lookups run: answers are right or zero, never anything else.
	db2 := mustOpen(t, Options{City: []string{geoip2City}})
	london := netip.MustParseAddr("81.2.69.142")
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				if got := db2.Lookup(london); got != (Result{}) && (got.Loc == nil || got.Loc.City != "London") {
					t.Errorf("lookup racing Close: %+v", got)
					return
				}
			}
		})
	}
	db2.Close()
	wg.Wait()
}

func TestNormCountry(t *testing.T) {
	for in, want := range map[string]string{"GB": "GB", "gb": "GB", "Gb": "GB", "": "", "G": "", "GBR": "", "1A": "", "--": ""} {
		if got := normCountry(in); got != want {
			t.Errorf("normCountry(%q) = %q, want %q", in, got, want)
		}
	}
	if got := subdivisionCode("US-CA", "US"); got != "CA" {
		t.Errorf("subdivisionCode(US-CA) = %q", got)
	}
	if got := subdivisionCode("CA", "US"); got != "CA" {
		t.Errorf("subdivisionCode(CA) = %q", got)
	}
}

func TestCoordShortestDecimal(t *testing.T) {
	for _, v := range []float64{51.5142, -0.0931, -122.0838, 151.2093, 1.3521, 0, 90, -180} {
		c := coord{v: float64(float32(v)), f32: true, ok: true}
		if got := c.value(); got != v {
			t.Errorf("float32 %v gives %v", v, got)
		}
	}
}
