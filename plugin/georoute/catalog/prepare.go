package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
)

// Stage is what the changes prepared before this one in a group of commits will do to names,
// so that a later change is checked against them. Changes of other objects are committed alone.
type Stage struct {
	names map[string]*route.Binding // nil: deleted
}

// NewStage returns an empty stage.
func NewStage() *Stage { return &Stage{names: map[string]*route.Binding{}} }

func (s *Stage) name(c *Catalog, name string) *route.Binding {
	if s != nil {
		if b, ok := s.names[name]; ok {
			return b
		}
	}
	return c.names.Get(name)
}

// Plan is a validated change: the store transaction that commits it and what Apply then does.
type Plan struct {
	Change *Change
	// Txn is the store transaction: its ops, and the revision and objects it was validated against.
	Txn store.Txn
	// Created says, per op, whether the object did not exist before (a front door's 201).
	Created []bool

	view  *View            // the view after the change when objects change; unpublished
	binds []*route.Binding // per op: a name's new binding (nil: deleted or not a name)
	cfg   []*route.Binding // per op: the config file's binding a deleted name falls back to
}

// Prepare validates ch against the published state plus what s stages (nil: nothing) plus ch
// itself. It changes nothing: commit p.Txn, then Apply. A change of zones, edges, pools or
// overrides must be prepared with an empty stage and committed alone.
func (c *Catalog) Prepare(ch *Change, s *Stage) (*Plan, error) {
	v := c.View()
	p := &Plan{Change: ch, Created: make([]bool, len(ch.Ops)), binds: make([]*route.Binding, len(ch.Ops)), cfg: make([]*route.Binding, len(ch.Ops))}
	// Validated against the earlier changes of the group too (s): the store counts them as
	// seen, as they commit first in the same Txns call.
	p.Txn.Cond.Rev = v.Rev
	if ch.Since > 0 && ch.Since < v.Rev {
		p.Txn.Cond.Rev = ch.Since
	}
	after := v
	if ch.objects() {
		nv, err := c.prepareObjects(v, ch, p)
		if err != nil {
			return nil, err
		}
		after = nv
		p.view = nv
	}
	if err := c.checkNames(v, ch, s, p); err != nil {
		return nil, err
	}
	if err := c.prepareNames(v, after, ch, s, p); err != nil {
		return nil, err
	}
	if p.view != nil {
		if err := c.checkInUse(v, p.view, ch, p); err != nil {
			return nil, err
		}
		if err := c.checkDetection(p.view, ch, p); err != nil {
			return nil, err
		}
	}
	for i := range ch.Ops {
		p.Txn.Ops = append(p.Txn.Ops, storeOp(&ch.Ops[i]))
	}
	if s != nil {
		for i, op := range ch.Ops {
			if op.Kind == NameKind {
				s.names[op.ID] = p.binds[i]
				if p.binds[i] == nil && p.cfg[i] != nil {
					s.names[op.ID] = p.cfg[i]
				}
			}
		}
	}
	return p, nil
}

// read adds what the change's validation looked at to its transaction's condition.
func (p *Plan) read(k store.Kind, key string, prefix bool) {
	p.Txn.Cond.Reads = append(p.Txn.Cond.Reads, store.Read{Kind: k, Key: key, Prefix: prefix})
}

