// Package model holds the nouns of the appliance as users write them (config file, API): edges,
// pools, routed names and the RTT settings, and checks them field by field. It has no CoreDNS
// types; the router compiles a validated Config into the tables the query path reads.
package model

import "github.com/georoute/appliance/plugin/pkg/health/check"

// Config is everything the config file holds.
type Config struct {
	Edges    map[string]Edge `json:"edges,omitempty" mapstructure:"edges"`
	Pools    map[string]Pool `json:"pools,omitempty" mapstructure:"pools"`
	Names    map[string]Name `json:"names,omitempty" mapstructure:"names"`
	RTT      RTT             `json:"rtt,omitempty" mapstructure:"rtt"`
	Defaults Defaults        `json:"defaults,omitempty" mapstructure:"defaults"`
}

// Defaults apply where a pool or name does not say.
type Defaults struct {
	TTL     uint32 `json:"ttl,omitempty" mapstructure:"ttl"`
	Answers int    `json:"answers,omitempty" mapstructure:"answers"`
}

// Edge is a place that serves traffic.
type Edge struct {
	Addresses []string     `json:"addresses" mapstructure:"addresses"`
	Location  Location     `json:"location,omitempty" mapstructure:"location"`
	Weight    *int         `json:"weight,omitempty" mapstructure:"weight"`
	Checks    []check.Spec `json:"checks,omitempty" mapstructure:"checks"`
	// Override forces the edge's health: "" or "auto" (the checks decide), "up", "down" (drain).
	Override string `json:"override,omitempty" mapstructure:"override"`
	// HealthRule combines the checks: "all" (default), "any", "N" (at least N pass), or "none"
	// (down whatever the checks say: a Route 53 health check that is disabled and inverted).
	HealthRule string `json:"health_rule,omitempty" mapstructure:"health_rule"`
	// HealthCheck is the Route 53 health check (its id) that Checks were made from, for an edge
	// made from a Route 53 record set with a HealthCheckId: changing or deleting the health
	// check changes (or is refused for) the edges that name it.
	HealthCheck string `json:"health_check,omitempty" mapstructure:"-"`
}

// Location places an edge. Lat and Lon go together.
type Location struct {
	Lat         *float64 `json:"lat,omitempty" mapstructure:"lat"`
	Lon         *float64 `json:"lon,omitempty" mapstructure:"lon"`
	Country     string   `json:"country,omitempty" mapstructure:"country"`
	Continent   string   `json:"continent,omitempty" mapstructure:"continent"`
	Subdivision string   `json:"subdivision,omitempty" mapstructure:"subdivision"`
}

// Pool is a set of edges (or other pools) with a routing policy.
type Pool struct {
	Policy string `json:"policy" mapstructure:"policy"`
	// Edges is shorthand for Members with only edges.
	Edges   []string `json:"edges,omitempty" mapstructure:"edges"`
	Members []Member `json:"members,omitempty" mapstructure:"members"`
	Rules   []Rule   `json:"rules,omitempty" mapstructure:"rules"`
	// Answers is how many edges an answer holds, best first.
	Answers int    `json:"answers,omitempty" mapstructure:"answers"`
	TTL     uint32 `json:"ttl,omitempty" mapstructure:"ttl"`
	// WhenAllDown: "all" (fail open, default), "none" (empty answer) or "servfail".
	WhenAllDown string `json:"when_all_down,omitempty" mapstructure:"when_all_down"`
	Sticky      bool   `json:"sticky,omitempty" mapstructure:"sticky"`
	// Load makes a latency pool shed clients of edges that report their load (PUT
	// /v1/edges/{id}/load) above the watermarks.
	Load *Watermarks `json:"load,omitempty" mapstructure:"load"`
	// CidrCollection is the Route 53 CIDR collection (its id) whose locations the rules of a
	// cidr pool made from Route 53 record sets take their prefixes from (Rule.Location):
	// changing the collection changes the pool's rules in the same change.
	CidrCollection string `json:"cidr_collection,omitempty" mapstructure:"-"`
	// MadeFrom names what made the pool when it is not its own object: "route53 NAME" for the
	// pool of a name's Route 53 routing record sets. Such a pool keeps Route 53's health-check
	// timing: its checks need not notice a dead edge within its TTL.
	MadeFrom string `json:"made_from,omitempty" mapstructure:"-"`
}

// Watermarks of a pool's edges' load (utilisation, 0 to 1). Above ShedAt an edge sheds a share
// of its clients, (load - ShedAt) / (FullAt - ShedAt), those that lose least by moving first: a
// client moves to its next-best edge when that costs it less than the share of PenaltyMillis.
// At FullAt and above the edge takes no clients while another edge of the pool is below it.
type Watermarks struct {
	ShedAt        float64 `json:"shed_at" mapstructure:"shed_at"`
	FullAt        float64 `json:"full_at" mapstructure:"full_at"`
	PenaltyMillis float64 `json:"penalty_ms,omitempty" mapstructure:"penalty_ms"` // default 50
}

// DefaultPenaltyMillis is Watermarks.PenaltyMillis's default.
const DefaultPenaltyMillis = 50

// Member of a pool: exactly one of Edge and Pool.
type Member struct {
	Edge   string `json:"edge,omitempty" mapstructure:"edge"`
	Pool   string `json:"pool,omitempty" mapstructure:"pool"`
	Weight *int   `json:"weight,omitempty" mapstructure:"weight"`
	Bias   int    `json:"bias,omitempty" mapstructure:"bias"`
}

