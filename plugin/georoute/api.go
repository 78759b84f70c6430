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
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// backend is the native API's adapter over the catalog: reads come from the catalog's view,
// writes are catalog Changes handed to the committer.
type backend struct{ g *GeoRoute }

var _ api.Backend = backend{}

func (b backend) view() *catalog.View { return b.g.cat.View() }

func (b backend) Zones() []string { return slices.Clone(b.view().Zones) }

func (b backend) Zone(zone string) (api.Zone, bool) {
	v := b.view()
	served, inFile := v.Zone(zone)
	if !served {
		return api.Zone{}, false
	}
	z := api.Zone{Name: zone, Source: "file", Zone: v.Stored.Zones[zone]}
	if !inFile {
		z.Source = route.FromAPI.String()
	}
	if st := b.g.state.Load(); st != nil {
		if fz := st.zones[zone]; fz != nil && fz.Apex.SOA != nil {
			z.Serial = fz.Apex.SOA.Serial
			if zs := b.g.serials.of(fz); zs != nil {
				z.Serial = zs.soa.Serial
			}
			for _, rr := range fz.Apex.NS {
				z.Nameservers = append(z.Nameservers, strings.TrimPrefix(rr.String(), rr.Header().String()))
			}
		}
	}
	return z, true
}

func (b backend) PutZone(zone string, spec model.Zone) (bool, error) {
	created, err := b.g.write((&catalog.Change{}).PutZone(zone, spec))
	return isCreated(created), err
}

func (b backend) DeleteZone(zone string) error {
	_, err := b.g.write((&catalog.Change{}).DeleteZone(zone))
	return err
}

func isCreated(created []bool) bool { return len(created) > 0 && created[0] }

func (b backend) edgeView(v *catalog.View, id string) (api.Edge, bool) {
	spec, ok := v.Merged.Edges[id]
	if !ok {
		return api.Edge{}, false
	}
	h := noChecker
	var nodes []api.NodeHealth
	if b.g.prober != nil {
		if s, ok := b.g.prober.Status(id); ok {
			h, nodes = b.g.edgeHealth(id, s)
		}
	}
	return api.Edge{ID: id, Edge: spec, Source: v.Source(catalog.EdgeKind, id).String(), Health: &h, Nodes: nodes}, true
}

// withLoad adds what the edge answered lately and its probes' round trip to e.
func (b backend) withLoad(e *api.Edge, answers map[string]int64) {
	e.AnswersLastMinute = answers[e.ID]
	if l := b.g.edgeLoad(e.ID, time.Now()); l != nil {
		out := map[string]any{"utilisation": l.Utilisation, "at": l.At, "expires": l.expires()}
		if l.Max > 0 {
			out["current"], out["max"] = l.Current, l.Max
		}
		e.Load = out
	}
	if c, ok := b.g.reachLoad.view.Load().Avoiding()[e.ID]; ok {
		e.Avoided = map[string]int{"networks": c[0], "ases": c[1], "cities": c[2], "vantages": c[3]}
	}
	if p := b.g.prober; p != nil {
		if d, _, ok := p.ProbeRTT(e.ID); ok {
			ms := float64(d.Microseconds()) / 1000
			e.ProbeRTTMillis = &ms
		}
	}
}

func (b backend) Edges() []api.Edge {
	v := b.view()
	answers := b.g.answers.lastMinute()
	out := []api.Edge{}
	for _, id := range slices.Sorted(maps.Keys(v.Merged.Edges)) {
		e, _ := b.edgeView(v, id)
		b.withLoad(&e, answers)
		out = append(out, e)
	}
	return out
}

func (b backend) Edge(id string) (api.Edge, bool) {
	e, ok := b.edgeView(b.view(), strings.ToLower(id))
	if ok {
		b.withLoad(&e, b.g.answers.lastMinute())
	}
	return e, ok
}

func (b backend) PutEdge(id string, spec model.Edge) (bool, error) {
	created, err := b.g.write((&catalog.Change{}).PutEdge(id, spec))
	return isCreated(created), err
}

func (b backend) DeleteEdge(id string) error {
	_, err := b.g.write((&catalog.Change{}).DeleteEdge(id))
	return err
}

func (b backend) SetOverride(id, state string) error {
	_, err := b.g.write((&catalog.Change{}).SetOverride(id, state))
	return err
}

func (b backend) poolView(v *catalog.View, id string) (api.Pool, bool) {
	spec, ok := v.Merged.Pools[id]
	if !ok {
		return api.Pool{}, false
	}
	return api.Pool{ID: id, Pool: spec, Source: v.Source(catalog.PoolKind, id).String(), UsedBy: b.g.names.Uses("pool", id)}, true
}

func (b backend) Pools() []api.Pool {
	v := b.view()
	out := []api.Pool{}
	for _, id := range slices.Sorted(maps.Keys(v.Merged.Pools)) {
		p, _ := b.poolView(v, id)
		out = append(out, p)
	}
	return out
}

func (b backend) Pool(id string) (api.Pool, bool) { return b.poolView(b.view(), strings.ToLower(id)) }

func (b backend) PutPool(id string, spec model.Pool) (bool, error) {
	created, err := b.g.write((&catalog.Change{}).PutPool(id, spec))
	return isCreated(created), err
}

