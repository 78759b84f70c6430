package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// ZonesKind is where zones created at run time are kept.
const ZonesKind = store.Zones

// storeKind is where objects of kind k are kept.
func storeKind(k Kind) store.Kind {
	switch k {
	case ZoneKind:
		return ZonesKind
	case EdgeKind:
		return store.Edges
	case PoolKind:
		return store.Pools
	case OverrideKind:
		return store.Overrides
	case HealthCheckKind:
		return store.HealthChecks
	case CidrCollectionKind:
		return store.CidrCollections
	}
	return store.Names
}

// kindOf is the catalog kind kept as k; ok is false for what the catalog does not hold (RTT).
func kindOf(k store.Kind) (Kind, bool) {
	switch k {
	case ZonesKind:
		return ZoneKind, true
	case store.Edges:
		return EdgeKind, true
	case store.Pools:
		return PoolKind, true
	case store.Overrides:
		return OverrideKind, true
	case store.Names:
		return NameKind, true
	case store.HealthChecks:
		return HealthCheckKind, true
	case store.CidrCollections:
		return CidrCollectionKind, true
	}
	return 0, false
}

// storeOp is the store's form of a validated op.
func storeOp(op *Op) store.Op {
	k := storeKind(op.Kind)
	key := op.ID
	if op.Kind == NameKind {
		key = store.NameKey(op.ID)
	}
	if op.Delete {
		return store.Op{Kind: k, Key: key, Delete: true}
	}
	var v []byte
	switch op.Kind {
	case ZoneKind:
		v, _ = json.Marshal(op.ZoneSpec)
	case EdgeKind:
		v, _ = json.Marshal(op.Edge)
	case PoolKind:
		v, _ = json.Marshal(op.Pool)
	case OverrideKind:
		v = []byte(op.Override)
	case NameKind:
		v, _ = json.Marshal(op.Name)
	case HealthCheckKind:
		v, _ = json.Marshal(op.HealthCheck)
	case CidrCollectionKind:
		v, _ = json.Marshal(op.CidrCollection)
	}
	return store.Op{Kind: k, Key: key, Value: v}
}

// opOf decodes a committed store op of a catalog kind.
func opOf(kind Kind, so store.Op) (Op, error) {
	op := Op{Kind: kind, ID: so.Key, Delete: so.Delete}
	if kind == NameKind {
		op.ID = store.KeyName(so.Key)
	}
	if so.Delete {
		return op, nil
	}
	var err error
	switch kind {
	case ZoneKind:
		err = json.Unmarshal(so.Value, &op.ZoneSpec)
	case EdgeKind:
		err = json.Unmarshal(so.Value, &op.Edge)
	case PoolKind:
		err = json.Unmarshal(so.Value, &op.Pool)
	case OverrideKind:
		op.Override = string(so.Value)
	case NameKind:
		op.Name, err = DecodeName(so.Value)
	case HealthCheckKind:
		err = json.Unmarshal(so.Value, &op.HealthCheck)
	case CidrCollectionKind:
		err = json.Unmarshal(so.Value, &op.CidrCollection)
	}
	if err != nil {
		return op, fmt.Errorf("store: %s %s: %v", kind, op.ID, err)
	}
	return op, nil
}

// DecodeName reads a name as the store keeps it. A pinned name, {"edge":"ID"} with an optional
// "ttl", is most of a large store and is read without encoding/json; anything else goes through it.
func DecodeName(v []byte) (model.Name, error) {
	if rest, ok := bytes.CutPrefix(v, []byte(`{"edge":"`)); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 && model.ValidID(string(rest[:i])) {
			n := model.Name{Edge: string(rest[:i])}
			rest = rest[i+1:]
			if bytes.Equal(rest, []byte("}")) {
				return n, nil
			}
			if digits, ok := bytes.CutPrefix(rest, []byte(`,"ttl":`)); ok {
				if d, ok := bytes.CutSuffix(digits, []byte("}")); ok {
					if ttl, err := strconv.ParseUint(string(d), 10, 32); err == nil {
						n.TTL = uint32(ttl)
						return n, nil
					}
				}
			}
		}
	}
	var n model.Name
	err := json.Unmarshal(v, &n)
	return n, err
}

// LoadObject adds a zone, edge, pool or override read from the store to objs, at start-up.
func LoadObject(objs *Objects, sk store.Kind, key string, v []byte) error {
	k, ok := kindOf(sk)
	if !ok || k == NameKind {
		return fmt.Errorf("store: %s %s is not an object the catalog loads here", sk, key)
	}
	op, err := opOf(k, store.Op{Kind: sk, Key: key, Value: v})
	if err != nil {
		return err
	}
	switch k {
	case ZoneKind:
		objs.Zones[op.ID] = op.ZoneSpec
	case EdgeKind:
		objs.Edges[op.ID] = op.Edge
	case PoolKind:
		objs.Pools[op.ID] = op.Pool
	case OverrideKind:
		objs.Overrides[op.ID] = op.Override
	case HealthCheckKind:
		objs.HealthChecks[op.ID] = op.HealthCheck
	case CidrCollectionKind:
		objs.CidrCollections[op.ID] = op.CidrCollection
	}
	return nil
}
