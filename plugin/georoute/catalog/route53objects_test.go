package catalog

import (
	"errors"
	"slices"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/store"
)

const (
	hcWeb  = "0b9f1c2e-0000-4000-8000-000000000001"
	hcAPI  = "0b9f1c2e-0000-4000-8000-000000000002"
	hcCalc = "0b9f1c2e-0000-4000-8000-000000000003"
	ccOne  = "5a6b7c8d-0000-4000-8000-000000000001"
)

func httpCheck(ref string, version int64) model.HealthCheck {
	return model.HealthCheck{CallerReference: ref, Version: version, Type: "HTTP", IPAddress: "192.0.2.10", ResourcePath: "healthz"}
}

func collection(version int64, locs map[string][]string) model.CidrCollection {
	return model.CidrCollection{Name: "offices", CallerReference: "cc-1", Version: version, Locations: locs}
}

// route53Fixture holds two health checks, a CALCULATED one over them, an edge probed by the
// first, a CIDR collection and a cidr pool routing by its location "ber".
func route53Fixture(t *testing.T) *fixture {
	f := newFixture(t, nil)
	f.must((&Change{}).PutHealthCheck(hcWeb, httpCheck("ref-web", 1)))
	f.must((&Change{}).PutHealthCheck(hcAPI, model.HealthCheck{CallerReference: "ref-api", Version: 1, Type: "TCP", FQDN: "api.example.net.", Port: 443}))
	f.must((&Change{}).PutHealthCheck(hcCalc, model.HealthCheck{CallerReference: "ref-calc", Version: 1, Type: "CALCULATED", HealthThreshold: 1, Children: []string{hcWeb, hcAPI}}))
	f.must((&Change{}).PutEdge("web1", model.Edge{Addresses: []string{"192.0.2.10"}, HealthCheck: hcWeb}))
	f.must((&Change{}).PutCidrCollection(ccOne, collection(1, map[string][]string{"ber": {"203.0.113.0/24", "2001:db8:1::/48"}, "muc": {"198.51.100.0/24"}})))
	f.must((&Change{}).PutPool("offices", cidrPool(ccOne, "2001:db8:1::/48", "203.0.113.0/24")))
	return f
}

func cidrPool(cc string, ber ...string) model.Pool {
	return model.Pool{Policy: "cidr", CidrCollection: cc, Rules: []model.Rule{
		{Location: "ber", Prefixes: ber, Members: []model.Member{{Edge: "fra1"}}},
		{Default: true, Location: "*", Members: []model.Member{{Edge: "iad1"}}},
	}}
}

