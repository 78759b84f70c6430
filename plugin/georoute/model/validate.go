package model

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/georoute/appliance/plugin/georoute/geo"
	"github.com/georoute/appliance/plugin/georoute/ids"
	"github.com/miekg/dns"
	"golang.org/x/net/idna"
)

// Policies are the routing policies a pool may name.
var Policies = []string{"latency", "geo", "geoproximity", "weighted", "failover", "multivalue", "cidr", "asn"}

// Bounds on what users may write.
const (
	MaxAnswers = 16
	MaxTTL     = 7 * 86400
	MaxWeight  = 65535
	MaxBias    = 99

	DefaultTTL     = 30
	DefaultAnswers = 1
)

var sprintf = fmt.Sprintf

// ValidID reports whether id may name an edge or a pool (ids.Rule).
func ValidID(id string) bool { return ids.Valid(id) }

// Normalize puts c into canonical form in place: ids and names lower case, names fully
// qualified, country and continent codes upper case, continents derived from countries.
func (c *Config) Normalize() {
	c.Edges = lowerKeys(c.Edges)
	c.Pools = lowerKeys(c.Pools)
	names := make(map[string]Name, len(c.Names))
	for k, n := range c.Names {
		n.Normalize()
		names[CanonicalName(k)] = n
	}
	c.Names = names
	for id, e := range c.Edges {
		e.Normalize()
		c.Edges[id] = e
	}
	for id, p := range c.Pools {
		p.Normalize()
		c.Pools[id] = p
	}
}

// Normalize puts e into canonical form.
func (e *Edge) Normalize() {
	e.Location.Country = strings.ToUpper(strings.TrimSpace(e.Location.Country))
	e.Location.Continent = strings.ToUpper(strings.TrimSpace(e.Location.Continent))
	e.Location.Subdivision = strings.ToUpper(strings.TrimSpace(e.Location.Subdivision))
	if e.Location.Continent == "" {
		e.Location.Continent = geo.ContinentOf(e.Location.Country)
	}
	e.Override = strings.ToLower(e.Override)
	e.HealthRule = strings.ToLower(e.HealthRule)
	for i := range e.Checks {
		e.Checks[i].Normalize()
	}
}

// Normalize puts p into canonical form.
func (p *Pool) Normalize() {
	p.Policy = strings.ToLower(p.Policy)
	p.WhenAllDown = strings.ToLower(p.WhenAllDown)
	if len(p.Edges) > 0 && len(p.Members) == 0 {
		for _, id := range p.Edges {
			p.Members = append(p.Members, Member{Edge: id})
		}
		p.Edges = nil
	}
	normMembers(p.Members)
	for i := range p.Rules {
		r := &p.Rules[i]
		r.Continent = strings.ToUpper(r.Continent)
		r.Country = strings.ToUpper(r.Country)
		r.Subdivision = strings.ToUpper(r.Subdivision)
		normMembers(r.Members)
	}
}

func normMembers(ms []Member) {
	for i := range ms {
		ms[i].Edge = strings.ToLower(ms[i].Edge)
		ms[i].Pool = strings.ToLower(ms[i].Pool)
	}
}

// Normalize puts n into canonical form.
func (n *Name) Normalize() {
	n.Pool = strings.ToLower(strings.TrimSpace(n.Pool))
	n.Edge = strings.ToLower(strings.TrimSpace(n.Edge))
	for i := range n.Records {
		n.Records[i].Type = strings.ToUpper(strings.TrimSpace(n.Records[i].Type))
	}
}

func lowerKeys[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// CanonicalName is name in lower case and fully qualified, a label not in ASCII in its IDNA
// (punycode) form: "Bücher.example.net" is xn--bcher-kva.example.net.
func CanonicalName(name string) string {
	name = dns.CanonicalName(strings.TrimSpace(name))
	if ascii, err := asciiName(name); err == nil {
		return ascii
	}
	return name // CheckName says why
}

// Validate checks a normalized config as a whole: every field, every reference, no cycles.
func (c *Config) Validate() error {
	var es Errors
	for _, id := range slices.Sorted(maps.Keys(c.Edges)) {
		e := c.Edges[id]
		e.validate("edges."+id, id, &es)
	}
	for _, id := range slices.Sorted(maps.Keys(c.Pools)) {
		p := c.Pools[id]
		p.validate("pools."+id, id, c.hasEdge, c.hasPool, &es)
	}
	if len(es) == 0 {
		c.checkCycles(&es)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Names)) {
		n := c.Names[name]
		n.validate(fmt.Sprintf("names[%q]", name), name, "", c.hasEdge, c.hasPool, &es)
	}
	c.Defaults.validate(&es)
	c.RTT.validate(&es)
	return es.Err()
}

