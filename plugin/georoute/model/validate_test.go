package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

func ptr[T any](v T) *T { return &v }

var (
	knownEdges = map[string]bool{"fra1": true, "iad1": true, "ams1": true}
	knownPools = map[string]bool{"eu": true}
)

func hasEdge(id string) bool { return knownEdges[id] }
func hasPool(id string) bool { return knownPools[id] }

func tcpCheck() check.Spec { return check.Spec{Type: "tcp", Address: ":443"} }

// TestValidatePaths: every error names its field by the whole path, indices included.
func TestValidatePaths(t *testing.T) {
	tests := []struct {
		name  string
		err   func() error // normalizes and validates one object
		code  string
		field string // of the first error; "" for none
	}{
		// A pool gives edges or members, never both.
		{"edges and members", pool(Pool{Policy: "latency", Edges: []string{"fra1"}, Members: []Member{{Edge: "iad1"}}}), CodeInvalid, "members"},
		{"edges and members, same edge", pool(Pool{Policy: "failover", Edges: []string{"fra1"}, Members: []Member{{Edge: "fra1"}}}), CodeInvalid, "members"},
		{"edges and members in a geo pool", pool(Pool{Policy: "geo", Edges: []string{"fra1"}, Members: []Member{{Edge: "iad1"}}, Rules: []Rule{{Default: true, Members: []Member{{Edge: "fra1"}}}}}), CodeInvalid, "members"},
		{"edges only", pool(Pool{Policy: "latency", Edges: []string{"fra1", "IAD1"}}), "", ""},
		{"edges and empty members", pool(Pool{Policy: "latency", Edges: []string{"fra1"}, Members: []Member{}}), "", ""},
		{"members only", pool(Pool{Policy: "failover", Members: []Member{{Pool: "eu"}, {Edge: "iad1"}}}), "", ""},
		{"neither", pool(Pool{Policy: "latency"}), CodeMissing, "edges"},

		// Members and rules, by index.
		{"member weight", pool(Pool{Policy: "weighted", Members: []Member{{Edge: "fra1", Weight: ptr(1)}, {Edge: "ams1", Weight: ptr(-1)}}}), CodeInvalid, "members[1].weight"},
		{"member bias", pool(Pool{Policy: "geoproximity", Members: []Member{{Edge: "fra1", Bias: 100}}}), CodeInvalid, "members[0].bias"},
		{"member unknown edge", pool(Pool{Policy: "latency", Members: []Member{{Edge: "fra1"}, {Edge: "iad1"}, {Edge: "nope"}}}), CodeUnknown, "members[2].edge"},
		{"edges unknown edge", pool(Pool{Policy: "latency", Edges: []string{"fra1", "nope"}}), CodeUnknown, "members[1].edge"},
		{"member unknown pool", pool(Pool{Policy: "failover", Members: []Member{{Pool: "nope"}}}), CodeUnknown, "members[0].pool"},
		{"member both", pool(Pool{Policy: "failover", Members: []Member{{Edge: "fra1"}, {Edge: "iad1", Pool: "eu"}}}), CodeInvalid, "members[1]"},
		{"member twice", pool(Pool{Policy: "failover", Members: []Member{{Edge: "fra1"}, {Edge: "FRA1"}}}), CodeInvalid, "members[1]"},
		{"rule member unknown", pool(Pool{Policy: "geo", Rules: []Rule{{Country: "DE", Members: []Member{{Edge: "fra1"}, {Edge: "ams1"}, {Edge: "nope"}}}}}), CodeUnknown, "rules[0].members[2].edge"},
		{"rule member weight", pool(Pool{Policy: "geo", Rules: []Rule{{Country: "DE", Members: []Member{{Edge: "fra1"}}}, {Default: true, Members: []Member{{Edge: "iad1", Weight: ptr(MaxWeight + 1)}}}}}), CodeInvalid, "rules[1].members[0].weight"},
		{"rule without members", pool(Pool{Policy: "geo", Rules: []Rule{{Country: "DE", Members: []Member{{Edge: "fra1"}}}, {Default: true}}}), CodeMissing, "rules[1].members"},
		{"rule country", pool(Pool{Policy: "geo", Rules: []Rule{{Default: true, Members: []Member{{Edge: "fra1"}}}, {Country: "XX", Members: []Member{{Edge: "fra1"}}}}}), CodeInvalid, "rules[1].country"},
		{"two defaults", pool(Pool{Policy: "geo", Rules: []Rule{{Default: true, Members: []Member{{Edge: "fra1"}}}, {Default: true, Members: []Member{{Edge: "iad1"}}}}}), CodeInvalid, "rules[1].default"},
		{"rule prefix", pool(Pool{Policy: "cidr", Rules: []Rule{{Prefixes: []string{"203.0.113.0/24", "nope"}, Members: []Member{{Edge: "fra1"}}}}}), CodeInvalid, "rules[0].prefixes[1]"},
		{"rule asn", pool(Pool{Policy: "asn", Rules: []Rule{{Default: true, Members: []Member{{Edge: "fra1"}}}, {ASNs: []uint32{64500, 0}, Members: []Member{{Edge: "fra1"}}}}}), CodeInvalid, "rules[1].asns[1]"},
		{"rule with two keys", pool(Pool{Policy: "geo", Rules: []Rule{{Country: "DE", Continent: "EU", Members: []Member{{Edge: "fra1"}}}}}), CodeInvalid, "rules[0]"},

		// Load watermarks: latency pools only, 0 < shed_at < full_at <= 1.
		{"watermarks", pool(Pool{Policy: "latency", Edges: []string{"fra1", "iad1"}, Load: &Watermarks{ShedAt: 0.7, FullAt: 0.95}}), "", ""},
		{"watermarks full at 1", pool(Pool{Policy: "latency", Edges: []string{"fra1"}, Load: &Watermarks{ShedAt: 0.5, FullAt: 1, PenaltyMillis: 20}}), "", ""},
		{"watermarks of a weighted pool", pool(Pool{Policy: "weighted", Edges: []string{"fra1"}, Load: &Watermarks{ShedAt: 0.7, FullAt: 0.95}}), CodeInvalid, "load"},
		{"shed_at 0", pool(Pool{Policy: "latency", Edges: []string{"fra1"}, Load: &Watermarks{FullAt: 0.95}}), CodeInvalid, "load.shed_at"},
		{"full_at below shed_at", pool(Pool{Policy: "latency", Edges: []string{"fra1"}, Load: &Watermarks{ShedAt: 0.9, FullAt: 0.8}}), CodeInvalid, "load.full_at"},
		{"full_at above 1", pool(Pool{Policy: "latency", Edges: []string{"fra1"}, Load: &Watermarks{ShedAt: 0.9, FullAt: 1.5}}), CodeInvalid, "load.full_at"},
		{"negative penalty", pool(Pool{Policy: "latency", Edges: []string{"fra1"}, Load: &Watermarks{ShedAt: 0.7, FullAt: 0.9, PenaltyMillis: -1}}), CodeInvalid, "load.penalty_ms"},

		// Edges: addresses and checks by index.
		{"address", edge(Edge{Addresses: []string{"192.0.2.1", "nope"}}), CodeInvalid, "addresses[1]"},
		{"address twice", edge(Edge{Addresses: []string{"192.0.2.1", "::ffff:192.0.2.1"}}), CodeInvalid, "addresses[1]"},
		{"lat", edge(Edge{Addresses: []string{"192.0.2.1"}, Location: Location{Lat: ptr(91.0), Lon: ptr(0.0)}}), CodeInvalid, "location.lat"},
		{"check interval", edge(Edge{Addresses: []string{"192.0.2.1"}, Checks: []check.Spec{{Type: "tcp", Address: ":443", Interval: check.Duration(time.Millisecond)}}}), CodeInvalid, "checks[0].interval"},
		{"second check timeout", edge(Edge{Addresses: []string{"192.0.2.1"}, Checks: []check.Spec{tcpCheck(), {Type: "tcp", Address: ":443", Interval: check.Duration(time.Second), Timeout: check.Duration(2 * time.Second)}}}), CodeInvalid, "checks[1].timeout"},
		{"check status", edge(Edge{Addresses: []string{"192.0.2.1"}, Checks: []check.Spec{tcpCheck(), {Type: "http", URL: "http://192.0.2.1/", ExpectStatus: []string{"200", "2xx"}}}}), CodeInvalid, "checks[1].expect_status[1]"},
		{"check header", edge(Edge{Addresses: []string{"192.0.2.1"}, Checks: []check.Spec{{Type: "http", URL: "http://192.0.2.1/", Headers: map[string]string{"X-A": "a\nb"}}}}), CodeInvalid, `checks[0].headers["X-A"]`},
		{"valid edge", edge(Edge{Addresses: []string{"192.0.2.1"}, Checks: []check.Spec{tcpCheck()}}), "", ""},

		// Names: a record names the field of the record that is wrong.
		{"record ttl", name(Name{Records: []Record{{Type: "A", TTL: MaxTTL + 1, Value: "192.0.2.1"}}}), CodeInvalid, "records[0].ttl"},
		{"record value", name(Name{Records: []Record{{Type: "A", Value: "192.0.2.1"}, {Type: "A", Value: "1.2.3"}}}), CodeInvalid, "records[1].value"},
		{"record empty value", name(Name{Records: []Record{{Type: "A"}}}), CodeInvalid, "records[0].value"},
		{"record line break", name(Name{Records: []Record{{Type: "TXT", Value: "\"a\"\n\"b\""}}}), CodeInvalid, "records[0].value"},
		{"record comment", name(Name{Records: []Record{{Type: "A", Value: "192.0.2.1 ; x"}}}), CodeInvalid, "records[0].value"},
		{"record type", name(Name{Records: []Record{{Type: "A", Value: "192.0.2.1"}, {Type: "A", Value: "192.0.2.2"}, {Type: "SPF", Value: "x"}}}), CodeInvalid, "records[2].type"},
		{"valid records", name(Name{Records: []Record{{Type: "txt", TTL: 60, Value: `"hello"`}, {Type: "A", Value: "192.0.2.1"}}}), "", ""},
		{"name unknown edge", name(Name{Edge: "nope"}), CodeUnknown, "edge"},

		// Records that do not pack, or pack into what a resolver calls FORMERR.
		{"DS digest not hex", name(Name{Records: []Record{{Type: "DS", Value: "12345 8 2 zz"}}}), CodeInvalid, "records[0].value"},
		{"SSHFP fingerprint not hex", name(Name{Records: []Record{{Type: "SSHFP", Value: "1 1 xyz"}}}), CodeInvalid, "records[0].value"},
		{"TLSA data not hex", name(Name{Records: []Record{{Type: "TLSA", Value: "3 1 1 nothex"}}}), CodeInvalid, "records[0].value"},
		{"CAA tag", name(Name{Records: []Record{{Type: "CAA", Value: `0 bad-tag! "x"`}}}), CodeInvalid, "records[0].value"},
		{"CAA tag too long", name(Name{Records: []Record{{Type: "CAA", Value: `0 abcdefghijklmnop "x"`}}}), CodeInvalid, "records[0].value"},
		{"CAA with parameters", name(Name{Records: []Record{{Type: "CAA", Value: `0 issue "ca.example.net; account=230123"`}}}), "", ""},
		{"DS", name(Name{Records: []Record{{Type: "DS", Value: "12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4B6A5B8D2F4C6B3A2E1D0C9B"}}}), "", ""},
		// A ';' outside quotes would cut the value short.
		{"TXT comment", name(Name{Records: []Record{{Type: "TXT", Value: "abc ; comment"}}}), CodeInvalid, "records[0].value"},
		{"TXT quoted ;", name(Name{Records: []Record{{Type: "TXT", Value: `"abc ; not a comment"`}}}), "", ""},
		{"TXT escaped ;", name(Name{Records: []Record{{Type: "TXT", Value: `abc\;def`}}}), "", ""},
		// A set of records.
		{"duplicate", name(Name{Records: []Record{{Type: "A", Value: "192.0.2.1"}, {Type: "A", Value: "192.0.2.2"}, {Type: "a", TTL: 60, Value: "192.0.2.1"}}}), CodeInvalid, "records[2]"},
		{"duplicate relative name", name(Name{Records: []Record{{Type: "MX", Value: "10 Mail.example.net."}, {Type: "MX", Value: "10 mail"}}}), CodeInvalid, "records[1]"},
		{"TXT differing in case", name(Name{Records: []Record{{Type: "TXT", Value: `"A"`}, {Type: "TXT", Value: `"a"`}, {Type: "TXT", Value: `"a"`}}}), CodeInvalid, "records[2]"},
		{"CNAME to itself", name(Name{Records: []Record{{Type: "CNAME", Value: "www"}}}), CodeInvalid, "records[0].value"},
		{"CNAME to itself, fully qualified", name(Name{Records: []Record{{Type: "CNAME", Value: "WWW.example.net."}}}), CodeInvalid, "records[0].value"},
		{"CNAME and more", name(Name{Records: []Record{{Type: "CNAME", Value: "web"}, {Type: "TXT", Value: "x"}}}), CodeInvalid, "records"},
		{"NS below the apex", name(Name{Records: []Record{{Type: "NS", Value: "ns1.example.org."}}}), CodeInvalid, "records[0]"},
		{"RRset larger than a reply", name(Name{Records: txts(300, 250)}), CodeInvalid, "records"},
		{"records larger than a reply", name(Name{Records: append(txts(150, 220), caas(150, 220)...)}), CodeInvalid, "records"},
		{"RRset that fits", name(Name{Records: txts(200, 250)}), "", ""},

		// Names DNS cannot answer as written.
		{"name with a space", func() error {
			return (&Name{Edge: "fra1"}).Validate("a b.example.net.", "example.net.", hasEdge, hasPool)
		}, CodeInvalid, "name"},
		{"name with a NUL", func() error {
			return (&Name{Edge: "fra1"}).Validate(`a\000b.example.net.`, "example.net.", hasEdge, hasPool)
		}, CodeInvalid, "name"},
		{"name with an escaped dot", func() error {
			return (&Name{Edge: "fra1"}).Validate(`x\046y.example.net.`, "example.net.", hasEdge, hasPool)
		}, CodeInvalid, "name"},
		{"name in UTF-8", func() error {
			return (&Name{Edge: "fra1"}).Validate("bücher.example.net.", "example.net.", hasEdge, hasPool)
		}, CodeInvalid, "name"},
		{"name with @", func() error {
			return (&Name{Edge: "fra1"}).Validate("a@b.example.net.", "example.net.", hasEdge, hasPool)
		}, CodeInvalid, "name"},
		{"service name", func() error {
			return (&Name{Edge: "fra1"}).Validate("_sip._tcp.example.net.", "example.net.", hasEdge, hasPool)
		}, "", ""},
		{"name two kinds", name(Name{Edge: "fra1", Pool: "eu"}), CodeInvalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if tc.code == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			fe, ok := AsFieldError(err)
			if !ok {
				t.Fatalf("got %v, want %s at %q", err, tc.code, tc.field)
			}
			if fe.Code != tc.code || fe.Field != tc.field || fe.Message == "" {
				t.Errorf("got %s at %q (%s), want %s at %q", fe.Code, fe.Field, fe.Message, tc.code, tc.field)
			}
		})
	}
}

