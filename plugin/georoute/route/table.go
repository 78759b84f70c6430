// Package route turns a validated model.Config into the immutable tables the query path reads,
// and decides, for one client and one routed name, which edges answer. It has no CoreDNS types:
// the georoute plugin feeds it a client and turns its decision into DNS records.
package route

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/miekg/dns"
)

// Edge is a compiled edge. Index is its slot: its position in Table.Slots and in the RTT matrix,
// kept for as long as the edge exists, so that adding or removing another edge moves nothing.
type Edge struct {
	Index       int
	ID          string
	V4, V6      []netip.Addr
	ip4, ip6    []net.IP // the same addresses, ready for A and AAAA records
	Point       geo.Point
	Vec         geo.Vec // Point.Vec(), for distances on the query path
	HasPoint    bool
	Country     string
	Continent   string
	Subdivision string
	Weight      int
	Override    string // an operator's word: "down" (drained), "up" (forced), else the checks decide
	Spec        model.Edge
}

// IPs returns the edge's addresses of one family as the records need them. Shared: do not modify.
func (e *Edge) IPs(f Family) []net.IP {
	if f == V6 {
		return e.ip6
	}
	return e.ip4
}

// Addrs returns the edge's addresses of one family.
func (e *Edge) Addrs(f Family) []netip.Addr {
	if f == V6 {
		return e.V6
	}
	return e.V4
}

// Policy is a pool's routing policy.
type Policy uint8

// The policies.
const (
	Latency Policy = iota + 1
	Geo
	Geoproximity
	Weighted
	Failover
	Multivalue
	CIDR
	ASN
)

var policyNames = map[string]Policy{
	"latency": Latency, "geo": Geo, "geoproximity": Geoproximity, "weighted": Weighted,
	"failover": Failover, "multivalue": Multivalue, "cidr": CIDR, "asn": ASN,
}

func (p Policy) String() string {
	for name, v := range policyNames {
		if v == p {
			return name
		}
	}
	return "unknown"
}

// AllDown is what a pool answers when none of its edges is healthy.
type AllDown uint8

// The all-down rules.
const (
	FailOpen AllDown = iota // answer as if all were up (Route 53's behaviour)
	AnswerNone
	AnswerServfail
)

// Pool is a compiled pool.
type Pool struct {
	Index       int
	ID          string
	Policy      Policy
	Members     []Member
	Answers     int
	TTL         uint32
	WhenAllDown AllDown
	Sticky      bool
	Rules       []Rule // geo, cidr, asn
	// Load: the watermarks of a latency pool that sheds load (nil: it does not).
	Load *model.Watermarks
	Spec model.Pool

	index rules
}

// Member is an edge or a nested pool.
type Member struct {
	Edge   *Edge
	Pool   *Pool
	Weight int
	Bias   int

	hash uint64 // identifies the member for sticky weighted pools
}

// Binding is what one name holds: a routing target, or static records. It refers to its pool or
// edge by id, resolved in the table of the moment, so that a name follows its edge's addresses.
type Binding struct {
	Name    string // lower-case FQDN, "*." first for a wildcard
	Pool    string // the pool a routed name is bound to
	Edge    string // the edge a pinned name follows
	TTL     uint32 // a pinned name's TTL; 0 takes the default (a pool-bound name takes its pool's)
	Records map[uint16][]dns.RR
	Source  Source
	// Extra is what a Route 53 client wrote of the name beyond its records (nil for most
	// names: a million names pay one pointer each).
	Extra *Extra
}

// Extra is a binding's Route 53 routing record sets and aliases, as written.
type Extra struct {
	Sets    []model.RecordSet
	Aliases []model.Alias
}

// Source says where a binding or object was defined.
type Source uint8

// The sources.
const (
	FromConfig Source = iota // the config file
	FromAPI                  // the API, kept in the store
)

func (s Source) String() string { return [...]string{"config", "api"}[s] }