func (c *Config) hasEdge(id string) bool { _, ok := c.Edges[id]; return ok }
func (c *Config) hasPool(id string) bool { _, ok := c.Pools[id]; return ok }

func (d Defaults) validate(es *Errors) {
	if d.TTL > MaxTTL {
		es.add(CodeInvalid, "defaults.ttl", "%d is above the largest TTL, %d", d.TTL, MaxTTL)
	}
	if d.Answers < 0 || d.Answers > MaxAnswers {
		es.add(CodeInvalid, "defaults.answers", "%d is not between 1 and %d", d.Answers, MaxAnswers)
	}
}

func (r RTT) validate(es *Errors) {
	if r.MaxAge < 0 {
		es.add(CodeInvalid, "rtt.max_age", "must not be negative")
	}
	if r.Neighbours < 0 || r.Neighbours > 32 {
		es.add(CodeInvalid, "rtt.neighbours", "%d is not between 0 and 32", r.Neighbours)
	}
}

// ValidateEdge checks one normalized edge on its own, as the API receives it.
func (e *Edge) Validate(id string) error {
	var es Errors
	e.validate("", id, &es)
	return es.Err()
}

func (e *Edge) validate(path, id string, es *Errors) {
	at := func(f string) string { return JoinPath(path, f) }
	if !ValidID(id) {
		es.add(CodeInvalid, at("id"), "%q is not a valid id (%s)", id, ids.Rule)
	}
	if len(e.Addresses) == 0 {
		es.add(CodeMissing, at("addresses"), "an edge needs at least one IPv4 or IPv6 address")
	}
	seen := make(map[netip.Addr]bool, len(e.Addresses))
	for i, s := range e.Addresses {
		f := fmt.Sprintf("%s[%d]", at("addresses"), i)
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		switch {
		case err != nil:
			es.add(CodeInvalid, f, "%q is not an IP address", s)
		case a.Zone() != "":
			es.add(CodeInvalid, f, "%q has a zone; use a global address", s)
		case a.IsUnspecified() || a.IsMulticast():
			es.add(CodeInvalid, f, "%q cannot be an edge's address", s)
		case seen[a.Unmap()]:
			es.add(CodeInvalid, f, "%q is listed twice", s)
		default:
			seen[a.Unmap()] = true
		}
	}
	l := e.Location
	switch {
	case (l.Lat == nil) != (l.Lon == nil):
		es.add(CodeMissing, at("location"), "lat and lon go together: give both or neither")
	case l.Lat != nil && (*l.Lat < -90 || *l.Lat > 90 || *l.Lat != *l.Lat):
		es.add(CodeInvalid, at("location.lat"), "%v is not a latitude (-90 to 90)", *l.Lat)
	case l.Lon != nil && (*l.Lon < -180 || *l.Lon > 180 || *l.Lon != *l.Lon):
		es.add(CodeInvalid, at("location.lon"), "%v is not a longitude (-180 to 180)", *l.Lon)
	}
	if l.Country != "" && !geo.IsCountry(l.Country) {
		es.add(CodeInvalid, at("location.country"), "%q is not an ISO 3166-1 alpha-2 country code", l.Country)
	}
	if l.Continent != "" && !geo.IsContinent(l.Continent) {
		es.add(CodeInvalid, at("location.continent"), "%q is not a continent code (AF AN AS EU NA OC SA)", l.Continent)
	}
	if e.Weight != nil && (*e.Weight < 0 || *e.Weight > MaxWeight) {
		es.add(CodeInvalid, at("weight"), "%d is not between 0 and %d", *e.Weight, MaxWeight)
	}
	switch e.Override {
	case "", "auto", "up", "down":
	default:
		es.add(CodeInvalid, at("override"), "%q is not one of auto, up, down", e.Override)
	}
	switch e.HealthRule {
	case "", "all", "any", "none":
	default:
		n, err := strconv.Atoi(e.HealthRule)
		if err != nil || n < 1 {
			es.add(CodeInvalid, at("health_rule"), "%q is not all, any, none or a number of checks", e.HealthRule)
		} else if n > len(e.Checks) {
			es.add(CodeInvalid, at("health_rule"), "needs %d passing checks but the edge has %d", n, len(e.Checks))
		}
	}
	for i := range e.Checks {
		f := fmt.Sprintf("%s[%d]", at("checks"), i)
		for _, fe := range e.Checks[i].Validate() {
			es.add(CodeInvalid, JoinPath(f, fe.Field), "%s", fe.Message)
		}
	}
}

