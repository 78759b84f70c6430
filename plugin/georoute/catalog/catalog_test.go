package catalog

import (
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
)

func ptr[T any](v T) *T { return &v }

// base is a config file with two edges, a pool and a name, in zone example.net, whose file
// holds an address at mail, a CNAME at alias and a delegation at lab (see static).
func base() *Base {
	cfg := &model.Config{
		Edges: map[string]model.Edge{
			"fra1": {Addresses: []string{"192.0.2.10"}, Location: model.Location{Lat: ptr(50.1), Lon: ptr(8.7)}},
			"iad1": {Addresses: []string{"198.51.100.10"}, Location: model.Location{Lat: ptr(38.9), Lon: ptr(-77.0)}},
		},
		Pools: map[string]model.Pool{"web": {Policy: "latency", Edges: []string{"fra1", "iad1"}}},
		Names: map[string]model.Name{"www.example.net.": {Pool: "web"}},
	}
	cfg.Normalize()
	return &Base{Config: cfg, ConfigPath: "georoute.yaml", Zones: []string{"example.net."}, Static: static}
}

// static is what the zone file of example.net holds, as the plugin's baseOf reports it.
func static(name string) (types []uint16, cut string) {
	if name == "lab.example.net." || strings.HasSuffix(name, ".lab.example.net.") {
		cut = "lab.example.net."
	}
	switch name {
	case "example.net.":
		return []uint16{dns.TypeSOA, dns.TypeNS, dns.TypeMX}, cut
	case "mail.example.net.":
		return []uint16{dns.TypeA}, cut
	case "alias.example.net.":
		return []uint16{dns.TypeCNAME}, cut
	case "lab.example.net.":
		return []uint16{dns.TypeNS}, cut
	case "ns.lab.example.net.":
		return []uint16{dns.TypeA}, cut
	}
	return nil, cut
}

// fixture is a catalog on a real bbolt store.
type fixture struct {
	t   *testing.T
	cat *Catalog
	db  *store.Bolt
}

func newFixture(t *testing.T, db *store.Bolt) *fixture {
	t.Helper()
	if db == nil {
		var err error
		if db, err = store.OpenBolt(filepath.Join(t.TempDir(), "s.db")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
	}
	c := New(route.NewNames())
	if err := c.Start(base(), NewObjects(), 0); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, cat: c, db: db}
}

