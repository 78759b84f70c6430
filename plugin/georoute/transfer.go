package georoute

import (
	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/georoute/appliance/plugin/georoute/journal"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/miekg/dns"
)

// transferBatch is how many records go to the transfer plugin at a time.
const transferBatch = 512

// Transfer implements transfer.Transferer for the zones served: the zone files' and those made
// at run time. Serial 0 asks for the whole zone (AXFR): its SOA, its apex NS, the zone file's
// records and its names' (transferRRs), and its SOA again. Another serial asks for the changes
// since (IXFR): the journal's diffs when it reaches back that far, the SOA alone when the
// secondary is up to date, the whole zone otherwise.
func (g *GeoRoute) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	x := g.xfr
	if !x.on() {
		return nil, transfer.ErrNotAuthoritative
	}
	g.writeMu.Lock()
	st := g.state.Load()
	if st == nil || st.zones[zone] == nil {
		g.writeMu.Unlock()
		return nil, transfer.ErrNotAuthoritative
	}
	g.checkTransfers()
	cur := x.seal(g, st, zone)
	soa := g.servedSOAOf(st, zone)
	if serial != 0 && !journal.Less(serial, cur) {
		g.writeMu.Unlock()
		transfersTotal.WithLabelValues("uptodate").Inc()
		return single(soa), nil
	}
	if serial != 0 {
		if diffs, ok := x.log.Since(zone, serial); ok {
			g.writeMu.Unlock()
			transfersTotal.WithLabelValues("ixfr").Inc()
			return incremental(soa, diffs), nil
		}
	}
	names := g.zoneBindings(st, zone)
	h := x.health
	g.writeMu.Unlock()
	if serial != 0 {
		transfersTotal.WithLabelValues("ixfr_as_axfr").Inc()
	} else {
		transfersTotal.WithLabelValues("axfr").Inc()
	}
	ch := make(chan []dns.RR, 4)
	go g.sendZone(ch, st, st.zones[zone], soa, names, h)
	return ch, nil
}

func single(soa *dns.SOA) <-chan []dns.RR {
	ch := make(chan []dns.RR, 1)
	ch <- []dns.RR{soa}
	close(ch)
	return ch
}

// incremental sends an IXFR answer (RFC 1995): the current SOA, then each diff as the SOA it
// starts from, the records it deletes, the SOA it ends at and the records it adds, and the
// current SOA again.
func incremental(soa *dns.SOA, diffs []journal.Diff) <-chan []dns.RR {
	ch := make(chan []dns.RR, 4)
	at := func(serial uint32) dns.RR {
		s := dns.Copy(soa).(*dns.SOA)
		s.Serial = serial
		return s
	}
	go func() {
		defer close(ch)
		ch <- []dns.RR{soa}
		for _, d := range diffs {
			ch <- append([]dns.RR{at(d.From)}, d.Del...)
			ch <- append([]dns.RR{at(d.To)}, d.Add...)
		}
		ch <- []dns.RR{soa}
	}()
	return ch
}

// zoneBindings is every name of zone that a transfer holds: the bindings whose zone it is,
// but those at or below a delegation of its zone file (the child's to serve).
func (g *GeoRoute) zoneBindings(st *state, zone string) []*route.Binding {
	var out []*route.Binding
	g.names.Range(func(b *route.Binding) bool {
		if st.zoneOf(b.Name) == zone && !st.atOrBelowCut(b.Name, zone) {
			out = append(out, b)
		}
		return true
	})
	return out
}

// atOrBelowCut reports whether name, in zone, is at or below one of its zone file's delegations.
func (st *state) atOrBelowCut(name, zone string) bool {
	if len(st.cuts) == 0 {
		return false
	}
	for off, end := 0, false; !end && len(name)-off > len(zone); off, end = dns.NextLabel(name, off) {
		if _, ok := st.cuts[name[off:]]; ok {
			return true
		}
	}
	return false
}

// sendZone sends zone z whole: soa, the apex, the zone file's records where no binding has
// records of their type, the bindings' records, soa.
func (g *GeoRoute) sendZone(ch chan<- []dns.RR, st *state, z *file.Zone, soa *dns.SOA, names []*route.Binding, h route.Health) {
	defer close(ch)
	ch <- []dns.RR{soa}
	apex := append(append(append([]dns.RR{}, z.Apex.SIGSOA...), z.Apex.NS...), z.Apex.SIGNS...)
	byName := make(map[string]*route.Binding, len(names))
	for _, b := range names {
		byName[b.Name] = b
	}
	batch := apex
	flush := func() {
		if len(batch) >= transferBatch {
			ch <- batch
			batch = nil
		}
	}
	z.Tree.Walk(func(e *tree.Elem, rrs map[uint16][]dns.RR) error {
		b := byName[e.Name()]
		for t, set := range rrs {
			if b == nil || !bindingHas(b, t) {
				batch = append(batch, set...)
			}
		}
		flush()
		return nil
	})
	for _, b := range names {
		batch = append(batch, g.transferRRs(st, b, h)...)
		flush()
	}
	if len(batch) > 0 {
		ch <- batch
	}
	ch <- []dns.RR{soa}
}

// bindingHas reports whether b answers records of type t in place of the zone file (as lookup
// does: its records, routed addresses and aliases; a CNAME takes the whole name).
func bindingHas(b *route.Binding, t uint16) bool {
	if len(b.Records[t]) > 0 || len(b.Records[dns.TypeCNAME]) > 0 {
		return true
	}
	if b.Routed() && (t == dns.TypeA || t == dns.TypeAAAA) {
		return true
	}
	if b.Extra != nil {
		for _, a := range b.Extra.Aliases {
			if dns.StringToType[a.Type] == t {
				return true
			}
		}
	}
	return false
}
