// Package georoute is a CoreDNS plugin that is the authoritative nameserver for its zones and
// answers each routed name with the edge nearest to the client in round-trip time, among the
// healthy ones.
package georoute

import (
	"context"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/request"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/dnsupdate"
	"github.com/georoute/appliance/plugin/georoute/events"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/etcd"
	"github.com/georoute/appliance/plugin/pkg/health"
	"github.com/miekg/dns"
)

const pluginName = "georoute"

var log = clog.NewWithPlugin(pluginName)

// GeoRoute is the plugin.
type GeoRoute struct {
	Next plugin.Handler
	Fall fall.F

	in        inputs
	template  zoneTemplate
	storePath string
	etcdConf  *etcd.Options // when the store is etcd (storePath etcd://...)
	apiConf   *apiConfig
	r53Conf   *route53Config
	updates   map[string][]dnsupdate.Grant // TSIG key -> what it may change by UPDATE
	serials   serials                      // every zone's SOA as served: its serial follows its changes
	xfr       *transfers                   // what zone transfers keep: the journal, serials transferred
	signing   signing                      // how the dnssec plugin signs our zones, when the block has it
	rtts      *rtt.Store
	cat       *catalog.Catalog      // zones, edges, pools, names, overrides: the one write path
	names     *route.Names          // the catalog's index of every name; queries read it lock-free
	state     atomic.Pointer[state] // zones, edges and pools, RTT matrix, GeoIP
	healthy   atomic.Pointer[route.Health]

	writeMu  sync.Mutex    // one writer at a time: file reloads, the committer, the matrix refresh
	prober   health.Prober // healthprobe, when the server block has it
	db       store.Store   // nil without a store
	commits  chan *writeReq
	stopping chan struct{}

	storeHealth storeHealth // what the node knows of a store other nodes share (etcd)

	events     *events.Bus    // what happened lately: GET /v1/events and the console
	healthKick chan struct{}  // health may have changed: the watcher looks
	watched    healthWatched  // what the event stream last said of every edge's health
	answers    answerSamples  // the answers metric over the last minute, by edge
	reachLoad  reachLoad      // failure reports and load reports
	vantage    []netip.Prefix // the client networks this node's probes stand for (several nodes)
}

func newGeoRoute(in inputs) *GeoRoute {
	g := &GeoRoute{in: in, rtts: rtt.NewStore(), serials: newSerials(), xfr: newTransfers(), commits: make(chan *writeReq, 1024), stopping: make(chan struct{}),
		events: events.New(0, 0), healthKick: make(chan struct{}, 1)}
	g.useNames(route.NewNames())
	// The answers metric is the process's: what it counted before this plugin was set up (a
	// server before a reload, other tests) is not this plugin's last minute.
	g.answers.sample(time.Now())
	return g
}

// useNames gives the plugin a new, empty names index (presized when a store holds many).
func (g *GeoRoute) useNames(n *route.Names) {
	g.names, g.cat = n, catalog.New(n)
}

