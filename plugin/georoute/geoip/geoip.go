// Package geoip maps a client IP address to a location and a network, reading MaxMind DB
// (mmdb) files.
//
// Two city schemas are supported and told apart by the records themselves, not by file name:
// the GeoIP2/GeoLite2 City schema of nested maps (also used by DB-IP's own "DBIP-City-Lite"
// mmdb), and the flat schema of the ip-location-db DB-IP City Lite files (country_code,
// state1, city, latitude, longitude, ...; one file per IP version, no continent). An optional
// ASN database in the GeoLite2-ASN schema adds the autonomous system number.
//
// Open reads every file into memory (off the Go heap, see readFile) and checks it completely
// (search tree bounds and every data record), so a file replaced or truncated on disk later
// cannot affect a running DB, and a corrupt file is refused at Open rather than found out at
// query time.
//
// Lookup is meant for the DNS hot path: it takes no locks, and once the records a client's
// address falls in are decoded (each decoded record is cached by its position in the file) it
// does not allocate. Locations are shared and must not be modified.
package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// Location is what a database says of one network. Values are shared and immutable.
type Location struct {
	ID              uint64    // identifies the database record (file index and data offset); equal IDs, equal contents
	Point           geo.Point // position, when HasPoint
	Vec             geo.Vec   // Point.Vec(), for distances on the query path
	HasPoint        bool      // false when the record has no coordinates
	Country         string    // ISO 3166-1 alpha-2, upper case; "" unknown
	Continent       string    // AF AN AS EU NA OC SA; derived from Country when the database has none
	Subdivision     string    // ISO 3166-2 code without the country part ("CA"), "" when unknown; for the flat schema from geo.SubdivisionCode
	SubdivisionName string    // English name when the database gives one ("California")
	City            string    // English city name, "" unknown
	CityID          uint64    // geoname_id, or for the flat schema a stable 64-bit FNV hash of country+"/"+city; 0 unknown
}

// Result of one lookup.
type Result struct {
	Loc *Location // nil when no city database has the address
	// Bits is the prefix length of the database network that decided Loc, found or not found,
	// for the scope of an EDNS Client Subnet answer. It counts in the address family of the
	// looked-up address after unmapping (an IPv4 or IPv4-mapped address gives an IPv4 length).
	// When several files were consulted it is the longest of their networks: the answer holds
	// only where all of them hold. 0 when no file could look the address up.
	Bits    int
	ASN     uint32 // 0 when unknown or no ASN database
	ASNBits int    // prefix length of the ASN database network consulted (0 when no ASN database)
}

// Options says which files Open reads.
type Options struct {
	City []string // city database files, any mix of schemas and IP versions
	ASN  []string // optional ASN database files
	// CacheSize is the number of cached decoded records, rounded up to a power of two; 0 means
	// 65536. City and ASN records have a cache each of this size.
	CacheSize int
}

// File kinds and schemas, as FileInfo reports them.
const (
	KindCity = "city"
	KindASN  = "asn"

	SchemaGeoIP2 = "geoip2" // GeoIP2/GeoLite2 City (and Country), DBIP-City-Lite
	SchemaFlat   = "flat"   // ip-location-db flat schema
	SchemaASN    = "asn"    // GeoLite2-ASN
)

// FileInfo describes one opened database file.
type FileInfo struct {
	Path         string
	Kind         string // "city" or "asn"
	Schema       string // "geoip2", "flat" or "asn"
	DatabaseType string // from the metadata, e.g. "GeoLite2-City", "city ipv4"
	IPVersion    int    // 4 or 6 (an IPv6 database may hold IPv4 too)
	BuildTime    time.Time
}

// Errors Open wraps, for errors.Is. A missing file gives an error for which
// errors.Is(err, fs.ErrNotExist) holds.
var (
	// ErrInvalidDatabase: not a MaxMind DB file, or a truncated or corrupt one.
	ErrInvalidDatabase = errors.New("not a valid MaxMind DB file (corrupt or truncated?)")
	// ErrUnknownSchema: a valid MaxMind DB whose records are of no schema this package reads.
	ErrUnknownSchema = errors.New("unknown database schema")
	// ErrWrongKind: a valid database of a known schema given in the wrong place (an ASN
	// database as a city database, or the other way round).
	ErrWrongKind = errors.New("database of the wrong kind")
)

// SchemaError is the error of a file whose schema does not fit: unknown, or of the other kind.
// It unwraps to ErrUnknownSchema or ErrWrongKind.
type SchemaError struct {
	Path         string
	Want         string   // the kind the file was given as: "city" or "asn"
	Schema       string   // the schema found: "geoip2", "flat", "asn", or "" when unknown
	DatabaseType string   // from the metadata
	Keys         []string // some top-level keys of the records, as a hint
}

