package route

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/georoute/appliance/plugin/georoute/geo"
	"github.com/georoute/appliance/plugin/georoute/geoip"
	"github.com/georoute/appliance/plugin/georoute/rtt"
)

// Family is the address family an answer holds.
type Family uint8

// The families: A and AAAA.
const (
	V4 Family = 4
	V6 Family = 6
)

// Health says whether an edge is up. It is read on every routed query and must not block.
type Health interface {
	Up(e *Edge) bool
}

type allUp struct{}

func (allUp) Up(*Edge) bool { return true }

// AllUp counts every edge as up.
var AllUp Health = allUp{}

// Env is what a decision reads besides the table: health and the RTT matrix, and what this
// client's network reported it cannot reach and the edges' load.
type Env struct {
	Health Health      // nil: all up
	RTT    *rtt.Matrix // nil: nothing measured; distance alone
	// Unreachable lists the edges the client's network cannot reach (failure reports): for
	// this client they are down, whatever their health.
	Unreachable []string
	// Loads is each edge's utilisation (0 to 1) by Edge.Index, 0 where unknown; nil: none.
	Loads []float64
}

// up says whether e is up for this client: an operator's override first, then what its
// network reported, then the health checker.
func (env *Env) up(e *Edge) bool {
	switch e.Override {
	case "down":
		return false
	case "up":
		return true
	}
	if len(env.Unreachable) > 0 && slices.Contains(env.Unreachable, e.ID) {
		return false
	}
	return env.Health == nil || env.Health.Up(e)
}

// load is e's utilisation, 0 when unknown.
func (env *Env) load(e *Edge) float64 {
	if e.Index < len(env.Loads) {
		return env.Loads[e.Index]
	}
	return 0
}

// Client is the asking client: the address the decision is for (EDNS Client Subnet or source)
// and what GeoIP says of it.
type Client struct {
	Addr netip.Addr
	Geo  geoip.Result

	row       rtt.Row
	profile   *rtt.Profile
	looked    bool
	geoPrefix netip.Prefix
}

// NewClient returns a client for addr with its GeoIP result.
func NewClient(addr netip.Addr, g geoip.Result) Client {
	return Client{Addr: addr.Unmap(), Geo: g}
}

// Info is what the RTT estimator knows of the client.
func (c *Client) Info() rtt.ClientInfo {
	l := c.Geo.Loc
	if l == nil {
		return rtt.ClientInfo{ASN: c.Geo.ASN}
	}
	return rtt.ClientInfo{ID: l.ID, Point: l.Point, HasPoint: l.HasPoint, ASN: c.Geo.ASN, CityID: l.CityID}
}

// lookRTT fetches the client's measured row and estimate profile once per decision.
func (c *Client) lookRTT(m *rtt.Matrix) {
	if c.looked {
		return
	}
	c.looked = true
	if m.Empty() {
		return // nothing measured: the estimate is the distance model, computed per edge in RTTTo
	}
	c.row = m.Row(rtt.KeyOf(c.Addr))
	c.profile = m.Profile(c.Info())
}

// RTTTo returns the RTT figure routing uses for edge e and where it came from; +Inf when nothing
// is known.
func (c *Client) RTTTo(env *Env, e *Edge) (float64, rtt.Source) {
	c.lookRTT(env.RTT)
	if c.row != nil {
		if v := env.RTT.Measured(c.row, e.Index); !math.IsNaN(float64(v)) {
			return float64(v), rtt.Measured
		}
	}
	if c.profile != nil {
		if v, src := c.profile.At(e.Index); !math.IsNaN(float64(v)) {
			return float64(v), src
		}
	} else if l := c.Geo.Loc; l != nil && l.HasPoint && e.HasPoint {
		return geo.ModelRTTMillis(geo.ArcKm(l.Vec, e.Vec)), rtt.Distance
	}
	return math.Inf(1), rtt.None
}

// distanceTo is the great-circle distance to e in km; +Inf when either has no location.
func (c *Client) distanceTo(e *Edge) float64 {
	if l := c.Geo.Loc; l != nil && l.HasPoint && e.HasPoint {
		return geo.ArcKm(l.Vec, e.Vec)
	}
	return math.Inf(1)
}

// Outcome is what kind of answer a decision gives.
type Outcome uint8

// The outcomes.
const (
	Answer   Outcome = iota // Edges holds the answer
	NoData                  // nothing to answer: no edge of the family, no geo rule, or all down with when_all_down none
	Servfail                // all down with when_all_down servfail
)