// Validate checks one normalized pool on its own; hasEdge and hasPool say which ids exist.
func (p *Pool) Validate(id string, hasEdge, hasPool func(string) bool) error {
	var es Errors
	p.validate("", id, hasEdge, hasPool, &es)
	return es.Err()
}

func (p *Pool) validate(path, id string, hasEdge, hasPool func(string) bool, es *Errors) {
	at := func(f string) string { return JoinPath(path, f) }
	if !ValidID(id) {
		es.add(CodeInvalid, at("id"), "%q is not a valid id (%s)", id, ids.Rule)
	}
	known := false
	for _, name := range Policies {
		known = known || p.Policy == name
	}
	if p.Policy == "" {
		es.add(CodeMissing, at("policy"), "a pool needs a policy (%s)", strings.Join(Policies, ", "))
	} else if !known {
		es.add(CodeInvalid, at("policy"), "%q is not a policy (%s)", p.Policy, strings.Join(Policies, ", "))
	}
	ruled := p.Policy == "geo" || p.Policy == "cidr" || p.Policy == "asn"
	switch {
	case len(p.Edges) > 0 && len(p.Members) > 0:
		// Normalize folds edges into members only when members is empty; both would drop edges.
		es.add(CodeInvalid, at("members"), "a pool has edges or members, not both: use one of them (edges: [\"fra1\"] is members: [{\"edge\": \"fra1\"}])")
	case ruled && len(p.Members) > 0:
		es.add(CodeInvalid, at("members"), "a %s pool lists its members in rules, not members or edges", p.Policy)
	case ruled && len(p.Rules) == 0:
		es.add(CodeMissing, at("rules"), "a %s pool needs rules", p.Policy)
	case !ruled && len(p.Rules) > 0:
		es.add(CodeInvalid, at("rules"), "only geo, cidr and asn pools have rules")
	case !ruled && len(p.Members) == 0:
		es.add(CodeMissing, at("edges"), "a pool needs edges or members")
	}
	validateMembers(at("members"), p.Members, id, hasEdge, hasPool, es)
	defaults := 0
	for i, r := range p.Rules {
		f := fmt.Sprintf("%s[%d]", at("rules"), i)
		r.validate(f, p.Policy, es)
		if r.Default {
			defaults++
			if defaults == 2 {
				es.add(CodeInvalid, JoinPath(f, "default"), "a pool has at most one default rule")
			}
		}
		if len(r.Members) == 0 {
			es.add(CodeMissing, JoinPath(f, "members"), "a rule needs members")
		}
		validateMembers(JoinPath(f, "members"), r.Members, id, hasEdge, hasPool, es)
	}
	if p.Answers < 0 || p.Answers > MaxAnswers {
		es.add(CodeInvalid, at("answers"), "%d is not between 1 and %d", p.Answers, MaxAnswers)
	}
	if p.TTL > MaxTTL {
		es.add(CodeInvalid, at("ttl"), "%d is above the largest TTL, %d", p.TTL, MaxTTL)
	}
	switch p.WhenAllDown {
	case "", "all", "none", "servfail":
	default:
		es.add(CodeInvalid, at("when_all_down"), "%q is not one of all, none, servfail", p.WhenAllDown)
	}
	if p.Sticky && p.Policy != "weighted" {
		es.add(CodeInvalid, at("sticky"), "only weighted pools can be sticky")
	}
	if w := p.Load; w != nil {
		switch {
		case p.Policy != "latency":
			es.add(CodeInvalid, at("load"), "only latency pools shed load: moving a client costs it the RTT to its next-best edge")
		case !(w.ShedAt > 0 && w.ShedAt < 1):
			es.add(CodeInvalid, at("load.shed_at"), "%v is not a utilisation above 0 and below 1", w.ShedAt)
		case !(w.FullAt > w.ShedAt && w.FullAt <= 1):
			es.add(CodeInvalid, at("load.full_at"), "%v is not a utilisation above shed_at (%v) and at most 1", w.FullAt, w.ShedAt)
		case !(w.PenaltyMillis >= 0 && w.PenaltyMillis <= 10000):
			es.add(CodeInvalid, at("load.penalty_ms"), "%v is not between 0 and 10000 ms", w.PenaltyMillis)
		}
	}
}

