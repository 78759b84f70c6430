package georoute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/config"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// objects are the edges, pools and overrides written through the API and kept in the store.
// Where the config file defines the same id, the API's object wins.
type objects struct {
	edges     map[string]model.Edge
	pools     map[string]model.Pool
	overrides map[string]string // edge id -> up, down, auto
}

func newObjects() objects {
	return objects{edges: map[string]model.Edge{}, pools: map[string]model.Pool{}, overrides: map[string]string{}}
}

func (o objects) clone() objects {
	return objects{edges: maps.Clone(o.edges), pools: maps.Clone(o.pools), overrides: maps.Clone(o.overrides)}
}

// merge is the config file's edges, pools and names with the API's edges and pools on top and
// the operators' overrides applied.
func merge(cfg *model.Config, o objects) *model.Config {
	m := &model.Config{Edges: maps.Clone(cfg.Edges), Pools: maps.Clone(cfg.Pools), Names: cfg.Names, RTT: cfg.RTT, Defaults: cfg.Defaults}
	if m.Edges == nil {
		m.Edges = map[string]model.Edge{}
	}
	if m.Pools == nil {
		m.Pools = map[string]model.Pool{}
	}
	maps.Copy(m.Edges, o.edges)
	maps.Copy(m.Pools, o.pools)
	for id, state := range o.overrides {
		if e, ok := m.Edges[id]; ok {
			e.Override = state
			m.Edges[id] = e
		}
	}
	return m
}

// compiled is a state ready to publish, with the config file's names bound against it.
type compiled struct {
	st       *state
	cfgNames map[string]*route.Binding
}

// compile validates the config file merged with the API's objects, compiles the table, binds the
// config's names and checks that every name the API bound still has its edge or pool. Nothing
// changes until publish. g.writeMu is held.
func (g *GeoRoute) compile(f *files, o objects) (*compiled, error) {
	m := merge(f.cfg, o)
	if err := m.Validate(); err != nil {
		return nil, g.inConfig(err)
	}
	t, err := route.Compile(m)
	if err != nil {
		return nil, g.inConfig(err)
	}
	var es model.Errors
	cfgNames := make(map[string]*route.Binding, len(f.cfg.Names))
	for _, name := range slices.Sorted(maps.Keys(f.cfg.Names)) {
		field := fmt.Sprintf("names[%q]", name)
		if f.zoneOf(name) == "" {
			es = append(es, &model.FieldError{Code: model.CodeForbidden, Field: field, Message: fmt.Sprintf("%s is not inside a zone served here (%s)", name, strings.Join(f.origins, ", "))})
			continue
		}
		b, err := t.Bind(name, f.cfg.Names[name], route.FromConfig)
		if err == nil && b.Pool != "" {
			err = t.CheckDetection(b.Pool, name)
		}
		if err != nil {
			if strings.HasPrefix(err.Error(), "names[") { // CheckDetection names the name itself
				field = ""
			}
			fe, ok := model.AsFieldError(model.Prefix(err, field))
			if !ok {
				fe = &model.FieldError{Code: model.CodeInvalid, Field: field, Message: err.Error()}
			}
			es = append(es, fe)
			continue
		}
		cfgNames[name] = b
	}
	if err := es.Err(); err != nil {
		return nil, g.inConfig(err)
	}
	if err := g.checkAPINames(t); err != nil {
		return nil, err
	}
	g.rtts.ReplaceFiles(f.csv)
	gen := g.rtts.Generation()
	return &compiled{st: &state{files: f, table: t, api: o.clone(), matrix: compileMatrix(f, t, g.rtts), rttGen: gen}, cfgNames: cfgNames}, nil
}

// checkAPINames checks that t still has every edge and pool that names bound through the API use,
// and that their pools still notice a dead edge within their TTL.
func (g *GeoRoute) checkAPINames(t *route.Table) error {
	var es model.Errors
	for _, kind := range []string{"edge", "pool"} {
		for _, id := range g.apiUses(kind) {
			users := g.apiUsers(kind, id, 3)
			switch {
			case kind == "edge" && t.Edge(id) == nil, kind == "pool" && t.Pool(id) == nil:
				es = append(es, &model.FieldError{Code: model.CodeConflict, Field: kind + "s." + id,
					Message: fmt.Sprintf("%s %s is gone, but names set through the API use it (%s)", kind, id, strings.Join(users, ", "))})
			case kind == "pool" && len(users) > 0:
				if err := t.CheckDetection(id, users[0]); err != nil {
					es = append(es, err.(*model.FieldError))
				}
			}
		}
	}
	return es.Err()
}