// Decision is the result of Decide. Reuse one across queries (Reset) to avoid allocation.
type Decision struct {
	Edges    []*Edge
	Outcome  Outcome
	TTL      uint32
	Scope    int  // EDNS Client Subnet scope prefix length the answer depended on
	FailOpen bool // every candidate was down and the pool answered anyway
	Trace    *Trace
	// Shed is the edge that would have answered first but for its load ("shed" or "full":
	// ShedWhy), nil when load moved nothing.
	Shed    *Edge
	ShedWhy string

	buf     []*Edge  // ranked edge lists of the pools evaluated, by range
	members []member // members being ranked, a stack across nested pools
}

// member is one member of a pool being ranked: its ranked edges are buf[lo:hi].
type member struct {
	lo, hi int
	score  float64
	up     bool
	order  int
	src    rtt.Source
	m      *Member
	load   float64 // of its edge, when the pool sheds load
	note   string  // for explain: why it is where it is ("full", "shed")
}

// Trace records how a decision was made, for explain. Filled only when Decision.Trace is set.
type Trace struct {
	Steps []Step
}

// Step is one pool evaluated, nested pools after the pool that holds them.
type Step struct {
	Depth   int           `json:"depth"`
	Pool    string        `json:"pool"`
	Policy  string        `json:"policy"`
	Rule    string        `json:"rule,omitempty"` // geo, cidr, asn: the rule used
	Healthy bool          `json:"healthy"`
	Members []TraceMember `json:"members"`
}

// TraceMember is one member of a pool in a trace, in the pool's order.
type TraceMember struct {
	Name   string  `json:"member"` // "edge fra1", "pool eu"
	Up     bool    `json:"up"`
	Score  float64 `json:"-"` // in Unit; +Inf when unknown
	Unit   string  `json:"unit"`
	Source string  `json:"source,omitempty"` // latency: where the figure came from
	// Load is the edge's utilisation when the pool sheds load; Note says why it is where it is:
	// "full", "shed", "unreachable from the client's network".
	Load *float64 `json:"load,omitempty"`
	Note string   `json:"note,omitempty"`
}

// MarshalJSON writes the score as null when it is not a number JSON can hold.
func (m TraceMember) MarshalJSON() ([]byte, error) {
	type plain TraceMember
	out := struct {
		plain
		Score *float64 `json:"score"`
	}{plain: plain(m)}
	if !math.IsInf(m.Score, 0) && !math.IsNaN(m.Score) {
		out.Score = &m.Score
	}
	return json.Marshal(out)
}

// Reset empties d for reuse, keeping its buffers.
func (d *Decision) Reset() {
	d.Edges, d.buf, d.members = d.Edges[:0], d.buf[:0], d.members[:0]
	d.Outcome, d.TTL, d.Scope, d.FailOpen, d.Trace, d.Shed, d.ShedWhy = Answer, 0, 0, false, nil, nil, ""
}

// maxDepth bounds pool nesting; cycles are rejected at load, this only guards the recursion.
const maxDepth = 16

// Decide picks the edges of table t that answer b for client c in family f. b must be routed.
func Decide(t *Table, b *Binding, f Family, c *Client, env *Env, d *Decision) {
	ev := evaluator{c: c, env: env, f: f, d: d}
	d.TTL = t.TTLOf(b)
	if b.Edge != "" {
		// A pinned name follows its edge, up or not: there is nowhere else to send its clients.
		e := t.Edge(b.Edge)
		if e == nil || len(e.Addrs(f)) == 0 {
			d.Outcome = NoData
			return
		}
		d.Edges = append(d.Edges, e)
		if d.Trace != nil {
			up := env.up(e)
			d.Trace.Steps = append(d.Trace.Steps, Step{Pool: "(pinned)", Policy: "pinned", Healthy: up,
				Members: []TraceMember{{Name: "edge " + e.ID, Up: up}}})
		}
		return
	}
	p := t.Pool(b.Pool)
	if p == nil {
		d.Outcome = NoData // the pool went away under a name; writes forbid it, this guards a race
		return
	}
	r := ev.pool(p, false, 0)
	switch {
	case !r.matched || r.candidates == 0:
		d.Outcome = NoData // no rule for this client, or no edge with an address of the family
		return
	case !r.healthy:
		switch p.WhenAllDown {
		case AnswerNone:
			d.Outcome = NoData
			return
		case AnswerServfail:
			d.Outcome = Servfail
			return
		}
		d.FailOpen = true
		r = ev.pool(p, true, 0)
	}
	n := min(p.Answers, r.hi-r.lo)
	d.Edges = append(d.Edges, d.buf[r.lo:r.lo+n]...)
}

// ranked is a pool's evaluation: its edges, best first, are d.buf[lo:hi].
type ranked struct {
	lo, hi     int
	healthy    bool // some candidate is up (or health was ignored)
	candidates int  // members with an edge of the family
	matched    bool // false when a ruled pool has no rule for the client
}

// evaluator evaluates the pools of one decision.
type evaluator struct {
	c   *Client
	env *Env
	f   Family
	d   *Decision
}

