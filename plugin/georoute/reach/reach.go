// Package reach keeps what clients and edges report of client networks that cannot reach an
// edge, which no health check from a few vantage points sees (a routing problem between one
// ISP and one region). Each (client network, edge) pair has a small state machine like a health
// check's: fall consecutive failures and the network is answered as if the edge were down,
// rise consecutive successes and it is answered as before. The evidence covers more than the
// network itself only when it agrees: when failed networks of one AS come from at least Quorum
// distinct sources (reporters: a report that names none is the edge's own), the whole AS avoids
// the edge; a city as a whole, when they are of two ASes at least besides (one ISP's trouble is
// its own). Pure: no DNS, no HTTP.
package reach

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/georoute/appliance/plugin/georoute/rtt"
)

// Rule tunes the state machines.
type Rule struct {
	Fall   int           // consecutive failures that make a network avoid an edge (default 2)
	Rise   int           // consecutive successes that bring it back (default 2)
	Quorum int           // distinct sources of failed networks of one AS or city that make all of it avoid the edge (default 3)
	Expire time.Duration // a failed pair with no report for this long counts no more (default 10 min)
}

// Defaults of Rule.
const (
	DefaultFall   = 2
	DefaultRise   = 2
	DefaultQuorum = 3
	DefaultExpire = 10 * time.Minute
	// MaxSources bounds the distinct sources a pair remembers.
	MaxSources = 8
)

// WithDefaults fills r's zero fields.
func (r Rule) WithDefaults() Rule {
	if r.Fall <= 0 {
		r.Fall = DefaultFall
	}
	if r.Rise <= 0 {
		r.Rise = DefaultRise
	}
	if r.Quorum <= 0 {
		r.Quorum = DefaultQuorum
	}
	if r.Expire <= 0 {
		r.Expire = DefaultExpire
	}
	return r
}

// Key names a pair.
type Key struct {
	Net  rtt.NetKey
	Edge string
}

// Pair is what is known of one client network reaching one edge.
type Pair struct {
	Net     rtt.NetKey `json:"-"`
	Edge    string     `json:"-"`
	ASN     uint32     `json:"asn,omitempty"`  // the network's AS, as GeoIP said when reported (0: unknown)
	City    uint64     `json:"city,omitempty"` // its city id (0: unknown)
	Fails   int        `json:"fails,omitempty"`
	Oks     int        `json:"oks,omitempty"`
	Failed  bool       `json:"failed,omitempty"` // answered as if the edge were down
	Since   time.Time  `json:"since"`            // when Failed last changed (the first report before)
	Updated time.Time  `json:"updated"`          // the latest report
	Reports int        `json:"reports"`          // failure reports since the pair was last fine
	Sources []string   `json:"sources,omitempty"`
}

// Key is p's key.
func (p *Pair) Key() Key { return Key{p.Net, p.Edge} }

// Observe folds one report into p: failed or not, from source ("": the edge itself), at at.
// It reports whether p changed state (Failed).
func (p *Pair) Observe(failed bool, source string, at time.Time, r Rule) bool {
	r = r.WithDefaults()
	if p.Since.IsZero() {
		p.Since = at
	}
	p.Updated = at
	was := p.Failed
	if failed {
		p.Fails, p.Oks = p.Fails+1, 0
		p.Reports++
		if source == "" {
			source = "edge " + p.Edge
		}
		if !slices.Contains(p.Sources, source) && len(p.Sources) < MaxSources {
			p.Sources = append(p.Sources, source)
		}
		if p.Fails >= r.Fall {
			p.Failed = true
		}
	} else {
		p.Oks, p.Fails = p.Oks+1, 0
		if !p.Failed || p.Oks >= r.Rise {
			p.Failed, p.Reports, p.Sources = false, 0, nil
		}
	}
	if p.Failed != was {
		p.Since = at
	}
	return p.Failed != was
}

// Idle reports whether p holds nothing worth keeping: fine, with no failure pending.
func (p *Pair) Idle() bool { return !p.Failed && p.Fails == 0 }

// Live reports whether p counts at now: failed, and reported within the rule's Expire.
func (p *Pair) Live(now time.Time, r Rule) bool {
	return p.Failed && now.Sub(p.Updated) < r.WithDefaults().Expire
}

// Why is one reason a client avoids an edge.
type Why struct {
	Edge    string    `json:"edge"`
	Scope   string    `json:"scope"` // network, as, city
	Key     string    `json:"key"`   // the network, "AS64500", the city id
	Reports int       `json:"reports"`
	Sources int       `json:"sources"`
	Since   time.Time `json:"since"`
}

// Vantage is a node's own probes finding an edge down, for the client networks the node stands
// for (its region's): they avoid the edge though the nodes together find it up.
type Vantage struct {
	Prefix netip.Prefix
	Edge   string
	Node   string
	Since  time.Time
}

// View is what queries read: which networks, ASes and cities avoid which edges. Immutable.
type View struct {
	byNet    map[rtt.NetKey][]Why
	byASN    map[uint32][]Why
	byCity   map[uint64][]Why
	vantages []Vantage
}

// Empty reports whether no client avoids any edge.
func (v *View) Empty() bool {
	return v == nil || len(v.byNet)+len(v.byASN)+len(v.byCity)+len(v.vantages) == 0
}

