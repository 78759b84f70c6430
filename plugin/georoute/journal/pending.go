package journal

import (
	"maps"
	"slices"

	"github.com/miekg/dns"
)

// Pending gathers a zone's changes until its next serial: what names' records were and became.
// A record added and then deleted again (or the other way) cancels out. Records are told apart
// by their presentation form, TTL included, so a TTL change is a deletion and an addition.
type Pending struct {
	del, add map[string]dns.RR
}

// NewPending returns an empty Pending.
func NewPending() *Pending {
	return &Pending{del: map[string]dns.RR{}, add: map[string]dns.RR{}}
}

// Change records that one name's records were old and are now new, and reports whether they
// differ.
func (p *Pending) Change(old, new []dns.RR) (changed bool) {
	was := make(map[string]dns.RR, len(old))
	for _, rr := range old {
		was[rr.String()] = rr
	}
	for _, rr := range new {
		k := rr.String()
		if _, ok := was[k]; ok {
			delete(was, k)
			continue
		}
		changed = true
		if _, ok := p.del[k]; ok {
			delete(p.del, k)
		} else {
			p.add[k] = rr
		}
	}
	for k, rr := range was {
		changed = true
		if _, ok := p.add[k]; ok {
			delete(p.add, k)
		} else {
			p.del[k] = rr
		}
	}
	return changed
}

// Len is how many records the changes delete and add.
func (p *Pending) Len() int { return len(p.del) + len(p.add) }

// Diff is the changes as the diff from serial from to serial to, records in a stable order.
func (p *Pending) Diff(from, to uint32) Diff {
	return Diff{From: from, To: to, Del: sorted(p.del), Add: sorted(p.add)}
}

func sorted(m map[string]dns.RR) []dns.RR {
	out := make([]dns.RR, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