// commit prepares, commits and applies ch, as the plugin's committer does.
func (f *fixture) commit(ch *Change) (*Plan, error) {
	p, err := f.cat.Prepare(ch, nil)
	if err != nil {
		return nil, err
	}
	res, err := f.db.Txns([]store.Txn{p.Txn})
	if err != nil {
		f.t.Fatal(err)
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return p, f.cat.Apply(res[0].Rev, p.Txn.Ops, p, nil)
}

func (f *fixture) must(ch *Change) *Plan {
	f.t.Helper()
	p, err := f.commit(ch)
	if err != nil {
		f.t.Fatalf("%s: %v", ch, err)
	}
	return p
}

// state is what a catalog serves, for comparing two of them.
type state struct {
	Stored Objects
	Names  map[string]model.Name
	Zones  []string
	Edges  []string
}

func (f *fixture) state() state {
	v := f.cat.View()
	s := state{Stored: v.Stored, Names: map[string]model.Name{}, Zones: v.Zones}
	f.cat.Names().Range(func(b *route.Binding) bool {
		s.Names[b.Name+"/"+b.Source.String()] = b.Spec()
		return true
	})
	for _, e := range v.Table.Edges {
		s.Edges = append(s.Edges, e.ID)
	}
	return s
}

func sameState(t *testing.T, what string, a, b state) {
	t.Helper()
	eq := reflect.DeepEqual
	if !eq(a.Stored, b.Stored) || !eq(a.Names, b.Names) || !slices.Equal(a.Zones, b.Zones) || !slices.Equal(a.Edges, b.Edges) {
		t.Errorf("%s: states differ:\n%+v\n%+v", what, a, b)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t, nil)
	f.must((&Change{}).PutEdge("ams1", model.Edge{Addresses: []string{"192.0.2.60"}}).
		PutName("example.net.", "k1.t.example.net.", model.Name{Edge: "ams1"}, ""))
	for _, tc := range []struct {
		name   string
		change *Change
		kind   ErrorKind
		code   string
		field  string
	}{
		{"bad address", (&Change{}).PutEdge("x1", model.Edge{Addresses: []string{"192.0.2.1", "nope"}}), Invalid, model.CodeInvalid, "addresses[1]"},
		{"pool names a missing edge", (&Change{}).PutPool("p", model.Pool{Policy: "latency", Edges: []string{"fra1", "nope"}}), Invalid, model.CodeUnknown, "edges[1]"},
		{"pool member names a missing pool", (&Change{}).PutPool("p", model.Pool{Policy: "failover", Members: []model.Member{{Edge: "fra1"}, {Pool: "nope"}}}), Invalid, model.CodeUnknown, "members[1].pool"},
		{"bad override", (&Change{}).SetOverride("fra1", "sideways"), Invalid, model.CodeInvalid, "state"},
		{"record in a batch", (&Change{}).PutName("example.net.", "a.example.net.", model.Name{Edge: "fra1"}, `put["a"]`).
			PutName("example.net.", "b.example.net.", model.Name{Records: []model.Record{{Type: "A", Value: "192.0.2.1"}, {Type: "A", Value: "x"}}}, `put["b"]`), Invalid, model.CodeInvalid, `put["b"].records[1].value`},
		{"name of another zone", (&Change{}).PutName("example.org.", "a.example.net.", model.Name{Edge: "fra1"}, ""), Invalid, model.CodeForbidden, ""},
		{"name outside every zone", (&Change{}).PutName("example.net.", "a.example.com.", model.Name{Edge: "fra1"}, `put["a.example.com."]`), Invalid, model.CodeForbidden, `put["a.example.com."]`},
		{"pinned to a missing edge", (&Change{}).PutName("example.net.", "a.example.net.", model.Name{Edge: "nope"}, ""), Invalid, model.CodeUnknown, "edge"},
		{"cycle", (&Change{}).PutPool("p1", model.Pool{Policy: "failover", Members: []model.Member{{Pool: "p2"}}}).PutPool("p2", model.Pool{Policy: "failover", Members: []model.Member{{Pool: "p1"}}}), Invalid, model.CodeCycle, "pools.p1"},
		{"bad zone", (&Change{}).PutZone("no zone", model.Zone{}), Invalid, model.CodeInvalid, "zone"},
		{"delete a missing edge", (&Change{}).DeleteEdge("nope"), NotFound, CodeNotFound, ""},
		{"delete a missing name", (&Change{}).DeleteName("example.net.", "nope.example.net.", "delete[0]"), NotFound, CodeNotFound, "delete[0]"},
		{"override of a missing edge", (&Change{}).SetOverride("nope", "down"), NotFound, CodeNotFound, ""},
		{"delete a missing zone", (&Change{}).DeleteZone("example.org."), NotFound, CodeNotFound, ""},
		{"delete an edge names use", (&Change{}).DeleteEdge("ams1"), Conflict, CodeInUse, ""},
		{"delete a config edge", (&Change{}).DeleteEdge("fra1"), Conflict, CodeInConfig, ""},
		{"delete a config pool", (&Change{}).DeletePool("web"), Conflict, CodeInConfig, ""},
		{"delete a config name", (&Change{}).DeleteName("example.net.", "www.example.net.", ""), Conflict, CodeInConfig, ""},
		{"create a zone file's zone", (&Change{}).PutZone("example.net.", model.Zone{}), Conflict, CodeInConfig, ""},
		{"create a zone over names", (&Change{}).PutZone("t.example.net.", model.Zone{}), Conflict, CodeInUse, ""},

		// What the zone file holds: a CNAME is alone, and a delegation serves only its referral.
		{"CNAME at the apex", (&Change{}).PutName("example.net.", "example.net.", model.Name{Records: []model.Record{{Type: "CNAME", Value: "www"}}}, "put"), Invalid, model.CodeInvalid, "put.records[0]"},
		{"CNAME beside the file's records", (&Change{}).PutName("example.net.", "mail.example.net.", model.Name{Records: []model.Record{{Type: "CNAME", Value: "www"}}}, "put"), Conflict, CodeInConfig, "put.records[0]"},
		{"records beside the file's CNAME", (&Change{}).PutName("example.net.", "alias.example.net.", model.Name{Records: []model.Record{{Type: "TXT", Value: "x"}}}, "put"), Conflict, CodeInConfig, "put"},
		{"routed beside the file's CNAME", (&Change{}).PutName("example.net.", "alias.example.net.", model.Name{Pool: "web"}, ""), Conflict, CodeInConfig, ""},
		{"at a delegation", (&Change{}).PutName("example.net.", "lab.example.net.", model.Name{Edge: "fra1"}, ""), Conflict, CodeInConfig, ""},
		{"below a delegation", (&Change{}).PutName("example.net.", "x.lab.example.net.", model.Name{Edge: "fra1"}, ""), Conflict, CodeInConfig, ""},
		{"below a delegation, DS", (&Change{}).PutName("example.net.", "x.lab.example.net.", model.Name{Records: []model.Record{{Type: "DS", Value: "1 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4B6A5B8D2F4C6B3A2E1D0C9B"}}}, ""), Conflict, CodeInConfig, ""},
		{"NS below the apex", (&Change{}).PutName("example.net.", "sub.example.net.", model.Name{Records: []model.Record{{Type: "NS", Value: "ns1.example.org."}}}, ""), Invalid, model.CodeInvalid, "records[0]"},
		{"NS at the apex", (&Change{}).PutRRSet("example.net.", "example.net.", "NS", []model.Record{{Value: "ns9.example.org."}}, "put"), Invalid, model.CodeInvalid, "put.records[0]"},
		{"record set beside the file's CNAME", (&Change{}).PutRRSet("example.net.", "alias.example.net.", "TXT", []model.Record{{Value: "x"}}, ""), Conflict, CodeInConfig, ""},
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
}

func TestChangeAllOrNothing(t *testing.T) {
	f := newFixture(t, nil)
	mixed := func(last model.Name) *Change {
		return (&Change{}).PutZone("example.org.", model.Zone{Comment: "runtime"}).
			PutEdge("ams1", model.Edge{Addresses: []string{"192.0.2.60"}, Location: model.Location{Lat: ptr(52.4), Lon: ptr(4.9)}}).
			PutPool("eu", model.Pool{Policy: "latency", Edges: []string{"fra1", "ams1"}}).
			PutName("example.org.", "www.example.org.", model.Name{Pool: "eu"}, `put["www"]`).
			PutName("example.net.", "k1.t.example.net.", model.Name{Edge: "ams1"}, `put["k1.t"]`).
			SetOverride("iad1", OverrideDown).
			PutName("example.org.", "x.example.org.", last, `put["x"]`)
	}
	before := f.state()
	if _, err := f.commit(mixed(model.Name{Pool: "nope"})); !Is(err, Invalid) {
		t.Fatalf("a change with a bad name: %v, want invalid", err)
	}
	sameState(t, "refused mixed change", before, f.state())
	if f.cat.Names().Get("k1.t.example.net.") != nil || f.cat.View().Table.Edge("ams1") != nil {
		t.Fatal("part of a refused change was applied")
	}

	p := f.must(mixed(model.Name{Edge: "ams1"}))
	if want := []bool{true, true, true, true, true, false, true}; !slices.Equal(p.Created, want) {
		t.Errorf("created %v, want %v", p.Created, want)
	}
	v := f.cat.View()
	if served, inFile := v.Zone("example.org."); !served || inFile {
		t.Errorf("example.org served %v from a file %v", served, inFile)
	}
	if v.ZoneOf("www.example.org.") != "example.org." || f.cat.Names().Get("www.example.org.").Pool != "eu" {
		t.Error("the new zone's names are not served")
	}
	if e := v.Table.Edge("iad1"); e.Override != OverrideDown {
		t.Errorf("override %q", e.Override)
	}
	if v.Rev != 1 {
		t.Errorf("rev %d, want 1", v.Rev)
	}
	// The second time, nothing is created.
	if p := f.must(mixed(model.Name{Edge: "ams1"})); slices.Contains(p.Created[:5], true) {
		t.Errorf("created %v the second time", p.Created)
	}
	// A zone with names cannot go; deleting its names with it in one change works.
	if _, err := f.commit((&Change{}).DeleteZone("example.org.")); !Is(err, Conflict) {
		t.Errorf("deleting a zone with names: %v", err)
	}
	f.must((&Change{}).DeleteName("example.org.", "www.example.org.", "").DeleteName("example.org.", "x.example.org.", "").DeleteZone("example.org."))
	if served, _ := f.cat.View().Zone("example.org."); served {
		t.Error("zone still served")
	}
	// An edge and the names pinned to it go together; the pool using it must change first.
	if _, err := f.commit((&Change{}).DeleteName("example.net.", "k1.t.example.net.", "").DeleteEdge("ams1")); !Is(err, Conflict) {
		t.Errorf("deleting an edge a pool uses: %v", err)
	}
	f.must((&Change{}).DeleteName("example.net.", "k1.t.example.net.", "").DeletePool("eu").DeleteEdge("ams1"))
	if f.cat.View().Table.Edge("ams1") != nil || f.cat.Names().Uses("edge", "ams1") != 0 {
		t.Error("edge or its names still there")
	}
}

// TestConflictingTransactions: two nodes share a store; each validates against the state it has
// applied. The second of two conflicting changes fails and nothing of it is applied; once it has
// applied the first from the change stream, it sees why.
func TestConflictingTransactions(t *testing.T) {
	a := newFixture(t, nil)
	b := newFixture(t, a.db)
	// b prepares a name pinned to ams1 while a creates ams1 and deletes... in the other order:
	a.must((&Change{}).PutEdge("ams1", model.Edge{Addresses: []string{"192.0.2.60"}}))
	follow(t, b, 0)
	before := b.state()
	pb, err := b.cat.Prepare((&Change{}).PutName("example.net.", "k1.t.example.net.", model.Name{Edge: "ams1"}, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.must((&Change{}).DeleteEdge("ams1"))
	res, err := b.db.Txns([]store.Txn{pb.Txn})
	if err != nil || !errors.Is(res[0].Err, store.ErrConflict) {
		t.Fatalf("b's txn validated against a deleted edge: %v %v, want a conflict", res, err)
	}
	sameState(t, "b after its conflict", before, b.state())
	if n, _ := b.db.Count(store.Names); n != 0 {
		t.Errorf("%d names in the store", n)
	}
	follow(t, b, 1)
	if b.cat.View().Table.Edge("ams1") != nil {
		t.Error("b did not apply the delete")
	}
	if _, err := b.commit((&Change{}).PutName("example.net.", "k1.t.example.net.", model.Name{Edge: "ams1"}, "")); !Is(err, Invalid) {
		t.Errorf("b retried against the new state: %v, want invalid (no edge)", err)
	}
	sameState(t, "a and b", a.state(), b.state())

	// Two changes of the same name validated at the same revision on two nodes: the second
	// to commit conflicts. (Txns of one call are prepared on each other: one call would take both.)
	p1, _ := a.cat.Prepare((&Change{}).PutName("example.net.", "n.example.net.", model.Name{Edge: "fra1"}, ""), nil)
	p2, _ := b.cat.Prepare((&Change{}).PutName("example.net.", "n.example.net.", model.Name{Edge: "iad1"}, ""), nil)
	res1, err1 := a.db.Txns([]store.Txn{p1.Txn})
	res, err = b.db.Txns([]store.Txn{p2.Txn})
	if err1 != nil || res1[0].Err != nil || err != nil || !errors.Is(res[0].Err, store.ErrConflict) {
		t.Fatalf("results %v %v then %v %v: want the second to conflict", res1, err1, res, err)
	}
}

// follow applies to f what the store committed after rev, as a node's watch does.
func follow(t *testing.T, f *fixture, rev int64) {
	t.Helper()
	err := f.db.Changes(rev, func(ev store.Event) error { return f.cat.Apply(ev.Rev, ev.Ops, nil, nil) })
	if err != nil {
		t.Fatal(err)
	}
}

// TestStreamReplays: a node that starts empty and applies the change stream from revision 0
// (and another from a revision in the middle, starting from what the store held then) ends in
// the same state as the node that made the changes.
func TestStreamReplays(t *testing.T) {
	a := newFixture(t, nil)
	changes := []*Change{
		(&Change{}).PutZone("example.org.", model.Zone{}),
		(&Change{}).PutEdge("ams1", model.Edge{Addresses: []string{"192.0.2.60", "2001:db8::60"}, Location: model.Location{Lat: ptr(52.4), Lon: ptr(4.9)}}),
		(&Change{}).PutPool("eu", model.Pool{Policy: "weighted", Members: []model.Member{{Edge: "fra1", Weight: ptr(3)}, {Edge: "ams1", Weight: ptr(1)}}}),
		(&Change{}).PutName("example.org.", "www.example.org.", model.Name{Pool: "eu"}, "").
			PutName("example.net.", "k1.t.example.net.", model.Name{Edge: "ams1", TTL: 10}, "").
			PutName("example.net.", "txt.example.net.", model.Name{Records: []model.Record{{Type: "TXT", TTL: 60, Value: `"hello"`}}}, ""),
		(&Change{}).SetOverride("fra1", OverrideDown),
		(&Change{}).PutName("example.net.", "www.example.net.", model.Name{Edge: "iad1"}, ""), // over the config file's
		(&Change{}).PutEdge("ams1", model.Edge{Addresses: []string{"192.0.2.61"}, Location: model.Location{Lat: ptr(52.4), Lon: ptr(4.9)}}),
		(&Change{}).DeleteName("example.net.", "www.example.net.", ""), // the config file's shows again
		(&Change{}).SetOverride("fra1", OverrideAuto),
		(&Change{}).DeleteName("example.org.", "www.example.org.", "").DeletePool("eu"),
	}
	var mid state
	var midObjs Objects
	for i, ch := range changes {
		a.must(ch)
		if i == 4 {
			mid, midObjs = a.state(), a.cat.View().Stored
		}
	}
	if rev, _ := a.db.Rev(); rev != int64(len(changes)) {
		t.Fatalf("store at revision %d, want %d", rev, len(changes))
	}
	b := newFixture(t, a.db)
	follow(t, b, 0)
	sameState(t, "replayed from 0", a.state(), b.state())
	if b.cat.View().Rev != int64(len(changes)) {
		t.Errorf("b at revision %d", b.cat.View().Rev)
	}

	// From the middle: a node that had loaded revision 5.
	c := &fixture{t: t, cat: New(route.NewNames()), db: a.db}
	if err := c.cat.Start(base(), midObjs, 5); err != nil {
		t.Fatal(err)
	}
	for key, spec := range mid.Names {
		if name, ok := cutSuffix(key, "/api"); ok {
			if err := c.cat.LoadName(name, spec); err != nil {
				t.Fatal(err)
			}
		}
	}
	sameState(t, "loaded at 5", mid, c.state())
	follow(t, c, 5)
	sameState(t, "replayed from 5", a.state(), c.state())
	if !maps.Equal(a.state().Stored.Overrides, map[string]string{"fra1": OverrideAuto}) {
		t.Errorf("overrides %v", a.state().Stored.Overrides)
	}
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return "", false
}

// TestStageGroups: changes prepared in one group see what earlier ones stage, commit in one
// store write at consecutive revisions, and a put then a delete of one name end deleted.
func TestStageGroups(t *testing.T) {
	f := newFixture(t, nil)
	s := NewStage()
	var plans []*Plan
	var txns []store.Txn
	for _, ch := range []*Change{
		(&Change{}).PutName("example.net.", "a.example.net.", model.Name{Edge: "fra1"}, ""),
		(&Change{}).PutName("example.net.", "a.example.net.", model.Name{Edge: "iad1"}, ""),
		(&Change{}).DeleteName("example.net.", "a.example.net.", ""),
		(&Change{}).PutName("example.net.", "b.example.net.", model.Name{Edge: "iad1"}, ""),
	} {
		p, err := f.cat.Prepare(ch, s)
		if err != nil {
			t.Fatal(err)
		}
		plans, txns = append(plans, p), append(txns, p.Txn)
	}
	if _, err := f.cat.Prepare((&Change{}).DeleteName("example.net.", "a.example.net.", ""), s); !Is(err, NotFound) {
		t.Errorf("deleting a name the group deleted: %v", err)
	}
	if !plans[0].Created[0] || plans[1].Created[0] || !plans[3].Created[0] {
		t.Error("created flags do not follow the group")
	}
	res, err := f.db.Txns(txns)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.Rev != int64(i+1) {
			t.Fatalf("txn %d: %+v", i, r)
		}
		if err := f.cat.Apply(r.Rev, txns[i].Ops, plans[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	if f.cat.Names().Get("a.example.net.") != nil || f.cat.Names().Get("b.example.net.").Edge != "iad1" {
		t.Error("group applied out of order")
	}
}

func TestRRSets(t *testing.T) {
	f := newFixture(t, nil)
	txt := []model.Record{{TTL: 60, Value: `"v=1"`}}
	a := []model.Record{{TTL: 30, Value: "192.0.2.7"}, {TTL: 30, Value: "192.0.2.8"}}
	types := func(name string) []string {
		b := f.cat.Names().Get(name)
		if b == nil {
			return nil
		}
		var out []string
		for _, r := range b.Spec().Records {
			out = append(out, r.Type+" "+r.Value)
		}
		return out
	}
	n := "r.example.net."
	f.must((&Change{}).PutRRSet("example.net.", n, "txt", txt, ""))
	f.must((&Change{}).PutRRSet("example.net.", n, "A", a, ""))
	if got := types(n); !slices.Equal(got, []string{"A 192.0.2.7", "A 192.0.2.8", `TXT "v=1"`}) {
		t.Fatalf("records %v", got)
	}
	// An update as Route 53 sends it: DELETE of the exact old set, CREATE of the new, atomic.
	update := &Change{Ops: []Op{
		{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "A", Delete: true, IfEquals: []model.Record{a[1], a[0]}},
		{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "A", IfAbsent: true, Records: []model.Record{{TTL: 30, Value: "192.0.2.9"}}},
	}}
	f.must(update)
	if got := types(n); !slices.Equal(got, []string{"A 192.0.2.9", `TXT "v=1"`}) {
		t.Fatalf("after the update: %v", got)
	}
	before := f.state()
	for _, tc := range []struct {
		name string
		op   Op
		kind ErrorKind
		code string
	}{
		{"create over an existing set", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "A", IfAbsent: true, Records: a}, Conflict, CodeRRSetExists},
		{"delete with other values", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "A", Delete: true, IfEquals: a}, Conflict, CodeRRSetDiffer},
		{"delete with another TTL", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "A", Delete: true, IfEquals: []model.Record{{TTL: 31, Value: "192.0.2.9"}}}, Conflict, CodeRRSetDiffer},
		{"delete a missing set", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "MX", Delete: true, IfPresent: true}, NotFound, CodeNoRRSet},
		{"a record of another type", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "A", Records: txt[:1:1]}, Invalid, model.CodeInvalid},
		{"a bad value", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "A", Records: []model.Record{{Value: "nope"}}}, Invalid, model.CodeInvalid},
		{"no such type", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "BOGUS", Records: a}, Invalid, model.CodeInvalid},
		{"addresses of a routed name", Op{Kind: RRSetKind, ID: "k.example.net.", Zone: "example.net.", Type: "A", Records: a}, Conflict, CodeRouted},
		{"a CNAME at a routed name", Op{Kind: RRSetKind, ID: "k.example.net.", Zone: "example.net.", Type: "CNAME", Records: []model.Record{{Value: "www.example.net."}}}, Conflict, CodeRouted},
		{"a config name", Op{Kind: RRSetKind, ID: "www.example.net.", Zone: "example.net.", Type: "TXT", Records: txt}, Conflict, CodeInConfig},
		{"a CNAME beside other data", Op{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "CNAME", Records: []model.Record{{Value: "www.example.net."}}}, Invalid, model.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.op.ID == "k.example.net." && f.cat.Names().Get("k.example.net.") == nil {
				f.must((&Change{}).PutName("example.net.", "k.example.net.", model.Name{Edge: "fra1"}, ""))
				before = f.state()
			}
			ch := &Change{Ops: []Op{{Kind: RRSetKind, ID: n, Zone: "example.net.", Type: "TXT", Records: []model.Record{{Value: `"changed"`}}}, tc.op}}
			_, err := f.commit(ch)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.kind || e.Code != tc.code {
				t.Fatalf("err %v, want %s %s", err, tc.kind, tc.code)
			}
			sameState(t, "refused", before, f.state())
		})
	}
	// A routed name holds records of other types beside its pool or edge; deleting them leaves
	// it routed.
	k := "k.example.net."
	f.must((&Change{}).PutRRSet("example.net.", k, "TXT", txt, ""))
	if b := f.cat.Names().Get(k); b.Edge != "fra1" || len(b.Records[dns.TypeTXT]) != 1 {
		t.Fatalf("TXT beside an edge: %+v", b)
	}
	f.must((&Change{}).PutName("example.net.", k, model.Name{Edge: "iad1", Records: []model.Record{{Type: "TXT", TTL: 60, Value: `"v=1"`}}}, ""))
	f.must((&Change{}).DeleteRRSet("example.net.", k, "TXT", ""))
	if b := f.cat.Names().Get(k); b == nil || b.Edge != "iad1" || len(b.Records) != 0 {
		t.Fatalf("TXT deleted beside an edge: %+v", b)
	}
	// The last set of a name deleted: the name goes.
	f.must((&Change{}).DeleteRRSet("example.net.", n, "A", "").DeleteRRSet("example.net.", n, "TXT", ""))
	if f.cat.Names().Get(n) != nil {
		t.Error("a name without records is still served")
	}
	// What an RRSet change commits replays as the name it made.
	other := newFixture(t, f.db)
	follow(t, other, 0)
	sameState(t, "replayed", f.state(), other.state())
}

