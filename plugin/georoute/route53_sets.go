package georoute

import (
	"reflect"
	"slices"
	"strconv"

	"github.com/georoute/appliance/plugin/georoute/api/route53"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/recordsets"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/miekg/dns"
)

// A name with Route 53 routing record sets or aliases is changed as a whole: the batch's changes
// of it are applied in order to what it holds (read from the served state), and the result
// becomes the name, its pool and its edges (package recordsets), put in one catalog Change
// conditional on the name being as read (a catalog.Check).

// nameEdit is a name being changed by a batch.
type nameEdit struct {
	name    string
	old     *route.Binding
	simple  []model.Record // the records not made by record sets
	sets    []model.RecordSet
	from    []int // the change that last wrote each set; -1: as stored
	aliases []model.Alias
	last    int // the name's last change
}

// wholeNames returns the names of a batch that are changed as a whole: those a change gives a
// routing record set or an alias, and those that hold some.
func (b *route53Backend) wholeNames(changes []route53.Change) map[string]*nameEdit {
	var out map[string]*nameEdit
	for _, c := range changes {
		if _, ok := out[c.Name]; ok {
			continue
		}
		old := b.g.names.Get(c.Name)
		if c.Set == nil && c.Alias == nil && (old == nil || old.Extra == nil) {
			continue
		}
		if out == nil {
			out = map[string]*nameEdit{}
		}
		e := &nameEdit{name: c.Name, old: old}
		if old != nil && old.Source == route.FromAPI {
			spec := old.Spec()
			made := map[string]bool{}
			for _, s := range spec.Sets {
				made[s.Type] = true
			}
			for _, r := range spec.Records {
				if !made[r.Type] {
					e.simple = append(e.simple, r)
				}
			}
			e.sets, e.aliases = slices.Clone(spec.Sets), slices.Clone(spec.Aliases)
			e.from = make([]int, len(e.sets))
			for i := range e.from {
				e.from[i] = -1
			}
		}
		out[c.Name] = e
	}
	return out
}

// apply applies change c (the batch's i-th) to e.
func (e *nameEdit) apply(i int, c route53.Change, origin string) *route53.ChangeError {
	e.last = i
	refuse := func(r route53.Reason, detail string) *route53.ChangeError {
		return &route53.ChangeError{Index: i, Reason: r, Detail: detail}
	}
	if e.old != nil && e.old.Source == route.FromConfig {
		return refuse(route53.Refused, "it is defined in the config file: change it there")
	}
	if e.old != nil && e.old.Routed() && e.old.Extra == nil && len(e.sets) == 0 && (c.Type == "A" || c.Type == "AAAA") {
		by := "pool " + e.old.Pool
		if e.old.Edge != "" {
			by = "edge " + e.old.Edge
		}
		return refuse(route53.Refused, "the name is routed by "+by+", set through the native API: change it there")
	}
	typeHas := func(t string) (simple, sets, alias bool) {
		simple = slices.ContainsFunc(e.simple, func(r model.Record) bool { return r.Type == t })
		sets = slices.ContainsFunc(e.sets, func(s model.RecordSet) bool { return s.Type == t })
		alias = slices.ContainsFunc(e.aliases, func(a model.Alias) bool { return a.Type == t })
		return
	}
	simple, sets, alias := typeHas(c.Type)
	switch {
	case c.Set != nil:
		k := slices.IndexFunc(e.sets, func(s model.RecordSet) bool { return s.Type == c.Type && s.SetIdentifier == c.Set.SetIdentifier })
		switch {
		case c.Action == "DELETE" && k < 0:
			return refuse(route53.NotFound, "")
		case c.Action == "DELETE" && !reflect.DeepEqual(e.sets[k], *c.Set):
			return refuse(route53.Mismatch, "")
		case c.Action == "DELETE":
			e.sets, e.from = slices.Delete(e.sets, k, k+1), slices.Delete(e.from, k, k+1)
			return nil
		case c.Action == "CREATE" && k >= 0:
			return refuse(route53.Exists, "")
		case simple || alias:
			return refuse(route53.Refused, "a record set of the same name and type without a SetIdentifier exists: a name and type has simple record sets or routing record sets, not both (delete it in the same batch first)")
		case k >= 0:
			e.sets[k], e.from[k] = *c.Set, i
		default:
			e.sets, e.from = append(e.sets, *c.Set), append(e.from, i)
		}
	case c.Alias != nil:
		k := slices.IndexFunc(e.aliases, func(a model.Alias) bool { return a.Type == c.Type })
		switch {
		case c.Action == "DELETE" && k < 0:
			return refuse(route53.NotFound, "")
		case c.Action == "DELETE" && e.aliases[k] != *c.Alias:
			return refuse(route53.Mismatch, "")
		case c.Action == "DELETE":
			e.aliases = slices.Delete(e.aliases, k, k+1)
			return nil
		case c.Action == "CREATE" && k >= 0:
			return refuse(route53.Exists, "")
		case c.Type == "CNAME" || c.Type == "NS" || c.Type == "SOA":
			return refuse(route53.Refused, "an alias of type "+c.Type+" is not served by this appliance: alias A, AAAA or another type a name answers")
		case simple || sets:
			return refuse(route53.Refused, "other record sets of the same name and type exist: an alias is the name's only record set of its type")
		case k >= 0:
			e.aliases[k] = *c.Alias
		default:
			e.aliases = append(e.aliases, *c.Alias)
		}
	default:
		var have, keep []model.Record
		for _, r := range e.simple {
			if r.Type == c.Type {
				have = append(have, r)
			} else {
				keep = append(keep, r)
			}
		}
		records := make([]model.Record, len(c.Values))
		for j, v := range c.Values {
			records[j] = model.Record{Type: c.Type, TTL: c.TTL, Value: absolute(c.Name, c.Type, v)}
		}
		switch {
		case sets || alias:
			if c.Action == "DELETE" {
				return refuse(route53.NotFound, "")
			}
			return refuse(route53.Refused, "routing record sets or an alias of the same name and type exist: a name and type has simple record sets or routing record sets, not both (delete them in the same batch first)")
		case c.Action == "DELETE" && len(have) == 0:
			return refuse(route53.NotFound, "")
		case c.Action == "DELETE" && !sameRecords(c.Name, origin, have, records):
			return refuse(route53.Mismatch, "")
		case c.Action == "CREATE" && len(have) > 0:
			return refuse(route53.Exists, "")
		case c.Action == "DELETE":
			e.simple = keep
		default:
			e.simple = append(keep, records...)
		}
	}
	return nil
}

