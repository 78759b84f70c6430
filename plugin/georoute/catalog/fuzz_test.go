package catalog

import (
	"encoding/json"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// FuzzChange: any change, however wrong, is either applied or refused with a catalog error and
// nothing of it applied; nothing panics.
func FuzzChange(f *testing.F) {
	f.Add(`[{"kind":2,"id":"ams1","edge":{"addresses":["192.0.2.60"]}},{"kind":5,"id":"k.example.net.","zone":"example.net.","name":{"edge":"ams1"}}]`)
	f.Add(`[{"kind":3,"id":"p","pool":{"policy":"geo","rules":[{"country":"DE","members":[{"edge":"fra1"}]},{"default":true,"members":[{"pool":"web"}]}]}}]`)
	f.Add(`[{"kind":1,"id":"example.org"},{"kind":5,"id":"*.example.org.","zone":"example.org.","name":{"records":[{"type":"TXT","value":"\"x\""}]}}]`)
	f.Add(`[{"kind":2,"id":"fra1","delete":true},{"kind":4,"id":"iad1","override":"down"},{"kind":3,"id":"web","delete":true}]`)
	f.Add(`[{"kind":5,"id":"www.example.net.","zone":"example.net.","delete":true},{"kind":1,"id":"example.net.","delete":true}]`)
	f.Add(`[{"kind":6,"id":"r.example.net.","zone":"example.net.","type":"TXT","records":[{"value":"\"a\""}]},{"kind":6,"id":"r.example.net.","zone":"example.net.","type":"TXT","delete":true,"ifequals":[{"value":"\"a\""}]}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		var ops []struct {
			Kind     Kind
			ID, Zone string
			Delete   bool
			Override string
			Edge     model.Edge
			Pool     model.Pool
			Name     model.Name
			Type     string
			Records  []model.Record
			IfAbsent bool
			IfEquals []model.Record
		}
		if json.Unmarshal([]byte(raw), &ops) != nil || len(ops) > 16 {
			return
		}
		fx := newFixture(t, nil)
		ch := &Change{}
		for _, o := range ops {
			if o.Kind < ZoneKind || o.Kind > RRSetKind {
				return
			}
			ch.Ops = append(ch.Ops, Op{Kind: o.Kind, ID: o.ID, Zone: o.Zone, Delete: o.Delete, Override: o.Override, Edge: o.Edge, Pool: o.Pool, Name: o.Name,
				Type: o.Type, Records: o.Records, IfAbsent: o.IfAbsent, IfEquals: o.IfEquals})
		}
		before := fx.state()
		if _, err := fx.commit(ch); err != nil {
			if AsError(err, "").Kind == 0 {
				t.Fatalf("untyped error %v", err)
			}
			sameState(t, "refused", before, fx.state())
			return
		}
		// What was applied replays to the same state on another node.
		other := newFixture(t, fx.db)
		follow(t, other, 0)
		sameState(t, "replayed", fx.state(), other.state())
	})
}
