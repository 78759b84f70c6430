// Package catalog owns what the appliance serves: zones, edges, pools, names (routed, pinned,
// static records) and operators' overrides. Every front door (the native API, Route 53's API,
// DNS UPDATE, the console) changes them through one Change: validated against the current state
// plus the change itself, committed to the store as one transaction, then applied to memory by
// Apply, the same function the store's change stream feeds on every other node. Errors are
// typed (Error); each front door maps them to its own protocol. No CoreDNS or HTTP types here.
package catalog

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync/atomic"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/miekg/dns"
)

// Base is what the files say: the config file's edges, pools and names, and the zone files'
// origins and data. Objects the store holds are laid over it: where both define an id, the
// store's wins.
type Base struct {
	Config     *model.Config // decoded and normalized
	ConfigPath string        // for messages: where to change what it defines
	Zones      []string      // the zone files' origins
	// Static says what the zone files hold at name, a name in one of their zones: the types of
	// its records (the apex's SOA and NS among them; none where the files hold no records), and
	// the delegation at or above it (the highest name below the apex with NS records), or "".
	// Nil: the files hold nothing a name must give way to.
	Static func(name string) (types []uint16, cut string)
}

// Objects are the zones, edges, pools and overrides kept in the store. Read only once published.
type Objects struct {
	Zones     map[string]model.Zone
	Edges     map[string]model.Edge
	Pools     map[string]model.Pool
	Overrides map[string]string // edge id -> up, down, auto
	// Route 53's health checks and CIDR collections, by id.
	HealthChecks    map[string]model.HealthCheck
	CidrCollections map[string]model.CidrCollection
}

// NewObjects returns empty Objects.
func NewObjects() Objects {
	return Objects{Zones: map[string]model.Zone{}, Edges: map[string]model.Edge{}, Pools: map[string]model.Pool{}, Overrides: map[string]string{},
		HealthChecks: map[string]model.HealthCheck{}, CidrCollections: map[string]model.CidrCollection{}}
}

func (o Objects) clone() Objects {
	return Objects{Zones: maps.Clone(o.Zones), Edges: maps.Clone(o.Edges), Pools: maps.Clone(o.Pools), Overrides: maps.Clone(o.Overrides),
		HealthChecks: maps.Clone(o.HealthChecks), CidrCollections: maps.Clone(o.CidrCollections)}
}

// View is one published state: the revision applied, the files, the stored objects and the
// table compiled from both. Names are not in it: they live in the shared index (Names).
// Immutable.
type View struct {
	Rev    int64
	Base   *Base
	Stored Objects
	// Merged is the config file's edges and pools with the stored ones on top and the
	// overrides applied; Names is the config file's.
	Merged *model.Config
	Table  *route.Table
	Zones  []string        // every origin served, sorted
	zones  map[string]bool // origin -> defined by a zone file
}

// ZoneOf returns the origin of the zone that holds name (lower case, fully qualified), or "".
// It walks name's labels from the left, so the first origin found is the longest.
func (v *View) ZoneOf(name string) string {
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if _, ok := v.zones[name[off:]]; ok {
			return name[off:]
		}
	}
	if _, ok := v.zones["."]; ok {
		return "."
	}
	return ""
}

// Zone reports whether origin is served, and whether a zone file defines it.
func (v *View) Zone(origin string) (served, inFile bool) {
	inFile, served = v.zones[origin]
	return served, inFile
}

// Source says whether the store or the config file defines an edge or pool.
func (v *View) Source(k Kind, id string) route.Source {
	var stored bool
	switch k {
	case EdgeKind:
		_, stored = v.Stored.Edges[id]
	case PoolKind:
		_, stored = v.Stored.Pools[id]
	case ZoneKind:
		_, stored = v.Stored.Zones[id]
	}
	if stored {
		return route.FromAPI
	}
	return route.FromConfig
}

// Catalog is the objects served and the one way to change them. Readers use View and Names
// lock-free; writers (Prepare, Apply, SetBase, Start, LoadName) must not run concurrently.
type Catalog struct {
	names    *route.Names
	view     atomic.Pointer[View]
	cfgNames map[string]*route.Binding // the config file's names as bound; served unless stored ones replace them
}

// New returns a catalog over the names index (empty, or presized for a store's names).
func New(names *route.Names) *Catalog {
	return &Catalog{names: names, cfgNames: map[string]*route.Binding{}}
}

// View returns the state published last; nil before Start.
func (c *Catalog) View() *View { return c.view.Load() }

