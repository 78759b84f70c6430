package georoute

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/miekg/dns"
)

// A zone transfer feeds a plain secondary, which cannot route: a routed name is transferred as
// the answer it would give every client if it could not tell them apart (route.Unrouted: the
// addresses of its pool's healthy edges, all of them when none is, in the name's TTL; a pinned
// name its edge's addresses), its other records as they are, and a Route 53 alias as the
// records of its target, under its own name.

// transferRRs is what a zone transfer holds of binding b, with health h.
func (g *GeoRoute) transferRRs(st *state, b *route.Binding, h route.Health) []dns.RR {
	return g.bindingRRs(st, b, h, 0, 0)
}

// bindingRRs is transferRRs of the records of type only (0: every type), depth aliases deep.
func (g *GeoRoute) bindingRRs(st *state, b *route.Binding, h route.Health, only uint16, depth int) []dns.RR {
	var out []dns.RR
	for _, t := range slices.Sorted(maps.Keys(b.Records)) {
		if only == 0 || only == t {
			out = append(out, b.Records[t]...)
		}
	}
	if b.Routed() {
		for _, fam := range []route.Family{route.V4, route.V6} {
			qt := dns.TypeA
			if fam == route.V6 {
				qt = dns.TypeAAAA
			}
			if only != 0 && only != qt {
				continue
			}
			edges, ttl := route.Unrouted(st.table, b, fam, h)
			hdr := dns.RR_Header{Name: b.Name, Rrtype: qt, Class: dns.ClassINET, Ttl: ttl}
			for _, e := range edges {
				for _, ip := range e.IPs(fam) {
					out = append(out, addressRR(hdr, ip))
				}
			}
		}
	}
	if b.Extra != nil && depth < maxChase {
		for _, a := range b.Extra.Aliases {
			qt := dns.StringToType[a.Type]
			if only != 0 && only != qt {
				continue
			}
			for _, rr := range g.aliasTargetRRs(st, dns.CanonicalName(a.Target), qt, h, depth+1) {
				rr = dns.Copy(rr)
				rr.Header().Name = b.Name
				out = append(out, rr)
			}
		}
	}
	return out
}

// aliasTargetRRs is what an alias to target answers of type qt: the target's binding, else its
// zone file's records.
func (g *GeoRoute) aliasTargetRRs(st *state, target string, qt uint16, h route.Health, depth int) []dns.RR {
	if b := g.names.Get(target); b != nil {
		if rrs := g.bindingRRs(st, b, h, qt, depth); len(rrs) > 0 {
			return rrs
		}
	}
	z := st.zones[st.zoneOf(target)]
	if z == nil {
		return nil
	}
	if e, ok := z.Tree.Search(target); ok {
		return e.Type(qt)
	}
	return nil
}

func addressRR(hdr dns.RR_Header, ip net.IP) dns.RR {
	if hdr.Rrtype == dns.TypeA {
		return &dns.A{Hdr: hdr, A: ip}
	}
	return &dns.AAAA{Hdr: hdr, AAAA: ip}
}

// healthSnap is edge health as of one moment: what routed names are transferred with until
// the next check, so that the records a journal diff deletes are those a secondary holds.
type healthSnap struct {
	up   map[string]bool
	live route.Health // for edges that came after the snapshot
}

func (h *healthSnap) Up(e *route.Edge) bool {
	if v, ok := h.up[e.ID]; ok {
		return v
	}
	return h.live.Up(e)
}

// snapHealth takes the health of t's edges now.
func (g *GeoRoute) snapHealth(t *route.Table) *healthSnap {
	live := g.health()
	h := &healthSnap{up: make(map[string]bool, len(t.Edges)), live: live}
	for _, e := range t.Edges {
		h.up[e.ID] = live.Up(e)
	}
	return h
}

// unroutedAnswers is, per pool ("pool:ID") and edge ("edge:ID") of t, what routed names bound
// to it are transferred as with health h, and the default TTL ("ttl"): when one of these
// changes, so do the transfers of the zones whose names use it.
func unroutedAnswers(t *route.Table, h route.Health) map[string]string {
	out := make(map[string]string, len(t.Pools)+len(t.Edges)+1)
	var b strings.Builder
	addrs := func(edges []*route.Edge, fam route.Family) {
		for _, e := range edges {
			for _, a := range e.Addrs(fam) {
				b.WriteString(a.String())
				b.WriteByte(' ')
			}
		}
	}
	for _, p := range t.Pools {
		b.Reset()
		bd := &route.Binding{Pool: p.ID}
		e4, ttl := route.Unrouted(t, bd, route.V4, h)
		e6, _ := route.Unrouted(t, bd, route.V6, h)
		b.WriteString(strconv.FormatUint(uint64(ttl), 10))
		b.WriteByte('|')
		addrs(e4, route.V4)
		addrs(e6, route.V6)
		out["pool:"+p.ID] = b.String()
	}
	for _, e := range t.Edges {
		b.Reset()
		addrs([]*route.Edge{e}, route.V4)
		addrs([]*route.Edge{e}, route.V6)
		out["edge:"+e.ID] = b.String()
	}
	out["ttl"] = strconv.FormatUint(uint64(t.DefaultTTL), 10)
	return out
}

// changedKeys lists the keys whose values differ between a and b.
func changedKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			out[k] = true
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out[k] = true
		}
	}
	return out
}
