package catalog

import "github.com/georoute/appliance/plugin/georoute/model"

// Kind is a kind of object the catalog holds.
type Kind uint8

// The kinds of object.
const (
	ZoneKind Kind = iota + 1
	EdgeKind
	PoolKind
	OverrideKind // an operator's health override of an edge: up, down or auto
	NameKind
	// RRSetKind is the records of one type at a name (Route 53's record set, an UPDATE's RRset):
	// a put replaces them and a delete removes them, leaving the name's other types as they are.
	// It is kept as the name it makes (or deletes, when no records are left).
	RRSetKind
	// HealthCheckKind is a Route 53 health check (model.HealthCheck) under its id.
	HealthCheckKind
	// CidrCollectionKind is a Route 53 CIDR collection (model.CidrCollection) under its id.
	CidrCollectionKind
)

func (k Kind) String() string {
	return [...]string{"", "zone", "edge", "pool", "override", "name", "record set", "health check", "CIDR collection"}[k]
}

// Override states.
const (
	OverrideUp   = "up"
	OverrideDown = "down"
	OverrideAuto = "auto"
)

// Op is one put or delete of one object.
type Op struct {
	Kind Kind
	// ID is the zone's origin, the edge's or pool's id (the edge's for an override), or the name
	// (lower case, fully qualified).
	ID string
	// Zone, for a name, is the zone the front door addressed: the name must belong to it.
	Zone   string
	Delete bool
	// Field is where errors about this op point: "" for a change of one object, put["www"] or
	// delete[3] in a batch.
	Field string

	Edge     model.Edge
	Pool     model.Pool
	Name     model.Name
	ZoneSpec model.Zone
	Override string
	// HealthCheck and CidrCollection are a HealthCheckKind or CidrCollectionKind op's object.
	HealthCheck    model.HealthCheck
	CidrCollection model.CidrCollection

	// For an RRSetKind op: the type, the records of a put (each of that type), and conditions
	// on the record set as it is before the op (Route 53's CREATE and DELETE, UPDATE's
	// prerequisites); a condition that does not hold refuses the whole change.
	Type      string
	Records   []model.Record
	IfAbsent  bool           // the name has no records of the type (a zone op: the zone does not exist)
	IfPresent bool           // it has some (a zone op: the zone exists)
	IfEquals  []model.Record // non-nil: they are exactly these (TTL and values, in any order)
}

// Change is any mix of puts and deletes, validated against the current state plus the change
// itself and applied all or nothing.
type Change struct {
	Ops []Op
	// Since, when set, is the revision of the view the change was computed from (a front door
	// that rewrote the edges or pools a health check or CIDR collection made): it is refused
	// with CodeChanged when anything it read changed after that revision, not only after the
	// revision it is prepared at.
	Since int64
	// Checks are conditions on names that change nothing (check.go), checked before Ops.
	Checks []Check

	replay bool // decoded from the store: a name is in whichever zone holds it
}

// PutEdge adds or replaces an edge.
func (c *Change) PutEdge(id string, e model.Edge) *Change {
	c.Ops = append(c.Ops, Op{Kind: EdgeKind, ID: id, Edge: e})
	return c
}

// DeleteEdge deletes an edge.
func (c *Change) DeleteEdge(id string) *Change {
	c.Ops = append(c.Ops, Op{Kind: EdgeKind, ID: id, Delete: true})
	return c
}

// PutPool adds or replaces a pool.
func (c *Change) PutPool(id string, p model.Pool) *Change {
	c.Ops = append(c.Ops, Op{Kind: PoolKind, ID: id, Pool: p})
	return c
}

// DeletePool deletes a pool.
func (c *Change) DeletePool(id string) *Change {
	c.Ops = append(c.Ops, Op{Kind: PoolKind, ID: id, Delete: true})
	return c
}

// SetOverride sets an edge's override: up, down (drain) or auto (the checks decide).
func (c *Change) SetOverride(id, state string) *Change {
	c.Ops = append(c.Ops, Op{Kind: OverrideKind, ID: id, Override: state})
	return c
}

// PutZone creates a zone (or updates what its creator said of it).
func (c *Change) PutZone(origin string, z model.Zone) *Change {
	c.Ops = append(c.Ops, Op{Kind: ZoneKind, ID: origin, ZoneSpec: z})
	return c
}

// DeleteZone deletes a zone created at run time; it must hold no names.
func (c *Change) DeleteZone(origin string) *Change {
	c.Ops = append(c.Ops, Op{Kind: ZoneKind, ID: origin, Delete: true})
	return c
}

// PutName binds name in zone; field is where errors point ("" for a single write).
func (c *Change) PutName(zone, name string, n model.Name, field string) *Change {
	c.Ops = append(c.Ops, Op{Kind: NameKind, ID: name, Zone: zone, Name: n, Field: field})
	return c
}

// DeleteName deletes name from zone.
func (c *Change) DeleteName(zone, name, field string) *Change {
	c.Ops = append(c.Ops, Op{Kind: NameKind, ID: name, Zone: zone, Delete: true, Field: field})
	return c
}

// PutRRSet replaces the records of type t at name in zone.
func (c *Change) PutRRSet(zone, name, t string, records []model.Record, field string) *Change {
	c.Ops = append(c.Ops, Op{Kind: RRSetKind, ID: name, Zone: zone, Type: t, Records: records, Field: field})
	return c
}

// DeleteRRSet deletes the records of type t at name in zone.
func (c *Change) DeleteRRSet(zone, name, t, field string) *Change {
	c.Ops = append(c.Ops, Op{Kind: RRSetKind, ID: name, Zone: zone, Type: t, Delete: true, Field: field})
	return c
}

// objects reports whether c changes anything besides names: such a change compiles a new table.
func (c *Change) objects() bool {
	for _, op := range c.Ops {
		if op.Kind != NameKind && op.Kind != RRSetKind {
			return true
		}
	}
	return false
}

// Objects reports whether c changes zones, edges, pools or overrides (anything besides names).
func (c *Change) Objects() bool { return c.objects() }