// Routed reports whether b answers addresses by a routing decision.
func (b *Binding) Routed() bool { return b.Pool != "" || b.Edge != "" }

// Spec returns b as a user writes it.
func (b *Binding) Spec() model.Name {
	n := model.Name{Pool: b.Pool, Edge: b.Edge, TTL: b.TTL}
	if b.Extra != nil {
		n.Sets, n.Aliases = b.Extra.Sets, b.Extra.Aliases
	}
	for _, t := range slices.Sorted(maps.Keys(b.Records)) {
		for _, rr := range b.Records[t] {
			n.Records = append(n.Records, model.Record{Type: dns.TypeToString[t], TTL: rr.Header().Ttl,
				Value: strings.TrimPrefix(rr.String(), rr.Header().String())})
		}
	}
	return n
}

// Table is the edges and pools compiled from one config. Immutable once built.
type Table struct {
	Edges      []*Edge // by id
	Slots      []*Edge // by Index; nil where no edge is
	Pools      []*Pool
	edgeByID   map[string]*Edge
	poolByID   map[string]*Pool
	Defaults   model.Defaults
	DefaultTTL uint32

	defaultAnswers int
}

// Edge returns the edge with id, or nil.
func (t *Table) Edge(id string) *Edge { return t.edgeByID[id] }

// Pool returns the pool with id, or nil.
func (t *Table) Pool(id string) *Pool { return t.poolByID[id] }

// place gives new edges the first free slots, and trims free slots off the end.
func (t *Table) place(fresh []*Edge) {
	free := 0
	for _, e := range fresh {
		for free < len(t.Slots) && t.Slots[free] != nil {
			free++
		}
		if free == len(t.Slots) {
			t.Slots = append(t.Slots, nil)
		}
		e.Index = free
		t.Slots[free] = e
	}
	for len(t.Slots) > 0 && t.Slots[len(t.Slots)-1] == nil {
		t.Slots = t.Slots[:len(t.Slots)-1]
	}
}

// EdgeInfos lists the edges as the RTT matrix needs them, by slot (a free slot has no ID).
func (t *Table) EdgeInfos() []rtt.EdgeInfo {
	out := make([]rtt.EdgeInfo, len(t.Slots))
	for i, e := range t.Slots {
		if e != nil {
			out[i] = rtt.EdgeInfo{ID: e.ID, Point: e.Point, HasPoint: e.HasPoint}
		}
	}
	return out
}