// TestZoneFileData: a name gives way to what the zone file holds, in the config file as through a
// change; DS records at a delegation are the parent's to serve; relative names in values are
// relative to the name's own zone.
func TestZoneFileData(t *testing.T) {
	f := newFixture(t, nil)
	ds := model.Record{Type: "DS", Value: "1 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4B6A5B8D2F4C6B3A2E1D0C9B"}
	f.must((&Change{}).PutName("example.net.", "lab.example.net.", model.Name{Records: []model.Record{ds}}, ""))
	f.must((&Change{}).PutZone("example.org.", model.Zone{}).
		PutName("example.org.", "x.example.org.", model.Name{Records: []model.Record{{Type: "MX", Value: "10 mail"}}}, ""))
	if mx := f.cat.Names().Get("x.example.org.").Records[dns.TypeMX]; len(mx) != 1 || mx[0].(*dns.MX).Mx != "mail.example.org." {
		t.Errorf("MX 10 mail in example.org is %v", mx)
	}
	f.must((&Change{}).PutName("example.net.", "y.example.net.", model.Name{Records: []model.Record{{Type: "CNAME", Value: "mail"}}}, ""))
	if cn := f.cat.Names().Get("y.example.net.").Records[dns.TypeCNAME]; cn[0].(*dns.CNAME).Target != "mail.example.net." {
		t.Errorf("CNAME mail in example.net is %v", cn)
	}

	for name, spec := range map[string]model.Name{
		"mail.example.net.":  {Records: []model.Record{{Type: "CNAME", Value: "www"}}},
		"x.lab.example.net.": {Edge: "fra1"},
		"example.net.":       {Records: []model.Record{{Type: "CNAME", Value: "www"}}},
	} {
		b := base()
		b.Config.Names[name] = spec
		err := New(route.NewNames()).Start(b, NewObjects(), 0)
		if err == nil || !strings.Contains(err.Error(), `names["`+name+`"]`) {
			t.Errorf("config file name %s %+v: %v", name, spec, err)
		}
	}
}

