package journal

import (
	"slices"

	"github.com/miekg/dns"
)

// Diff is what changed in a zone from serial From to serial To: the records deleted and the
// records added, as an IXFR sequence carries them.
type Diff struct {
	From, To uint32
	Del, Add []dns.RR
}

// Journal holds, per zone, the latest diffs, each following the one before it. A zone's log
// keeps at most MaxDiffs diffs and MaxRecords records (deleted and added): the oldest go first,
// and a secondary further behind than the log reaches gets the whole zone (AXFR).
type Journal struct {
	MaxDiffs, MaxRecords int
	zones                map[string]*zoneLog
}

type zoneLog struct {
	diffs   []Diff // oldest first; replaced, never changed in place, so Since's slices stay valid
	records int
}

// New returns an empty journal with its limits.
func New(maxDiffs, maxRecords int) *Journal {
	return &Journal{MaxDiffs: maxDiffs, MaxRecords: maxRecords, zones: map[string]*zoneLog{}}
}

// Append adds d to zone's log. A diff that does not start where the log ends starts the log
// again; one larger than MaxRecords empties it (the zone is then only sent whole, until the
// next diff).
func (j *Journal) Append(zone string, d Diff) {
	l := j.zones[zone]
	n := len(d.Del) + len(d.Add)
	if n > j.MaxRecords {
		delete(j.zones, zone)
		return
	}
	if l == nil || len(l.diffs) == 0 || l.diffs[len(l.diffs)-1].To != d.From {
		j.zones[zone] = &zoneLog{diffs: []Diff{d}, records: n}
		return
	}
	drop, records := 0, l.records+n
	for drop < len(l.diffs) && (len(l.diffs)-drop+1 > j.MaxDiffs || records > j.MaxRecords) {
		records -= len(l.diffs[drop].Del) + len(l.diffs[drop].Add)
		drop++
	}
	diffs := make([]Diff, 0, len(l.diffs)-drop+1)
	j.zones[zone] = &zoneLog{diffs: append(append(diffs, l.diffs[drop:]...), d), records: records}
}

// Reset forgets zone's log: its data changed in a way no diff says.
func (j *Journal) Reset(zone string) { delete(j.zones, zone) }

// Since returns the diffs that take zone from serial from to its latest serial, oldest first,
// or false when the log does not reach back to from.
func (j *Journal) Since(zone string, from uint32) ([]Diff, bool) {
	l := j.zones[zone]
	if l == nil {
		return nil, false
	}
	i := slices.IndexFunc(l.diffs, func(d Diff) bool { return d.From == from })
	if i < 0 {
		return nil, false
	}
	return l.diffs[i:], true
}

// Records is how many records zone's log holds.
func (j *Journal) Records(zone string) int {
	if l := j.zones[zone]; l != nil {
		return l.records
	}
	return 0
}
