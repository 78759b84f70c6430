package catalog

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// Route 53's health checks and CIDR collections are catalog objects: an edge made from a record
// set with a HealthCheckId names its health check (Edge.HealthCheck), and a cidr pool made from
// record sets with a CidrRoutingConfig names its collection (Pool.CidrCollection) and, in each
// rule, the location whose blocks are the rule's prefixes. The catalog keeps them consistent:
// what an edge or pool names exists, a pool's prefixes are its locations' blocks (so a change
// of a collection changes its pools in the same Change), and what is in use is not deleted.
// Versions grow by one with every put, so that a put computed from an old version is refused.

// PutHealthCheck adds or replaces a Route 53 health check.
func (c *Change) PutHealthCheck(id string, hc model.HealthCheck) *Change {
	c.Ops = append(c.Ops, Op{Kind: HealthCheckKind, ID: id, HealthCheck: hc})
	return c
}

// DeleteHealthCheck deletes a health check; no edge or CALCULATED health check may use it.
func (c *Change) DeleteHealthCheck(id string) *Change {
	c.Ops = append(c.Ops, Op{Kind: HealthCheckKind, ID: id, Delete: true})
	return c
}

// PutCidrCollection adds or replaces a Route 53 CIDR collection.
func (c *Change) PutCidrCollection(id string, cc model.CidrCollection) *Change {
	c.Ops = append(c.Ops, Op{Kind: CidrCollectionKind, ID: id, CidrCollection: cc})
	return c
}

// DeleteCidrCollection deletes a CIDR collection; no pool may use it.
func (c *Change) DeleteCidrCollection(id string) *Change {
	c.Ops = append(c.Ops, Op{Kind: CidrCollectionKind, ID: id, Delete: true})
	return c
}

// stageRoute53 checks and stages one health check or CIDR collection op on o.
func stageRoute53(o *Objects, op *Op, i int, p *Plan) error {
	kind := op.Kind.String()
	if !model.ValidHealthCheckID(op.ID) {
		return errorf(Invalid, model.CodeInvalid, op.Field, "%q is not the id of a %s (letters, digits and '-', at most 64)", op.ID, kind)
	}
	var exists, retagged bool
	var oldVersion int64
	if op.Kind == HealthCheckKind {
		var old model.HealthCheck
		old, exists = o.HealthChecks[op.ID]
		oldVersion = old.Version
		if !op.Delete {
			op.HealthCheck.Children = slices.Clone(op.HealthCheck.Children)
			op.HealthCheck.Normalize()
			if err := op.HealthCheck.Validate(); err != nil {
				return AsError(err, op.Field)
			}
			retagged = exists && op.HealthCheck.Version == old.Version && sameButTags(old, op.HealthCheck)
			if exists {
				if err := immutable(op.Field, [][3]any{
					{"Type", old.Type, op.HealthCheck.Type}, {"RequestInterval", old.RequestInterval, op.HealthCheck.RequestInterval},
					{"MeasureLatency", old.MeasureLatency, op.HealthCheck.MeasureLatency}, {"CallerReference", old.CallerReference, op.HealthCheck.CallerReference},
				}); err != nil {
					return err
				}
			}
		}
	} else {
		var old model.CidrCollection
		old, exists = o.CidrCollections[op.ID]
		oldVersion = old.Version
		if !op.Delete {
			op.CidrCollection.Locations = cloneLocations(op.CidrCollection.Locations)
			op.CidrCollection.Normalize()
			if err := op.CidrCollection.Validate(); err != nil {
				return AsError(err, op.Field)
			}
			if exists {
				if err := immutable(op.Field, [][3]any{{"Name", old.Name, op.CidrCollection.Name}, {"CallerReference", old.CallerReference, op.CidrCollection.CallerReference}}); err != nil {
					return err
				}
			}
			for id, other := range o.CidrCollections {
				if id != op.ID && other.Name == op.CidrCollection.Name {
					return errorf(Conflict, CodeExists, model.JoinPath(op.Field, "Name"), "CIDR collection %s is named %s already", id, other.Name)
				}
			}
			p.read(store.CidrCollections, "", true)
		}
	}
	version := op.HealthCheck.Version
	if op.Kind == CidrCollectionKind {
		version = op.CidrCollection.Version
	}
	switch {
	case op.Delete && !exists:
		return errorf(NotFound, CodeNotFound, op.Field, "no %s %s", kind, op.ID)
	case op.Delete:
	case !exists && version != 1:
		return errorf(NotFound, CodeNotFound, op.Field, "no %s %s (version %d was written against one)", kind, op.ID, version-1)
	case retagged: // tags change without a new version, as Route 53's do
	case exists && version == 1:
		return errorf(Conflict, CodeExists, op.Field, "%s %s exists", kind, op.ID)
	case exists && version != oldVersion+1:
		return errorf(Conflict, CodeChanged, op.Field, "%s %s is at version %d, and version %d must follow version %d: read it again", kind, op.ID, oldVersion, version, version-1)
	}
	p.Created[i] = !exists && !op.Delete
	// What uses it is checked once every op is staged (checkRoute53Uses); anything that came
	// to use it meanwhile must refuse the change.
	if op.Kind == HealthCheckKind {
		p.read(store.Edges, "", true)
		p.read(store.HealthChecks, "", true)
		if op.Delete {
			delete(o.HealthChecks, op.ID)
		} else {
			o.HealthChecks[op.ID] = op.HealthCheck
		}
		return nil
	}
	p.read(store.Pools, "", true)
	if op.Delete {
		delete(o.CidrCollections, op.ID)
	} else {
		o.CidrCollections[op.ID] = op.CidrCollection
	}
	return nil
}