func (b backend) DeletePool(id string) error {
	_, err := b.g.write((&catalog.Change{}).DeletePool(id))
	return err
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
func (b backend) Names(zone, after, q string, limit int) ([]api.Name, string, error) {
	v := b.view()
	from := ""
	if after != "" {
		from = store.NameKey(after) + "\x00"
	}
	prefix := store.NameKey(zone)
	if zone == "." {
		prefix = ""
	}
	var cfgKeys []string
	for name := range v.Base.Config.Names {
		if k := store.NameKey(name); strings.HasPrefix(k, prefix) && k >= from && v.ZoneOf(name) == zone {
			cfgKeys = append(cfgKeys, k)
		}
	}
	slices.Sort(cfgKeys)
	var out []api.Name
	next := ""
	// A search without a dot lies inside one label, which the store's key (the labels in reverse)
	// holds as the name does: most keys are passed over without being turned into names.
	inLabel := q != "" && !strings.Contains(q, ".")
	add := func(k string) bool {
		if inLabel && !strings.Contains(k, q) {
			return true
		}
		name := store.KeyName(k)
		if v.ZoneOf(name) != zone {
			return true // a name of a zone below this one
		}
		if q != "" && !strings.Contains(name, q) {
			return true
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
	created, err := b.g.write((&catalog.Change{}).PutName(zone, name, spec, ""))
	return isCreated(created), err
}

func (b backend) DeleteName(zone, name string) error {
	_, err := b.g.write((&catalog.Change{}).DeleteName(zone, name, ""))
	return err
}

func (b backend) Batch(zone string, put map[string]model.Name, del []string) error {
	ch := &catalog.Change{}
	for _, name := range slices.Sorted(maps.Keys(put)) {
		ch.PutName(zone, name, put[name], "put["+strconv.Quote(name)+"]")
	}
	for i, name := range del {
		ch.DeleteName(zone, name, "delete["+strconv.Itoa(i)+"]")
	}
	_, err := b.g.write(ch)
	return err
}

// ReportRTT makes the reports durable and has them folded into the RTT matrix at its next
// refresh (within a second): the API answers 202, and the RTT view says whether a measurement
// is in the matrix yet.
func (b backend) ReportRTT(reports []api.RTTReport) error {
	st := b.g.state.Load()
	t := st.table
	r := &writeReq{}
	// Every report of a network goes to the committer, which knows (when it commits, not now)
	// whether a failure of the pair is pending: a success counts only then.
	for i, rep := range reports {
		at := func(f string) string { return fmt.Sprintf("[%d].%s", i, f) }
		c, err := rtt.ParseClient(rep.Client)
		if err != nil {
			return api.Invalid(at("client"), "%v", err)
		}
		edge := strings.ToLower(strings.TrimSpace(rep.Edge))
		if t.Edge(edge) == nil {
			return &model.FieldError{Code: model.CodeUnknown, Field: at("edge"), Message: fmt.Sprintf("no edge %q", rep.Edge)}
		}
		failure := rep.Failed != nil || rep.Loss != nil
		switch {
		case rep.Failed != nil && rep.Loss != nil:
			return api.Invalid(at("loss"), "a report says failed or gives a loss, not both")
		case rep.Failed != nil && *rep.Failed && rep.Millis != 0:
			return api.Invalid(at("rtt_ms"), "a failed report has no round trip")
		case rep.Loss != nil && !(*rep.Loss >= 0 && *rep.Loss <= 1):
			return api.Invalid(at("loss"), "%v is not a share of probes lost (0 to 1)", *rep.Loss)
		case failure && c.Kind != rtt.Net:
			return api.Invalid(at("client"), "%q: a failure report is of one client network (an address, or its /24 or /48)", rep.Client)
		case rep.Source != "" && (len(rep.Source) > 64 || strings.ContainsFunc(rep.Source, func(r rune) bool { return r < 0x20 || r == 0x7f })):
			return api.Invalid(at("source"), "a source is a name of up to 64 printable characters")
		}
		if rep.Millis != 0 || !failure {
			if math.IsNaN(rep.Millis) || rep.Millis <= 0 || rep.Millis > rtt.MaxMillis {
				return api.Invalid(at("rtt_ms"), "%v is not a round-trip time in milliseconds (0 < rtt_ms <= %d)", rep.Millis, rtt.MaxMillis)
			}
			r.rtts = append(r.rtts, rttReport{client: c, edge: edge, millis: rep.Millis})
		}
		if c.Kind != rtt.Net {
			continue
		}
		failed := (rep.Failed != nil && *rep.Failed) || (rep.Loss != nil && *rep.Loss >= lossFails)
		o := reachObs{net: c.Net, edge: edge, failed: failed, source: rep.Source}
		if failed { // the network's AS and city, for the evidence to cover them
			cl := st.clientOf(c.Net.Prefix().Addr())
			o.asn = cl.Geo.ASN
			if cl.Geo.Loc != nil {
				o.city = cl.Geo.Loc.CityID
			}
		}
		r.reach = append(r.reach, o)
	}
	return b.g.submit(r).err
}

func (b backend) SetLoad(id string, utilisation, current, max float64, ttl time.Duration) error {
	if b.g.state.Load().table.Edge(id) == nil {
		return api.NotFound("no edge %q", id)
	}
	if ttl == 0 {
		ttl = DefaultLoadTTL
	}
	v, _ := json.Marshal(loadReport{Utilisation: utilisation, Current: current, Max: max, At: time.Now().UTC(), TTL: ttl.Seconds()})
	return b.g.submit(&writeReq{load: &store.Op{Kind: store.Load, Key: id, Value: v}}).err
}
