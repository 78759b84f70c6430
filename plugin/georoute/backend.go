package georoute

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// backend is the API's view of the plugin: reads come from the published state, writes go
// through the committer.
type backend struct{ g *GeoRoute }

var _ api.Backend = backend{}

// prober status: what the API shows of an edge's health and the appliance's own RTT to it;
// healthprobe provides both.
type proberStatus interface {
	EdgeStatus(id string) (any, bool)
	ProbeRTT(id string) (time.Duration, time.Time, bool)
}

func (b backend) Zones() []string { return slices.Clone(b.g.state.Load().origins) }

func (b backend) edgeView(st *state, id string) (api.Edge, bool) {
	m := merge(st.cfg, st.api)
	spec, ok := m.Edges[id]
	if !ok {
		return api.Edge{}, false
	}
	e := api.Edge{ID: id, Edge: spec, Source: source(st.api.edges, id)}
	if s, ok := b.g.prober.(proberStatus); ok {
		if h, ok := s.EdgeStatus(id); ok {
			e.Health = h
		}
	}
	if e.Health == nil {
		e.Health = map[string]string{"state": "up", "reason": "no health checker"}
	}
	return e, true
}

func source[V any](api map[string]V, id string) string {
	if _, ok := api[id]; ok {
		return route.FromAPI.String()
	}
	return route.FromConfig.String()
}

func (b backend) Edges() []api.Edge {
	st := b.g.state.Load()
	m := merge(st.cfg, st.api)
	out := []api.Edge{}
	for _, id := range slices.Sorted(maps.Keys(m.Edges)) {
		e, _ := b.edgeView(st, id)
		out = append(out, e)
	}
	return out
}

func (b backend) Edge(id string) (api.Edge, bool) {
	return b.edgeView(b.g.state.Load(), strings.ToLower(id))
}

func (b backend) PutEdge(id string, spec model.Edge) (bool, error) {
	spec.Normalize()
	if err := spec.Validate(id); err != nil {
		return false, err
	}
	val, _ := json.Marshal(spec)
	_, existed := b.Edge(id)
	return !existed, b.g.submit(&writeReq{objects: func(o *objects) error {
		o.edges[id] = spec
		return nil
	}, ops: []store.Op{{Kind: store.Edges, Key: id, Value: val}}})
}

func (b backend) DeleteEdge(id string) error {
	return b.g.submit(&writeReq{objects: func(o *objects) error {
		st := b.g.state.Load()
		_, inAPI := o.edges[id]
		_, inCfg := st.cfg.Edges[id]
		switch {
		case !inAPI && inCfg:
			return api.Conflict("in_config", "edge %s is defined in the config file %s: remove it there", id, b.g.in.config)
		case !inAPI:
			return api.NotFound("no edge %q", id)
		case !inCfg:
			if users := b.g.users("edge", id, merge(st.cfg, *o)); users != "" {
				return api.Conflict("in_use", "edge %s is in use: %s", id, users)
			}
		}
		delete(o.edges, id)
		return nil
	}, ops: []store.Op{{Kind: store.Edges, Key: id, Delete: true}}})
}

// users says which pools and names use the edge or pool id, for a 409.
func (g *GeoRoute) users(kind, id string, m *model.Config) string {
	var pools []string
	for pid, p := range m.Pools {
		refPools, refEdges := p.PoolRefs()
		if (kind == "edge" && slices.Contains(refEdges, id)) || (kind == "pool" && slices.Contains(refPools, id)) {
			pools = append(pools, pid)
		}
	}
	slices.Sort(pools)
	var parts []string
	if len(pools) > 0 {
		parts = append(parts, "pools "+strings.Join(pools, ", "))
	}
	if n := g.names.Uses(kind, id); n > 0 {
		parts = append(parts, fmt.Sprintf("%d names (%s)", n, strings.Join(g.names.Users(kind, id, 5), ", ")))
	}
	return strings.Join(parts, "; ")
}

func (b backend) SetOverride(id, state string) error {
	if _, ok := b.Edge(id); !ok {
		return api.NotFound("no edge %q", id)
	}
	return b.g.submit(&writeReq{objects: func(o *objects) error {
		o.overrides[id] = state
		return nil
	}, ops: []store.Op{{Kind: store.Overrides, Key: id, Value: []byte(state)}}})
}

func (b backend) poolView(st *state, id string) (api.Pool, bool) {
	m := merge(st.cfg, st.api)
	spec, ok := m.Pools[id]
	if !ok {
		return api.Pool{}, false
	}
	return api.Pool{ID: id, Pool: spec, Source: source(st.api.pools, id), UsedBy: b.g.names.Uses("pool", id)}, true
}

func (b backend) Pools() []api.Pool {
	st := b.g.state.Load()
	m := merge(st.cfg, st.api)
	out := []api.Pool{}
	for _, id := range slices.Sorted(maps.Keys(m.Pools)) {
		p, _ := b.poolView(st, id)
		out = append(out, p)
	}
	return out
}

func (b backend) Pool(id string) (api.Pool, bool) {
	return b.poolView(b.g.state.Load(), strings.ToLower(id))
}