// Names is the index of every name served: the config file's and the store's.
func (c *Catalog) Names() *route.Names { return c.names }

// compile builds the view of base with stored objects laid over it, its table keeping prev's
// edge slots. Errors name fields as the config file does (edges.ID.field).
func compile(base *Base, stored Objects, prev *View, rev int64) (*View, error) {
	cfg := base.Config
	m := &model.Config{Edges: maps.Clone(cfg.Edges), Pools: maps.Clone(cfg.Pools), Names: cfg.Names, RTT: cfg.RTT, Defaults: cfg.Defaults}
	if m.Edges == nil {
		m.Edges = map[string]model.Edge{}
	}
	if m.Pools == nil {
		m.Pools = map[string]model.Pool{}
	}
	maps.Copy(m.Edges, stored.Edges)
	maps.Copy(m.Pools, stored.Pools)
	for id, state := range stored.Overrides {
		if e, ok := m.Edges[id]; ok {
			e.Override = state
			m.Edges[id] = e
		}
	}
	// Names are checked one by one where they are bound; the rest as a whole.
	check := *m
	check.Names = nil
	if err := check.Validate(); err != nil {
		return nil, err
	}
	var prevTable *route.Table
	if prev != nil {
		prevTable = prev.Table
	}
	t, err := route.Compile(m, prevTable)
	if err != nil {
		return nil, err
	}
	v := &View{Rev: rev, Base: base, Stored: stored, Merged: m, Table: t}
	v.zones, v.Zones = zoneSet(base, stored)
	return v, nil
}

// zoneSet is every origin served, whether a zone file defines it, and the origins sorted.
func zoneSet(base *Base, stored Objects) (map[string]bool, []string) {
	zones := map[string]bool{}
	for _, z := range base.Zones {
		zones[z] = true
	}
	for z := range stored.Zones {
		if _, inFile := zones[z]; !inFile {
			zones[z] = false
		}
	}
	return zones, slices.Sorted(maps.Keys(zones))
}

// update is compile for a change of the edges and pools whose ids are in edges and pools (put,
// deleted, or an edge's override), each validated alone already: its cost follows the change.
func update(v *View, stored Objects, edges, pools map[string]bool) (*View, error) {
	cfg := v.Base.Config
	m := &model.Config{Edges: maps.Clone(v.Merged.Edges), Pools: maps.Clone(v.Merged.Pools), Names: cfg.Names, RTT: cfg.RTT, Defaults: cfg.Defaults}
	for id := range edges {
		e, ok := stored.Edges[id]
		if !ok {
			e, ok = cfg.Edges[id]
		}
		if !ok {
			delete(m.Edges, id)
			continue
		}
		if state, ok := stored.Overrides[id]; ok {
			e.Override = state
		}
		m.Edges[id] = e
	}
	for id := range pools {
		p, ok := stored.Pools[id]
		if !ok {
			p, ok = cfg.Pools[id]
		}
		if !ok {
			delete(m.Pools, id)
			continue
		}
		m.Pools[id] = p
	}
	if len(pools) > 0 {
		if err := m.CheckCycles(); err != nil {
			return nil, err
		}
	}
	t, err := route.Update(v.Table, m, edges, pools)
	if err != nil {
		return nil, err
	}
	nv := &View{Rev: v.Rev, Base: v.Base, Stored: stored, Merged: m, Table: t, zones: v.zones, Zones: v.Zones}
	if !sameKeys(stored.Zones, v.Stored.Zones) {
		nv.zones, nv.Zones = zoneSet(v.Base, stored)
	}
	return nv, nil
}

// sameKeys reports whether a and b hold the same zones (what they say of them aside).
func sameKeys(a, b map[string]model.Zone) bool {
	return maps.EqualFunc(a, b, func(model.Zone, model.Zone) bool { return true })
}

// Delta says what applying a change changed besides names, for what the caller keeps beside
// the catalog (the RTT matrix, the health checker's targets, the zones' DNS data).
type Delta struct {
	Old, New *View
	// Table: edges, pools or overrides changed; New.Table is another table.
	Table bool
	// Edges: the set of edges or their addresses, locations, checks or overrides changed.
	Edges bool
	// Moved lists edges that stayed but whose location changed: estimates of them change.
	Moved []string
	// Zones: the set of zones changed.
	Zones bool
}