// Compile builds a Table from the edges, pools and defaults of a normalized, validated config.
// Names are bound separately (Bind), so that millions of them need not be compiled with it.
// Edges that prev also has keep their slots; a new edge takes the first free slot.
func Compile(cfg *model.Config, prev *Table) (*Table, error) {
	t := &Table{edgeByID: make(map[string]*Edge, len(cfg.Edges)), poolByID: make(map[string]*Pool, len(cfg.Pools)), Defaults: cfg.Defaults}
	var fresh []*Edge
	for _, id := range slices.Sorted(maps.Keys(cfg.Edges)) {
		e := compileEdge(id, cfg.Edges[id])
		e.Index = -1
		if prev != nil {
			if old := prev.edgeByID[id]; old != nil {
				e.Index = old.Index
			}
		}
		t.Edges = append(t.Edges, e)
		t.edgeByID[id] = e
		if e.Index < 0 {
			fresh = append(fresh, e)
			continue
		}
		for len(t.Slots) <= e.Index {
			t.Slots = append(t.Slots, nil)
		}
		t.Slots[e.Index] = e
	}
	t.place(fresh)
	ttl, answers := cfg.Defaults.TTL, cfg.Defaults.Answers
	if ttl == 0 {
		ttl = model.DefaultTTL
	}
	if answers == 0 {
		answers = model.DefaultAnswers
	}
	t.DefaultTTL, t.defaultAnswers = ttl, answers
	if err := t.compilePools(cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// compilePools compiles every pool of cfg into t, whose edges are in place.
func (t *Table) compilePools(cfg *model.Config) error {
	for _, id := range slices.Sorted(maps.Keys(cfg.Pools)) {
		p := t.newPool(id, cfg.Pools[id])
		t.Pools = append(t.Pools, p)
		t.poolByID[id] = p
	}
	for _, p := range t.Pools {
		if err := t.compilePool(p); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) newPool(id string, spec model.Pool) *Pool {
	p := &Pool{Index: len(t.Pools), ID: id, Policy: policyNames[spec.Policy], Answers: spec.Answers, TTL: spec.TTL, Sticky: spec.Sticky, Spec: spec}
	if p.Answers == 0 {
		p.Answers = t.defaultAnswers
	}
	if p.TTL == 0 {
		p.TTL = t.DefaultTTL
	}
	if w := spec.Load; w != nil && p.Policy == Latency {
		lw := *w
		if lw.PenaltyMillis == 0 {
			lw.PenaltyMillis = model.DefaultPenaltyMillis
		}
		p.Load = &lw
	}
	switch spec.WhenAllDown {
	case "none":
		p.WhenAllDown = AnswerNone
	case "servfail":
		p.WhenAllDown = AnswerServfail
	}
	return p
}

// compilePool resolves p's members and rules against t, once every pool of t is in it.
func (t *Table) compilePool(p *Pool) error {
	for _, m := range p.Spec.Members {
		p.Members = append(p.Members, t.member(m))
	}
	if err := t.compileRules(p); err != nil {
		return err
	}
	if p.Policy == Multivalue && p.Spec.Answers == 0 {
		p.Answers = MultivalueAnswers
	}
	return nil
}

// Update is Compile(cfg, prev) for a cfg that differs from prev's only in the edges and pools
// whose ids are in edges and pools (put or deleted), in time that follows the change: edges that
// did not change are prev's (same slot), and so are the pools that reach no changed edge or pool.
// A pool that comes or goes recompiles every pool (their indices move); defaults must not change.
func Update(prev *Table, cfg *model.Config, edges, pools map[string]bool) (*Table, error) {
	t := &Table{edgeByID: make(map[string]*Edge, len(cfg.Edges)), poolByID: make(map[string]*Pool, len(cfg.Pools)),
		Defaults: prev.Defaults, DefaultTTL: prev.DefaultTTL, defaultAnswers: prev.defaultAnswers}
	t.Slots = slices.Clone(prev.Slots)
	for id := range edges {
		if old := prev.edgeByID[id]; old != nil {
			t.Slots[old.Index] = nil
		}
	}
	var fresh []*Edge
	t.Edges = make([]*Edge, 0, len(cfg.Edges))
	for _, id := range mergeIDs(prev.Edges, func(e *Edge) string { return e.ID }, edges) {
		var e *Edge
		switch spec, ok := cfg.Edges[id]; {
		case !edges[id]:
			e = prev.edgeByID[id]
		case !ok:
			continue // deleted
		default:
			e = compileEdge(id, spec)
			if old := prev.edgeByID[id]; old != nil {
				e.Index = old.Index
				t.Slots[e.Index] = e
			} else {
				fresh = append(fresh, e)
			}
		}
		t.Edges = append(t.Edges, e)
		t.edgeByID[id] = e
	}
	t.place(fresh)
	poolSetChanged := false
	for id := range pools {
		_, now := cfg.Pools[id]
		_, before := prev.poolByID[id]
		poolSetChanged = poolSetChanged || now != before
	}
	if poolSetChanged {
		if err := t.compilePools(cfg); err != nil {
			return nil, err
		}
		return t, nil
	}
	// A pool is recompiled when it changed or reaches a changed edge or recompiled pool.
	dirty := maps.Clone(pools)
	for more := true; more; {
		more = false
		for _, p := range prev.Pools {
			if dirty[p.ID] {
				continue
			}
			for _, m := range p.allMembers() {
				if m.Edge != nil && edges[m.Edge.ID] || m.Pool != nil && dirty[m.Pool.ID] {
					dirty[p.ID], more = true, true
					break
				}
			}
		}
	}
	t.Pools = make([]*Pool, len(prev.Pools))
	for i, old := range prev.Pools {
		p := old
		if dirty[old.ID] {
			p = t.newPool(old.ID, cfg.Pools[old.ID])
			p.Index = i
		}
		t.Pools[i] = p
		t.poolByID[p.ID] = p
	}
	for _, p := range t.Pools {
		if dirty[p.ID] {
			if err := t.compilePool(p); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// mergeIDs lists the ids of sorted (by id) and of extra, sorted, each once.
func mergeIDs[T any](sorted []T, id func(T) string, extra map[string]bool) []string {
	more := slices.Sorted(maps.Keys(extra))
	out := make([]string, 0, len(sorted)+len(more))
	i, j := 0, 0
	for i < len(sorted) || j < len(more) {
		switch {
		case j == len(more) || i < len(sorted) && id(sorted[i]) < more[j]:
			out = append(out, id(sorted[i]))
			i++
		case i == len(sorted) || more[j] < id(sorted[i]):
			out = append(out, more[j])
			j++
		default:
			out = append(out, more[j])
			i, j = i+1, j+1
		}
	}
	return out
}

// MultivalueAnswers is how many edges a multivalue pool answers when it does not say, as Route 53.
const MultivalueAnswers = 8

func (t *Table) member(m model.Member) Member {
	out := Member{Bias: m.Bias, Weight: -1}
	if m.Weight != nil {
		out.Weight = *m.Weight
	}
	out.hash = mix(fnv64("edge:" + m.Edge + "pool:" + m.Pool))
	if m.Edge != "" {
		out.Edge = t.edgeByID[m.Edge]
		if out.Weight < 0 {
			out.Weight = out.Edge.Weight
		}
	} else {
		out.Pool = t.poolByID[m.Pool]
		if out.Weight < 0 {
			out.Weight = 100
		}
	}
	return out
}

func compileEdge(id string, spec model.Edge) *Edge {
	e := &Edge{ID: id, Spec: spec, Weight: 100, Country: spec.Location.Country, Continent: spec.Location.Continent, Subdivision: spec.Location.Subdivision, Override: spec.Override}
	if spec.Weight != nil {
		e.Weight = *spec.Weight
	}
	if spec.Location.Lat != nil && spec.Location.Lon != nil {
		e.Point, e.HasPoint = geo.Point{Lat: *spec.Location.Lat, Lon: *spec.Location.Lon}, true
		e.Vec = e.Point.Vec()
	}
	for _, s := range spec.Addresses {
		a := netip.MustParseAddr(strings.TrimSpace(s)).Unmap()
		ip := net.IP(a.AsSlice())
		if a.Is4() {
			e.V4, e.ip4 = append(e.V4, a), append(e.ip4, ip)
		} else {
			e.V6, e.ip6 = append(e.V6, a), append(e.ip6, ip)
		}
	}
	return e
}

// Bind compiles the normalized, validated binding of name in the zone origin against the table:
// its pool or edge must exist, a pool must notice a dead edge within its TTL (CheckDetection),
// and records must be what DNS can serve (model.Name.RRs), relative names in them relative to
// origin.
func (t *Table) Bind(name, origin string, spec model.Name, src Source) (*Binding, error) {
	b := &Binding{Name: name, TTL: spec.TTL, Source: src}
	if len(spec.Sets) > 0 || len(spec.Aliases) > 0 {
		b.Extra = &Extra{Sets: spec.Sets, Aliases: spec.Aliases}
	}
	switch {
	case spec.Pool != "":
		p := t.poolByID[spec.Pool]
		if p == nil {
			return nil, &model.FieldError{Code: model.CodeUnknown, Field: "pool", Message: fmt.Sprintf("no pool %q", spec.Pool)}
		}
		if err := t.CheckDetection(p.ID, name); err != nil {
			return nil, err
		}
		b.Pool, b.TTL = p.ID, 0 // interned: a million names share the id
	case spec.Edge != "":
		e := t.edgeByID[spec.Edge]
		if e == nil {
			return nil, &model.FieldError{Code: model.CodeUnknown, Field: "edge", Message: fmt.Sprintf("no edge %q", spec.Edge)}
		}
		b.Edge = e.ID
	}
	if len(spec.Records) > 0 {
		rrs, err := spec.RRs(name, origin)
		if err != nil {
			return nil, err
		}
		b.Records = make(map[uint16][]dns.RR)
		for _, rr := range rrs {
			rr.Header().Name = name
			b.Records[rr.Header().Rrtype] = append(b.Records[rr.Header().Rrtype], rr)
		}
	}
	return b, nil
}

// TTLOf is the TTL a routed binding answers with in this table.
func (t *Table) TTLOf(b *Binding) uint32 {
	if b.Pool != "" {
		if p := t.poolByID[b.Pool]; p != nil {
			return p.TTL
		}
	}
	if b.TTL != 0 {
		return b.TTL
	}
	return t.DefaultTTL
}

// ZoneOf returns the longest of zones that contains name, or "".
func ZoneOf(name string, zones []string) string {
	best := ""
	for _, z := range zones {
		if dns.IsSubDomain(z, name) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

// String names the member for display.
func (m Member) String() string {
	if m.Edge != nil {
		return "edge " + m.Edge.ID
	}
	return "pool " + m.Pool.ID
}

// CheckDetection enforces the detection bound for a name bound to pool id: every check of every
// edge the pool can answer with must notice a dead edge within the pool's TTL, interval × fall +
// timeout ≤ TTL. Pinned names are exempt: they answer their edge, up or not.
func (t *Table) CheckDetection(id, name string) error {
	p := t.poolByID[id]
	if p == nil || p.Spec.MadeFrom != "" {
		return nil // Route 53's record sets keep Route 53's timing (model.Pool.MadeFrom)
	}
	limit := time.Duration(p.TTL) * time.Second
	for _, e := range p.reachableEdges() {
		for i, c := range e.Spec.Checks {
			if bound := c.Interval.D()*time.Duration(c.Fall) + c.Timeout.D(); bound > limit {
				return &model.FieldError{Code: model.CodeInvalid, Field: fmt.Sprintf("names[%q]", name),
					Message: fmt.Sprintf("edge %s check %d (%s) needs interval %s × fall %d + timeout %s = %s to notice a dead edge, longer than the TTL of %s (pool %s): lower the interval or fall, or raise the pool's ttl",
						e.ID, i, c.Type, c.Interval.D(), c.Fall, c.Timeout.D(), bound, limit, p.ID)}
			}
		}
	}
	return nil
}

// reachableEdges lists the edges p can answer with, through nested pools, each once.
func (p *Pool) reachableEdges() []*Edge {
	var out []*Edge
	seen := map[*Pool]bool{}
	var walk func(*Pool)
	walk = func(p *Pool) {
		if seen[p] {
			return
		}
		seen[p] = true
		for _, m := range p.allMembers() {
			if m.Edge != nil && !slices.Contains(out, m.Edge) {
				out = append(out, m.Edge)
			} else if m.Pool != nil {
				walk(m.Pool)
			}
		}
	}
	walk(p)
	return out
}

// allMembers lists the members of p and of its rules.
func (p *Pool) allMembers() []Member {
	out := append([]Member{}, p.Members...)
	for _, r := range p.Rules {
		out = append(out, r.Members...)
	}
	return out
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