// immutable refuses a change of a field that a put of an existing object must keep: each is
// {name, old, new}.
func immutable(field string, fields [][3]any) *Error {
	for _, f := range fields {
		if f[1] != f[2] {
			return errorf(Invalid, model.CodeInvalid, model.JoinPath(field, f[0].(string)), "%s cannot be changed (it is %v)", f[0], f[1])
		}
	}
	return nil
}

// sameButTags reports whether a and b differ in their tags at most.
func sameButTags(a, b model.HealthCheck) bool {
	a.Tags, b.Tags = nil, nil
	return slices.Equal(a.Children, b.Children) && reflect.DeepEqual(a, b)
}

func cloneLocations(locs map[string][]string) map[string][]string {
	out := make(map[string][]string, len(locs))
	for k, v := range locs {
		out[k] = slices.Clone(v)
	}
	return out
}

// checkRoute53Uses checks, once every op of ch is staged on o, what refers to health checks and
// CIDR collections: an edge's health check and a CALCULATED health check's children exist, a
// pool's collection and locations exist and its prefixes are their blocks, and nothing deleted
// is still used.
func checkRoute53Uses(o Objects, ch *Change, p *Plan) error {
	for _, op := range ch.Ops {
		switch {
		case op.Kind == EdgeKind && !op.Delete && op.Edge.HealthCheck != "":
			p.read(store.HealthChecks, op.Edge.HealthCheck, false)
			if _, ok := o.HealthChecks[op.Edge.HealthCheck]; !ok {
				return errorf(Invalid, model.CodeUnknown, model.JoinPath(op.Field, "health_check"), "no health check %s", op.Edge.HealthCheck)
			}
		case op.Kind == PoolKind && !op.Delete && op.Pool.CidrCollection != "":
			p.read(store.CidrCollections, op.Pool.CidrCollection, false)
			cc, ok := o.CidrCollections[op.Pool.CidrCollection]
			if !ok {
				return errorf(Invalid, model.CodeUnknown, model.JoinPath(op.Field, "cidr_collection"), "no CIDR collection %s", op.Pool.CidrCollection)
			}
			if e := poolFollows(op.ID, op.Pool, op.Pool.CidrCollection, cc); e != nil {
				e.Field = model.JoinPath(op.Field, e.Field)
				return e
			}
		case op.Kind == HealthCheckKind && op.Delete:
			if users := edgesUsing(o, op.ID); len(users) > 0 {
				return errorf(Conflict, CodeInUse, op.Field, "health check %s is in use: edges %s", op.ID, strings.Join(users, ", "))
			}
			if parents := parentsOf(o, op.ID); len(parents) > 0 {
				return errorf(Conflict, CodeInUse, op.Field, "health check %s is in use: it is a child of the CALCULATED health checks %s", op.ID, strings.Join(parents, ", "))
			}
		case op.Kind == HealthCheckKind && op.HealthCheck.Type == model.HealthCheckCalculated:
			for j, child := range op.HealthCheck.Children {
				field := model.JoinPath(op.Field, fmt.Sprintf("ChildHealthChecks[%d]", j))
				c, ok := o.HealthChecks[child]
				switch {
				case child == op.ID:
					return errorf(Invalid, model.CodeInvalid, field, "a health check cannot be its own child")
				case !ok:
					return errorf(Invalid, model.CodeUnknown, field, "no health check %s", child)
				case c.Type == model.HealthCheckCalculated:
					return errorf(Invalid, model.CodeInvalid, field, "health check %s is CALCULATED itself: a CALCULATED health check's children probe endpoints", child)
				}
			}
		case op.Kind == CidrCollectionKind && op.Delete:
			if users := poolsUsing(o, op.ID); len(users) > 0 {
				return errorf(Conflict, CodeInUse, op.Field, "CIDR collection %s is in use: pools %s", op.ID, strings.Join(users, ", "))
			}
		case op.Kind == CidrCollectionKind:
			for _, pid := range poolsUsing(o, op.ID) {
				if e := poolFollows(pid, o.Pools[pid], op.ID, op.CidrCollection); e != nil {
					e.Field = op.Field
					return e
				}
			}
		}
	}
	return nil
}

