// Package model holds the nouns of the appliance as users write them (config file, API): edges,
// pools, routed names and the RTT settings, and checks them field by field. It has no CoreDNS
// types; the router compiles a validated Config into the tables the query path reads.
package model

import (
	"encoding/json"
	"fmt"
	"time"
)

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
	Addresses []string `json:"addresses" mapstructure:"addresses"`
	Location  Location `json:"location,omitempty" mapstructure:"location"`
	Weight    *int     `json:"weight,omitempty" mapstructure:"weight"`
	Checks    []Check  `json:"checks,omitempty" mapstructure:"checks"`
	// Override forces the edge's health: "" or "auto" (the checks decide), "up", "down" (drain).
	Override string `json:"override,omitempty" mapstructure:"override"`
	// HealthRule combines the checks: "all" (default), "any", or "N" (at least N pass).
	HealthRule string `json:"health_rule,omitempty" mapstructure:"health_rule"`
}

// Location places an edge. Lat and Lon go together.
type Location struct {
	Lat         *float64 `json:"lat,omitempty" mapstructure:"lat"`
	Lon         *float64 `json:"lon,omitempty" mapstructure:"lon"`
	Country     string   `json:"country,omitempty" mapstructure:"country"`
	Continent   string   `json:"continent,omitempty" mapstructure:"continent"`
	Subdivision string   `json:"subdivision,omitempty" mapstructure:"subdivision"`
}

// Check is one health check of an edge; the healthprobe plugin runs it.
type Check struct {
	Type     string   `json:"type" mapstructure:"type"`
	Interval Duration `json:"interval,omitempty" mapstructure:"interval"`
	Timeout  Duration `json:"timeout,omitempty" mapstructure:"timeout"`
	Rise     int      `json:"rise,omitempty" mapstructure:"rise"`
	Fall     int      `json:"fall,omitempty" mapstructure:"fall"`

	// icmp: the address to ping (default: the edge's first address).
	Target string `json:"target,omitempty" mapstructure:"target"`
	// tcp: host:port to connect to.
	Address string `json:"address,omitempty" mapstructure:"address"`
	// http, https.
	URL             string            `json:"url,omitempty" mapstructure:"url"`
	Method          string            `json:"method,omitempty" mapstructure:"method"`
	ExpectStatus    []string          `json:"expect_status,omitempty" mapstructure:"expect_status"`
	ExpectBody      string            `json:"expect_body,omitempty" mapstructure:"expect_body"`
	ExpectBodyRegex string            `json:"expect_body_regex,omitempty" mapstructure:"expect_body_regex"`
	Headers         map[string]string `json:"headers,omitempty" mapstructure:"headers"`
	TLSSkipVerify   bool              `json:"tls_skip_verify,omitempty" mapstructure:"tls_skip_verify"`
	ServerName      string            `json:"server_name,omitempty" mapstructure:"server_name"`
	// dns.
	Server       string `json:"server,omitempty" mapstructure:"server"`
	QName        string `json:"qname,omitempty" mapstructure:"qname"`
	QType        string `json:"qtype,omitempty" mapstructure:"qtype"`
	ExpectRcode  string `json:"expect_rcode,omitempty" mapstructure:"expect_rcode"`
	ExpectAnswer string `json:"expect_answer,omitempty" mapstructure:"expect_answer"`
	Transport    string `json:"transport,omitempty" mapstructure:"transport"`
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
}

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
}

// Name binds a DNS name to a pool, pins it to one edge, or holds static records.
type Name struct {
	Pool    string   `json:"pool,omitempty" mapstructure:"pool"`
	Edge    string   `json:"edge,omitempty" mapstructure:"edge"`
	TTL     uint32   `json:"ttl,omitempty" mapstructure:"ttl"`
	Records []Record `json:"records,omitempty" mapstructure:"records"`
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
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "2s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p, err := ParseDuration(v)
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseDuration reads a duration from a string ("1m30s") or a number of seconds.
func ParseDuration(v any) (Duration, error) {
	switch x := v.(type) {
	case string:
		t, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (write it like \"2s\" or \"500ms\")", x)
		}
		return Duration(t), nil
	case float64:
		return Duration(x * float64(time.Second)), nil
	case int:
		return Duration(time.Duration(x) * time.Second), nil
	case int64:
		return Duration(time.Duration(x) * time.Second), nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("%v is not a duration", v)
}