func validateMembers(path string, ms []Member, self string, hasEdge, hasPool func(string) bool, es *Errors) {
	seen := make(map[string]bool, len(ms))
	for i, m := range ms {
		f := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case m.Edge != "" && m.Pool != "":
			es.add(CodeInvalid, f, "a member is an edge or a pool, not both")
		case m.Edge == "" && m.Pool == "":
			es.add(CodeMissing, f, "a member needs an edge or a pool")
		case m.Edge != "" && !hasEdge(m.Edge):
			es.add(CodeUnknown, JoinPath(f, "edge"), "no edge %q", m.Edge)
		case m.Pool != "" && m.Pool == self:
			es.add(CodeCycle, JoinPath(f, "pool"), "pool %q cannot be a member of itself", m.Pool)
		case m.Pool != "" && !hasPool(m.Pool):
			es.add(CodeUnknown, JoinPath(f, "pool"), "no pool %q", m.Pool)
		}
		key := "e:" + m.Edge + "p:" + m.Pool
		if seen[key] {
			es.add(CodeInvalid, f, "%s is listed twice", strings.TrimSpace(m.Edge+" "+m.Pool))
		}
		seen[key] = true
		if m.Weight != nil && (*m.Weight < 0 || *m.Weight > MaxWeight) {
			es.add(CodeInvalid, JoinPath(f, "weight"), "%d is not between 0 and %d", *m.Weight, MaxWeight)
		}
		if m.Bias < -MaxBias || m.Bias > MaxBias {
			es.add(CodeInvalid, JoinPath(f, "bias"), "%d is not between -%d and %d", m.Bias, MaxBias, MaxBias)
		}
	}
}

func (r *Rule) validate(path, policy string, es *Errors) {
	at := func(f string) string { return JoinPath(path, f) }
	keys := 0
	for _, set := range []bool{r.Continent != "", r.Country != "", len(r.Prefixes) > 0, len(r.ASNs) > 0, r.Default} {
		if set {
			keys++
		}
	}
	if keys != 1 {
		switch policy {
		case "geo":
			es.add(CodeInvalid, path, "a geo rule has one of continent, country (with an optional subdivision) or default")
		case "cidr":
			es.add(CodeInvalid, path, "a cidr rule has prefixes or default")
		case "asn":
			es.add(CodeInvalid, path, "an asn rule has asns or default")
		}
	}
	switch policy {
	case "geo":
		if len(r.Prefixes) > 0 || len(r.ASNs) > 0 {
			es.add(CodeInvalid, path, "a geo rule matches continent, country or subdivision, not prefixes or asns")
		}
	case "cidr":
		if r.Continent != "" || r.Country != "" || len(r.ASNs) > 0 {
			es.add(CodeInvalid, path, "a cidr rule matches prefixes only")
		}
	case "asn":
		if r.Continent != "" || r.Country != "" || len(r.Prefixes) > 0 {
			es.add(CodeInvalid, path, "an asn rule matches asns only")
		}
	}
	if r.Continent != "" && !geo.IsContinent(r.Continent) {
		es.add(CodeInvalid, at("continent"), "%q is not a continent code (AF AN AS EU NA OC SA)", r.Continent)
	}
	if r.Country != "" && !geo.IsCountry(r.Country) {
		es.add(CodeInvalid, at("country"), "%q is not an ISO 3166-1 alpha-2 country code", r.Country)
	}
	if r.Subdivision != "" && r.Country == "" {
		es.add(CodeMissing, at("country"), "a subdivision rule names its country too")
	}
	for i, s := range r.Prefixes {
		if _, err := netip.ParsePrefix(strings.TrimSpace(s)); err != nil {
			es.add(CodeInvalid, fmt.Sprintf("%s[%d]", at("prefixes"), i), "%q is not a CIDR prefix", s)
		}
	}
	for i, a := range r.ASNs {
		if a == 0 {
			es.add(CodeInvalid, fmt.Sprintf("%s[%d]", at("asns"), i), "0 is not an AS number")
		}
	}
}

