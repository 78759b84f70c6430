package route

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// Rule is one rule of a geo, cidr or asn pool.
type Rule struct {
	Label   string // for explain: "subdivision US-CA", "country DE", "prefix 203.0.113.0/24", "default"
	Members []Member
	spec    model.Rule
}

// rules indexes a ruled pool's rules for matching.
type rules struct {
	subdivisions []int          // rule indexes with a subdivision
	byCountry    map[string]int // country rules
	byContinent  map[string]int
	v4, v6       *trie
	byASN        map[uint32]int
	def          int // the default rule, -1 without one
}

// matchChain is the rules that match a client, most specific first.
type matchChain struct {
	idx [4]int
	n   int
}

func (m *matchChain) add(i int) {
	if i >= 0 && m.n < len(m.idx) {
		m.idx[m.n] = i
		m.n++
	}
}

// ruled evaluates a geo, cidr or asn pool: the most specific rule that matches the client and has
// a healthy member answers, its members ranked by latency; a rule with nothing healthy gives way
// to the next less specific one (subdivision, country, continent, default), as Route 53 does.
// With open, the most specific matching rule answers regardless of health.
func (ev *evaluator) ruled(p *Pool, open bool, depth int) ranked {
	var chain matchChain
	ev.d.Scope = max(ev.d.Scope, p.match(ev.c, &chain))
	if chain.n == 0 {
		if ev.d.Trace != nil {
			ev.d.Trace.Steps = append(ev.d.Trace.Steps, Step{Depth: depth, Pool: p.ID, Policy: p.Policy.String(), Rule: "no rule matches and no default"})
		}
		return ranked{}
	}
	var downs ranked
	for i := 0; i < chain.n; i++ {
		r := &p.Rules[chain.idx[i]]
		res := ev.rank(p, p.Policy, r.Members, open, depth, r.Label)
		if res.candidates == 0 {
			continue // nothing of this family here: a less specific rule may have it
		}
		if res.healthy {
			return res
		}
		downs.candidates += res.candidates
	}
	downs.matched = true
	return downs
}

// match finds the rules that match c and returns the ECS scope the match depended on.
func (p *Pool) match(c *Client, chain *matchChain) int {
	ix := &p.index
	scope := 0
	switch p.Policy {
	case Geo:
		if l := c.Geo.Loc; l != nil {
			for _, i := range ix.subdivisions {
				s := &p.Rules[i].spec
				if s.Country == l.Country && (s.Subdivision == l.Subdivision || strings.EqualFold(s.Subdivision, l.SubdivisionName)) {
					chain.add(i)
					break
				}
			}
			if i, ok := ix.byCountry[l.Country]; ok {
				chain.add(i)
			}
			if i, ok := ix.byContinent[l.Continent]; ok {
				chain.add(i)
			}
		}
		scope = c.Geo.Bits
	case CIDR:
		t := ix.v6
		if c.Addr.Is4() {
			t = ix.v4
		}
		var i int
		i, scope = t.lookup(c.Addr)
		chain.add(i)
	case ASN:
		if i, ok := ix.byASN[c.Geo.ASN]; ok && c.Geo.ASN != 0 {
			chain.add(i)
		}
		scope = c.Geo.ASNBits
	}
	chain.add(ix.def)
	return scope
}

// compileRules builds p.Rules and p.index from the pool's spec.
func (t *Table) compileRules(p *Pool) error {
	ix := rules{byCountry: map[string]int{}, byContinent: map[string]int{}, byASN: map[uint32]int{}, v4: newTrie(32), v6: newTrie(128), def: -1}
	for i, spec := range p.Spec.Rules {
		r := Rule{spec: spec}
		field := fmt.Sprintf("pools.%s.rules[%d]", p.ID, i)
		for _, m := range spec.Members {
			r.Members = append(r.Members, t.member(m))
		}
		switch {
		case spec.Default:
			r.Label = "default"
			ix.def = i
		case spec.Subdivision != "":
			r.Label = "subdivision " + spec.Country + "-" + spec.Subdivision
			ix.subdivisions = append(ix.subdivisions, i)
		case spec.Country != "":
			r.Label = "country " + spec.Country
			if _, dup := ix.byCountry[spec.Country]; dup {
				return &model.FieldError{Code: model.CodeConflict, Field: field, Message: "country " + spec.Country + " has two rules"}
			}
			ix.byCountry[spec.Country] = i
		case spec.Continent != "":
			r.Label = "continent " + spec.Continent
			if _, dup := ix.byContinent[spec.Continent]; dup {
				return &model.FieldError{Code: model.CodeConflict, Field: field, Message: "continent " + spec.Continent + " has two rules"}
			}
			ix.byContinent[spec.Continent] = i
		case len(spec.Prefixes) > 0:
			r.Label = "prefixes " + strings.Join(spec.Prefixes, " ")
			for j, s := range spec.Prefixes {
				pfx := netip.MustParsePrefix(strings.TrimSpace(s))
				pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-map4in6(pfx)).Masked()
				tr := ix.v6
				if pfx.Addr().Is4() {
					tr = ix.v4
				}
				if !tr.insert(pfx, i) {
					return &model.FieldError{Code: model.CodeConflict, Field: fmt.Sprintf("%s.prefixes[%d]", field, j), Message: pfx.String() + " is in two rules"}
				}
			}
		case len(spec.ASNs) > 0:
			r.Label = fmt.Sprintf("asns %v", spec.ASNs)
			for _, a := range spec.ASNs {
				if _, dup := ix.byASN[a]; dup {
					return &model.FieldError{Code: model.CodeConflict, Field: field, Message: fmt.Sprintf("AS%d has two rules", a)}
				}
				ix.byASN[a] = i
			}
		}
		p.Rules = append(p.Rules, r)
	}
	p.index = ix
	return nil
}

func map4in6(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return 96
	}
	return 0
}