// prepareObjects stages the zone, edge, pool and override ops of ch on the stored objects and
// compiles the view they make.
func (c *Catalog) prepareObjects(v *View, ch *Change, p *Plan) (*View, error) {
	o := v.Stored.clone()
	cfg := v.Base.Config
	shorthand := map[int]bool{} // pools written with edges: [...], which Normalize makes members
	for i := range ch.Ops {
		op := &ch.Ops[i]
		if op.Kind == NameKind {
			continue
		}
		if op.Kind != ZoneKind {
			op.ID = strings.ToLower(strings.TrimSpace(op.ID))
		}
		p.read(storeKind(op.Kind), op.ID, false)
		switch op.Kind {
		case ZoneKind:
			if err := c.stageZone(v, &o, op, i, p); err != nil {
				return nil, err
			}
		case EdgeKind:
			_, inStore := o.Edges[op.ID]
			_, inCfg := cfg.Edges[op.ID]
			if op.Delete {
				switch {
				case !inStore && inCfg:
					return nil, errorf(Conflict, CodeInConfig, op.Field, "edge %s is defined in the config file %s: remove it there", op.ID, v.Base.ConfigPath)
				case !inStore:
					return nil, errorf(NotFound, CodeNotFound, op.Field, "no edge %q", op.ID)
				}
				delete(o.Edges, op.ID)
				if !inCfg {
					delete(o.Overrides, op.ID) // a drain ends with its edge
				}
				p.read(store.Names, "", true) // nothing may have come to use it meanwhile
				continue
			}
			op.Edge.Normalize()
			if err := op.Edge.Validate(op.ID); err != nil {
				return nil, AsError(err, op.Field)
			}
			p.Created[i] = !inStore && !inCfg
			o.Edges[op.ID] = op.Edge
		case PoolKind:
			_, inStore := o.Pools[op.ID]
			_, inCfg := cfg.Pools[op.ID]
			if op.Delete {
				switch {
				case !inStore && inCfg:
					return nil, errorf(Conflict, CodeInConfig, op.Field, "pool %s is defined in the config file %s: remove it there", op.ID, v.Base.ConfigPath)
				case !inStore:
					return nil, errorf(NotFound, CodeNotFound, op.Field, "no pool %q", op.ID)
				}
				delete(o.Pools, op.ID)
				p.read(store.Names, "", true)
				continue
			}
			shorthand[i] = len(op.Pool.Edges) > 0 && len(op.Pool.Members) == 0
			op.Pool.Normalize()
			p.Created[i] = !inStore && !inCfg
			o.Pools[op.ID] = op.Pool
		case OverrideKind:
			switch op.Override {
			case OverrideUp, OverrideDown, OverrideAuto:
			default:
				return nil, errorf(Invalid, model.CodeInvalid, model.JoinPath(op.Field, "state"), "%q is not up, down or auto", op.Override)
			}
			if op.Delete {
				delete(o.Overrides, op.ID)
				continue
			}
			o.Overrides[op.ID] = op.Override
		case HealthCheckKind, CidrCollectionKind:
			if err := stageRoute53(&o, op, i, p); err != nil {
				return nil, err
			}
		}
	}
	// References, now that every op is staged: a pool may name an edge the same change adds.
	hasEdge := func(id string) bool { _, s := o.Edges[id]; _, f := cfg.Edges[id]; return s || f }
	hasPool := func(id string) bool { _, s := o.Pools[id]; _, f := cfg.Pools[id]; return s || f }
	for i := range ch.Ops {
		op := &ch.Ops[i]
		switch {
		case op.Kind == PoolKind && !op.Delete:
			if err := op.Pool.Validate(op.ID, hasEdge, hasPool); err != nil {
				e := AsError(err, "")
				if shorthand[i] {
					e.Field = edgesField(e.Field)
				}
				e.Field = model.JoinPath(op.Field, e.Field)
				return nil, e
			}
			refPools, refEdges := op.Pool.PoolRefs()
			for _, id := range refPools {
				p.read(store.Pools, id, false)
			}
			for _, id := range refEdges {
				p.read(store.Edges, id, false)
			}
		case op.Kind == OverrideKind && !hasEdge(op.ID):
			return nil, errorf(NotFound, CodeNotFound, op.Field, "no edge %q", op.ID)
		}
	}
	if err := checkRoute53Uses(o, ch, p); err != nil {
		return nil, err
	}
	if err := c.inUseByPools(v, o, ch); err != nil {
		return nil, err
	}
	edges, pools := map[string]bool{}, map[string]bool{}
	for _, op := range ch.Ops {
		switch op.Kind {
		case EdgeKind, OverrideKind:
			edges[op.ID] = true
		case PoolKind:
			pools[op.ID] = true
		}
	}
	nv, err := update(v, o, edges, pools)
	if err != nil {
		return nil, AsError(err, "")
	}
	return nv, nil
}