// Build makes the view of pairs and vantages at now.
func Build(pairs []Pair, vantages []Vantage, r Rule, now time.Time) *View {
	r = r.WithDefaults()
	v := &View{byNet: map[rtt.NetKey][]Why{}, byASN: map[uint32][]Why{}, byCity: map[uint64][]Why{}, vantages: vantages}
	type group struct {
		reports int
		sources map[string]bool
		asns    map[uint32]bool
		since   time.Time
	}
	asns := map[Key]*group{}   // Key.Net holds the ASN
	cities := map[Key]*group{} // Key.Net holds the city id
	add := func(m map[Key]*group, k Key, p *Pair) {
		g := m[k]
		if g == nil {
			g = &group{sources: map[string]bool{}, asns: map[uint32]bool{}, since: p.Since}
			m[k] = g
		}
		g.reports += p.Reports
		if p.ASN != 0 {
			g.asns[p.ASN] = true
		}
		for _, s := range p.Sources {
			g.sources[s] = true
		}
		if p.Since.Before(g.since) {
			g.since = p.Since
		}
	}
	for i := range pairs {
		p := &pairs[i]
		if !p.Live(now, r) {
			continue
		}
		v.byNet[p.Net] = append(v.byNet[p.Net], Why{Edge: p.Edge, Scope: "network", Key: p.Net.Prefix().String(), Reports: p.Reports, Sources: len(p.Sources), Since: p.Since})
		if p.ASN != 0 {
			add(asns, Key{rtt.NetKey(p.ASN), p.Edge}, p)
		}
		if p.City != 0 {
			add(cities, Key{rtt.NetKey(p.City), p.Edge}, p)
		}
	}
	for k, g := range asns {
		if len(g.sources) >= r.Quorum {
			v.byASN[uint32(k.Net)] = append(v.byASN[uint32(k.Net)], Why{Edge: k.Edge, Scope: "as", Key: "AS" + itoa(uint64(k.Net)), Reports: g.reports, Sources: len(g.sources), Since: g.since})
		}
	}
	for k, g := range cities {
		if len(g.sources) >= r.Quorum && len(g.asns) >= 2 {
			v.byCity[uint64(k.Net)] = append(v.byCity[uint64(k.Net)], Why{Edge: k.Edge, Scope: "city", Key: itoa(uint64(k.Net)), Reports: g.reports, Sources: len(g.sources), Since: g.since})
		}
	}
	for k := range v.byNet {
		slices.SortFunc(v.byNet[k], byEdge)
	}
	for k := range v.byASN {
		slices.SortFunc(v.byASN[k], byEdge)
	}
	for k := range v.byCity {
		slices.SortFunc(v.byCity[k], byEdge)
	}
	return v
}

func byEdge(a, b Why) int { return cmp.Compare(a.Edge, b.Edge) }

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// Avoids appends to out the edges a client at addr, of AS asn and city, avoids (each once,
// sorted) and returns it. It does not allocate when none are avoided.
func (v *View) Avoids(addr netip.Addr, asn uint32, city uint64, out []string) []string {
	if v.Empty() {
		return out
	}
	start := len(out)
	for _, ws := range [][]Why{v.byNet[rtt.KeyOf(addr)], v.byASN[asn], v.byCity[city]} {
		for _, w := range ws {
			if !slices.Contains(out[start:], w.Edge) {
				out = append(out, w.Edge)
			}
		}
	}
	for _, vp := range v.vantages {
		if vp.Prefix.Contains(addr) && !slices.Contains(out[start:], vp.Edge) {
			out = append(out, vp.Edge)
		}
	}
	slices.Sort(out[start:])
	return out
}

// Explain is every reason a client at addr, of AS asn and city, avoids an edge.
func (v *View) Explain(addr netip.Addr, asn uint32, city uint64) []Why {
	if v.Empty() {
		return nil
	}
	var out []Why
	out = append(out, v.byNet[rtt.KeyOf(addr)]...)
	if asn != 0 {
		out = append(out, v.byASN[asn]...)
	}
	if city != 0 {
		out = append(out, v.byCity[city]...)
	}
	for _, vp := range v.vantages {
		if vp.Prefix.Contains(addr) {
			out = append(out, Why{Edge: vp.Edge, Scope: "vantage", Key: vp.Node + " " + vp.Prefix.String(), Sources: 1, Since: vp.Since})
		}
	}
	return out
}

// Avoiding counts, by edge, the networks that avoid it on their own evidence, the ASes and
// cities that do as a whole, and the prefixes of nodes' vantages.
func (v *View) Avoiding() map[string][4]int {
	out := map[string][4]int{}
	if v == nil {
		return out
	}
	count(v.byNet, 0, out)
	count(v.byASN, 1, out)
	count(v.byCity, 2, out)
	for _, vp := range v.vantages {
		c := out[vp.Edge]
		c[3]++
		out[vp.Edge] = c
	}
	return out
}

// count adds to out[edge][i] the keys of m that avoid each edge.
func count[K comparable](m map[K][]Why, i int, out map[string][4]int) {
	for _, ws := range m {
		for _, w := range ws {
			c := out[w.Edge]
			c[i]++
			out[w.Edge] = c
		}
	}
}