func (b backend) PutPool(id string, spec model.Pool) (bool, error) {
	spec.Normalize()
	st := b.g.state.Load()
	m := merge(st.cfg, st.api)
	has := func(set string) func(string) bool {
		return func(x string) bool {
			if set == "edge" {
				_, ok := m.Edges[x]
				return ok
			}
			_, ok := m.Pools[x]
			return ok || x == id
		}
	}
	if err := spec.Validate(id, has("edge"), has("pool")); err != nil {
		return false, err
	}
	val, _ := json.Marshal(spec)
	_, existed := m.Pools[id]
	return !existed, b.g.submit(&writeReq{objects: func(o *objects) error {
		o.pools[id] = spec
		return nil
	}, ops: []store.Op{{Kind: store.Pools, Key: id, Value: val}}})
}

func (b backend) DeletePool(id string) error {
	return b.g.submit(&writeReq{objects: func(o *objects) error {
		st := b.g.state.Load()
		_, inAPI := o.pools[id]
		_, inCfg := st.cfg.Pools[id]
		switch {
		case !inAPI && inCfg:
			return api.Conflict("in_config", "pool %s is defined in the config file %s: remove it there", id, b.g.in.config)
		case !inAPI:
			return api.NotFound("no pool %q", id)
		case !inCfg:
			m := merge(st.cfg, *o)
			if users := b.g.users("pool", id, m); users != "" {
				return api.Conflict("in_use", "pool %s is in use: %s", id, users)
			}
		}
		delete(o.pools, id)
		return nil
	}, ops: []store.Op{{Kind: store.Pools, Key: id, Delete: true}}})
}

func (b backend) nameView(zone, name string) (api.Name, bool) {
	bd := b.g.names.Get(name)
	if bd == nil || !route.InZone(name, zone) {
		return api.Name{}, false
	}
	return api.Name{FQDN: name, Name: bd.Spec(), Source: bd.Source.String()}, true
}

func (b backend) Name(zone, name string) (api.Name, bool) { return b.nameView(zone, name) }

// Names pages through the names of zone in key order (labels reversed), merging the config
// file's names with those in the store; a name the API set wins.
func (b backend) Names(zone, after string, limit int) ([]api.Name, string, error) {
	st := b.g.state.Load()
	from := ""
	if after != "" {
		from = store.NameKey(after) + "\x00"
	}
	prefix := store.NameKey(zone)
	if zone == "." {
		prefix = ""
	}
	var cfgKeys []string
	for name := range st.cfg.Names {
		if k := store.NameKey(name); strings.HasPrefix(k, prefix) && k >= from && st.zoneOf(name) == zone {
			cfgKeys = append(cfgKeys, k)
		}
	}
	slices.Sort(cfgKeys)
	var out []api.Name
	next := ""
	add := func(k string) bool {
		name := store.KeyName(k)
		if st.zoneOf(name) != zone {
			return true // a name of a zone below this one
		}
		if len(out) == limit {
			next = out[len(out)-1].FQDN // there is more: the next page starts after the last one here
			return false
		}
		if v, ok := b.nameView(zone, name); ok {
			out = append(out, v)
		}
		return true
	}
	var err error
	if b.g.db != nil {
		err = b.g.db.Scan(store.Names, prefix, from, func(k string, _ []byte) bool {
			for len(cfgKeys) > 0 && cfgKeys[0] < k {
				if !add(cfgKeys[0]) {
					return false
				}
				cfgKeys = cfgKeys[1:]
			}
			if len(cfgKeys) > 0 && cfgKeys[0] == k {
				cfgKeys = cfgKeys[1:]
			}
			return add(k)
		})
	}
	for _, k := range cfgKeys {
		if next != "" || !add(k) {
			break
		}
	}
	return out, next, err
}

func (b backend) PutName(zone, name string, spec model.Name) (bool, error) {
	cur := b.g.names.Get(name)
	return cur == nil, b.g.submit(&writeReq{names: []nameChange{{zone: zone, name: name, spec: &spec}}})
}

func (b backend) DeleteName(zone, name string) error {
	return b.g.submit(&writeReq{names: []nameChange{{zone: zone, name: name}}})
}

func (b backend) Batch(zone string, put map[string]model.Name, del []string) error {
	r := &writeReq{}
	for _, name := range slices.Sorted(maps.Keys(put)) {
		spec := put[name]
		r.names = append(r.names, nameChange{zone: zone, name: name, spec: &spec, field: "put[" + strconv.Quote(name) + "]"})
	}
	for i, name := range del {
		r.names = append(r.names, nameChange{zone: zone, name: name, field: "delete[" + strconv.Itoa(i) + "]"})
	}
	return b.g.submit(r)
}

func (b backend) ReportRTT(reports []api.RTTReport) error {
	st := b.g.state.Load()
	r := &writeReq{}
	for i, rep := range reports {
		c, err := rtt.ParseClient(rep.Client)
		if err != nil {
			return api.Invalid(fmt.Sprintf("[%d].client", i), "%v", err)
		}
		edge := strings.ToLower(strings.TrimSpace(rep.Edge))
		if st.table.Edge(edge) == nil {
			return &model.FieldError{Code: model.CodeUnknown, Field: fmt.Sprintf("[%d].edge", i), Message: fmt.Sprintf("no edge %q", rep.Edge)}
		}
		if math.IsNaN(rep.Millis) || rep.Millis <= 0 || rep.Millis > rtt.MaxMillis {
			return api.Invalid(fmt.Sprintf("[%d].rtt_ms", i), "%v is not a round-trip time in milliseconds (0 < rtt_ms <= %d)", rep.Millis, rtt.MaxMillis)
		}
		r.rtts = append(r.rtts, rttReport{client: c, edge: edge, millis: rep.Millis})
	}
	return b.g.submit(r)
}