// attach makes p (healthprobe) the source of edge health: georoute reads it on every query and
// tells it which edges to probe whenever they change. It probes the edges now served at once.
func (g *GeoRoute) attach(p health.Prober) {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	g.prober = p
	if n, ok := p.(health.Notifier); ok {
		n.OnChange(g.healthChanged)
	}
	if st := g.state.Load(); st != nil {
		p.Track(probeTargets(st))
	}
	var h route.Health = healthOf{p}
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
	// The question name as unpacked is already in presentation form; lower-case it once rather
	// than have request.Name re-escape it on every query.
	qname := strings.ToLower(r.Question[0].Name)
	if r.Opcode == dns.OpcodeUpdate {
		return g.serveUpdate(ctx, w, r, qname)
	}
	if st == nil || st.zoneOf(qname) == "" {
		if g.Fall.Through(qname) {
			return plugin.NextOrFailure(pluginName, g.Next, ctx, w, r)
		}
		ownEDNS(r)
		return dns.RcodeRefused, nil
	}
	if r.Opcode != dns.OpcodeQuery {
		return dns.RcodeNotImplemented, nil
	}
	if qtype := r.Question[0].Qtype; qtype == dns.TypeAXFR || qtype == dns.TypeIXFR {
		return dns.RcodeRefused, nil
	}
	size, ok := ownEDNS(r)
	if !ok {
		return dns.RcodeFormatError, nil // two OPT RRs (RFC 6891 section 6.1.1)
	}
	m, rcode := g.compute(ctx, st, w, r, qname, size)
	if m == nil {
		return rcode, nil
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// compute answers a query for one of our zones (qname is its name in lower case, size the
// client's UDP payload size, at most advertisedSize): the reply, or nil and the rcode the server
// should answer with. It runs on whichever goroutine serves the query: a UDP query's is one of
// the entry's workers (entry.go). A panic answers SERVFAIL, is logged with its stack and counted.
func (g *GeoRoute) compute(ctx context.Context, st *state, w dns.ResponseWriter, r *dns.Msg, qname string, size uint16) (m *dns.Msg, rcode int) {
	defer func() {
		if rec := recover(); rec != nil {
			panicsTotal.Inc()
			log.Errorf("panic answering %s %s from %s: %v\n%s", qname, dns.TypeToString[r.Question[0].Qtype], w.RemoteAddr(), rec, debug.Stack())
			m, rcode = nil, dns.RcodeServerFailure
		}
	}()
	ecs, subnet, bad := clientSubnet(r)
	if bad {
		return nil, dns.RcodeFormatError
	}
	addr := subnet.Addr()
	if ecs == nil || subnet.Bits() == 0 {
		addr = sourceAddr(w)
	}
	q := queryPool.Get().(*query)
	q.start(g, st, ctx, w, r, r.Question[0].Qtype, addr)
	q.clientSize = size
	owner := r.Question[0].Name
	if g.signing.probe != nil {
		// dnssec caches a signature by the RRset as written: with owners in lower case, a name
		// asked in a case of its own (0x20, as some resolvers ask) still finds its signature.
		owner = qname
	}
	m = q.reply(q.resolve(qname, owner), ecs)
	q.finish()
	if m == nil {
		return nil, dns.RcodeServerFailure
	}
	return m, dns.RcodeSuccess
}

// start readies a pooled query.
//
//go:noinline
func (q *query) start(g *GeoRoute, st *state, ctx context.Context, w dns.ResponseWriter, r *dns.Msg, qtype uint16, addr netip.Addr) {
	q.g, q.st, q.ctx, q.qtype = g, st, ctx, qtype
	q.req = request.Request{W: w, Req: r}
	q.client = st.clientOf(addr)
	q.scope, q.depth, q.nseen, q.trace, q.bound, q.rb = 0, 0, 0, nil, nil, nil
}

// finish returns q to the pool.
func (q *query) finish() {
	q.ctx, q.req, q.bound, q.rb = nil, request.Request{}, nil, nil
	queryPool.Put(q)
}

// reply builds the message for res; nil when the server should answer SERVFAIL itself.
//
//go:noinline
func (q *query) reply(res result, ecs *dns.EDNS0_SUBNET) *dns.Msg {
	if res.rcode == dns.RcodeServerFailure && len(res.answer) == 0 {
		return nil
	}
	r := q.req.Req
	b := q.buf()
	m := b.setReply(r)
	m.Authoritative = !res.referral
	m.Rcode = res.rcode
	// Clipped: the plugins ahead of georoute that wrap its writer (dnssec adds RRSIGs) append to
	// these, and they may be the zone's own slices, shared by every query.
	m.Answer, m.Ns, m.Extra = slices.Clip(res.answer), slices.Clip(res.ns), slices.Clip(res.extra)
	if ro := r.IsEdns0(); ro != nil {
		// Our own OPT, so that none of the query's undefined flag bits is echoed (RFC 6891
		// section 6.1.4); CoreDNS's writer gives it the UDP size the query's OPT says, which
		// ownEDNS made ours.
		o := &b.opt
		o.Hdr.Name, o.Hdr.Rrtype = ".", dns.TypeOPT
		if ro.Do() {
			o.SetDo()
		}
		if ecs != nil {
			b.ecs = ecsReply(ecs, q.scope)
			b.options[0] = &b.ecs
			o.Option = b.options[:1:1]
		}
		if len(m.Extra) == 0 {
			m.Extra = b.extra[:0]
		}
		m.Extra = append(m.Extra, o)
		if q.req.Proto() == "udp" {
			fit(m, int(q.clientSize))
		}
	}
	return m
}

// advertisedSize is the UDP payload size every reply advertises, whatever the query's (DNS Flag
// Day 2020): a reply over UDP is at most this, or the client's size when that is smaller.
const advertisedSize = 1232

// ownEDNS readies r's OPT for the reply CoreDNS's writer builds from it (request.SizeAndDo
// copies the query's UDP size into the reply's OPT and keeps the query's flag bits): the query's
// OPT then says our size and holds only the DO bit. It returns the client's size, bounded by
// ours, which reply truncates a UDP reply to (CoreDNS's writer then finds it fits), and false
// for a query with more than one OPT RR, which is malformed (RFC 6891 section 6.1.1). (The log
// plugin's {>bufsize} shows our size then.)
func ownEDNS(r *dns.Msg) (size uint16, ok bool) {
	var o *dns.OPT
	for _, rr := range r.Extra {
		if opt, isOPT := rr.(*dns.OPT); isOPT {
			if o != nil {
				return 0, false
			}
			o = opt
		}
	}
	if o == nil {
		return dns.MinMsgSize, true
	}
	size = min(max(o.UDPSize(), dns.MinMsgSize), advertisedSize)
	o.SetUDPSize(advertisedSize)
	o.Hdr.Ttl &= 0xffff8000 // extended rcode, version and DO; no undefined (Z) bits
	return size, true
}

// fit cuts m to size bytes as sent uncompressed, as miekg/dns's Truncate does (TC set when the
// answer is cut): CoreDNS's writer, told our size by ownEDNS, sends a reply that fits that size
// uncompressed, so it must fit the client's that way already.
func fit(m *dns.Msg, size int) {
	m.Compress = false
	if n, ok := maxLen(m); ok && n <= size {
		return
	}
	if m.Len() <= size {
		return
	}
	m.Truncate(size)
	m.Compress = false
	for m.Len() > size {
		switch {
		case len(m.Extra) > 0 && m.Extra[len(m.Extra)-1].Header().Rrtype != dns.TypeOPT:
			m.Extra = m.Extra[:len(m.Extra)-1]
		case len(m.Extra) > 1:
			m.Extra = append(m.Extra[:len(m.Extra)-2], m.Extra[len(m.Extra)-1])
		case len(m.Ns) > 0:
			m.Ns = m.Ns[:len(m.Ns)-1]
			m.Truncated = true
		case len(m.Answer) > 0:
			m.Answer = m.Answer[:len(m.Answer)-1]
			m.Truncated = true
		default:
			return
		}
	}
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
