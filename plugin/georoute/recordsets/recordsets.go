// Package recordsets turns a name's Route 53 routing record sets (those with a SetIdentifier)
// into what the appliance serves: one pool for the name whose policy is the record sets' routing
// policy, one edge of each A and AAAA record set (its values as addresses, placed where its
// region is, probed by its health check), and the values of record sets of other types as the
// name's records. It checks them as Route 53 does first. No CoreDNS or HTTP types here.
package recordsets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/geo"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// Lookup finds what record sets refer to.
type Lookup struct {
	// HealthCheck returns the checks (and the rule combining them) of a Route 53 health check.
	HealthCheck func(id string) (checks []check.Spec, rule string, ok bool)
	// Cidr returns the blocks of a location of a CIDR collection.
	Cidr func(collection, location string) (prefixes []string, ok bool)
}

// Made is what a name's record sets make.
type Made struct {
	PoolID string
	Pool   *model.Pool // nil: the name has no A or AAAA record sets
	Edges  map[string]model.Edge
	// Records are the values of the record sets of other types (each value once), and Types
	// those types: a name's records of these types come from its record sets.
	Records []model.Record
	Types   []string
}

// Error is a record set Route 53 would refuse, or one this appliance cannot serve as written.
type Error struct {
	Index   int // into the sets given to Make
	Message string
}

func (e *Error) Error() string { return e.Message }

// Policy returns the routing policy a record set's routing field names: weighted, latency,
// geo, geoproximity, failover, multivalue, cidr, or "" when it has none or more than one.
func Policy(s model.RecordSet) string {
	var found []string
	for _, f := range []struct {
		policy string
		set    bool
	}{
		{"weighted", s.Weight != nil}, {"latency", s.Region != ""}, {"geo", s.GeoLocation != nil},
		{"geoproximity", s.GeoProximity != nil}, {"failover", s.Failover != ""},
		{"multivalue", s.MultiValue != nil}, {"cidr", s.Cidr != nil},
	} {
		if f.set {
			found = append(found, f.policy)
		}
	}
	if len(found) != 1 {
		return ""
	}
	return found[0]
}

// PoolID is the id of the pool a name's record sets make.
func PoolID(name string) string { return "r53-" + hash(name) }

// EdgeID is the id of the edge the record set of name, type and set identifier makes.
func EdgeID(name, typ, set string) string { return "r53-" + hash(name+" "+typ+" "+set) }

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// MaxMultiValue is how many healthy record sets a multivalue answer holds, as in Route 53.
const MaxMultiValue = 8

// Sort orders sets as Route 53 lists them within a name: by type, then set identifier.
func Sort(sets []model.RecordSet) {
	slices.SortStableFunc(sets, func(a, b model.RecordSet) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.SetIdentifier, b.SetIdentifier)
	})
}

