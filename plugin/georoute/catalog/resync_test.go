package catalog

import (
	"bytes"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// TestResync: a node that stopped following at some revision and can no longer replay the
// stream from there (compacted) reads the store whole and applies Resync: it ends in the state
// of the node that made the changes, names and objects deleted since included.
func TestResync(t *testing.T) {
	a := newFixture(t, nil)
	first := []*Change{
		(&Change{}).PutZone("example.org.", model.Zone{}),
		(&Change{}).PutEdge("ams1", model.Edge{Addresses: []string{"192.0.2.60"}, Location: model.Location{Lat: ptr(52.4), Lon: ptr(4.9)}}),
		(&Change{}).PutPool("eu", model.Pool{Policy: "weighted", Members: []model.Member{{Edge: "fra1", Weight: ptr(3)}, {Edge: "ams1", Weight: ptr(1)}}}),
		(&Change{}).PutName("example.org.", "www.example.org.", model.Name{Pool: "eu"}, "").
			PutName("example.net.", "k1.t.example.net.", model.Name{Edge: "ams1", TTL: 10}, "").
			PutName("example.net.", "gone.example.net.", model.Name{Edge: "ams1"}, ""),
		(&Change{}).SetOverride("fra1", OverrideDown),
	}
	later := []*Change{
		(&Change{}).DeleteName("example.net.", "gone.example.net.", "").PutName("example.net.", "new.example.net.", model.Name{Edge: "fra1"}, ""),
		(&Change{}).PutEdge("ams1", model.Edge{Addresses: []string{"192.0.2.61"}, Location: model.Location{Lat: ptr(52.4), Lon: ptr(4.9)}}),
		(&Change{}).DeleteName("example.org.", "www.example.org.", "").DeletePool("eu"),
		(&Change{}).DeleteName("example.net.", "k1.t.example.net.", "").DeleteEdge("ams1").SetOverride("fra1", OverrideAuto),
		(&Change{}).PutName("example.net.", "www.example.net.", model.Name{Edge: "iad1"}, ""), // over the config file's
	}
	for _, ch := range first {
		a.must(ch)
	}
	b := newFixture(t, a.db)
	follow(t, b, 0)
	for _, ch := range later {
		a.must(ch)
	}
	held := map[store.Kind]map[string][]byte{}
	rev, err := a.db.LoadAll(func(kind store.Kind, key string, v []byte) error {
		if held[kind] == nil {
			held[kind] = map[string][]byte{}
		}
		held[kind][key] = bytes.Clone(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ops := b.cat.Resync(held)
	if err := b.cat.Apply(rev, ops, nil, nil); err != nil {
		t.Fatal(err)
	}
	sameState(t, "resynced", a.state(), b.state())
	if b.cat.View().Rev != rev {
		t.Errorf("b at revision %d, want %d", b.cat.View().Rev, rev)
	}
	// Once in step, a resync changes nothing but the names it puts again.
	for _, op := range b.cat.Resync(held) {
		if op.Kind != store.Names || op.Delete {
			t.Errorf("a resync in step: %+v", op)
		}
	}
}