// Rule of a geo, cidr or asn pool.
type Rule struct {
	Continent   string   `json:"continent,omitempty" mapstructure:"continent"`
	Country     string   `json:"country,omitempty" mapstructure:"country"`
	Subdivision string   `json:"subdivision,omitempty" mapstructure:"subdivision"`
	Prefixes    []string `json:"prefixes,omitempty" mapstructure:"prefixes"`
	ASNs        []uint32 `json:"asns,omitempty" mapstructure:"asns"`
	Default     bool     `json:"default,omitempty" mapstructure:"default"`
	Members     []Member `json:"members" mapstructure:"members"`
	// Location is the location of the pool's CIDR collection whose blocks Prefixes are.
	Location string `json:"location,omitempty" mapstructure:"-"`
}

// Name binds a DNS name to a pool, pins it to one edge, or holds static records. A routed or
// pinned name may hold static records of other types than A, AAAA and CNAME too (its MX, TXT).
type Name struct {
	Pool    string   `json:"pool,omitempty" mapstructure:"pool"`
	Edge    string   `json:"edge,omitempty" mapstructure:"edge"`
	TTL     uint32   `json:"ttl,omitempty" mapstructure:"ttl"`
	Records []Record `json:"records,omitempty" mapstructure:"records"`
	// Sets are the name's Route 53 routing record sets as their client wrote them; the pool,
	// the edges and the records of other types they made are derived from them (package
	// recordsets), and Route 53's API lists them back.
	Sets []RecordSet `json:"record_sets,omitempty" mapstructure:"-"`
	// Aliases are Route 53 alias record sets: the name answers the type from another name of
	// the zones served, as if it held that name's records (at the apex too).
	Aliases []Alias `json:"aliases,omitempty" mapstructure:"-"`
}

// RecordSet is one Route 53 routing record set: the records of one type under one
// SetIdentifier, and the one routing field that says when it answers.
type RecordSet struct {
	Type          string   `json:"type"`
	SetIdentifier string   `json:"set_identifier"`
	TTL           uint32   `json:"ttl"`
	Values        []string `json:"values"`
	Weight        *int64   `json:"weight,omitempty"`
	Region        string   `json:"region,omitempty"`
	// GeoLocation: a continent, a country (with an optional subdivision), or country "*".
	GeoLocation  *GeoLocation  `json:"geo_location,omitempty"`
	GeoProximity *GeoProximity `json:"geo_proximity,omitempty"`
	Failover     string        `json:"failover,omitempty"` // PRIMARY or SECONDARY
	MultiValue   *bool         `json:"multi_value,omitempty"`
	Cidr         *CidrRef      `json:"cidr,omitempty"`
	HealthCheck  string        `json:"health_check,omitempty"`
}

// GeoLocation is Route 53's GeoLocation of a record set.
type GeoLocation struct {
	Continent   string `json:"continent,omitempty"`
	Country     string `json:"country,omitempty"`
	Subdivision string `json:"subdivision,omitempty"`
}

// GeoProximity is Route 53's GeoProximityLocation: an AWS region, a local zone group or
// coordinates, and a bias.
type GeoProximity struct {
	Region         string   `json:"region,omitempty"`
	LocalZoneGroup string   `json:"local_zone_group,omitempty"`
	Lat            *float64 `json:"lat,omitempty"`
	Lon            *float64 `json:"lon,omitempty"`
	Bias           *int     `json:"bias,omitempty"`
}

// CidrRef is Route 53's CidrRoutingConfig: a location of a CIDR collection ("*": the default).
type CidrRef struct {
	Collection string `json:"collection"`
	Location   string `json:"location"`
}

// Alias is a Route 53 alias record set: type Type at the name answers what Target (a name of
// the zones served, in Zone) answers for it. EvaluateTargetHealth: when the target is routed and
// none of its edges is healthy, the alias counts as unhealthy in its own routing.
type Alias struct {
	Type                 string `json:"type"`
	Zone                 string `json:"zone"`
	Target               string `json:"target"`
	EvaluateTargetHealth bool   `json:"evaluate_target_health,omitempty"`
	SetIdentifier        string `json:"set_identifier,omitempty"`
}

// Record is one static resource record, its value in zone-file presentation format.
type Record struct {
	Type  string `json:"type" mapstructure:"type"`
	TTL   uint32 `json:"ttl,omitempty" mapstructure:"ttl"`
	Value string `json:"value" mapstructure:"value"`
}

// RTT configures the RTT matrix.
type RTT struct {
	// Files are CSV files of measurements: client,edge,rtt_ms.
	Files []string `json:"files,omitempty" mapstructure:"files"`
	// MaxAge expires reported measurements not refreshed for this long (default 24h).
	MaxAge Duration `json:"max_age,omitempty" mapstructure:"max_age"`
	// Neighbours is how many nearby measured client networks correct an estimate (default 4).
	Neighbours int `json:"neighbours,omitempty" mapstructure:"neighbours"`
}

// Duration is a time.Duration written as "2s", "500ms" (a bare number is seconds).
type Duration = check.Duration

// ParseDuration reads a duration from a string ("1m30s") or a number of seconds.
var ParseDuration = check.ParseDuration

// Zone is a zone created at run time (the API, Route 53's CreateHostedZone). Its SOA and NS come
// from the appliance's zone template; these are what its creator said of it.
type Zone struct {
	Comment         string            `json:"comment,omitempty"`
	CallerReference string            `json:"caller_reference,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"` // Route 53's tags of the hosted zone
}