// TestReloadChecksStoredNames: zone files that change under names set through the API are
// checked as a restart checks them: a reload that would put a CNAME beside a stored name, a
// delegation above it, or take its zone away is refused, and the previous state keeps serving.
func TestReloadChecksStoredNames(t *testing.T) {
	f := newFixture(t, nil)
	txt := []model.Record{{Type: "TXT", Value: `"v=1"`}}
	f.must((&Change{}).PutName("example.net.", "x.example.net.", model.Name{Records: txt}, ""))
	f.must((&Change{}).PutName("example.net.", "a.sub.example.net.", model.Name{Edge: "fra1"}, ""))
	publish := func(Delta) error { return nil }
	for _, tc := range []struct {
		name, want string
		static     func(string) ([]uint16, string)
		zones      []string
	}{
		{"a CNAME beside a stored name", `names["x.example.net."]`, func(n string) ([]uint16, string) {
			if n == "x.example.net." {
				return []uint16{dns.TypeCNAME}, ""
			}
			return static(n)
		}, nil},
		{"a delegation above a stored name", `names["a.sub.example.net."]`, func(n string) ([]uint16, string) {
			if strings.HasSuffix(n, "sub.example.net.") {
				return []uint16{dns.TypeNS}, "sub.example.net."
			}
			return static(n)
		}, nil},
		{"its zone gone", "no longer served", static, []string{"example.org."}},
	} {
		b := base()
		b.Static = tc.static
		if tc.zones != nil {
			b.Zones = tc.zones
			b.Config.Names = nil
		}
		before := f.state()
		err := f.cat.SetBase(b, publish)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
		sameState(t, tc.name, before, f.state())
	}
	// A zone file change that leaves them be is taken.
	b := base()
	b.Static = func(n string) ([]uint16, string) {
		if n == "y.example.net." {
			return []uint16{dns.TypeA}, ""
		}
		return static(n)
	}
	if err := f.cat.SetBase(b, publish); err != nil {
		t.Errorf("a harmless reload: %v", err)
	}
}
