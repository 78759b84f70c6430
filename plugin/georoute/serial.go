package georoute

import (
	"sync/atomic"

	"github.com/coredns/coredns/plugin/file"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
	"github.com/puzpuzpuz/xsync/v4"
)

// A zone's SOA serial follows the changes of its names: the SOA served is the zone's own (the
// zone file's, or the template's of a zone made at run time) with its serial advanced by the
// store revision of the zone's latest change (RFC 1982 arithmetic: it wraps), so that a
// secondary or a client that compares serials sees every change, whichever front door (API,
// Route 53, UPDATE) or node made it. The revision is the store's, the same on every node; a
// zone not changed since this node started counts the revision it started at, so a restart
// never moves a serial back. A signed zone file keeps its SOA as signed.
//
// What is served is kept per zone, built once per change (cost of the change, whatever the
// number of zones) and read lock-free by the query path: negative answers and SOA queries.

// zoneSerial is a zone's SOA as served.
type zoneSerial struct {
	rev  int64    // the revision its serial counts
	base *dns.SOA // the zone's own SOA it was made from
	soa  *dns.SOA
	neg  []dns.RR // the SOA of negative answers (TTL: the lower of its own and its minimum)
}

// serials is every zone's SOA as served, by origin.
type serials struct {
	zones *xsync.Map[string, *zoneSerial]
	start *atomic.Int64 // the revision this node started at
}

func newSerials() serials {
	return serials{zones: xsync.NewMap[string, *zoneSerial](), start: new(atomic.Int64)}
}

func makeSerial(base *dns.SOA, rev int64) *zoneSerial {
	soa := dns.Copy(base).(*dns.SOA)
	soa.Serial += uint32(rev)
	neg := dns.Copy(soa).(*dns.SOA)
	neg.Hdr.Ttl = min(neg.Hdr.Ttl, neg.Minttl)
	return &zoneSerial{rev: rev, base: base, soa: soa, neg: []dns.RR{neg}}
}

// of returns z's SOA as served (nil: z has none, or is signed).
func (s serials) of(z *file.Zone) *zoneSerial {
	base := z.Apex.SOA
	if base == nil || len(z.Apex.SIGSOA) > 0 {
		return nil
	}
	origin := base.Hdr.Name
	if zs, ok := s.zones.Load(origin); ok && zs.base == base {
		return zs
	}
	// First asked, or its zone read again (a reload): made again, keeping its revision.
	rev := s.start.Load()
	zs, _ := s.zones.Compute(origin, func(old *zoneSerial, loaded bool) (*zoneSerial, xsync.ComputeOp) {
		switch {
		case loaded && old.base == base:
			return old, xsync.CancelOp
		case loaded:
			return makeSerial(base, max(old.rev, rev)), xsync.UpdateOp
		}
		return makeSerial(base, rev), xsync.UpdateOp
	})
	return zs
}

// bump makes rev the revision of z's latest change. g.writeMu is held.
func (s serials) bump(z *file.Zone, rev int64) {
	base := z.Apex.SOA
	if base == nil || len(z.Apex.SIGSOA) > 0 {
		return
	}
	s.zones.Compute(base.Hdr.Name, func(old *zoneSerial, loaded bool) (*zoneSerial, xsync.ComputeOp) {
		if loaded && old.rev >= rev && old.base == base {
			return old, xsync.CancelOp
		}
		return makeSerial(base, rev), xsync.UpdateOp
	})
}

// negative is the SOA of a negative answer from z, as served.
func (st *state) negative(g *GeoRoute, z *file.Zone) []dns.RR {
	if zs := g.serials.of(z); zs != nil {
		return zs.neg
	}
	return st.negSOA[z]
}

// servedSOA replaces z's own SOA in answer (CoreDNS's zone lookup answers it as stored) with
// the SOA as served.
func (st *state) servedSOA(g *GeoRoute, z *file.Zone, answer []dns.RR) []dns.RR {
	for i, rr := range answer {
		if rr != z.Apex.SOA || z.Apex.SOA == nil {
			continue
		}
		zs := g.serials.of(z)
		if zs == nil {
			return answer
		}
		out := append([]dns.RR(nil), answer...)
		out[i] = zs.soa
		return out
	}
	return answer
}

// bumpSerials makes rev the revision of the latest change of the zones whose names (or
// themselves) ops change. g.writeMu is held.
func (g *GeoRoute) bumpSerials(rev int64, ops []store.Op) {
	st := g.state.Load()
	if st == nil {
		return
	}
	var done map[string]bool
	for _, op := range ops {
		var origin string
		switch op.Kind {
		case store.Names:
			origin = st.zoneOf(store.KeyName(op.Key))
		case catalog.ZonesKind:
			origin = op.Key
		default:
			continue
		}
		if z := st.zones[origin]; z != nil && !done[origin] {
			if done == nil {
				done = map[string]bool{}
			}
			done[origin] = true
			g.serials.bump(z, rev)
		}
	}
}