// Make checks the record sets of name (any order, each type and set identifier once) and makes
// the pool, edges and records they are served as.
func Make(name string, sets []model.RecordSet, l Lookup) (Made, error) {
	m := Made{PoolID: PoolID(name), Edges: map[string]model.Edge{}}
	policies := map[string]string{} // type -> policy
	first := map[string]int{}       // type -> index of its first set
	seen := map[string]bool{}
	for i, s := range sets {
		ref := ref(name, s)
		p := Policy(s)
		switch {
		case p == "":
			return Made{}, &Error{i, fmt.Sprintf("%s has no one routing policy: it needs exactly one of Weight, Region, GeoLocation, GeoProximityLocation, Failover, MultiValueAnswer or CidrRoutingConfig", ref)}
		case seen[s.Type+" "+s.SetIdentifier]:
			return Made{}, &Error{i, fmt.Sprintf("%s is given twice", ref)}
		case policies[s.Type] != "" && policies[s.Type] != p:
			return Made{}, &Error{i, fmt.Sprintf("%s uses %s routing, but the other record sets of its name and type use %s routing: all record sets of a name and type take one routing policy", ref, p, policies[s.Type])}
		}
		seen[s.Type+" "+s.SetIdentifier] = true
		if _, ok := policies[s.Type]; !ok {
			first[s.Type] = i
		}
		policies[s.Type] = p
		if err := checkSet(ref, s); err != "" {
			return Made{}, &Error{i, err}
		}
	}
	pa, pb := policies["A"], policies["AAAA"]
	if pa != "" && pb != "" && pa != pb {
		return Made{}, &Error{first["AAAA"], fmt.Sprintf("the A record sets of %s use %s routing and its AAAA record sets %s routing: this appliance routes both families of a name by one pool, so they take one policy", display(name), pa, pb)}
	}
	policy := cmpOr(pa, pb)
	var addr []int // indexes of the address record sets
	for i, s := range sets {
		switch s.Type {
		case "A", "AAAA":
			addr = append(addr, i)
		case "CNAME":
			return Made{}, &Error{i, fmt.Sprintf("%s: routing record sets of type CNAME are not served by this appliance (a name answers one CNAME): route its A and AAAA record sets, or use an alias", ref(name, s))}
		default:
			if s.HealthCheck != "" {
				return Made{}, &Error{i, fmt.Sprintf("%s: only A and AAAA record sets are probed by a health check here", ref(name, s))}
			}
			if !slices.Contains(m.Types, s.Type) {
				m.Types = append(m.Types, s.Type)
			}
			for _, v := range s.Values {
				if !slices.ContainsFunc(m.Records, func(r model.Record) bool { return r.Type == s.Type && r.Value == v }) {
					m.Records = append(m.Records, model.Record{Type: s.Type, TTL: s.TTL, Value: v})
				}
			}
		}
	}
	// The records of a type answer with the smallest TTL of its record sets.
	for i, r := range m.Records {
		for _, s := range sets {
			if s.Type == r.Type && s.TTL < m.Records[i].TTL {
				m.Records[i].TTL = s.TTL
			}
		}
	}
	slices.Sort(m.Types)
	if len(addr) == 0 {
		return m, nil
	}
	pool := &model.Pool{Policy: policy, MadeFrom: "route53 " + name, TTL: math.MaxUint32}
	var primaries, secondaries []model.Member
	rules := map[string]int{} // a rule's key -> index in pool.Rules
	for _, i := range addr {
		s := sets[i]
		id := EdgeID(name, s.Type, s.SetIdentifier)
		e, err := edge(name, s, l)
		if err != "" {
			return Made{}, &Error{i, err}
		}
		m.Edges[id] = e
		pool.TTL = min(pool.TTL, s.TTL)
		member := model.Member{Edge: id}
		switch policy {
		case "weighted":
			w := int(*s.Weight)
			member.Weight = &w
		case "geoproximity":
			if s.GeoProximity.Bias != nil {
				member.Bias = *s.GeoProximity.Bias
			}
		case "failover":
			if s.Failover == "PRIMARY" {
				primaries = append(primaries, member)
			} else {
				secondaries = append(secondaries, member)
			}
			continue
		case "geo", "cidr":
			r, key, err := rule(name, s, l)
			if err != "" {
				return Made{}, &Error{i, err}
			}
			if policy == "cidr" {
				if pool.CidrCollection != "" && pool.CidrCollection != s.Cidr.Collection {
					return Made{}, &Error{i, fmt.Sprintf("%s names CIDR collection %s, but the other record sets of its name use %s: they take one collection", ref(name, s), s.Cidr.Collection, pool.CidrCollection)}
				}
				pool.CidrCollection = s.Cidr.Collection
			}
			if j, ok := rules[key]; ok {
				pool.Rules[j].Members = append(pool.Rules[j].Members, member)
			} else {
				rules[key] = len(pool.Rules)
				r.Members = []model.Member{member}
				pool.Rules = append(pool.Rules, r)
			}
			continue
		}
		pool.Members = append(pool.Members, member)
	}
	switch policy {
	case "weighted":
		if !slices.ContainsFunc(pool.Members, func(m model.Member) bool { return *m.Weight > 0 }) {
			for i := range pool.Members { // all 0: Route 53 answers each alike
				one := 1
				pool.Members[i].Weight = &one
			}
		}
	case "failover":
		for _, group := range [][]model.Member{primaries, secondaries} {
			pool.Members = append(pool.Members, group...)
		}
		if err := checkFailover(name, sets, addr); err != nil {
			return Made{}, err
		}
	case "multivalue":
		pool.Answers = min(MaxMultiValue, len(pool.Members))
	}
	m.Pool = pool
	return m, nil
}

