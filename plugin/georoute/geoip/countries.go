package geoip

import (
	"cmp"
	"net/netip"
	"runtime"
	"slices"
	"sync"
)

// Sample is one network of a country that the databases locate, standing for its clients.
type Sample struct {
	Country string
	Prefix  netip.Prefix
	Loc     *Location
}

// samples are a DB's Countries, worked out once.
type samples struct {
	once sync.Once
	out  []Sample
}

// Countries returns one IPv4 network for every country the city databases locate: its largest
// network with coordinates (the lowest address of those of a size), from the files consulted for
// IPv4 addresses, the first that has the country deciding, sorted by country. A lookup of an
// address of the network gives the sample's location. The first call walks every network of the
// files (about a second on DB-IP City Lite) and the answer is kept; it is safe to call
// concurrently with lookups.
func (db *DB) Countries() []Sample {
	db.samples.once.Do(func() {
		st := db.st.Load()
		if st == nil {
			return
		}
		db.samples.out = countries(st.city4)
		runtime.KeepAlive(st)
	})
	return db.samples.out
}

func countries(files []*file) []Sample {
	best := map[string]Sample{}
	for _, f := range files {
		seen := map[string]bool{} // countries of the files before this one
		for c := range best {
			seen[c] = true
		}
		decoded := map[uintptr]*Location{}
		for r := range f.r.Networks() {
			p := r.Prefix()
			if r.Err() != nil || !p.Addr().Is4() {
				continue
			}
			loc, ok := decoded[r.Offset()]
			if !ok {
				loc = decodeLocation(r, f.schema, recordKey(f.index, r.Offset()))
				decoded[r.Offset()] = loc
			}
			if loc == nil || loc.Country == "" || !loc.HasPoint || seen[loc.Country] {
				continue
			}
			if b, ok := best[loc.Country]; !ok || p.Bits() < b.Prefix.Bits() ||
				(p.Bits() == b.Prefix.Bits() && p.Addr().Less(b.Prefix.Addr())) {
				best[loc.Country] = Sample{Country: loc.Country, Prefix: p.Masked(), Loc: loc}
			}
		}
	}
	out := make([]Sample, 0, len(best))
	for _, s := range best {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Sample) int { return cmp.Compare(a.Country, b.Country) })
	return out
}