// pool ranks p's edges, best first. Without open, only healthy edges are ranked; with open,
// health is ignored.
func (ev *evaluator) pool(p *Pool, open bool, depth int) ranked {
	if depth > maxDepth {
		return ranked{}
	}
	switch p.Policy {
	case Geo, CIDR, ASN:
		return ev.ruled(p, open, depth)
	}
	return ev.rank(p, p.Policy, p.Members, open, depth, "")
}

// rank scores members under policy, orders them and flattens their edges.
func (ev *evaluator) rank(p *Pool, policy Policy, members []Member, open bool, depth int, rule string) ranked {
	d := ev.d
	mark := len(d.members)
	for i := range members {
		ev.add(p, policy, &members[i], i, open, depth)
	}
	ms := d.members[mark:]
	shed := p.Load != nil && policy == Latency && !open && len(ev.env.Loads) > 0
	if shed {
		shed = ev.full(p, ms) // every edge full: answered as without loads
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		if a.up != b.up {
			if a.up {
				return -1
			}
			return 1
		}
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return a.order - b.order
	})
	if shed {
		ev.shed(p, ms)
		ev.noteShed(ms)
	}
	ev.scope(policy, p, len(ms))
	if d.Trace != nil {
		ev.trace(p, policy, ms, open, depth, rule)
	}
	r := ev.flatten(ms, open)
	d.members = d.members[:mark]
	return r
}

// add scores one member and pushes it on the member stack; members without an edge of the
// family (or nested pools with nothing to answer) are left out.
func (ev *evaluator) add(p *Pool, policy Policy, m *Member, order int, open bool, depth int) {
	d := ev.d
	mb := member{order: order, m: m, score: math.Inf(1)}
	if m.Edge != nil {
		if len(m.Edge.Addrs(ev.f)) == 0 {
			return
		}
		mb.lo = len(d.buf)
		d.buf = append(d.buf, m.Edge)
		mb.hi = len(d.buf)
		mb.up = open || ev.env.up(m.Edge)
	} else {
		r := ev.pool(m.Pool, open, depth+1)
		if !r.matched || r.candidates == 0 {
			return
		}
		mb.lo, mb.hi, mb.up = r.lo, r.hi, r.healthy
	}
	if mb.lo == mb.hi { // a nested pool with nothing healthy: down, nothing to score
		d.members = append(d.members, mb)
		return
	}
	best := d.buf[mb.lo]
	switch policy {
	case Latency, Geo, CIDR, ASN:
		mb.score, mb.src = ev.c.RTTTo(ev.env, best)
	case Geoproximity:
		mb.score = ev.c.distanceTo(best) * (1 - float64(m.Bias)/100)
	case Weighted:
		mb.score = ev.weightKey(p, m)
	case Multivalue:
		mb.score = rand.Float64()
	case Failover:
		mb.score = float64(order)
	}
	d.members = append(d.members, mb)
}

// full takes edges at or above the pool's full watermark out of the answer, unless every edge
// that is up is that full (then they answer as before: fail open, and full reports false).
func (ev *evaluator) full(p *Pool, ms []member) bool {
	room := false
	for i := range ms {
		m := &ms[i]
		if m.m.Edge == nil {
			continue
		}
		m.load = ev.env.load(m.m.Edge)
		room = room || (m.up && m.load < p.Load.FullAt)
	}
	if !room {
		return false
	}
	for i := range ms {
		if m := &ms[i]; m.m.Edge != nil && m.up && m.load >= p.Load.FullAt {
			m.up, m.note = false, "full"
		}
	}
	return true
}

// shed moves the best edge behind the rest when its load is above the pool's shed watermark
// and moving to the next costs this client less than the share shed of the pool's penalty: of
// an edge's clients, a share that grows with its load moves, those that lose least first. The
// next edge is looked at in turn. It depends on nothing but the client's scores and the loads,
// so a client keeps its answer from one query to the next while the loads hold. ms is sorted.
func (ev *evaluator) shed(p *Pool, ms []member) {
	w := p.Load
	n := 0
	for k := 0; k+1 < len(ms) && ms[k+1].up; k++ {
		b := &ms[k]
		if b.m.Edge == nil || b.load <= w.ShedAt {
			break
		}
		share := min(1, (b.load-w.ShedAt)/(w.FullAt-w.ShedAt))
		if penalty := ms[k+1].score - b.score; !(penalty < share*w.PenaltyMillis) {
			break
		}
		b.note = "shed"
		n++
	}
	if n == 0 {
		return
	}
	class := func(m *member) int {
		switch {
		case !m.up:
			return 2
		case m.note == "shed":
			return 1
		}
		return 0
	}
	slices.SortStableFunc(ms, func(a, b member) int { return class(&a) - class(&b) })
}

