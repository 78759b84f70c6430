package geoip

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// rawRecord is everything this package reads from a data record of any supported schema. It is
// decoded by walking the record with the mmdbdata cursor API: only the keys used here are
// looked at, everything else is skipped without being materialised, and a value of an
// unexpected type is skipped as if absent instead of failing the whole record.
type rawRecord struct {
	// What kind of record this looks like: counts of the schema's top-level keys seen.
	geoip2Keys, flatKeys, asnKeys int

	// GeoIP2 / GeoLite2 City (and DB-IP's own "DBIP-City-Lite"): nested maps.
	cityID            uint64 // city.geoname_id
	cityName          string // city.names.en
	continent         string // continent.code
	country           string // country.iso_code
	registeredCountry string // registered_country.iso_code
	locLat, locLon    coord  // location.latitude, location.longitude
	subCode, subName  string // subdivisions[0].iso_code, subdivisions[0].names.en

	// ip-location-db flat schema.
	countryCode string // country_code
	state1      string // state1 (a subdivision name)
	flatCity    string // city
	flatLat     coord  // latitude
	flatLon     coord  // longitude

	// GeoLite2-ASN (and ip-location-db's ASN files).
	asn uint64 // autonomous_system_number

	// keys, when not nil, collects the distinct top-level keys (up to maxKeyHints), for the
	// hint of an unknown-schema error.
	keys *[]string
}

// coord is a decoded coordinate; ok is false when the key was absent or not a number.
type coord struct {
	v       float64
	f32, ok bool // f32: stored as float32
}

type cursor = mmdbdata.Cursor

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (r *rawRecord) UnmarshalMaxMindDBCursor(c cursor) (cursor, error) {
	return forMap(c, r.topLevel)
}

func (r *rawRecord) topLevel(key []byte, v cursor) (cursor, error) {
	if r.keys != nil && len(*r.keys) < maxKeyHints && !slices.Contains(*r.keys, string(key)) {
		*r.keys = append(*r.keys, string(key))
	}
	switch string(key) {
	case "city":
		kind, err := v.Kind()
		if err != nil {
			return cursor{}, err
		}
		if kind == mmdbdata.KindString { // flat schema
			r.flatKeys++
			return readString(v, &r.flatCity)
		}
		if kind == mmdbdata.KindMap {
			r.geoip2Keys++
		}
		return forMap(v, func(key []byte, v cursor) (cursor, error) {
			switch string(key) {
			case "geoname_id":
				return readUint(v, &r.cityID)
			case "names":
				return readEnglishName(v, &r.cityName)
			}
			return v.Skip()
		})
	case "continent":
		r.markGeoIP2(v)
		return readMapString(v, "code", &r.continent)
	case "country":
		r.markGeoIP2(v)
		return readMapString(v, "iso_code", &r.country)
	case "registered_country":
		r.markGeoIP2(v)
		return readMapString(v, "iso_code", &r.registeredCountry)
	case "represented_country":
		r.markGeoIP2(v)
		return v.Skip()
	case "location":
		r.markGeoIP2(v)
		return forMap(v, func(key []byte, v cursor) (cursor, error) {
			switch string(key) {
			case "latitude":
				return readCoord(v, &r.locLat)
			case "longitude":
				return readCoord(v, &r.locLon)
			}
			return v.Skip()
		})
	case "subdivisions":
		kind, err := v.Kind()
		if err != nil {
			return cursor{}, err
		}
		if kind != mmdbdata.KindSlice {
			return v.Skip()
		}
		r.geoip2Keys++
		return forFirst(v, func(v cursor) (cursor, error) {
			return forMap(v, func(key []byte, v cursor) (cursor, error) {
				switch string(key) {
				case "iso_code":
					return readString(v, &r.subCode)
				case "names":
					return readEnglishName(v, &r.subName)
				}
				return v.Skip()
			})
		})
	case "country_code":
		r.markKind(v, mmdbdata.KindString, &r.flatKeys)
		return readString(v, &r.countryCode)
	case "state1":
		r.markKind(v, mmdbdata.KindString, &r.flatKeys)
		return readString(v, &r.state1)
	case "latitude":
		next, err := readCoord(v, &r.flatLat)
		if r.flatLat.ok {
			r.flatKeys++
		}
		return next, err
	case "longitude":
		next, err := readCoord(v, &r.flatLon)
		if r.flatLon.ok {
			r.flatKeys++
		}
		return next, err
	case "timezone":
		r.markKind(v, mmdbdata.KindString, &r.flatKeys)
		return v.Skip()
	case "autonomous_system_number":
		var n uint64 = 1 << 63 // sentinel: not a number
		next, err := readUint(v, &n)
		if n != 1<<63 {
			r.asn = n
			r.asnKeys++
		}
		return next, err
	}
	return v.Skip()
}