func TestRoute53Objects(t *testing.T) {
	f := route53Fixture(t)
	v := f.cat.View()
	hc := v.Stored.HealthChecks[hcWeb]
	if hc.Port != 80 || hc.RequestInterval != 30 || hc.FailureThreshold != 3 || hc.ResourcePath != "/healthz" {
		t.Errorf("defaults not filled: %+v", hc)
	}
	if api := v.Stored.HealthChecks[hcAPI]; api.FQDN != "api.example.net" {
		t.Errorf("fqdn %q, want it without its final dot", api.FQDN)
	}
	if got := v.Stored.CidrCollections[ccOne].Locations["ber"]; !slices.Equal(got, []string{"2001:db8:1::/48", "203.0.113.0/24"}) {
		t.Errorf("blocks %v", got)
	}
	if !slices.Equal(v.EdgesUsing(hcWeb), []string{"web1"}) || !slices.Equal(v.ParentsOf(hcAPI), []string{hcCalc}) || !slices.Equal(v.PoolsUsing(ccOne), []string{"offices"}) {
		t.Errorf("uses: %v %v %v", v.EdgesUsing(hcWeb), v.ParentsOf(hcAPI), v.PoolsUsing(ccOne))
	}

	web2 := httpCheck("ref-web", 2)
	web2.ResourcePath = "/ready"
	moved := collection(2, map[string][]string{"ber": {"203.0.113.0/24"}, "muc": {"198.51.100.0/24"}})
	for _, tc := range []struct {
		name   string
		change *Change
		kind   ErrorKind
		code   string
		field  string
	}{
		{"bad type", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "PING", IPAddress: "192.0.2.1"}), Invalid, model.CodeInvalid, "Type"},
		{"cloudwatch", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "CLOUDWATCH_METRIC"}), Invalid, model.CodeInvalid, "Type"},
		{"no endpoint", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP"}), Invalid, model.CodeMissing, "IPAddress"},
		{"bad address", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP", IPAddress: "192.0.2.300"}), Invalid, model.CodeInvalid, "IPAddress"},
		{"bad name", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP", FQDN: "a..b"}), Invalid, model.CodeInvalid, "FullyQualifiedDomainName"},
		{"interval", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP", IPAddress: "192.0.2.1", RequestInterval: 5}), Invalid, model.CodeInvalid, "RequestInterval"},
		{"threshold", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP", IPAddress: "192.0.2.1", FailureThreshold: 11}), Invalid, model.CodeInvalid, "FailureThreshold"},
		{"port", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP", IPAddress: "192.0.2.1", Port: 70000}), Invalid, model.CodeInvalid, "Port"},
		{"tcp without a port", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "TCP", IPAddress: "192.0.2.1"}), Invalid, model.CodeMissing, "Port"},
		{"tcp with a path", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "TCP", IPAddress: "192.0.2.1", Port: 22, ResourcePath: "/"}), Invalid, model.CodeInvalid, "ResourcePath"},
		{"match without a string", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP_STR_MATCH", IPAddress: "192.0.2.1"}), Invalid, model.CodeMissing, "SearchString"},
		{"a string without match", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP", IPAddress: "192.0.2.1", SearchString: "ok"}), Invalid, model.CodeInvalid, "SearchString"},
		{"calculated with an address", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "CALCULATED", IPAddress: "192.0.2.1"}), Invalid, model.CodeInvalid, "IPAddress"},
		{"children of another type", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "HTTP", IPAddress: "192.0.2.1", Children: []string{hcWeb}}), Invalid, model.CodeInvalid, "ChildHealthChecks"},
		{"missing child", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "CALCULATED", Children: []string{hcWeb, "nope"}}), Invalid, model.CodeUnknown, "ChildHealthChecks[1]"},
		{"calculated child", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "CALCULATED", Children: []string{hcCalc}}), Invalid, model.CodeInvalid, "ChildHealthChecks[0]"},
		{"own child", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "CALCULATED", Children: []string{"x"}}), Invalid, model.CodeInvalid, "ChildHealthChecks[0]"},
		{"child twice", (&Change{}).PutHealthCheck("x", model.HealthCheck{CallerReference: "r", Version: 1, Type: "CALCULATED", Children: []string{hcWeb, hcWeb}}), Invalid, model.CodeInvalid, "ChildHealthChecks[1]"},
		{"bad id", (&Change{}).PutHealthCheck("Not/An/Id", httpCheck("r", 1)), Invalid, model.CodeInvalid, ""},
		{"create over one", (&Change{}).PutHealthCheck(hcWeb, model.HealthCheck{CallerReference: "ref-web", Version: 1, Type: "HTTP", IPAddress: "192.0.2.99"}), Conflict, CodeExists, ""},
		{"update a missing one", (&Change{}).PutHealthCheck("x", httpCheck("r", 2)), NotFound, CodeNotFound, ""},
		{"a version skipped", (&Change{}).PutHealthCheck(hcWeb, httpCheck("ref-web", 3)), Conflict, CodeChanged, ""},
		{"type changed", (&Change{}).PutHealthCheck(hcWeb, model.HealthCheck{CallerReference: "ref-web", Version: 2, Type: "TCP", IPAddress: "192.0.2.10", Port: 80}), Invalid, model.CodeInvalid, "Type"},
		{"interval changed", (&Change{}).PutHealthCheck(hcWeb, model.HealthCheck{CallerReference: "ref-web", Version: 2, Type: "HTTP", IPAddress: "192.0.2.10", RequestInterval: 10}), Invalid, model.CodeInvalid, "RequestInterval"},
		{"delete one an edge uses", (&Change{}).DeleteHealthCheck(hcWeb), Conflict, CodeInUse, ""},
		{"delete a child", (&Change{}).DeleteHealthCheck(hcAPI), Conflict, CodeInUse, ""},
		{"delete a missing one", (&Change{}).DeleteHealthCheck("nope"), NotFound, CodeNotFound, ""},
		{"edge of a missing health check", (&Change{}).PutEdge("web2", model.Edge{Addresses: []string{"192.0.2.11"}, HealthCheck: "nope"}), Invalid, model.CodeUnknown, "health_check"},

		{"bad collection name", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "no spaces", CallerReference: "r", Version: 1}), Invalid, model.CodeInvalid, "Name"},
		{"bad location name", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "y", CallerReference: "r", Version: 1, Locations: map[string][]string{"a-location-name-too-long": {"192.0.2.0/24"}}}), Invalid, model.CodeInvalid, "LocationName"},
		{"bad block", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "y", CallerReference: "r", Version: 1, Locations: map[string][]string{"a": {"192.0.2.0/33"}}}), Invalid, model.CodeInvalid, "CidrList"},
		{"block too long", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "y", CallerReference: "r", Version: 1, Locations: map[string][]string{"a": {"192.0.2.0/25"}}}), Invalid, model.CodeInvalid, "CidrList"},
		{"every address", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "y", CallerReference: "r", Version: 1, Locations: map[string][]string{"a": {"0.0.0.0/0"}}}), Invalid, model.CodeInvalid, "CidrList"},
		{"host bits", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "y", CallerReference: "r", Version: 1, Locations: map[string][]string{"a": {"192.0.2.1/24"}}}), Invalid, model.CodeInvalid, "CidrList"},
		{"block in two locations", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "y", CallerReference: "r", Version: 1, Locations: map[string][]string{"a": {"192.0.2.0/24"}, "b": {"192.0.2.0/24"}}}), Invalid, model.CodeInvalid, "CidrList"},
		{"name taken", (&Change{}).PutCidrCollection("y", model.CidrCollection{Name: "offices", CallerReference: "r", Version: 1}), Conflict, CodeExists, "Name"},
		{"collection version skipped", (&Change{}).PutCidrCollection(ccOne, collection(3, nil)), Conflict, CodeChanged, ""},
		{"a location in use emptied", (&Change{}).PutCidrCollection(ccOne, collection(2, map[string][]string{"muc": {"198.51.100.0/24"}})), Conflict, CodeInUse, ""},
		{"blocks changed, not the pool", (&Change{}).PutCidrCollection(ccOne, moved), Conflict, CodeChanged, ""},
		{"pool of a missing collection", (&Change{}).PutPool("p2", cidrPool("nope", "203.0.113.0/24")), Invalid, model.CodeUnknown, "cidr_collection"},
		{"pool of a missing location", (&Change{}).PutPool("p2", model.Pool{Policy: "cidr", CidrCollection: ccOne, Rules: []model.Rule{{Location: "ham", Prefixes: []string{"192.0.2.0/24"}, Members: []model.Member{{Edge: "fra1"}}}}}), Conflict, CodeInUse, "rules[0].location"},
		{"pool with other prefixes", (&Change{}).PutPool("p2", cidrPool(ccOne, "203.0.113.0/24")), Conflict, CodeChanged, "rules[0].location"},
		{"delete a collection in use", (&Change{}).DeleteCidrCollection(ccOne), Conflict, CodeInUse, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.state()
			_, err := f.commit(tc.change)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a catalog error", err)
			}
			if e.Kind != tc.kind || e.Code != tc.code || e.Field != tc.field {
				t.Errorf("got %s %s field %q (%v), want %s %s field %q", e.Kind, e.Code, e.Field, e.Message, tc.kind, tc.code, tc.field)
			}
			sameState(t, "after a refused change", before, f.state())
		})
	}

	// What is refused alone goes through with what follows it: the next version with the
	// edges it probes, the collection with the pools that route by it.
	f.must((&Change{}).PutHealthCheck(hcWeb, web2).PutEdge("web1", model.Edge{Addresses: []string{"192.0.2.10"}, HealthCheck: hcWeb}))
	f.must((&Change{}).PutCidrCollection(ccOne, moved).PutPool("offices", cidrPool(ccOne, "203.0.113.0/24")))
	if v := f.cat.View(); v.Stored.HealthChecks[hcWeb].Version != 2 || v.Stored.CidrCollections[ccOne].Version != 2 {
		t.Errorf("versions %d %d", v.Stored.HealthChecks[hcWeb].Version, v.Stored.CidrCollections[ccOne].Version)
	}
	// Tags change without a version; nothing else does.
	tagged := web2
	tagged.Tags = map[string]string{"team": "web"}
	f.must((&Change{}).PutHealthCheck(hcWeb, tagged))
	tagged.FailureThreshold = 5
	if _, err := f.commit((&Change{}).PutHealthCheck(hcWeb, tagged)); !Is(err, Conflict) {
		t.Errorf("a change of settings under the same version: %v, want a conflict", err)
	}
	// Unused: deleted.
	f.must((&Change{}).DeleteHealthCheck(hcCalc).DeleteHealthCheck(hcAPI))
	f.must((&Change{}).DeletePool("offices").DeleteCidrCollection(ccOne))
	f.must((&Change{}).DeleteEdge("web1").DeleteHealthCheck(hcWeb))

	// The store holds what the catalog does, and a node replaying the stream ends the same.
	other := newFixture(t, f.db)
	follow(t, other, 0)
	sameState(t, "replayed", f.state(), other.state())
	if n, _ := f.db.Count(store.HealthChecks); n != 0 {
		t.Errorf("%d health checks left in the store", n)
	}
}