// inUseByPools refuses to delete an edge or pool that a pool still uses once ch is applied.
func (c *Catalog) inUseByPools(v *View, o Objects, ch *Change) error {
	cfg := v.Base.Config
	for _, op := range ch.Ops {
		if !op.Delete || (op.Kind != EdgeKind && op.Kind != PoolKind) {
			continue
		}
		var users []string
		check := func(pid string, pool model.Pool) {
			refPools, refEdges := pool.PoolRefs()
			if (op.Kind == EdgeKind && slices.Contains(refEdges, op.ID)) || (op.Kind == PoolKind && slices.Contains(refPools, op.ID)) {
				users = append(users, pid)
			}
		}
		for pid, pool := range o.Pools {
			check(pid, pool)
		}
		for pid, pool := range cfg.Pools {
			if _, replaced := o.Pools[pid]; !replaced {
				check(pid, pool)
			}
		}
		if len(users) > 0 {
			slices.Sort(users)
			msg := "pools " + strings.Join(users, ", ")
			if n := c.names.Uses(op.Kind.String(), op.ID); n > 0 {
				msg += fmt.Sprintf("; %d names (%s)", n, strings.Join(c.names.Users(op.Kind.String(), op.ID, 5), ", "))
			}
			return errorf(Conflict, CodeInUse, op.Field, "%s %s is in use: %s", op.Kind, op.ID, msg)
		}
	}
	return nil
}

// stageZone checks and stages one zone op.
func (c *Catalog) stageZone(v *View, o *Objects, op *Op, i int, p *Plan) error {
	origin := dns.CanonicalName(strings.TrimSpace(op.ID))
	if _, ok := dns.IsDomainName(origin); !ok || origin == "." || strings.ContainsAny(origin, "*\\ \t\r\n\"'@;()") || strings.TrimSpace(op.ID) == "" {
		return errorf(Invalid, model.CodeInvalid, model.JoinPath(op.Field, "zone"), "%q is not a zone name", op.ID)
	}
	op.ID = origin
	_, inStore := o.Zones[origin]
	served, inFile := v.Zone(origin)
	switch {
	case inFile:
		return errorf(Conflict, CodeInConfig, op.Field, "zone %s is defined by a zone file: change it there", origin)
	case op.IfAbsent && served:
		return errorf(Conflict, CodeExists, op.Field, "zone %s exists", origin)
	case op.IfPresent && !served:
		return errorf(NotFound, CodeNotFound, op.Field, "no zone %s", origin)
	case op.Delete && !inStore:
		return errorf(NotFound, CodeNotFound, op.Field, "no zone %s", origin)
	case op.Delete:
		delete(o.Zones, origin)
		p.read(store.Names, store.NameKey(origin), true)
		return nil
	}
	if !served {
		// Names already under it belong to the zone above: they would change zones.
		if n := c.names.CountBelow(origin); n > 0 || c.names.Get(origin) != nil {
			return errorf(Conflict, CodeInUse, op.Field, "zone %s would take over %d names of zone %s: delete them first", origin, n, v.ZoneOf(origin))
		}
		p.read(store.Names, store.NameKey(origin), true)
		if ref := op.ZoneSpec.CallerReference; ref != "" {
			// Route 53's CallerReference names one zone: two creates with one reference at
			// once read every zone, so the second conflicts and finds the first.
			for other, z := range o.Zones {
				if z.CallerReference == ref && other != origin {
					return errorf(Conflict, CodeRefUsed, op.Field, "caller reference %q was used for zone %s", ref, other)
				}
			}
			p.read(store.Zones, "", true)
		}
	}
	p.Created[i] = !served
	o.Zones[origin] = op.ZoneSpec
	return nil
}