// checkSet checks one record set on its own.
func checkSet(ref string, s model.RecordSet) string {
	switch {
	case s.SetIdentifier == "" || len(s.SetIdentifier) > 128:
		return ref + ": a SetIdentifier has 1 to 128 characters"
	case len(s.Values) == 0:
		return ref + ": a record set needs at least one value"
	case s.Weight != nil && (*s.Weight < 0 || *s.Weight > 255):
		return fmt.Sprintf("%s: Weight %d is not between 0 and 255", ref, *s.Weight)
	case s.Failover != "" && s.Failover != "PRIMARY" && s.Failover != "SECONDARY":
		return fmt.Sprintf("%s: Failover %q is not PRIMARY or SECONDARY", ref, s.Failover)
	case s.MultiValue != nil && !*s.MultiValue:
		return ref + ": MultiValueAnswer false is no routing policy: leave it out, or set it true"
	}
	for _, v := range s.Values {
		a, err := netip.ParseAddr(v)
		switch {
		case s.Type == "A" && (err != nil || !a.Is4()):
			return fmt.Sprintf("%s: %q is not an IPv4 address", ref, v)
		case s.Type == "AAAA" && (err != nil || !a.Is6() || a.Is4In6() || a.Zone() != ""):
			return fmt.Sprintf("%s: %q is not an IPv6 address", ref, v)
		}
	}
	if s.Region != "" {
		if _, ok := geo.AWSRegionOf(s.Region); !ok {
			return fmt.Sprintf("%s: Region %q is not an AWS region", ref, s.Region)
		}
	}
	if g := s.GeoLocation; g != nil {
		switch {
		case g.Continent != "" && (g.Country != "" || g.Subdivision != ""):
			return ref + ": a GeoLocation has a ContinentCode or a CountryCode, not both"
		case g.Continent == "" && g.Country == "":
			return ref + ": a GeoLocation needs a ContinentCode or a CountryCode"
		case g.Continent != "" && !geo.IsContinent(g.Continent):
			return fmt.Sprintf("%s: ContinentCode %q is not one of AF, AN, AS, EU, NA, OC, SA", ref, g.Continent)
		case g.Country != "" && g.Country != "*" && !geo.IsCountry(g.Country):
			return fmt.Sprintf("%s: CountryCode %q is not an ISO 3166-1 alpha-2 code", ref, g.Country)
		case g.Country == "*" && g.Subdivision != "":
			return ref + ": the default location (CountryCode *) has no SubdivisionCode"
		}
	}
	if g := s.GeoProximity; g != nil {
		n := 0
		for _, set := range []bool{g.Region != "", g.LocalZoneGroup != "", g.Lat != nil || g.Lon != nil} {
			if set {
				n++
			}
		}
		switch {
		case n != 1:
			return ref + ": a GeoProximityLocation has one of AWSRegion, LocalZoneGroup or Coordinates"
		case (g.Lat == nil) != (g.Lon == nil):
			return ref + ": Coordinates need a Latitude and a Longitude"
		case g.Lat != nil && !(geo.Point{Lat: *g.Lat, Lon: *g.Lon}).Valid():
			return fmt.Sprintf("%s: Coordinates %v, %v are not a place on the Earth", ref, *g.Lat, *g.Lon)
		case g.Bias != nil && (*g.Bias < -99 || *g.Bias > 99):
			return fmt.Sprintf("%s: Bias %d is not between -99 and 99", ref, *g.Bias)
		}
		if r := cmpOr(g.Region, g.LocalZoneGroup); r != "" {
			if _, ok := geo.AWSRegionOf(r); !ok {
				return fmt.Sprintf("%s: %q is not an AWS region or local zone group", ref, r)
			}
		}
	}
	if c := s.Cidr; c != nil && (c.Collection == "" || c.Location == "") {
		return ref + ": a CidrRoutingConfig names a CollectionId and a LocationName"
	}
	return ""
}