// TestRoute53ObjectsLoad: health checks and collections read back from the store at start-up.
func TestRoute53ObjectsLoad(t *testing.T) {
	f := route53Fixture(t)
	objs := NewObjects()
	if _, err := f.db.LoadAll(func(k store.Kind, key string, v []byte) error {
		if k == store.Names || k == store.RTT {
			return nil
		}
		return LoadObject(&objs, k, key, v)
	}); err != nil {
		t.Fatal(err)
	}
	v := f.cat.View()
	if len(objs.HealthChecks) != 3 || objs.HealthChecks[hcCalc].HealthThreshold != 1 || len(objs.CidrCollections) != 1 ||
		!slices.Equal(objs.CidrCollections[ccOne].Locations["muc"], v.Stored.CidrCollections[ccOne].Locations["muc"]) {
		t.Errorf("loaded %+v", objs)
	}
}

// TestSinceRefusesWhatChangedMeanwhile: a change computed from an older view is refused when
// what it reads changed after that view, though it validates against the current one.
func TestSinceRefusesWhatChangedMeanwhile(t *testing.T) {
	f := route53Fixture(t)
	read := f.cat.View().Rev
	f.must((&Change{}).PutEdge("web1", model.Edge{Addresses: []string{"192.0.2.99"}, HealthCheck: hcWeb}))
	stale := (&Change{Since: read}).PutHealthCheck(hcWeb, httpCheck("ref-web", 2)).PutEdge("web1", model.Edge{Addresses: []string{"192.0.2.10"}, HealthCheck: hcWeb})
	if _, err := f.commit(stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a change computed before the edge changed: %v, want a conflict", err)
	}
	if got := f.cat.View().Stored.Edges["web1"].Addresses; !slices.Equal(got, []string{"192.0.2.99"}) {
		t.Errorf("edge addresses %v", got)
	}
}