// markGeoIP2 counts v as a GeoIP2 schema key when it is a map.
func (r *rawRecord) markGeoIP2(v cursor) { r.markKind(v, mmdbdata.KindMap, &r.geoip2Keys) }

func (*rawRecord) markKind(v cursor, want mmdbdata.Kind, counter *int) {
	if kind, err := v.Kind(); err == nil && kind == want {
		*counter++
	}
}

// forMap calls fn for every entry of the map at c; fn must return the successor of the value it
// was given. A value that is not a map is skipped.
func forMap(c cursor, fn func(key []byte, v cursor) (cursor, error)) (cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return cursor{}, err
	}
	if kind != mmdbdata.KindMap {
		return c.Skip()
	}
	m, err := c.Map()
	if err != nil {
		return cursor{}, err
	}
	var next cursor
	for {
		key, v, ok := m.Next(next)
		if !ok {
			break
		}
		if next, err = fn(key, v); err != nil {
			return cursor{}, err
		}
	}
	return m.End()
}

// forFirst calls fn for the first element of the slice at c and skips the others. A value that
// is not a slice is skipped.
func forFirst(c cursor, fn func(v cursor) (cursor, error)) (cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return cursor{}, err
	}
	if kind != mmdbdata.KindSlice {
		return c.Skip()
	}
	s, err := c.Slice()
	if err != nil {
		return cursor{}, err
	}
	var next cursor
	for {
		i, v, ok := s.Next(next)
		if !ok {
			break
		}
		if i == 0 {
			next, err = fn(v)
		} else {
			next, err = v.Skip()
		}
		if err != nil {
			return cursor{}, err
		}
	}
	return s.End()
}

// readMapString reads the string under key of the map at c into dst.
func readMapString(c cursor, key string, dst *string) (cursor, error) {
	return forMap(c, func(k []byte, v cursor) (cursor, error) {
		if string(k) == key {
			return readString(v, dst)
		}
		return v.Skip()
	})
}

// readEnglishName reads names.en of the names map at c.
func readEnglishName(c cursor, dst *string) (cursor, error) { return readMapString(c, "en", dst) }

// readString reads a string into dst; any other kind is skipped and leaves dst unchanged.
func readString(c cursor, dst *string) (cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return cursor{}, err
	}
	if kind != mmdbdata.KindString {
		return c.Skip()
	}
	s, next, err := c.ReadString()
	if err != nil {
		return cursor{}, err
	}
	*dst = s
	return next, nil
}

// readUint reads a non-negative integer of any width into dst; any other kind is skipped.
func readUint(c cursor, dst *uint64) (cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return cursor{}, err
	}
	switch kind {
	case mmdbdata.KindUint16, mmdbdata.KindUint32, mmdbdata.KindUint64:
		v, next, err := c.ReadUint()
		if err != nil {
			return cursor{}, err
		}
		*dst = v
		return next, nil
	case mmdbdata.KindInt32:
		v, next, err := c.ReadInt32()
		if err != nil {
			return cursor{}, err
		}
		if v >= 0 {
			*dst = uint64(v)
		}
		return next, nil
	case mmdbdata.KindUint128:
		hi, lo, next, err := c.ReadUint128()
		if err != nil {
			return cursor{}, err
		}
		if hi == 0 {
			*dst = lo
		}
		return next, nil
	}
	return c.Skip()
}