// txts is n TXT records of size bytes each, all different.
func txts(n, size int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{Type: "TXT", Value: fmt.Sprintf(`"%05d%s"`, i, strings.Repeat("x", size-5))}
	}
	return out
}

// caas is n CAA records of about size bytes each, all different.
func caas(n, size int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{Type: "CAA", Value: fmt.Sprintf(`0 issue "%05d%s"`, i, strings.Repeat("x", size-5))}
	}
	return out
}

func pool(p Pool) func() error {
	return func() error { p.Normalize(); return p.Validate("web", hasEdge, hasPool) }
}

func edge(e Edge) func() error {
	return func() error { e.Normalize(); return e.Validate("fra1") }
}

func name(n Name) func() error {
	return func() error { n.Normalize(); return n.Validate("www.example.net.", "example.net.", hasEdge, hasPool) }
}

// TestValidateConfigPaths: in the config file the object's own path comes first.
func TestValidateConfigPaths(t *testing.T) {
	c := Config{
		Edges: map[string]Edge{
			"fra1": {Addresses: []string{"192.0.2.1"}, Checks: []check.Spec{tcpCheck(), {Type: "tcp"}}},
			"iad1": {Addresses: []string{"192.0.2.2"}},
		},
		Pools: map[string]Pool{
			"web": {Policy: "weighted", Members: []Member{{Edge: "fra1"}, {Edge: "iad1", Weight: ptr(-5)}}},
			"geo": {Policy: "latency", Edges: []string{"fra1"}, Members: []Member{{Edge: "iad1"}}},
		},
		Names: map[string]Name{"www.example.net": {Records: []Record{{Type: "A", TTL: MaxTTL + 1, Value: "192.0.2.1"}}}},
	}
	c.Normalize()
	var es Errors
	if err := c.Validate(); err != nil {
		es = err.(Errors)
	}
	want := []string{"edges.fra1.checks[1].address", "pools.geo.members", "pools.web.members[1].weight", `names["www.example.net."].records[0].ttl`}
	if got := es.Fields(); !slices.Equal(got, want) {
		t.Errorf("fields %q, want %q\n%v", got, want, es)
	}
}
