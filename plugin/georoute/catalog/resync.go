package catalog

import (
	"bytes"
	"maps"
	"slices"

	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// Resync is the change that brings the catalog to what a store holds, read whole (by kind, by
// key): for a node whose change stream no longer holds the revisions it missed. It puts every
// name read and every object that differs from the catalog's, and deletes what the catalog
// holds from the store that the store no longer has. Apply it with a nil plan at the revision
// the store was read at; ops of kinds the catalog does not hold (RTT) are passed through.
func (c *Catalog) Resync(held map[store.Kind]map[string][]byte) []store.Op {
	v := c.View()
	mine := map[store.Kind]map[string][]byte{}
	add := func(op *Op) {
		so := storeOp(op)
		if mine[so.Kind] == nil {
			mine[so.Kind] = map[string][]byte{}
		}
		mine[so.Kind][so.Key] = so.Value
	}
	for id, z := range v.Stored.Zones {
		add(&Op{Kind: ZoneKind, ID: id, ZoneSpec: z})
	}
	for id, e := range v.Stored.Edges {
		add(&Op{Kind: EdgeKind, ID: id, Edge: e})
	}
	for id, p := range v.Stored.Pools {
		add(&Op{Kind: PoolKind, ID: id, Pool: p})
	}
	for id, o := range v.Stored.Overrides {
		add(&Op{Kind: OverrideKind, ID: id, Override: o})
	}
	for id, h := range v.Stored.HealthChecks {
		add(&Op{Kind: HealthCheckKind, ID: id, HealthCheck: h})
	}
	for id, cc := range v.Stored.CidrCollections {
		add(&Op{Kind: CidrCollectionKind, ID: id, CidrCollection: cc})
	}
	var ops []store.Op
	for _, kind := range store.Kinds {
		have, want := mine[kind], held[kind]
		if kind == store.Names {
			// Bindings do not keep the value they were made from: every stored name is put again.
			c.names.Range(func(b *route.Binding) bool {
				if b.Source == route.FromAPI {
					if _, ok := want[store.NameKey(b.Name)]; !ok {
						ops = append(ops, store.Op{Kind: kind, Key: store.NameKey(b.Name), Delete: true})
					}
				}
				return true
			})
			have = nil
		}
		for _, key := range slices.Sorted(maps.Keys(have)) {
			if _, ok := want[key]; !ok {
				ops = append(ops, store.Op{Kind: kind, Key: key, Delete: true})
			}
		}
		for _, key := range slices.Sorted(maps.Keys(want)) {
			if old, ok := have[key]; !ok || !bytes.Equal(old, want[key]) {
				ops = append(ops, store.Op{Kind: kind, Key: key, Value: want[key]})
			}
		}
	}
	return ops
}