func delta(old, nv *View) Delta {
	d := Delta{Old: old, New: nv}
	if old == nil {
		return Delta{New: nv, Table: true, Edges: true, Zones: true}
	}
	d.Table = old.Table != nv.Table
	d.Zones = !slices.Equal(old.Zones, nv.Zones)
	if !d.Table {
		return d
	}
	if len(old.Table.Edges) != len(nv.Table.Edges) {
		d.Edges = true
	}
	for _, e := range nv.Table.Edges {
		o := old.Table.Edge(e.ID)
		if o == e {
			continue // shared: unchanged
		}
		if o == nil {
			d.Edges = true
			continue
		}
		if o.Point != e.Point || o.HasPoint != e.HasPoint {
			d.Moved = append(d.Moved, e.ID)
		}
		if !slices.Equal(o.V4, e.V4) || !slices.Equal(o.V6, e.V6) || o.Point != e.Point || o.Override != e.Override || !sameChecks(o.Spec, e.Spec) {
			d.Edges = true
		}
	}
	return d
}

func sameChecks(a, b model.Edge) bool {
	return a.HealthRule == b.HealthRule && reflect.DeepEqual(a.Checks, b.Checks)
}

// Start publishes the first view: base with the stored objects (as loaded from the store at
// revision rev) laid over it, and binds the config file's names. Stored names come after, one
// by one (LoadName), as they are bound against this view's table.
func (c *Catalog) Start(base *Base, stored Objects, rev int64) error {
	v, err := compile(base, stored, nil, rev)
	if err != nil {
		return err
	}
	binds, err := bindConfigNames(v)
	if err != nil {
		return err
	}
	c.view.Store(v)
	c.cfgNames = binds
	for _, b := range binds {
		c.names.Put(b)
	}
	return nil
}

// LoadName binds a name kept in the store against the view published, at start-up.
func (c *Catalog) LoadName(name string, spec model.Name) error {
	v := c.View()
	zone := v.ZoneOf(name)
	if zone == "" {
		return fmt.Errorf("%s is not inside a zone served here", name)
	}
	if e := v.checkPlacement(name, zone, spec); e != nil {
		return e
	}
	b, err := v.Table.Bind(name, zone, spec, route.FromAPI)
	if err != nil {
		return err
	}
	c.names.Put(b)
	return nil
}

// bindConfigNames binds the config file's names against v.
func bindConfigNames(v *View) (map[string]*route.Binding, error) {
	var es model.Errors
	cfg := v.Base.Config
	binds := make(map[string]*route.Binding, len(cfg.Names))
	for _, name := range slices.Sorted(maps.Keys(cfg.Names)) {
		field := fmt.Sprintf("names[%q]", name)
		zone := v.ZoneOf(name)
		if zone == "" {
			es = append(es, &model.FieldError{Code: model.CodeForbidden, Field: field, Message: fmt.Sprintf("%s is not inside a zone served here (%v)", name, v.Zones)})
			continue
		}
		spec := cfg.Names[name]
		if err := spec.Validate(name, zone, v.hasEdge, v.hasPool); err != nil {
			for _, fe := range asFieldErrors(err) {
				es = append(es, prefixed(fe, field))
			}
			continue
		}
		if e := v.checkPlacement(name, zone, spec); e != nil {
			es = append(es, &model.FieldError{Code: e.Code, Field: model.JoinPath(field, e.Field), Message: e.Message})
			continue
		}
		b, err := v.Table.Bind(name, zone, spec, route.FromConfig)
		if err != nil {
			// CheckDetection names the name itself.
			if fe, ok := model.AsFieldError(err); ok && fe.Field == field {
				es = append(es, fe)
			} else {
				for _, fe := range asFieldErrors(err) {
					es = append(es, prefixed(fe, field))
				}
			}
			continue
		}
		binds[name] = b
	}
	return binds, es.Err()
}

func asFieldErrors(err error) []*model.FieldError {
	var es model.Errors
	if fe, ok := err.(*model.FieldError); ok {
		return []*model.FieldError{fe}
	}
	if e, ok := err.(model.Errors); ok {
		es = e
	}
	if len(es) == 0 {
		return []*model.FieldError{{Code: model.CodeInvalid, Message: err.Error()}}
	}
	return es
}

func prefixed(fe *model.FieldError, path string) *model.FieldError {
	p, _ := model.AsFieldError(model.Prefix(fe, path))
	return p
}

func (v *View) hasEdge(id string) bool { return v.Table.Edge(id) != nil }
func (v *View) hasPool(id string) bool { return v.Table.Pool(id) != nil }