// apiUses lists the edge or pool ids that names bound through the API use.
func (g *GeoRoute) apiUses(kind string) []string {
	var ids []string
	seen := map[string]bool{}
	for _, id := range g.names.UsedIDs(kind) {
		if !seen[id] && g.names.Uses(kind, id) > g.cfgUses(kind, id) {
			ids = append(ids, id)
		}
		seen[id] = true
	}
	return ids
}

// cfgUses is how many of the config file's bindings now served use the edge or pool id.
func (g *GeoRoute) cfgUses(kind, id string) int {
	n := 0
	for _, b := range g.cfgNames {
		if cur := g.names.Get(b.Name); cur == b && ((kind == "edge" && b.Edge == id) || (kind == "pool" && b.Pool == id)) {
			n++
		}
	}
	return n
}

func (g *GeoRoute) apiUsers(kind, id string, max int) []string {
	var out []string
	g.names.Range(func(b *route.Binding) bool {
		if b.Source == route.FromAPI && ((kind == "edge" && b.Edge == id) || (kind == "pool" && b.Pool == id)) {
			out = append(out, b.Name)
		}
		return len(out) < max
	})
	slices.Sort(out)
	return out
}

// publish makes c the state queries read, has the prober follow its edges, and brings the config
// file's names in line (a name the API bound wins). g.writeMu is held.
func (g *GeoRoute) publish(c *compiled) {
	publish(c.st)
	if g.prober != nil {
		// Checks start before the state that names their edges is served: a new edge is
		// unknown (not up) rather than unchecked.
		g.prober.Track(c.st.table.Edges)
	}
	g.state.Store(c.st)
	for name, b := range c.cfgNames {
		if cur := g.names.Get(name); cur == nil || cur.Source == route.FromConfig {
			g.names.Put(b)
		}
	}
	for name := range g.cfgNames {
		if _, still := c.cfgNames[name]; !still {
			if cur := g.names.Get(name); cur != nil && cur.Source == route.FromConfig {
				g.names.Delete(name)
			}
		}
	}
	g.cfgNames = c.cfgNames
	objectsGauge(c.st, g.names.Len())
}

// inConfig says which file a merged-config error is in.
func (g *GeoRoute) inConfig(err error) error {
	if g.in.config == "" {
		return err
	}
	return config.InFile(g.in.config, err)
}

// loadStore reads the API's objects and RTT reports from the store; names come after the first
// publish (loadNames), as they are bound against the table.
func (g *GeoRoute) loadStore() error {
	o := newObjects()
	err := g.db.Load(store.Edges, func(k string, v []byte) error {
		var e model.Edge
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("store: edge %s: %v", k, err)
		}
		o.edges[k] = e
		return nil
	})
	if err == nil {
		err = g.db.Load(store.Pools, func(k string, v []byte) error {
			var p model.Pool
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("store: pool %s: %v", k, err)
			}
			o.pools[k] = p
			return nil
		})
	}
	if err == nil {
		err = g.db.Load(store.Overrides, func(k string, v []byte) error {
			o.overrides[k] = string(v)
			return nil
		})
	}
	if err == nil {
		err = g.db.Load(store.RTT, func(k string, v []byte) error {
			m, err := decodeMeasurement(v)
			if err != nil {
				return fmt.Errorf("store: rtt %s: %v", k, err)
			}
			g.rtts.Put(m)
			return nil
		})
	}
	if err != nil {
		return err
	}
	g.api = o
	return nil
}

// loadNames binds the names kept in the store. A name whose edge or pool is gone (the config file
// changed while the server was down) is logged and not served; it stays in the store.
func (g *GeoRoute) loadNames() error {
	st := g.state.Load()
	lost := 0
	err := g.db.Load(store.Names, func(k string, v []byte) error {
		spec, err := decodeName(v)
		if err != nil {
			return fmt.Errorf("store: name %s: %v", store.KeyName(k), err)
		}
		name := store.KeyName(k)
		b, err := st.table.Bind(name, spec, route.FromAPI)
		if err != nil {
			if lost++; lost <= 10 {
				log.Errorf("name %s in the store is not served: %v", name, err)
			}
			return nil
		}
		g.names.Put(b)
		return nil
	})
	if lost > 10 {
		log.Errorf("%d names in the store are not served", lost)
	}
	return err
}

// decodeName reads a name as the committer stores it. A pinned name, {"edge":"ID"} with an optional
// "ttl", is most of a large store and is read without encoding/json; anything else goes through it.
func decodeName(v []byte) (model.Name, error) {
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