// prepareNames checks the name ops of ch against v (the view after ch's other ops; before, the
// view a deleted name is in) and binds them.
func (c *Catalog) prepareNames(before, v *View, ch *Change, s *Stage, p *Plan) error {
	var local map[string]*route.Binding // what earlier ops of ch did
	cur := func(name string) *route.Binding {
		if b, ok := local[name]; ok {
			return b
		}
		return s.name(c, name)
	}
	hasEdge, hasPool := v.hasEdge, v.hasPool
	for i := range ch.Ops {
		op := &ch.Ops[i]
		if op.Kind != NameKind && op.Kind != RRSetKind {
			continue
		}
		name := op.ID
		if op.Kind == RRSetKind {
			if err := c.rrset(v, op, cur(name)); err != nil {
				return err
			}
		}
		zv := v
		if op.Delete {
			zv = before // a change may delete a zone with its names
		}
		if ch.replay {
			op.Zone = zv.ZoneOf(name)
		}
		if z := zv.ZoneOf(name); z != op.Zone || z == "" {
			if z == "" {
				return errorf(Invalid, model.CodeForbidden, op.Field, "%s is not inside a zone served here", name)
			}
			return errorf(Invalid, model.CodeForbidden, op.Field, "%s belongs to zone %s, not %s", name, z, op.Zone)
		}
		p.read(store.Names, store.NameKey(name), false)
		p.read(ZonesKind, op.Zone, false)
		old := cur(name)
		if op.Delete {
			switch {
			case old == nil:
				return errorf(NotFound, CodeNotFound, op.Field, "no name %s", name)
			case old.Source == route.FromConfig:
				return errorf(Conflict, CodeInConfig, op.Field, "%s is defined in the config file %s: change it there", name, v.Base.ConfigPath)
			}
			p.cfg[i] = c.cfgNames[name]
			if local == nil {
				local = map[string]*route.Binding{}
			}
			local[name] = p.cfg[i]
			continue
		}
		spec := op.Name
		spec.Records = slices.Clone(spec.Records)
		spec.Normalize()
		if err := spec.Validate(name, op.Zone, hasEdge, hasPool); err != nil {
			return AsError(err, op.Field)
		}
		if e := v.checkPlacement(name, op.Zone, spec); e != nil {
			e.Field = model.JoinPath(op.Field, e.Field)
			return e
		}
		b, err := v.Table.Bind(name, op.Zone, spec, route.FromAPI)
		if err != nil {
			return AsError(err, op.Field)
		}
		switch {
		case spec.Pool != "":
			p.read(store.Pools, spec.Pool, false)
		case spec.Edge != "":
			p.read(store.Edges, spec.Edge, false)
		}
		op.Name = spec
		p.binds[i] = b
		p.Created[i] = old == nil
		if local == nil {
			local = map[string]*route.Binding{}
		}
		local[name] = b
	}
	return nil
}

// checkPlacement refuses a binding of name in zone that the zone's other data would keep from
// being served as written: a CNAME at the apex (it holds the SOA and NS) or beside the zone
// file's records of the name, any data beside the zone file's CNAME (RFC 1034 section 3.6.2,
// RFC 2181 section 10.1), and any name at or below a delegation of the zone file but DS
// records at the delegation itself. The error's field is relative to the name's.
func (v *View) checkPlacement(name, zone string, spec model.Name) *Error {
	cname := slices.IndexFunc(spec.Records, func(r model.Record) bool { return r.Type == "CNAME" })
	cnameField := ""
	if cname >= 0 {
		cnameField = fmt.Sprintf("records[%d]", cname)
	}
	if cname >= 0 && name == zone {
		return errorf(Invalid, model.CodeInvalid, cnameField, "a CNAME cannot be at the apex of zone %s, which holds its SOA and NS records (RFC 1034 section 3.6.2): bind the apex to a pool or an edge, or give it A and AAAA records", zone)
	}
	if _, inFile := v.zones[zone]; !inFile || v.Base.Static == nil {
		return nil
	}
	types, cut := v.Base.Static(name)
	onlyDS := len(spec.Records) > 0 && !slices.ContainsFunc(spec.Records, func(r model.Record) bool { return r.Type != "DS" })
	switch {
	case cut == name && !onlyDS:
		return errorf(Conflict, CodeInConfig, "", "the zone file of %s delegates %s (NS records): only the referral is served there, so a name set here may hold only the delegation's DS records; set the rest in the delegated zone", zone, name)
	case cut != "" && cut != name:
		return errorf(Conflict, CodeInConfig, "", "%s is below %s, which the zone file of %s delegates (NS records): only the referral is served there, so set the name in the delegated zone", name, cut, zone)
	}
	var held []string
	for _, t := range types {
		held = append(held, dns.TypeToString[t])
	}
	switch {
	case cname >= 0 && len(types) > 0:
		return errorf(Conflict, CodeInConfig, cnameField, "the zone file of %s holds %s records at %s, and a CNAME is the only record of its name (RFC 2181 section 10.1): remove them there, or give %s records of other types", zone, strings.Join(held, ", "), name, name)
	case slices.Contains(types, dns.TypeCNAME):
		return errorf(Conflict, CodeInConfig, "", "the zone file of %s holds a CNAME at %s, which is the only record of its name (RFC 2181 section 10.1): remove it there first", zone, name)
	}
	return nil
}