// SetBase publishes what the files say now (they changed), with the stored objects laid over
// them. Stored names keep their bindings; a change of the files that would take away an edge or
// pool that stored names use is refused, and the previous state keeps serving.
//
// publish is called as in Apply, with the names the files no longer define still served.
func (c *Catalog) SetBase(base *Base, publish func(Delta) error) error {
	old := c.View()
	v, err := compile(base, old.Stored, old, old.Rev)
	if err != nil {
		return err
	}
	binds, err := bindConfigNames(v)
	if err != nil {
		return err
	}
	if err := c.checkStoredUses(v, binds); err != nil {
		return err
	}
	if err := c.checkStoredPlacement(v); err != nil {
		return err
	}
	c.view.Store(v)
	if err := publish(delta(old, v)); err != nil {
		c.view.Store(old)
		return err
	}
	for name, b := range binds {
		if cur := c.names.Get(name); cur == nil || cur.Source == route.FromConfig {
			c.names.Put(b)
		}
	}
	for name := range c.cfgNames {
		if _, still := binds[name]; !still {
			if cur := c.names.Get(name); cur != nil && cur.Source == route.FromConfig {
				c.names.Delete(name)
			}
		}
	}
	c.cfgNames = binds
	return nil
}

// checkStoredUses checks that v still has every edge and pool that stored names use, and that
// their pools still notice a dead edge within their TTL.
func (c *Catalog) checkStoredUses(v *View, cfgBinds map[string]*route.Binding) error {
	var es model.Errors
	for _, kind := range []string{"edge", "pool"} {
		for _, id := range c.names.UsedIDs(kind) {
			stored := c.names.Uses(kind, id) - c.cfgUses(kind, id)
			if stored <= 0 {
				continue
			}
			switch {
			case kind == "edge" && v.Table.Edge(id) == nil, kind == "pool" && v.Table.Pool(id) == nil:
				es = append(es, &model.FieldError{Code: model.CodeConflict, Field: kind + "s." + id,
					Message: fmt.Sprintf("%s %s is gone, but %d names set through the API use it (%v)", kind, id, stored, c.names.Users(kind, id, 3))})
			case kind == "pool":
				if v.Table.CheckDetection(id, "") != nil {
					es = append(es, asFieldErrors(v.Table.CheckDetection(id, c.firstUser(kind, id)))...)
				}
			}
		}
	}
	return es.Err()
}

// checkStoredPlacement checks the names set through the API against the zone files as v has
// them, as a restart would: each is still inside a zone served here, the same one, and where a
// zone file defines that zone, nothing the file now holds keeps it from being served as written
// (checkPlacement: a CNAME beside it, a delegation above it). The first few that fail are named.
func (c *Catalog) checkStoredPlacement(v *View) error {
	old := c.View()
	var es model.Errors
	c.names.Range(func(b *route.Binding) bool {
		if b.Source != route.FromAPI {
			return true
		}
		field := fmt.Sprintf("names[%q]", b.Name)
		zone, was := v.ZoneOf(b.Name), old.ZoneOf(b.Name)
		switch {
		case zone == "":
			es = append(es, &model.FieldError{Code: model.CodeConflict, Field: field, Message: fmt.Sprintf("%s was set through the API in zone %s, which is no longer served: delete the name first", b.Name, was)})
		case zone != was:
			es = append(es, &model.FieldError{Code: model.CodeConflict, Field: field, Message: fmt.Sprintf("%s was set through the API in zone %s, and would now be in zone %s: delete the name first", b.Name, was, zone)})
		case v.zones[zone]:
			spec := model.Name{Pool: b.Pool, Edge: b.Edge}
			for t := range b.Records {
				spec.Records = append(spec.Records, model.Record{Type: dns.TypeToString[t]})
			}
			if e := v.checkPlacement(b.Name, zone, spec); e != nil {
				es = append(es, &model.FieldError{Code: e.Code, Field: field, Message: e.Message + " (the name was set through the API: delete or change it first)"})
			}
		}
		return len(es) < 5
	})
	return es.Err()
}

// cfgUses is how many of the config file's bindings now served use the edge or pool id.
func (c *Catalog) cfgUses(kind, id string) int {
	n := 0
	for _, b := range c.cfgNames {
		if (kind == "edge" && b.Edge == id) || (kind == "pool" && b.Pool == id) {
			if c.names.Get(b.Name) == b {
				n++
			}
		}
	}
	return n
}

// firstUser names one name that uses the edge or pool id (a scan: for error messages only).
func (c *Catalog) firstUser(kind, id string) string {
	if u := c.names.Users(kind, id, 1); len(u) > 0 {
		return u[0]
	}
	return ""
}
