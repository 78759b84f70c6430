// Package georoute is a CoreDNS plugin that is the authoritative nameserver for its zones and
// answers each routed name with the edge nearest to the client in round-trip time, among the
// healthy ones.
package georoute

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/request"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/miekg/dns"
)

const pluginName = "georoute"

var log = clog.NewWithPlugin(pluginName)

// GeoRoute is the plugin.
type GeoRoute struct {
	Next plugin.Handler
	Fall fall.F

	in      inputs
	store   *rtt.Store
	state   atomic.Pointer[state]
	healthy atomic.Pointer[route.Health]

	reloadMu sync.Mutex // one rebuild at a time
	prober   Prober     // healthprobe, when the server block has it
}

// New returns a GeoRoute that reads in; Load must succeed before it serves.
func newGeoRoute(in inputs) *GeoRoute {
	return &GeoRoute{in: in, store: rtt.NewStore()}
}

// Load builds the state from the files and publishes it. On error the previous state keeps serving.
func (g *GeoRoute) Load() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	st, err := build(g.in, g.store, g.state.Load())
	if err != nil {
		reloaded(false)
		return err
	}
	publish(st)
	if g.prober != nil {
		// Checks start before the state that names their edges is served: a new edge is
		// unknown (not up) rather than unchecked.
		g.prober.Track(st.table.Edges)
	}
	g.state.Store(st)
	reloaded(true)
	return nil
}

// Prober is what georoute needs of the healthprobe plugin: it reads edge health from it on
// every query, and tells it which edges to probe whenever the config changes.
type Prober interface {
	route.Health
	Track(edges []*route.Edge)
}

// attach makes p the source of edge health and has it probe the edges now served.
func (g *GeoRoute) attach(p Prober) {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.prober = p
	if st := g.state.Load(); st != nil {
		p.Track(st.table.Edges)
	}
	var h route.Health = p
	g.healthy.Store(&h)
}

func (g *GeoRoute) health() route.Health {
	if h := g.healthy.Load(); h != nil {
		return *h
	}
	return route.AllUp
}

// ServeDNS implements the plugin.Handler interface.
func (g *GeoRoute) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	st := g.state.Load()
	state := request.Request{W: w, Req: r}
	// The question name as unpacked is already in presentation form; lower-case it once rather
	// than have request.Name re-escape it on every query.
	asked := r.Question[0].Name
	qname := strings.ToLower(asked)
	if st == nil || st.zoneOf(qname) == "" {
		if g.Fall.Through(qname) {
			return plugin.NextOrFailure(pluginName, g.Next, ctx, w, r)
		}
		return dns.RcodeRefused, nil
	}
	if r.Opcode != dns.OpcodeQuery {
		return dns.RcodeNotImplemented, nil
	}
	qtype := state.QType()
	if qtype == dns.TypeAXFR || qtype == dns.TypeIXFR {
		return dns.RcodeRefused, nil
	}
	ecs, subnet, bad := clientSubnet(r)
	if bad {
		return dns.RcodeFormatError, nil
	}
	var addr netip.Addr
	if ecs != nil && subnet.Bits() > 0 {
		addr = subnet.Addr()
	} else {
		addr = sourceAddr(w)
	}

	q := queryPool.Get().(*query)
	*q = query{g: g, st: st, ctx: ctx, req: state, qtype: qtype, client: st.clientOf(addr), d: q.d}
	res := q.resolve(qname, asked)
	scope := q.scope
	q.ctx, q.req = nil, request.Request{}
	queryPool.Put(q)

	if res.rcode == dns.RcodeServerFailure && len(res.answer) == 0 {
		return dns.RcodeServerFailure, nil
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = !res.referral
	m.Rcode = res.rcode
	m.Answer, m.Ns, m.Extra = res.answer, res.ns, res.extra
	if ecs != nil {
		o := new(dns.OPT)
		o.Hdr.Name, o.Hdr.Rrtype = ".", dns.TypeOPT
		if state.Do() {
			o.SetDo()
		}
		o.Option = []dns.EDNS0{ecsReply(ecs, scope)}
		m.Extra = append(m.Extra, o)
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// sourceAddr is the address the query came from.
func sourceAddr(w dns.ResponseWriter) netip.Addr {
	switch a := w.RemoteAddr().(type) {
	case interface{ AddrPort() netip.AddrPort }:
		return a.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(w.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Name implements the plugin.Handler interface.
func (g *GeoRoute) Name() string { return pluginName }
