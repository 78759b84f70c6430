package georoute

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/coredns/coredns/request"
	"github.com/georoute/appliance/plugin/georoute/geoip"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/miekg/dns"
)

// A name's data comes from two places: the zone files, answered by CoreDNS's own zone code
// (file.Zone.Lookup: CNAME chains, wildcards, delegations, DNSSEC), and the bindings (routed names,
// pinned names, API records), answered here. Both are one namespace: a binding makes its name and
// the names above it exist, and a wildcard applies only below the closest name that exists in
// either (RFC 4592).

// result is an answer before it becomes a message.
type result struct {
	answer, ns, extra []dns.RR
	rcode             int
	referral          bool
}

// query is one question being answered. Queries are pooled: the query path allocates little.
type query struct {
	g          *GeoRoute
	st         *state
	ctx        context.Context
	req        request.Request
	qtype      uint16
	client     route.Client
	scope      int              // ECS scope the answer depended on, the largest over every routed step
	clientSize uint16           // the UDP payload size the reply must fit in (ownEDNS)
	depth      int              // CNAME steps followed
	seen       [maxChase]string // the CNAME targets followed, to stop at a loop
	nseen      int
	d          route.Decision
	trace      *route.Trace
	bound      *route.Binding // the binding that answered, for explain
	rb         *replyBuf      // the reply's message and records (reply.go)
	avoid      [4]string      // edges the client's network cannot reach, without allocating
}

var queryPool = sync.Pool{New: func() any { return new(query) }}

const maxChase = 8

type queryKey struct{}

// errLoop stops a CNAME chain that goes on too long.
var errLoop = errors.New("georoute: CNAME chain too long")

// resolve answers qname (lower case) for q's type, from whichever zone holds it.
func (q *query) resolve(qname string, owner string) result {
	origin := q.st.zoneOf(qname)
	if origin == "" {
		return result{rcode: dns.RcodeRefused}
	}
	z := q.st.zones[origin]
	names := q.g.names
	if (q.qtype == dns.TypeCDS || q.qtype == dns.TypeCDNSKEY) && qname == origin {
		if r, ok := q.apexKeys(z, origin, owner); ok {
			return r
		}
	}

	if q.belowCut(qname, origin) {
		return q.zoneLookup(z, qname)
	}
	if b := names.Get(qname); b != nil {
		return q.fromBinding(b, z, qname, owner, qname)
	}
	if staticHas(z, qname) {
		if q.qtype == dns.TypeANY {
			return q.anyAnswer(z, nil, qname, owner)
		}
		return q.zoneLookup(z, qname)
	}
	if names.HasBelow(qname) {
		return q.noData(z) // an empty non-terminal made by bindings below it
	}
	// qname does not exist: find its closest encloser and the wildcard below it.
	ce := qname
	for ce != origin {
		off, end := dns.NextLabel(ce, 0)
		if end || len(ce)-off < len(origin) {
			ce = origin // labels with escaped dots need not split where the origin does
			break
		}
		ce = ce[off:]
		if names.Get(ce) != nil || names.HasBelow(ce) || staticHas(z, ce) {
			break
		}
	}
	wild := "*." + ce
	if b := names.Get(wild); b != nil {
		return q.fromBinding(b, z, qname, owner, wild)
	}
	if names.HasBelow(wild) {
		return q.noData(z)
	}
	if staticHas(z, ce) {
		// The zone file knows the closest encloser too, so its own wildcard and NXDOMAIN logic
		// (with DNSSEC denial) applies unchanged.
		if q.qtype == dns.TypeANY && staticHas(z, wild) {
			return q.anyAnswer(z, nil, wild, owner)
		}
		return q.zoneLookup(z, qname)
	}
	return result{rcode: dns.RcodeNameError, ns: q.st.negative(q.g, z)}
}

// fromBinding answers from a binding owned by qname or, for a wildcard, covering it. The zone
// file answers the types the binding lacks when it has data for the binding's name too.
func (q *query) fromBinding(b *route.Binding, z *file.Zone, qname, owner, bound string) result {
	q.bound = b
	switch {
	case q.qtype == dns.TypeANY:
		return q.anyAnswer(z, b, bound, owner)
	case b.Extra != nil && len(b.Extra.Aliases) > 0:
		for i := range b.Extra.Aliases {
			if a := &b.Extra.Aliases[i]; dns.StringToType[a.Type] == q.qtype {
				return q.alias(a.Target, z, owner)
			}
		}
	}
	if b.Routed() && (q.qtype == dns.TypeA || q.qtype == dns.TypeAAAA) {
		return q.routed(b, z, owner)
	}
	if cname := b.Records[dns.TypeCNAME]; len(cname) > 0 && q.qtype != dns.TypeCNAME {
		return q.chase(z, withOwner(cname, owner))
	}
	if rrs := b.Records[q.qtype]; len(rrs) > 0 {
		return result{answer: withOwner(rrs, owner)}
	}
	if staticHas(z, bound) {
		return q.zoneLookup(z, qname)
	}
	return q.noData(z)
}