// Validate checks one normalized name binding on its own, as name holds it in the zone origin.
// An empty origin is a zone not known yet (the config file read alone): relative names in
// values then read as relative to the root, and the checks that need the zone wait for it.
func (n *Name) Validate(name, origin string, hasEdge, hasPool func(string) bool) error {
	var es Errors
	n.validate("", name, origin, hasEdge, hasPool, &es)
	return es.Err()
}

func (n *Name) validate(path, name, origin string, hasEdge, hasPool func(string) bool, es *Errors) {
	at := func(f string) string { return JoinPath(path, f) }
	if err := CheckName(name); err != nil {
		es.add(CodeInvalid, at("name"), "%s", err.Error())
	}
	switch {
	case n.Pool != "" && n.Edge != "":
		es.add(CodeInvalid, path, "a name has a pool or an edge, not both")
	case n.Pool == "" && n.Edge == "" && len(n.Records) == 0 && len(n.Aliases) == 0:
		es.add(CodeInvalid, path, "a name has exactly one of pool, edge or records")
	case n.Pool != "" || n.Edge != "":
		for i, r := range n.Records {
			switch r.Type {
			case "A", "AAAA", "CNAME":
				es.add(CodeInvalid, JoinPath(path, fmt.Sprintf("records[%d].type", i)), "a routed or pinned name answers A and AAAA from its pool or edge: it can hold records of other types only, not %s", r.Type)
			}
		}
	}
	if n.Pool != "" && !hasPool(n.Pool) {
		es.add(CodeUnknown, at("pool"), "no pool %q", n.Pool)
	}
	if n.Edge != "" && !hasEdge(n.Edge) {
		es.add(CodeUnknown, at("edge"), "no edge %q", n.Edge)
	}
	if n.TTL > MaxTTL {
		es.add(CodeInvalid, at("ttl"), "%d is above the largest TTL, %d", n.TTL, MaxTTL)
	}
	if n.TTL != 0 && n.Pool != "" {
		es.add(CodeInvalid, at("ttl"), "a pool-bound name takes its TTL from the pool")
	}
	n.rrs(path, name, origin, es)
}

// StaticTypes are the record types a name may hold.
var StaticTypes = map[string]uint16{
	"A": dns.TypeA, "AAAA": dns.TypeAAAA, "CNAME": dns.TypeCNAME, "TXT": dns.TypeTXT, "MX": dns.TypeMX,
	"SRV": dns.TypeSRV, "CAA": dns.TypeCAA, "NS": dns.TypeNS, "PTR": dns.TypePTR, "HTTPS": dns.TypeHTTPS,
	"SVCB": dns.TypeSVCB, "DS": dns.TypeDS, "SSHFP": dns.TypeSSHFP, "TLSA": dns.TypeTLSA,
}

// MaxReplyBytes is the most a name's records of one type, and all its records together, may
// take in a reply (compressed, question included): a DNS message holds 65,535 bytes, and the
// header, EDNS options and a TSIG need room too.
const MaxReplyBytes = 65000