// noteShed records in the decision the edge load moved first: the best scored of those shed or
// full, when it scores better than what answers now.
func (ev *evaluator) noteShed(ms []member) {
	if ev.d.Shed != nil || len(ms) == 0 {
		return
	}
	var best *member
	for i := range ms {
		if m := &ms[i]; m.note != "" && m.m.Edge != nil && (best == nil || m.score < best.score) {
			best = m
		}
	}
	if best != nil && best.score < ms[0].score {
		ev.d.Shed, ev.d.ShedWhy = best.m.Edge, best.note
	}
}

// weightKey orders weighted members: weighted rendezvous hashing, -ln(U)/weight, smallest first,
// picks each member with probability weight/sum and ranks the rest likewise. U is random per
// query, or a hash of the client's network and the member when the pool is sticky. Members of
// weight 0 come after all others, in random order: they answer only when the others are down.
func (ev *evaluator) weightKey(p *Pool, m *Member) float64 {
	var u float64
	if p.Sticky {
		h := mix(uint64(rtt.KeyOf(ev.c.Addr)) ^ m.hash)
		u = (float64(h>>11) + 1) / (1 << 53)
	} else {
		u = 1 - rand.Float64() // (0, 1]
	}
	if m.Weight <= 0 {
		return 1e300 * (1 + u)
	}
	return -math.Log(u) / float64(m.Weight)
}

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// flatten appends the edges of the ordered members (healthy ones unless open), each edge once,
// to d.buf and returns their range.
func (ev *evaluator) flatten(ms []member, open bool) ranked {
	d := ev.d
	r := ranked{lo: len(d.buf), candidates: len(ms), matched: true, healthy: open && len(ms) > 0}
	for _, m := range ms {
		if !m.up && !open {
			continue
		}
		r.healthy = r.healthy || m.up
		for j := m.lo; j < m.hi; j++ {
			if e := d.buf[j]; !slices.Contains(d.buf[r.lo:], e) {
				d.buf = append(d.buf, e)
			}
		}
	}
	r.hi = len(d.buf)
	return r
}

// scope widens the decision's ECS scope by what policy made the answer depend on.
func (ev *evaluator) scope(policy Policy, p *Pool, candidates int) {
	s := 0
	switch policy {
	case Latency:
		if candidates > 1 {
			s = latencyScope(ev.c, ev.env)
		}
	case Geoproximity:
		if candidates > 1 {
			s = ev.c.Geo.Bits
		}
	case Weighted:
		if p.Sticky {
			s = rtt.KeyOf(ev.c.Addr).Bits()
		}
	}
	ev.d.Scope = max(ev.d.Scope, s)
}

// latencyScope is the prefix length a latency answer depended on: the GeoIP network that placed
// the client, its own /24 (/48) when measured networks lie inside that network, and its AS
// network when measured networks have ASes to compare with.
func latencyScope(c *Client, env *Env) int {
	scope := c.Geo.Bits
	if env.RTT.Empty() {
		return scope
	}
	if !c.geoPrefix.IsValid() && c.Geo.Bits > 0 {
		c.geoPrefix, _ = c.Addr.Prefix(c.Geo.Bits)
	}
	if c.Geo.Bits == 0 || env.RTT.MeasuredWithin(c.geoPrefix) {
		scope = max(scope, rtt.KeyOf(c.Addr).Bits())
	}
	if env.RTT.ComparesASNs() {
		// Known or not, the client's AS decides which measured networks count as nearest.
		scope = max(scope, c.Geo.ASNBits)
	}
	return scope
}

var units = map[Policy]string{Latency: "ms", Geo: "ms", CIDR: "ms", ASN: "ms", Geoproximity: "km (biased)", Weighted: "weighted key", Multivalue: "random", Failover: "order"}

func (ev *evaluator) trace(p *Pool, policy Policy, ms []member, open bool, depth int, rule string) {
	st := Step{Depth: depth, Pool: p.ID, Policy: p.Policy.String(), Rule: rule}
	for _, m := range ms {
		st.Healthy = st.Healthy || m.up || open
		tm := TraceMember{Name: m.m.String(), Up: m.up, Score: m.score, Unit: units[policy], Note: m.note}
		if p.Load != nil && m.m.Edge != nil {
			l := ev.env.load(m.m.Edge)
			tm.Load = &l
		}
		if m.m.Edge != nil && len(ev.env.Unreachable) > 0 && slices.Contains(ev.env.Unreachable, m.m.Edge.ID) && m.m.Edge.Override == "" {
			tm.Note = "unreachable from the client's network"
		}
		if m.src != rtt.None || policy == Latency {
			tm.Source = m.src.String()
		}
		st.Members = append(st.Members, tm)
	}
	ev.d.Trace.Steps = append(ev.d.Trace.Steps, st)
}