// rrset checks an RRSetKind op's conditions against the name's binding old and turns the op into
// the put (or delete) of the name that results.
func (c *Catalog) rrset(v *View, op *Op, old *route.Binding) error {
	t := strings.ToUpper(strings.TrimSpace(op.Type))
	if _, ok := model.StaticTypes[t]; !ok {
		return errorf(Invalid, model.CodeInvalid, model.JoinPath(op.Field, "type"), "%q is not a record type that can be changed here", op.Type)
	}
	var spec model.Name
	switch {
	case old == nil:
	case old.Source == route.FromConfig:
		return errorf(Conflict, CodeInConfig, op.Field, "%s is defined in the config file %s: change it there", op.ID, v.Base.ConfigPath)
	case old.Routed() && (t == "A" || t == "AAAA" || t == "CNAME"):
		return errorf(Conflict, CodeRouted, op.Field, "%s is routed (%s): its addresses follow its pool or edge, and it holds no %s records of its own", op.ID, routedBy(old), t)
	default:
		spec = old.Spec()
	}
	var have, keep []model.Record
	for _, r := range spec.Records {
		if strings.EqualFold(r.Type, t) {
			have = append(have, r)
		} else {
			keep = append(keep, r)
		}
	}
	switch {
	case op.IfAbsent && len(have) > 0:
		return errorf(Conflict, CodeRRSetExists, op.Field, "%s already has %s records", op.ID, t)
	case (op.IfPresent || op.IfEquals != nil) && len(have) == 0:
		return errorf(NotFound, CodeNoRRSet, op.Field, "%s has no %s records", op.ID, t)
	case op.IfEquals != nil:
		want, err := canonical(op.ID, op.Zone, t, op.IfEquals)
		if err != nil {
			return errorf(Invalid, model.CodeInvalid, op.Field, "%v", err)
		}
		got, _ := canonical(op.ID, op.Zone, t, have)
		if !slices.Equal(want, got) {
			return errorf(Conflict, CodeRRSetDiffer, op.Field, "the %s records of %s are %s, not %s", t, op.ID, strings.Join(got, ", "), strings.Join(want, ", "))
		}
	}
	if !op.Delete {
		for i, r := range op.Records {
			if r.Type == "" {
				r.Type = t
			}
			if !strings.EqualFold(r.Type, t) {
				return errorf(Invalid, model.CodeInvalid, model.JoinPath(op.Field, fmt.Sprintf("records[%d].type", i)), "a %s record in a record set of type %s", r.Type, t)
			}
			r.Type = t
			keep = append(keep, r)
		}
		if len(op.Records) == 0 {
			return errorf(Invalid, model.CodeMissing, model.JoinPath(op.Field, "records"), "a record set needs at least one record")
		}
	}
	spec.Records = keep
	*op = Op{Kind: NameKind, ID: op.ID, Zone: op.Zone, Field: op.Field, Name: spec,
		Delete: len(keep) == 0 && spec.Pool == "" && spec.Edge == "" && len(spec.Sets) == 0 && len(spec.Aliases) == 0}
	if op.Delete && old == nil {
		return errorf(NotFound, CodeNoRRSet, op.Field, "%s has no %s records", op.ID, t)
	}
	return nil
}

func routedBy(b *route.Binding) string {
	if b.Pool != "" {
		return "pool " + b.Pool
	}
	return "pinned to edge " + b.Edge
}

// canonical is records of type t as sorted presentation strings (TTL included), for comparing sets.
func canonical(name, origin, t string, records []model.Record) ([]string, error) {
	out := make([]string, 0, len(records))
	for _, r := range records {
		if t != "" {
			r.Type = t
		}
		rr, err := r.RR(name, origin)
		if err != nil {
			return nil, err
		}
		out = append(out, rr.String())
	}
	slices.Sort(out)
	return out, nil
}