// edge makes the edge of an address record set.
func edge(name string, s model.RecordSet, l Lookup) (model.Edge, string) {
	e := model.Edge{Addresses: slices.Clone(s.Values)}
	place := func(r geo.AWSRegion) {
		lat, lon := r.Lat, r.Lon
		e.Location = model.Location{Lat: &lat, Lon: &lon, Country: r.Country, Continent: r.Continent}
	}
	switch {
	case s.Region != "":
		r, _ := geo.AWSRegionOf(s.Region)
		place(r)
	case s.GeoProximity != nil && s.GeoProximity.Lat != nil:
		lat, lon := *s.GeoProximity.Lat, *s.GeoProximity.Lon
		e.Location = model.Location{Lat: &lat, Lon: &lon}
	case s.GeoProximity != nil:
		r, _ := geo.AWSRegionOf(cmpOr(s.GeoProximity.Region, s.GeoProximity.LocalZoneGroup))
		place(r)
	}
	if s.HealthCheck != "" {
		var checks []check.Spec
		var rule string
		ok := false
		if l.HealthCheck != nil {
			checks, rule, ok = l.HealthCheck(s.HealthCheck)
		}
		if !ok {
			return e, fmt.Sprintf("%s: health check %s does not exist", ref(name, s), s.HealthCheck)
		}
		e.Checks, e.HealthRule, e.HealthCheck = checks, rule, s.HealthCheck
	}
	return e, ""
}

// rule makes the geo or cidr rule of a record set, and a key that is equal for equal rules.
func rule(name string, s model.RecordSet, l Lookup) (model.Rule, string, string) {
	if g := s.GeoLocation; g != nil {
		if g.Country == "*" {
			return model.Rule{Default: true}, "*", ""
		}
		return model.Rule{Continent: g.Continent, Country: g.Country, Subdivision: g.Subdivision},
			g.Continent + "/" + g.Country + "/" + g.Subdivision, ""
	}
	c := s.Cidr
	if c.Location == "*" {
		return model.Rule{Default: true}, "*", ""
	}
	var prefixes []string
	ok := false
	if l.Cidr != nil {
		prefixes, ok = l.Cidr(c.Collection, c.Location)
	}
	if !ok {
		return model.Rule{}, "", fmt.Sprintf("%s: CIDR collection %s has no location %s", ref(name, s), c.Collection, c.Location)
	}
	return model.Rule{Prefixes: prefixes, Location: c.Location}, "cidr " + c.Location, ""
}

// checkFailover checks Route 53's rules of a failover name: one PRIMARY and at most one
// SECONDARY of each type, the PRIMARY with a health check.
func checkFailover(name string, sets []model.RecordSet, addr []int) error {
	count := map[string]int{}
	for _, i := range addr {
		s := sets[i]
		key := s.Type + " " + s.Failover
		if count[key]++; count[key] > 1 {
			return &Error{i, fmt.Sprintf("%s: a name has one %s record set of each type", ref(name, s), s.Failover)}
		}
		if s.Failover == "PRIMARY" && s.HealthCheck == "" {
			return &Error{i, fmt.Sprintf("%s: a PRIMARY failover record set needs a HealthCheckId (Route 53 could never fail over from it otherwise)", ref(name, s))}
		}
	}
	return nil
}

func ref(name string, s model.RecordSet) string {
	return fmt.Sprintf("[name='%s', type='%s', set-identifier='%s']", display(name), s.Type, s.SetIdentifier)
}

// display writes name as Route 53 does: "*" as \052.
func display(name string) string {
	if strings.HasPrefix(name, "*.") {
		return `\052` + name[1:]
	}
	return name
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