// readCoord reads a float of either width into dst; any other kind is skipped.
func readCoord(c cursor, dst *coord) (cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return cursor{}, err
	}
	switch kind {
	case mmdbdata.KindFloat64:
		v, next, err := c.ReadFloat64()
		if err != nil {
			return cursor{}, err
		}
		*dst = coord{v: v, ok: true}
		return next, nil
	case mmdbdata.KindFloat32:
		v, next, err := c.ReadFloat32()
		if err != nil {
			return cursor{}, err
		}
		*dst = coord{v: float64(v), f32: true, ok: true}
		return next, nil
	}
	return c.Skip()
}

// value is the coordinate as a float64. A float32 is turned into the float64 of its shortest
// decimal form (float32 37.386 gives 37.386, not 37.38600158691406), so that the flat schema,
// which stores float32, gives the same points as GeoIP2, which stores float64.
func (c coord) value() float64 {
	if !c.f32 {
		return c.v
	}
	var buf [32]byte
	f, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], c.v, 'g', -1, 32)), 64)
	if err != nil {
		return c.v
	}
	return f
}

// location builds the Location of a decoded city record of the given schema; nil when the record
// says nothing useful (no country, continent, city or coordinates).
func (r *rawRecord) location(s schema, id uint64) *Location {
	loc := &Location{ID: id}
	var lat, lon coord
	switch s {
	case schemaGeoIP2:
		loc.Country = normCountry(r.country)
		if loc.Country == "" {
			loc.Country = normCountry(r.registeredCountry)
		}
		loc.Continent = strings.ToUpper(strings.TrimSpace(r.continent))
		if !geo.IsContinent(loc.Continent) {
			loc.Continent = ""
		}
		loc.Subdivision = subdivisionCode(r.subCode, loc.Country)
		loc.SubdivisionName = r.subName
		loc.City = r.cityName
		loc.CityID = r.cityID
		lat, lon = r.locLat, r.locLon
	case schemaFlat:
		loc.Country = normCountry(r.countryCode)
		loc.SubdivisionName = r.state1
		loc.Subdivision = geo.SubdivisionCode(loc.Country, r.state1) // the flat schema names, never codes
		loc.City = r.flatCity
		if loc.City != "" && loc.Country != "" {
			loc.CityID = flatCityID(loc.Country, loc.City)
		}
		lat, lon = r.flatLat, r.flatLon
	default:
		return nil
	}
	if loc.Continent == "" {
		loc.Continent = geo.ContinentOf(loc.Country)
	}
	if lat.ok && lon.ok {
		p := geo.Point{Lat: lat.value(), Lon: lon.value()}
		if p.Valid() {
			loc.Point, loc.Vec, loc.HasPoint = p, p.Vec(), true
		}
	}
	if loc.Country == "" && loc.Continent == "" && loc.City == "" && !loc.HasPoint {
		return nil
	}
	return loc
}

// normCountry upper-cases a country code and drops anything that is not two ASCII letters.
func normCountry(s string) string {
	if len(s) != 2 {
		return ""
	}
	b := [2]byte{s[0], s[1]}
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			return ""
		}
	}
	if b == [2]byte{s[0], s[1]} {
		return s
	}
	return string(b[:])
}

// subdivisionCode strips a "CC-" country prefix, should a database give full ISO 3166-2 codes.
func subdivisionCode(code, country string) string {
	code = strings.TrimSpace(code)
	if country != "" && len(code) > 3 && code[2] == '-' && strings.EqualFold(code[:2], country) {
		return code[3:]
	}
	return code
}

// flatCityID is the CityID of a flat-schema record: the 64-bit FNV-1a hash of country+"/"+city.
func flatCityID(country, city string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(country))
	h.Write([]byte{'/'})
	h.Write([]byte(city))
	return h.Sum64()
}
