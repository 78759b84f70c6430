package georoute

import (
	"slices"

	"github.com/coredns/coredns/plugin/file"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/miekg/dns"
)

// updateZone is a zone's data as an UPDATE reads it (dnsupdate.Zone): a name's binding answers
// the types it has (a routed or pinned name's A and AAAA, which are not fixed records, among
// them), the zone's DNS data (the zone file's, or the SOA and NS of a zone made at run time)
// the rest, as a query is answered. Each name's binding is read once, and kept for the change's
// checks.
type updateZone struct {
	st     *state
	g      *GeoRoute
	z      *file.Zone
	origin string
	inFile bool // a zone file defines it
	bound  map[string]*route.Binding
}

func newUpdateZone(st *state, g *GeoRoute, origin string) *updateZone {
	_, inFile := st.view.Zone(origin)
	return &updateZone{st: st, g: g, z: st.zones[origin], origin: origin, inFile: inFile, bound: map[string]*route.Binding{}}
}

// binding is name's binding as read first (nil: none).
func (u *updateZone) binding(name string) *route.Binding {
	if b, ok := u.bound[name]; ok {
		return b
	}
	b := u.g.names.Get(name)
	u.bound[name] = b
	return b
}

// unfixed reports whether b answers type t by routing rather than with records.
func unfixed(b *route.Binding, t uint16) bool {
	return (b.Routed() || b.Extra != nil) && (t == dns.TypeA || t == dns.TypeAAAA)
}

// Types implements dnsupdate.Zone.
func (u *updateZone) Types(name string) []uint16 {
	var ts []uint16
	if b := u.binding(name); b != nil {
		for t := range b.Records {
			ts = append(ts, t)
		}
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			if unfixed(b, t) && !slices.Contains(ts, t) {
				ts = append(ts, t)
			}
		}
	}
	for _, t := range u.fileTypes(name) {
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// RRSet implements dnsupdate.Zone.
func (u *updateZone) RRSet(name string, t uint16) []dns.RR {
	if b := u.binding(name); b != nil {
		if rrs := b.Records[t]; len(rrs) > 0 {
			return rrs
		}
		if unfixed(b, t) {
			return nil
		}
	}
	return u.fileRRSet(name, t)
}

// fileTypes is the types of the zone's DNS data at name.
func (u *updateZone) fileTypes(name string) []uint16 {
	var ts []uint16
	if name == u.origin {
		if u.z.Apex.SOA != nil {
			ts = append(ts, dns.TypeSOA)
		}
		if len(u.z.Apex.NS) > 0 {
			ts = append(ts, dns.TypeNS)
		}
	}
	if e, ok := u.z.Tree.Search(name); ok {
		ts = append(ts, e.Types()...)
	}
	return ts
}

// fileRRSet is the zone's DNS data of type t at name.
func (u *updateZone) fileRRSet(name string, t uint16) []dns.RR {
	if name == u.origin {
		switch t {
		case dns.TypeSOA:
			if zs := u.g.serials.of(u.z); zs != nil {
				return []dns.RR{zs.soa}
			}
			if u.z.Apex.SOA != nil {
				return []dns.RR{u.z.Apex.SOA}
			}
			return nil
		case dns.TypeNS:
			return u.z.Apex.NS
		}
	}
	if e, ok := u.z.Tree.Search(name); ok {
		return e.Type(t)
	}
	return nil
}