// RRs returns n's records as name serves them in the zone origin, each checked as Record.RR
// does and all of them as a set: each record once, a CNAME alone and not to its own name, NS
// records only at the apex (a delegation belongs in the zone file), and no more of one type, nor
// in all, than a reply holds (MaxReplyBytes). Errors name the record ("records[1].value").
func (n *Name) RRs(name, origin string) ([]dns.RR, error) {
	var es Errors
	rrs := n.rrs("", name, origin, &es)
	return rrs, es.Err()
}

func (n *Name) rrs(path, name, origin string, es *Errors) []dns.RR {
	at := func(i int) string { return JoinPath(path, fmt.Sprintf("records[%d]", i)) }
	rrs := make([]dns.RR, 0, len(n.Records))
	for i, r := range n.Records {
		rr, field, err := r.parse(name, origin)
		if err != nil {
			es.add(CodeInvalid, JoinPath(at(i), field), "%s", err.Error())
			continue
		}
		rrs = append(rrs, rr)
	}
	if len(rrs) != len(n.Records) {
		return nil
	}
	bad := len(*es)
	similar := make(map[string][]int, len(rrs)) // type and rdata in lower case -> records
	byType := map[uint16][]dns.RR{}
	cnames := 0
	for i, rr := range rrs {
		h := rr.Header()
		key := strings.ToLower(rr.String()) // name, TTL, class, type and rdata, between tabs
		if f := strings.SplitN(key, "\t", 5); len(f) == 5 {
			key = f[3] + " " + f[4]
		}
		for _, j := range similar[key] {
			if dns.IsDuplicate(rrs[j], rr) {
				es.add(CodeInvalid, at(i), "repeats records[%d] (%s %s): a name holds each record once", j, dns.TypeToString[h.Rrtype], n.Records[j].Value)
				break
			}
		}
		similar[key] = append(similar[key], i)
		byType[h.Rrtype] = append(byType[h.Rrtype], rr)
		switch x := rr.(type) {
		case *dns.CNAME:
			cnames++
			if strings.EqualFold(x.Target, name) {
				es.add(CodeInvalid, JoinPath(at(i), "value"), "a CNAME to its own name (%s) loops: resolvers get SERVFAIL", x.Target)
			}
		case *dns.NS:
			switch {
			case origin != "" && name != origin:
				es.add(CodeInvalid, at(i), "NS records below the apex of %s would make %s a delegation, and delegations belong in the zone file: put its NS records (and glue) there", origin, name)
			case origin != "":
				// Served beside the zone's own NS they would shadow them: the zone's NS are its
				// zone file's, or the Corefile's nameservers for a zone made at run time.
				es.add(CodeInvalid, at(i), "the NS records at the apex of %s are the zone's own (its zone file, or the georoute block's nameservers for a zone made at run time): change them there", origin)
			}
		}
	}
	if cnames > 0 && len(rrs) > 1 {
		es.add(CodeInvalid, JoinPath(path, "records"), "a CNAME is the only record of its name (RFC 2181 section 10.1): %s has %d records", name, len(rrs))
	}
	if len(*es) > bad {
		return nil
	}
	if replyBytes(name, dns.TypeANY, rrs, false) <= MaxReplyBytes {
		return rrs // even uncompressed: the common case, measured cheaply
	}
	for _, t := range slices.Sorted(maps.Keys(byType)) {
		if size := replyBytes(name, t, byType[t], true); size > MaxReplyBytes {
			es.add(CodeInvalid, JoinPath(path, "records"), "the %d %s records take %d bytes of a reply, more than the %d it can hold: use fewer or shorter records", len(byType[t]), dns.TypeToString[t], size, MaxReplyBytes)
		}
	}
	if size := replyBytes(name, dns.TypeANY, rrs, true); len(byType) > 1 && size > MaxReplyBytes {
		es.add(CodeInvalid, JoinPath(path, "records"), "the %d records take %d bytes of a reply together, more than the %d it can hold: use fewer or shorter records", len(rrs), size, MaxReplyBytes)
	}
	if len(*es) > bad {
		return nil
	}
	return rrs
}

// replyBytes is the size of a reply to a question for name and t that answers rrs.
func replyBytes(name string, t uint16, rrs []dns.RR, compress bool) int {
	m := &dns.Msg{Compress: compress, Question: []dns.Question{{Name: name, Qtype: t, Qclass: dns.ClassINET}}, Answer: rrs}
	return m.Len()
}