func (e *SchemaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "geoip: %s database %s (database type %q): ", e.Want, e.Path, e.DatabaseType)
	if e.Schema == "" {
		b.WriteString("unknown schema")
		if len(e.Keys) > 0 {
			fmt.Fprintf(&b, " (records have keys %s)", strings.Join(e.Keys, ", "))
		}
	} else {
		fmt.Fprintf(&b, "is a %s database, not a %s database", kindOfSchema(e.Schema), e.Want)
	}
	switch e.Want {
	case KindCity:
		b.WriteString("; want a GeoIP2/GeoLite2 City (or Country) database, DB-IP's DBIP-City-Lite " +
			"mmdb, or an ip-location-db city mmdb (keys country_code, city, latitude, longitude)")
	case KindASN:
		b.WriteString("; want a GeoLite2-ASN database (key autonomous_system_number)")
	}
	return b.String()
}

func (e *SchemaError) Unwrap() error {
	if e.Schema == "" {
		return ErrUnknownSchema
	}
	return ErrWrongKind
}

func kindOfSchema(s string) string {
	if s == SchemaASN {
		return KindASN
	}
	return KindCity
}

type schema uint8

const (
	schemaNone schema = iota
	schemaGeoIP2
	schemaFlat
	schemaASN
)

func (s schema) String() string {
	switch s {
	case schemaGeoIP2:
		return SchemaGeoIP2
	case schemaFlat:
		return SchemaFlat
	case schemaASN:
		return SchemaASN
	}
	return ""
}

// file is one opened database.
type file struct {
	index  int // position in DB.files, part of the record keys
	r      *maxminddb.Reader
	schema schema
	v4only bool // IPVersion 4: cannot look up IPv6 addresses
}

// state is everything Lookup reads; Close drops it.
type state struct {
	city4, city6 []*file // files to consult for IPv4 (IPv4 files first) and IPv6 addresses
	asn4, asn6   []*file
	cities       *cache[*Location] // nil Location: the record holds no location
	asns         *cache[uint32]
	nets         *cache[Result] // by client network (/24, /48), when its whole network shares the result
}

// DB answers lookups from a set of database files. It is safe for concurrent use.
type DB struct {
	st      atomic.Pointer[state]
	files   []FileInfo
	samples samples // Countries
}

// Open reads and checks the database files. Every error names the file it is about.
func Open(o Options) (*DB, error) {
	if len(o.City) == 0 && len(o.ASN) == 0 {
		return nil, errors.New("geoip: no database files given")
	}
	db := &DB{}
	st := &state{
		cities: newCache[*Location](o.CacheSize),
		nets:   newCache[Result](o.CacheSize),
	}
	if len(o.ASN) > 0 { // no files, no lookups: nothing for the collector to scan either
		st.asns = newCache[uint32](o.CacheSize)
	}
	var v4City, v6City, v4ASN, v6ASN []*file
	open := func(path, kind string) error {
		f, info, err := openFile(path, kind, len(db.files))
		if err != nil {
			return err
		}
		db.files = append(db.files, info)
		switch {
		case kind == KindCity && f.v4only:
			v4City = append(v4City, f)
		case kind == KindCity:
			v6City = append(v6City, f)
		case f.v4only:
			v4ASN = append(v4ASN, f)
		default:
			v6ASN = append(v6ASN, f)
		}
		return nil
	}
	for _, p := range o.City {
		if err := open(p, KindCity); err != nil {
			return nil, err
		}
	}
	for _, p := range o.ASN {
		if err := open(p, KindASN); err != nil {
			return nil, err
		}
	}
	st.city4 = append(append([]*file(nil), v4City...), v6City...)
	st.city6 = v6City
	st.asn4 = append(append([]*file(nil), v4ASN...), v6ASN...)
	st.asn6 = v6ASN
	db.st.Store(st)
	return db, nil
}

func openFile(path, kind string, index int) (*file, FileInfo, error) {
	info := FileInfo{Path: path, Kind: kind}
	if index >= 1<<16-1 {
		return nil, info, fmt.Errorf("geoip: %s database %s: too many database files", kind, path)
	}
	buf, free, err := readFile(path)
	if err != nil {
		return nil, info, fmt.Errorf("geoip: %s database: %w", kind, err) // *PathError names the file
	}
	f, info, err := openBuf(buf, info, index)
	if err != nil {
		free()
		return nil, info, err
	}
	// Lookups reach buf only through f (lookupIn keeps it alive while they read): unmap buf once
	// f is garbage, that is once no state holds the file any more.
	runtime.AddCleanup(f, func(free func()) { free() }, free)
	return f, info, nil
}

// openBuf opens a database file read into buf; the file is described by info (Path, Kind).
func openBuf(buf []byte, info FileInfo, index int) (*file, FileInfo, error) {
	path, kind := info.Path, info.Kind
	invalid := func(err error) error {
		return fmt.Errorf("geoip: %s database %s: %w: %w", kind, path, ErrInvalidDatabase, err)
	}
	if len(buf) == 0 {
		return nil, info, invalid(errors.New("empty file"))
	}
	// Decoded records are cached whole (DB.cities): the reader's own string cache would only
	// add a megabyte of strings for every collection to scan.
	r, err := maxminddb.OpenBytes(buf, maxminddb.DisableStringCache())
	if err != nil {
		return nil, info, invalid(err)
	}
	sv, err := check(r, buf)
	if err != nil {
		return nil, info, invalid(err)
	}
	md := r.Metadata
	info.DatabaseType = md.DatabaseType
	info.IPVersion = int(md.IPVersion)
	info.BuildTime = md.BuildTime().UTC()

	s := classify(sv, kind)
	if s == schemaNone {
		return nil, info, &SchemaError{
			Path: path, Want: kind, Schema: classify(sv, otherKind(kind)).String(), // wrong place?
			DatabaseType: md.DatabaseType, Keys: sv.keys,
		}
	}
	info.Schema = s.String()
	return &file{index: index, r: r, schema: s, v4only: md.IPVersion == 4}, info, nil
}

