package recordsets

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/pkg/health/check"
)

func i64(v int64) *int64 { return &v }
func yes() *bool         { t := true; return &t }
func no() *bool          { f := false; return &f }

const www = "www.example.com."

func a(id string, values ...string) model.RecordSet {
	return model.RecordSet{Type: "A", SetIdentifier: id, TTL: 60, Values: values}
}

var lookup = Lookup{
	HealthCheck: func(id string) ([]check.Spec, string, bool) {
		if id != "hc1" {
			return nil, "", false
		}
		return []check.Spec{{Type: "tcp", Address: "443"}}, "", true
	},
	Cidr: func(collection, location string) ([]string, bool) {
		if collection == "c1" && location == "office" {
			return []string{"192.0.2.0/24"}, true
		}
		return nil, false
	},
}

func TestMake(t *testing.T) {
	weighted := func(id string, w int64, v string) model.RecordSet {
		s := a(id, v)
		s.Weight = i64(w)
		return s
	}
	region := func(id, r, v string) model.RecordSet {
		s := a(id, v)
		s.Region = r
		return s
	}
	geoSet := func(id, continent, country, v string) model.RecordSet {
		s := a(id, v)
		s.GeoLocation = &model.GeoLocation{Continent: continent, Country: country}
		return s
	}
	failover := func(id, role, hc, v string) model.RecordSet {
		s := a(id, v)
		s.Failover, s.HealthCheck = role, hc
		return s
	}
	mv := func(typ, id string, ttl uint32, v ...string) model.RecordSet {
		return model.RecordSet{Type: typ, SetIdentifier: id, TTL: ttl, Values: v, MultiValue: yes()}
	}
	cidr := func(id, loc, v string) model.RecordSet {
		s := a(id, v)
		s.Cidr = &model.CidrRef{Collection: "c1", Location: loc}
		return s
	}
	aaaa := func(s model.RecordSet, v string) model.RecordSet {
		s.Type, s.Values = "AAAA", []string{v}
		return s
	}
	for _, tc := range []struct {
		name string
		sets []model.RecordSet
		// want: the pool's policy, its members in order ("edge-set-identifier:weight"), its rules,
		// answers; or the error's index and a part of its message.
		policy  string
		members string
		rules   string
		answers int
		records string
		errAt   int
		err     string
	}{
		{name: "weighted", sets: []model.RecordSet{weighted("blue", 3, "192.0.2.1"), weighted("green", 1, "192.0.2.2")},
			policy: "weighted", members: "blue:3 green:1"},
		{name: "weights all 0 answer alike", sets: []model.RecordSet{weighted("blue", 0, "192.0.2.1"), weighted("green", 0, "192.0.2.2")},
			policy: "weighted", members: "blue:1 green:1"},
		{name: "latency, both families", sets: []model.RecordSet{region("eu", "eu-west-1", "192.0.2.1"), region("us", "us-east-1", "192.0.2.2"), aaaa(region("eu", "eu-west-1", ""), "2001:db8::1")},
			policy: "latency", members: "eu us eu"},
		{name: "geo with a default", sets: []model.RecordSet{geoSet("eu", "EU", "", "192.0.2.1"), geoSet("de", "", "DE", "192.0.2.2"), geoSet("rest", "", "*", "192.0.2.3")},
			policy: "geo", rules: "EU//:eu /DE/:de default:rest"},
		{name: "failover: primary first", sets: []model.RecordSet{failover("b", "SECONDARY", "", "192.0.2.2"), failover("a", "PRIMARY", "hc1", "192.0.2.1")},
			policy: "failover", members: "a b"},
		{name: "multivalue answers up to 8", sets: []model.RecordSet{mv("A", "1", 60, "192.0.2.1"), mv("A", "2", 60, "192.0.2.2")},
			policy: "multivalue", members: "1 2", answers: 2},
		{name: "cidr", sets: []model.RecordSet{cidr("office", "office", "192.0.2.1"), cidr("rest", "*", "192.0.2.2")},
			policy: "cidr", rules: "192.0.2.0/24:office default:rest"},
		{name: "TXT of cert-manager: values of every set, smallest TTL", sets: []model.RecordSet{mv("TXT", "k1", 10, `"tok1"`), mv("TXT", "k2", 60, `"tok2"`, `"tok1"`)},
			records: `TXT 10 "tok1", TXT 10 "tok2"`},

		{name: "no routing field", sets: []model.RecordSet{a("x", "192.0.2.1")}, errAt: 0, err: "no one routing policy"},
		{name: "two routing fields", sets: []model.RecordSet{func() model.RecordSet { s := weighted("x", 1, "192.0.2.1"); s.Region = "eu-west-1"; return s }()}, errAt: 0, err: "no one routing policy"},
		{name: "mixed policies", sets: []model.RecordSet{weighted("x", 1, "192.0.2.1"), region("y", "eu-west-1", "192.0.2.2")}, errAt: 1, err: "take one routing policy"},
		{name: "A and AAAA by two policies", sets: []model.RecordSet{weighted("x", 1, "192.0.2.1"), aaaa(region("y", "eu-west-1", ""), "2001:db8::1")}, errAt: 1, err: "one pool"},
		{name: "a set identifier twice", sets: []model.RecordSet{weighted("x", 1, "192.0.2.1"), weighted("x", 2, "192.0.2.2")}, errAt: 1, err: "twice"},
		{name: "weight over 255", sets: []model.RecordSet{weighted("x", 256, "192.0.2.1")}, errAt: 0, err: "between 0 and 255"},
		{name: "no such region", sets: []model.RecordSet{region("x", "mars-north-1", "192.0.2.1")}, errAt: 0, err: "not an AWS region"},
		{name: "primary without health check", sets: []model.RecordSet{failover("a", "PRIMARY", "", "192.0.2.1")}, errAt: 0, err: "needs a HealthCheckId"},
		{name: "two primaries", sets: []model.RecordSet{failover("a", "PRIMARY", "hc1", "192.0.2.1"), failover("b", "PRIMARY", "hc1", "192.0.2.2")}, errAt: 1, err: "one PRIMARY"},
		{name: "no such health check", sets: []model.RecordSet{failover("a", "PRIMARY", "hc9", "192.0.2.1")}, errAt: 0, err: "hc9 does not exist"},
		{name: "no such cidr location", sets: []model.RecordSet{cidr("x", "lab", "192.0.2.1")}, errAt: 0, err: "no location lab"},
		{name: "routed CNAME", sets: []model.RecordSet{{Type: "CNAME", SetIdentifier: "x", TTL: 60, Values: []string{"a.example.com."}, Weight: i64(1)}}, errAt: 0, err: "CNAME"},
		{name: "multivalue false", sets: []model.RecordSet{{Type: "A", SetIdentifier: "x", TTL: 60, Values: []string{"192.0.2.1"}, MultiValue: no()}}, errAt: 0, err: "MultiValueAnswer false"},
		{name: "continent and country", sets: []model.RecordSet{geoSet("x", "EU", "DE", "192.0.2.1")}, errAt: 0, err: "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Make(www, tc.sets, lookup)
			if tc.err != "" {
				var e *Error
				if !errors.As(err, &e) || e.Index != tc.errAt || !strings.Contains(e.Message, tc.err) {
					t.Fatalf("err %v, want at %d: %q", err, tc.errAt, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := records(m); got != tc.records {
				t.Errorf("records %q, want %q", got, tc.records)
			}
			if tc.policy == "" {
				if m.Pool != nil {
					t.Errorf("a pool made of no address record sets: %+v", m.Pool)
				}
				return
			}
			p := m.Pool
			if p.Policy != tc.policy || p.Answers != tc.answers || p.MadeFrom != "route53 "+www || p.TTL != 60 {
				t.Errorf("pool %+v", p)
			}
			ids := map[string]string{}
			for _, s := range tc.sets {
				ids[EdgeID(www, s.Type, s.SetIdentifier)] = s.SetIdentifier
			}
			if got := members(p.Members, ids); got != tc.members {
				t.Errorf("members %q, want %q", got, tc.members)
			}
			var rules []string
			for _, r := range p.Rules {
				key := r.Continent + "/" + r.Country + "/" + r.Subdivision
				switch {
				case r.Default:
					key = "default"
				case len(r.Prefixes) > 0:
					key = strings.Join(r.Prefixes, ",")
				}
				rules = append(rules, key+":"+members(r.Members, ids))
			}
			if got := strings.Join(rules, " "); got != tc.rules {
				t.Errorf("rules %q, want %q", got, tc.rules)
			}
			if len(m.Edges) != len(tc.sets) {
				t.Errorf("%d edges of %d record sets", len(m.Edges), len(tc.sets))
			}
		})
	}
}

func members(ms []model.Member, ids map[string]string) string {
	var out []string
	for _, m := range ms {
		s := ids[m.Edge]
		if m.Weight != nil {
			s += ":" + strconv.Itoa(*m.Weight)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func records(m Made) string {
	var out []string
	for _, r := range m.Records {
		out = append(out, r.Type+" "+strconv.FormatUint(uint64(r.TTL), 10)+" "+r.Value)
	}
	return strings.Join(out, ", ")
}

// TestEdges: an edge is placed where its region is, and probed by its health check.
func TestEdges(t *testing.T) {
	s := a("eu", "192.0.2.1")
	s.Region = "eu-central-1"
	s.HealthCheck = "hc1"
	m, err := Make(www, []model.RecordSet{s}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Edges[EdgeID(www, "A", "eu")]
	if e.Location.Lat == nil || *e.Location.Lat < 49 || *e.Location.Lat > 51 || e.Location.Country != "DE" || e.Location.Continent != "EU" {
		t.Errorf("eu-central-1 placed at %+v", e.Location)
	}
	if e.HealthCheck != "hc1" || len(e.Checks) != 1 || e.Checks[0].Address != "443" {
		t.Errorf("checks %+v", e)
	}
	if EdgeID(www, "A", "eu") == EdgeID(www, "AAAA", "eu") || !model.ValidID(EdgeID(www, "A", strings.Repeat("x", 128))) || !model.ValidID(PoolID(www)) {
		t.Error("ids clash or are not valid ids")
	}
}