// RR parses r as a resource record owned by name in the zone origin, as a zone file would: a
// relative name in its value is relative to origin ("" reads it as relative to the root). The
// record is returned as DNS sends it: packed and read back, and its presentation reads back to
// it too, so that what is listed is what is served.
func (r Record) RR(name, origin string) (dns.RR, error) {
	rr, _, err := r.parse(name, origin)
	return rr, err
}

// parse is RR that also names the field of r that is wrong: type, ttl or value.
func (r Record) parse(name, origin string) (dns.RR, string, error) {
	if _, ok := StaticTypes[r.Type]; !ok {
		return nil, "type", fmt.Errorf("type %q is not one of the record types a name may hold", r.Type)
	}
	if strings.ContainsAny(r.Value, "\n\r") {
		return nil, "value", fmt.Errorf("value %q holds a line break", r.Value)
	}
	if i := commentAt(r.Value); i >= 0 {
		return nil, "value", fmt.Errorf("value %q holds a ';' outside quotes, which starts a comment in presentation format: quote the text that holds it, or write \\;", r.Value)
	}
	if r.TTL > MaxTTL {
		return nil, "ttl", fmt.Errorf("ttl %d is above the largest TTL, %d", r.TTL, MaxTTL)
	}
	ttl := r.TTL
	if ttl == 0 {
		ttl = 300
	}
	if origin == "" {
		origin = "."
	}
	rr, err := readRR(fmt.Sprintf("%s %d IN %s %s", name, ttl, r.Type, r.Value), origin)
	if err != nil {
		return nil, "value", fmt.Errorf("%s value %q does not parse: %s", r.Type, r.Value, cleanParseError(err))
	}
	if rr == nil {
		return nil, "value", fmt.Errorf("%s value is empty", r.Type)
	}
	if caa, ok := rr.(*dns.CAA); ok && !caaTag.MatchString(caa.Tag) {
		return nil, "value", fmt.Errorf("CAA tag %q is not a tag: 1 to 15 letters and digits (RFC 8659), such as issue, issuewild or iodef", caa.Tag)
	}
	sent, err := wire(rr)
	if err != nil {
		return nil, "value", fmt.Errorf("%s value %q cannot be sent in DNS: %s", r.Type, r.Value, strings.TrimPrefix(err.Error(), "dns: "))
	}
	listed := sent.String()
	if again, err := readRR(listed, "."); err != nil || again == nil || again.String() != listed {
		return nil, "value", fmt.Errorf("%s value %q is sent as %q, which does not read back as the same record", r.Type, r.Value, strings.TrimPrefix(listed, sent.Header().String()))
	}
	return sent, "", nil
}

// caaTag is a CAA property tag (RFC 8659, section 4.1).
var caaTag = regexp.MustCompile(`^[a-zA-Z0-9]{1,15}$`)

// readRR reads one record in presentation format, relative names relative to origin. More than
// one is an error: a value is one record.
func readRR(s, origin string) (dns.RR, error) {
	zp := dns.NewZoneParser(strings.NewReader(s+"\n"), origin, "")
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	if _, more := zp.Next(); more || zp.Err() != nil {
		return nil, fmt.Errorf("the value holds more than one record")
	}
	return rr, nil
}

var wireBuf = sync.Pool{New: func() any { return new([dns.MaxMsgSize]byte) }}

// wire packs rr as a reply would carry it and reads it back.
func wire(rr dns.RR) (dns.RR, error) {
	buf := wireBuf.Get().(*[dns.MaxMsgSize]byte)
	defer wireBuf.Put(buf)
	off, err := dns.PackRR(rr, buf[:], 0, nil, false)
	if err != nil {
		return nil, err
	}
	back, _, err := dns.UnpackRR(buf[:off], 0)
	return back, err
}