// poolFollows checks that the rules of pool id, which uses collection ccID, name locations of
// cc and have their blocks as prefixes.
func poolFollows(id string, pool model.Pool, ccID string, cc model.CidrCollection) *Error {
	for i, r := range pool.Rules {
		if r.Default || r.Location == "" || r.Location == "*" {
			continue
		}
		field := fmt.Sprintf("rules[%d].location", i)
		blocks, ok := cc.Locations[r.Location]
		if !ok {
			return errorf(Conflict, CodeInUse, field, "location %s of CIDR collection %s has no blocks, and pool %s routes by it", r.Location, ccID, id)
		}
		have := make([]string, 0, len(r.Prefixes))
		for _, pfx := range r.Prefixes {
			if b, err := model.CidrBlock(pfx); err == nil {
				pfx = b
			}
			have = append(have, pfx)
		}
		slices.Sort(have)
		if !slices.Equal(have, blocks) {
			return errorf(Conflict, CodeChanged, field, "pool %s routes location %s of CIDR collection %s by %s, but its blocks are %s: read it again",
				id, r.Location, ccID, strings.Join(have, " "), strings.Join(blocks, " "))
		}
	}
	return nil
}

// edgesUsing lists the edges that health check id probes, sorted.
func edgesUsing(o Objects, id string) []string {
	var out []string
	for eid, e := range o.Edges {
		if e.HealthCheck == id {
			out = append(out, eid)
		}
	}
	slices.Sort(out)
	return out
}

// parentsOf lists the CALCULATED health checks that health check id is a child of, sorted.
func parentsOf(o Objects, id string) []string {
	var out []string
	for pid, hc := range o.HealthChecks {
		if slices.Contains(hc.Children, id) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// poolsUsing lists the pools that take their prefixes from CIDR collection id, sorted.
func poolsUsing(o Objects, id string) []string {
	var out []string
	for _, pid := range slices.Sorted(maps.Keys(o.Pools)) {
		if o.Pools[pid].CidrCollection == id {
			out = append(out, pid)
		}
	}
	return out
}

// EdgesUsing lists the stored edges that health check id probes, sorted.
func (v *View) EdgesUsing(id string) []string { return edgesUsing(v.Stored, id) }

// ParentsOf lists the CALCULATED health checks that health check id is a child of, sorted.
func (v *View) ParentsOf(id string) []string { return parentsOf(v.Stored, id) }

// PoolsUsing lists the stored pools that take their prefixes from CIDR collection id, sorted.
func (v *View) PoolsUsing(id string) []string { return poolsUsing(v.Stored, id) }