func otherKind(kind string) string {
	if kind == KindCity {
		return KindASN
	}
	return KindCity
}

// classify picks the schema of a surveyed database for use as kind; schemaNone when no record
// fits it. Of the two city schemas the one more records have wins.
func classify(sv survey, kind string) schema {
	if kind == KindASN {
		if sv.as > 0 {
			return schemaASN
		}
		return schemaNone
	}
	switch {
	case sv.geoip2 == 0 && sv.flat == 0:
		return schemaNone
	case sv.geoip2 >= sv.flat:
		return schemaGeoIP2
	default:
		return schemaFlat
	}
}

// Files describes the opened files, city files first, in the order given.
func (db *DB) Files() []FileInfo { return append([]FileInfo(nil), db.files...) }

// Close releases the databases. It is safe to call concurrently with Lookup; lookups after
// Close return the zero Result. The memory goes once lookups in flight are done.
func (db *DB) Close() error {
	db.st.Store(nil)
	return nil
}

// Lookup returns what the databases say of addr. IPv4 and IPv4-mapped IPv6 addresses are looked
// up in the IPv4 files, then in the IPv6 files; IPv6 addresses in the IPv6 files only. The
// first file that has a location for the address decides. An invalid address gives the zero
// Result.
func (db *DB) Lookup(addr netip.Addr) Result {
	st := db.st.Load()
	if st == nil || !addr.IsValid() {
		return Result{}
	}
	addr = addr.Unmap()
	// Resolvers send the same client networks again and again: a network whose result holds for
	// all of it skips the tree walks (which, on miekg/dns's goroutine per query, also grow the
	// stack every time).
	key, bits := netKey(addr)
	if s := st.nets.get(key); s != nil {
		return s.val
	}
	res := lookupSlow(st, addr)
	if res.Bits <= bits && res.ASNBits <= bits {
		st.nets.put(key, res)
	}
	return res
}

// netKey identifies addr's client network, its /24 or /48, and gives that prefix length.
func netKey(a netip.Addr) (uint64, int) {
	if a.Is4() {
		b := a.As4()
		return 1<<62 | uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2]), 24
	}
	b := a.As16()
	return 2<<62 | uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5]), 48
}

func lookupSlow(st *state, addr netip.Addr) Result {
	var res Result
	cities, asns := st.city6, st.asn6
	if addr.Is4() {
		cities, asns = st.city4, st.asn4
	}
	res.Loc, res.Bits = lookupIn(cities, addr, st.cities, func(r maxminddb.Result, f *file, key uint64) *Location {
		return decodeLocation(r, f.schema, key)
	})
	res.ASN, res.ASNBits = lookupIn(asns, addr, st.asns, func(r maxminddb.Result, _ *file, _ uint64) uint32 {
		return decodeASN(r)
	})
	return res
}

// lookupIn looks addr up in files in order, decoding a record once per cache lifetime, until one
// has a value. It returns the value and the longest prefix among the networks it consulted.
func lookupIn[V comparable](files []*file, addr netip.Addr, c *cache[V], decode func(maxminddb.Result, *file, uint64) V) (V, int) {
	var zero V
	bits := 0
	for _, f := range files {
		r := f.r.Lookup(addr)
		if r.Err() != nil {
			continue
		}
		bits = max(bits, prefixBits(r, addr))
		if !r.Found() {
			continue
		}
		key := recordKey(f.index, r.Offset())
		s := c.get(key)
		if s == nil {
			s = c.put(key, decode(r, f, key))
		}
		if s.val != zero {
			runtime.KeepAlive(files) // the file's memory is unmapped when the file is garbage
			return s.val, bits
		}
	}
	runtime.KeepAlive(files)
	return zero, bits
}

// prefixBits is the prefix length of the network r was decided by, in addr's family. An IPv4
// address in an IPv6 database without an IPv4 subtree comes out as an IPv6 prefix shorter than
// /96, which covers all of IPv4: /0.
func prefixBits(r maxminddb.Result, addr netip.Addr) int {
	p := r.Prefix()
	if addr.Is4() && !p.Addr().Is4() {
		return 0
	}
	return p.Bits()
}

func decodeLocation(r maxminddb.Result, s schema, key uint64) *Location {
	var rec rawRecord
	if err := r.Decode(&rec); err != nil {
		return nil // Open decoded every record, so this does not happen
	}
	return rec.location(s, key)
}

func decodeASN(r maxminddb.Result) uint32 {
	var rec rawRecord
	if err := r.Decode(&rec); err != nil || rec.asn > 1<<32-1 {
		return 0
	}
	return uint32(rec.asn)
}