// commentAt is the offset of the first ';' of v outside quotes and not escaped, or -1: a zone
// parser takes it and what follows for a comment, and the record would be cut short.
func commentAt(v string) int {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func cleanParseError(err error) string {
	if pe, ok := err.(*dns.ParseError); ok {
		return strings.TrimPrefix(pe.Error(), "dns: ")
	}
	return err.Error()
}

// CheckName checks that name is a fully qualified domain name that DNS answers as written: in
// ASCII, without escapes, spaces or the characters a query name spells escaped, and with a
// wildcard only as its whole leftmost label.
func CheckName(name string) error {
	if _, ok := dns.IsDomainName(name); !ok || name == "" || !dns.IsFqdn(name) {
		return fmt.Errorf("%q is not a domain name", name)
	}
	for i := 0; i < len(name); i++ {
		switch b := name[i]; {
		case b >= utf8.RuneSelf:
			if ascii, err := asciiName(name); err == nil && ascii != name {
				return fmt.Errorf("%q is not in ASCII: write it in its IDNA (punycode) form, %s", name, ascii)
			}
			return fmt.Errorf("%q is not in ASCII, nor a name IDNA can write in ASCII: write it in punycode (xn--...)", name)
		case b == '\\':
			return fmt.Errorf("%q holds an escape (\\): a name here is labels of letters, digits, '-' and '_' between dots", name)
		case b <= ' ' || b == 0x7f || strings.IndexByte(`"'();@`, b) >= 0:
			return fmt.Errorf("%q holds %q, which DNS cannot answer as written: a name here is labels of letters, digits, '-' and '_' between dots", name, string(b))
		}
	}
	labels := dns.SplitDomainName(name)
	for i, l := range labels {
		if strings.Contains(l, "*") && (i != 0 || l != "*") {
			return fmt.Errorf("%q has a wildcard that is not the whole leftmost label", name)
		}
	}
	if len(labels) == 0 {
		return fmt.Errorf("the root cannot be a routed name")
	}
	return nil
}

// asciiName is name with each label that is not in ASCII in its IDNA (punycode) form.
func asciiName(name string) (string, error) {
	if strings.Contains(name, "\\") {
		return "", fmt.Errorf("%q holds an escape", name) // its dots need not split labels
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		for j := 0; j < len(l); j++ {
			if l[j] >= utf8.RuneSelf {
				a, err := idna.Lookup.ToASCII(l)
				if err != nil {
					return "", err
				}
				labels[i] = a
				break
			}
		}
	}
	return strings.Join(labels, "."), nil
}

// CheckCycles checks only that no pool reaches itself through its members: what a change of a
// few pools, each validated alone, needs checked of the whole.
func (c *Config) CheckCycles() error {
	var es Errors
	c.checkCycles(&es)
	return es.Err()
}

func (c *Config) checkCycles(es *Errors) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int, len(c.Pools))
	var stack []string
	var visit func(id string) bool
	visit = func(id string) bool {
		switch state[id] {
		case visiting:
			start := 0
			for i, s := range stack {
				if s == id {
					start = i
				}
			}
			cycle := append(append([]string{}, stack[start:]...), id)
			es.add(CodeCycle, "pools."+id, "pools form a cycle: %s", strings.Join(cycle, " -> "))
			return false
		case done:
			return true
		}
		state[id] = visiting
		stack = append(stack, id)
		p := c.Pools[id]
		for _, m := range p.allMembers() {
			if m.Pool != "" && !visit(m.Pool) {
				return false
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		return true
	}
	for _, id := range slices.Sorted(maps.Keys(c.Pools)) {
		if !visit(id) {
			return
		}
	}
}

func (p *Pool) allMembers() []Member {
	all := append([]Member{}, p.Members...)
	for _, r := range p.Rules {
		all = append(all, r.Members...)
	}
	return all
}

// PoolRefs returns the pools and edges p refers to directly.
func (p *Pool) PoolRefs() (pools, edges []string) {
	for _, m := range p.allMembers() {
		if m.Pool != "" {
			pools = append(pools, m.Pool)
		} else {
			edges = append(edges, m.Edge)
		}
	}
	return pools, edges
}

// JoinPath appends a field to a path as errors name it: "records[0]" + "ttl" is records[0].ttl,
// "put[\"www\"]" + "[1]" is put["www"][1].
func JoinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	case strings.HasPrefix(field, "["):
		return path + field
	}
	return path + "." + field
}