// uses is how many names use the edge ("edge") or pool ("pool") id once ch is applied.
func (c *Catalog) uses(kind, id string, ch *Change, p *Plan) int {
	n := c.names.Uses(kind, id)
	seen := map[string]bool{}
	for i := len(ch.Ops) - 1; i >= 0; i-- { // a name's last op is what it becomes
		op := ch.Ops[i]
		if op.Kind != NameKind || seen[op.ID] {
			continue
		}
		seen[op.ID] = true
		if old := c.names.Get(op.ID); old != nil && usesID(old, kind, id) {
			n--
		}
		nb := p.binds[i]
		if nb == nil {
			nb = p.cfg[i]
		}
		if nb != nil && usesID(nb, kind, id) {
			n++
		}
	}
	return n
}

func usesID(b *route.Binding, kind, id string) bool {
	return (kind == "edge" && b.Edge == id) || (kind == "pool" && b.Pool == id)
}

// checkInUse refuses to delete an edge or pool that names still use, or a zone that still holds
// names, once ch is applied.
func (c *Catalog) checkInUse(v, nv *View, ch *Change, p *Plan) error {
	for _, op := range ch.Ops {
		if !op.Delete {
			continue
		}
		switch op.Kind {
		case EdgeKind, PoolKind:
			if nv.Table.Edge(op.ID) != nil && op.Kind == EdgeKind || nv.Table.Pool(op.ID) != nil && op.Kind == PoolKind {
				continue // the config file defines it too: names fall back to that one
			}
			if n := c.uses(op.Kind.String(), op.ID, ch, p); n > 0 {
				return errorf(Conflict, CodeInUse, op.Field, "%s %s is in use: %d names (%s)", op.Kind, op.ID, n, strings.Join(c.names.Users(op.Kind.String(), op.ID, 5), ", "))
			}
		case ZoneKind:
			n := c.names.CountBelow(op.ID)
			if c.names.Get(op.ID) != nil {
				n++
			}
			seen := map[string]bool{}
			for i := len(ch.Ops) - 1; i >= 0; i-- {
				nop := ch.Ops[i]
				if nop.Kind == NameKind && !seen[nop.ID] && route.InZone(nop.ID, op.ID) {
					seen[nop.ID] = true
					had := c.names.Get(nop.ID) != nil
					has := p.binds[i] != nil || p.cfg[i] != nil
					switch {
					case had && !has:
						n--
					case !had && has:
						n++
					}
				}
			}
			if n > 0 {
				return errorf(Conflict, CodeInUse, op.Field, "zone %s still holds %d names: delete them first", op.ID, n)
			}
		}
	}
	return nil
}

// checkDetection checks, for every pool that names use once ch is applied, that its checks
// notice a dead edge within its TTL (an edge's checks or a pool's TTL may have changed).
func (c *Catalog) checkDetection(nv *View, ch *Change, p *Plan) error {
	for _, pool := range nv.Table.Pools {
		if c.uses("pool", pool.ID, ch, p) == 0 {
			continue
		}
		if nv.Table.CheckDetection(pool.ID, "") != nil { // name one of its names only then: a scan
			return AsError(nv.Table.CheckDetection(pool.ID, c.firstUser("pool", pool.ID)), "")
		}
	}
	return nil
}

// edgesField names a field of a pool written as edges: [...] as the user wrote it:
// members[1].edge is edges[1].
func edgesField(field string) string {
	if rest, ok := strings.CutPrefix(field, "members["); ok {
		if i := strings.Index(rest, "]"); i > 0 && (rest[i+1:] == ".edge" || rest[i+1:] == "") {
			return "edges[" + rest[:i] + "]"
		}
	}
	return field
}

// String describes the change for logs.
func (ch *Change) String() string {
	var b strings.Builder
	for i, op := range ch.Ops {
		if i > 0 {
			b.WriteString(", ")
		}
		verb := "put"
		if op.Delete {
			verb = "delete"
		}
		fmt.Fprintf(&b, "%s %s %s", verb, op.Kind, op.ID)
	}
	return b.String()
}