// routed answers a routed binding with the addresses of the edges the policy picks.
func (q *query) routed(b *route.Binding, z *file.Zone, owner string) result {
	fam := route.V4
	if q.qtype == dns.TypeAAAA {
		fam = route.V6
	}
	d := &q.d
	d.Reset()
	d.Trace = q.trace
	env := route.Env{Health: q.g.health(), RTT: q.st.matrix, Loads: q.g.loads(q.st.table)}
	env.Unreachable = q.g.unreachable(&q.client, q.avoid[:0])
	route.Decide(q.st.table, b, fam, &q.client, &env, d)
	q.st.counters.decided(q.st.table, b, d)
	// Whatever the outcome, it may hold only for clients like this one (a geo pool's NODATA for
	// a country without a rule): the reply's scope says so.
	q.scope = max(q.scope, d.Scope)
	switch d.Outcome {
	case route.Servfail:
		return result{rcode: dns.RcodeServerFailure}
	case route.NoData:
		return q.noData(z)
	}
	n := 0
	for _, e := range d.Edges {
		n += len(e.IPs(fam))
	}
	hdr := dns.RR_Header{Name: owner, Rrtype: q.qtype, Class: dns.ClassINET, Ttl: d.TTL}
	if n == 1 {
		for _, e := range d.Edges {
			if ips := e.IPs(fam); len(ips) > 0 {
				return result{answer: q.address(hdr, ips[0])}
			}
		}
	}
	answer := make([]dns.RR, 0, n)
	for _, e := range d.Edges {
		for _, ip := range e.IPs(fam) {
			if fam == route.V4 {
				answer = append(answer, &dns.A{Hdr: hdr, A: ip})
			} else {
				answer = append(answer, &dns.AAAA{Hdr: hdr, AAAA: ip})
			}
		}
	}
	return result{answer: answer}
}

// alias answers a Route 53 alias: the records of the query's type that target holds (routed
// for this client when it is routed), under the alias's own name, without the CNAMEs on the
// way. Where the target has none, the alias's name has no data of the type.
func (q *query) alias(target string, z *file.Zone, owner string) result {
	q.depth++
	if q.depth > maxChase {
		return result{rcode: dns.RcodeServerFailure}
	}
	r := q.resolve(target, target)
	answer := make([]dns.RR, 0, len(r.answer))
	for _, rr := range r.answer {
		if rr.Header().Rrtype == q.qtype {
			rr = dns.Copy(rr)
			rr.Header().Name = owner
			answer = append(answer, rr)
		}
	}
	if len(answer) == 0 {
		if r.rcode == dns.RcodeServerFailure {
			return result{rcode: dns.RcodeServerFailure}
		}
		return q.noData(z)
	}
	return result{answer: answer}
}

// chase follows the target of the CNAME that ends chain through every zone served here, and
// answers chain followed by what the target holds.
func (q *query) chase(z *file.Zone, chain []dns.RR) result {
	cname := chain
	target := dns.CanonicalName(chain[len(chain)-1].(*dns.CNAME).Target)
	q.depth++
	if q.depth > maxChase {
		return result{answer: cname, rcode: dns.RcodeServerFailure}
	}
	// A loop (a wildcard CNAME to a name it covers, or CNAMEs to each other) is answered with the
	// chain up to where it repeats, as BIND and Knot answer it: the resolver sees the loop.
	for _, rr := range chain {
		if owner := strings.ToLower(rr.Header().Name); q.nseen < len(q.seen) && !slices.Contains(q.seen[:q.nseen], owner) {
			q.seen[q.nseen] = owner
			q.nseen++
		}
	}
	if slices.Contains(q.seen[:q.nseen], target) {
		return result{answer: cname}
	}
	if q.st.zoneOf(target) == "" {
		return result{answer: cname} // outside our zones: the resolver follows it
	}
	r := q.resolve(target, target)
	r.answer = append(append([]dns.RR{}, cname...), r.answer...)
	if r.rcode == dns.RcodeRefused {
		r.rcode = dns.RcodeSuccess
	}
	return r
}