// sameRecords reports whether a and b are the same records (TTL and values, any order).
func sameRecords(name, origin string, a, b []model.Record) bool {
	canon := func(rs []model.Record) []string {
		out := make([]string, 0, len(rs))
		for _, r := range rs {
			rr, err := r.RR(name, origin)
			if err != nil {
				out = append(out, r.Type+" "+r.Value)
				continue
			}
			out = append(out, rr.String())
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(canon(a), canon(b))
}

// ops adds the catalog ops that make e what its changes say to ch, against the view v.
func (e *nameEdit) ops(ch *catalog.Change, v *catalog.View, origin string, l recordsets.Lookup) error {
	made, err := recordsets.Make(e.name, e.sets, l)
	if err != nil {
		re := err.(*recordsets.Error)
		at := e.last
		if re.Index < len(e.from) && e.from[re.Index] >= 0 {
			at = e.from[re.Index]
		}
		return &route53.ChangeError{Index: at, Reason: route53.Stated, Detail: re.Message}
	}
	field := func(i int) string { return "changes[" + strconv.Itoa(i) + "]" }
	recordsets.Sort(e.sets)
	spec := model.Name{Records: append(slices.Clone(e.simple), made.Records...), Sets: e.sets, Aliases: e.aliases}
	if len(spec.Sets) == 0 {
		spec.Sets = nil
	}
	if len(spec.Aliases) == 0 {
		spec.Aliases = nil
	}
	for id, edge := range made.Edges {
		if old, ok := v.Stored.Edges[id]; !ok || !reflect.DeepEqual(old, edge) {
			at := e.last
			for k, s := range e.sets {
				if recordsets.EdgeID(e.name, s.Type, s.SetIdentifier) == id && e.from[k] >= 0 {
					at = e.from[k]
				}
			}
			ch.PutEdge(id, edge)
			ch.Ops[len(ch.Ops)-1].Field = field(at)
		}
	}
	if made.Pool != nil {
		spec.Pool = made.PoolID
		if old, ok := v.Stored.Pools[made.PoolID]; !ok || !reflect.DeepEqual(old, *made.Pool) {
			ch.PutPool(made.PoolID, *made.Pool)
			ch.Ops[len(ch.Ops)-1].Field = field(e.last)
		}
	}
	ch.AddCheck(origin, e.name, e.old, field(e.last)) // as read: else the batch is made again
	empty := len(spec.Records) == 0 && spec.Pool == "" && len(spec.Aliases) == 0 && len(spec.Sets) == 0
	switch {
	case empty && e.old == nil:
	case empty:
		ch.DeleteName(origin, e.name, field(e.last))
	default:
		ch.PutName(origin, e.name, spec, field(e.last))
	}
	// What the name's record sets no longer make.
	if e.old != nil && e.old.Extra != nil {
		if made.Pool == nil && e.old.Pool == made.PoolID {
			ch.DeletePool(made.PoolID)
			ch.Ops[len(ch.Ops)-1].Field = field(e.last)
		}
		for _, s := range e.old.Extra.Sets {
			id := recordsets.EdgeID(e.name, s.Type, s.SetIdentifier)
			if _, still := made.Edges[id]; !still && (s.Type == "A" || s.Type == "AAAA") {
				ch.DeleteEdge(id)
				ch.Ops[len(ch.Ops)-1].Field = field(e.last)
			}
		}
	}
	return nil
}

// setLookup finds what record sets refer to in the view v.
func (b *route53Backend) setLookup(v *catalog.View) recordsets.Lookup {
	return b.lookupIn(v)
}

// extraSets returns a binding's routing record sets and aliases as Route 53 lists them, with its
// records of the types they do not make.
func extraSets(bd *route.Binding) []route53.RecordSet {
	var out []route53.RecordSet
	made := map[uint16]bool{}
	for i := range bd.Extra.Sets {
		s := &bd.Extra.Sets[i]
		made[dns.StringToType[s.Type]] = true
		out = append(out, route53.RecordSet{Name: bd.Name, Type: s.Type, TTL: s.TTL, Values: s.Values, Set: s})
	}
	for i := range bd.Extra.Aliases {
		a := &bd.Extra.Aliases[i]
		out = append(out, route53.RecordSet{Name: bd.Name, Type: a.Type, Alias: a})
	}
	for t, rrs := range bd.Records {
		if !made[t] {
			out = append(out, recordSetOf(bd.Name, rrs))
		}
	}
	slices.SortFunc(out, compareSets)
	return out
}
