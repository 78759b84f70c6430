package route

import (
	"math"
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

// Env is what a decision reads besides the table: health and the RTT matrix.
type Env struct {
	Health Health      // nil: all up
	RTT    *rtt.Matrix // nil: nothing measured
}

// Client is the asking client: the address the decision is for (EDNS Client Subnet or source)
// and what GeoIP says of it.
type Client struct {
	Addr netip.Addr
	Geo  geoip.Result

	row       []float32
	profile   *rtt.Profile
	looked    bool
	geoPrefix netip.Prefix
}

// NewClient returns a client for addr with its GeoIP result.
func NewClient(addr netip.Addr, g geoip.Result) Client {
	return Client{Addr: addr.Unmap(), Geo: g}
}

func (c *Client) info() rtt.ClientInfo {
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
	if m == nil {
		return
	}
	c.row = m.Row(rtt.KeyOf(c.Addr))
	c.profile = m.Profile(c.info())
}

// rttTo returns the RTT figure for edge e and where it came from; ms is +Inf when nothing is known.
func (c *Client) rttTo(env *Env, e *Edge) (float64, rtt.Source) {
	c.lookRTT(env.RTT)
	if c.row != nil {
		if v := c.row[e.Index]; !math.IsNaN(float64(v)) {
			return float64(v), rtt.Measured
		}
	}
	if c.profile != nil {
		if v := c.profile.Millis[e.Index]; !math.IsNaN(float64(v)) {
			return float64(v), c.profile.Source[e.Index]
		}
	} else if l := c.Geo.Loc; l != nil && l.HasPoint && e.HasPoint {
		return geo.ModelRTTMillis(geo.DistanceKm(l.Point, e.Point)), rtt.Distance
	}
	return math.Inf(1), rtt.None
}

// Outcome is what kind of answer a decision gives.
type Outcome uint8

// The outcomes.
const (
	Answer   Outcome = iota // Edges holds the answer
	NoData                  // no edge has an address of the family, or all down with when_all_down none
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

	cands []scored
}

// Trace records how a decision was made, for explain. Filled only when Decision.Trace is set.
type Trace struct {
	Pool       string
	Policy     string
	Candidates []CandidateTrace
}

// CandidateTrace is one candidate edge in a decision.
type CandidateTrace struct {
	Edge   string
	Up     bool
	Millis float64
	Source string
	Chosen bool
}

type scored struct {
	edge   *Edge
	millis float64
	source rtt.Source
	up     bool
	order  int
}

// Reset empties d for reuse, keeping its buffers.
func (d *Decision) Reset() {
	d.Edges = d.Edges[:0]
	d.cands = d.cands[:0]
	d.Outcome, d.TTL, d.Scope, d.FailOpen, d.Trace = Answer, 0, 0, false, nil
}

// Decide picks the edges that answer b for client c in family f. b must be routed.
func Decide(b *Binding, f Family, c *Client, env *Env, d *Decision) {
	if env.Health == nil {
		env.Health = AllUp
	}
	d.TTL = b.TTL
	if b.Edge != nil {
		// A pinned name follows its edge, up or not: there is nowhere else to send its clients.
		if len(b.Edge.Addrs(f)) == 0 {
			d.Outcome = NoData
			return
		}
		d.Edges = append(d.Edges, b.Edge)
		if d.Trace != nil {
			d.Trace.Policy = "pinned"
			d.Trace.Candidates = append(d.Trace.Candidates, CandidateTrace{Edge: b.Edge.ID, Up: env.Health.Up(b.Edge), Chosen: true})
		}
		return
	}
	p := b.Pool
	if d.Trace != nil {
		d.Trace.Pool, d.Trace.Policy = p.ID, p.Policy.String()
	}
	latency(p, f, c, env, d)
}

// latency ranks the pool's edges by RTT, measured or estimated, lowest first.
func latency(p *Pool, f Family, c *Client, env *Env, d *Decision) {
	healthy := 0
	for i, m := range p.Members {
		e := m.Edge
		if e == nil || len(e.Addrs(f)) == 0 {
			continue
		}
		ms, src := c.rttTo(env, e)
		up := env.Health.Up(e)
		if up {
			healthy++
		}
		d.cands = append(d.cands, scored{edge: e, millis: ms, source: src, up: up, order: i})
	}
	if len(d.cands) == 0 {
		d.Outcome = NoData
		return
	}
	if healthy == 0 {
		switch p.WhenAllDown {
		case AnswerNone:
			d.Outcome = NoData
			d.traceCandidates()
			return
		case AnswerServfail:
			d.Outcome = Servfail
			d.traceCandidates()
			return
		}
		d.FailOpen = true
	}
	slices.SortStableFunc(d.cands, func(a, b scored) int {
		if a.up != b.up && !d.FailOpen {
			if a.up {
				return -1
			}
			return 1
		}
		switch {
		case a.millis < b.millis:
			return -1
		case a.millis > b.millis:
			return 1
		}
		return a.order - b.order
	})
	n := p.Answers
	if !d.FailOpen && healthy < n {
		n = healthy
	}
	for i := 0; i < n && i < len(d.cands); i++ {
		d.Edges = append(d.Edges, d.cands[i].edge)
	}
	d.Scope = latencyScope(c, env)
	d.traceCandidates()
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

func (d *Decision) traceCandidates() {
	if d.Trace == nil {
		return
	}
	for _, s := range d.cands {
		chosen := slices.Contains(d.Edges, s.edge)
		d.Trace.Candidates = append(d.Trace.Candidates, CandidateTrace{Edge: s.edge.ID, Up: s.up, Millis: s.millis, Source: s.source.String(), Chosen: chosen})
	}
}