// zoneLookup answers from the zone file with CoreDNS's lookup, as the file plugin does.
func (q *query) zoneLookup(z *file.Zone, qname string) result {
	ctx := context.WithValue(q.ctx, queryKey{}, q)
	answer, ns, extra, res := z.Lookup(ctx, q.req, qname)
	answer = q.st.servedSOA(q.g, z, answer)
	r := result{answer: answer, ns: ns, extra: extra}
	if res == file.Success && q.qtype != dns.TypeCNAME && len(answer) > 0 {
		if _, ok := answer[len(answer)-1].(*dns.CNAME); ok {
			// The file's chain stopped at a name it holds without this type: the target may be
			// routed here, or need the SOA of a NODATA.
			return q.chase(z, answer)
		}
	}
	if len(answer) == 0 && len(ns) == 1 && ns[0].Header().Rrtype == dns.TypeSOA {
		r.ns = q.st.negative(q.g, z) // a negative answer: CoreDNS's zone lookup hands out the SOA as stored
	}
	switch res {
	case file.NameError:
		r.rcode = dns.RcodeNameError
	case file.Delegation:
		r.referral = len(answer) == 0
	case file.ServerFailure:
		r.rcode = dns.RcodeServerFailure
	}
	return r
}

// belowCut reports whether qname is at or below a delegation in its zone (DS at the cut itself
// is the parent's to answer).
func (q *query) belowCut(qname, origin string) bool {
	if len(q.st.cuts) == 0 {
		return false
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(qname, off) {
		name := qname[off:]
		if len(name) <= len(origin) {
			return false
		}
		if _, ok := q.st.cuts[name]; ok {
			return !(off == 0 && q.qtype == dns.TypeDS)
		}
	}
	return false
}

func (q *query) noData(z *file.Zone) result { return result{ns: q.st.negative(q.g, z)} }

// hinfo answers ANY for an existing name with one synthesized HINFO, as RFC 8482 allows.
// anyAnswer answers ANY at name (a binding's, or the zone file's when b is nil) as RFC 8482 says:
// the CNAME where the name has one (section 4.2), else one synthesized HINFO.
func (q *query) anyAnswer(z *file.Zone, b *route.Binding, name, owner string) result {
	if b != nil {
		if cname := b.Records[dns.TypeCNAME]; len(cname) > 0 {
			return result{answer: withOwner(cname, owner)}
		}
	} else if e, ok := z.Tree.Search(name); ok {
		if cname := e.Type(dns.TypeCNAME); len(cname) > 0 {
			return result{answer: withOwner(cname, owner)}
		}
	}
	return q.hinfo(z, owner)
}

func (q *query) hinfo(z *file.Zone, owner string) result {
	hdr := dns.RR_Header{Name: owner, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: 8482}
	return result{answer: []dns.RR{&dns.HINFO{Hdr: hdr, Cpu: "RFC8482"}}}
}

// negativeSOA is the SOA a negative answer carries: its TTL is the lower of the SOA's own and its
// minimum, the time a resolver may cache the negative answer (RFC 2308, section 3).
func negativeSOA(z *file.Zone) []dns.RR {
	s := dns.Copy(z.Apex.SOA).(*dns.SOA)
	s.Hdr.Ttl = min(s.Hdr.Ttl, s.Minttl)
	return []dns.RR{s}
}

// staticHas reports whether name exists in the zone file: it owns records, or names below it do.
func staticHas(z *file.Zone, name string) bool {
	if z.Apex.SOA != nil && name == z.Apex.SOA.Hdr.Name {
		return true // the apex: its SOA and NS are kept beside the tree
	}
	t := z.Tree
	if _, ok := t.Search(name); ok {
		return true
	}
	x, ok := t.Next(name)
	return ok && tree.Less(x, name) != 0 && dns.IsSubDomain(name, x.Name())
}

// withOwner returns rrs owned by owner, copying them when their owner differs (wildcards, case).
func withOwner(rrs []dns.RR, owner string) []dns.RR {
	if rrs[0].Header().Name == owner {
		return rrs
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
		out[i].Header().Name = owner
	}
	return out
}

// upstream lets the zone files' CNAMEs reach names served here that the file does not hold:
// routed names and other zones. CoreDNS's zone lookup calls it for such targets.
type upstream struct{}

// Lookup implements file.Upstreamer.
func (upstream) Lookup(ctx context.Context, _ request.Request, name string, typ uint16) (*dns.Msg, error) {
	q, _ := ctx.Value(queryKey{}).(*query)
	if q == nil {
		return nil, errLoop
	}
	q.depth++
	if q.depth > maxChase {
		return nil, errLoop
	}
	saved := q.qtype
	q.qtype = typ
	r := q.resolve(dns.CanonicalName(name), name)
	q.qtype = saved
	m := new(dns.Msg)
	m.Answer, m.Rcode = r.answer, r.rcode
	return m, nil
}

// clientOf looks up where the client is.
func (s *state) clientOf(addr netip.Addr) route.Client {
	if s.geo == nil {
		return route.NewClient(addr, geoip.Result{})
	}
	return route.NewClient(addr, s.geo.Lookup(addr))
}
