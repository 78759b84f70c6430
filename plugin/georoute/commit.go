package georoute

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// A write goes through one committer goroutine: it checks each request against the state (and
// what earlier requests of its group staged), commits every accepted request of the group in one
// store transaction, durable before anything is applied, then applies them to memory and
// answers. Concurrent writers share each fsync (group commit). Requests that change edges, pools
// or overrides recompile the table; each is a group of its own.

// writeReq is one API write.
type writeReq struct {
	names   []nameChange
	rtts    []rttReport
	objects func(o *objects) error // changes edges, pools or overrides; nil for names and RTT
	ops     []store.Op             // filled by the committer
	done    chan error
}

type nameChange struct {
	zone, name string
	field      string      // where errors point: "" for one name, put["NAME"] in a batch
	spec       *model.Name // nil: delete
}

type rttReport struct {
	client rtt.Client
	edge   string
	millis float64
}

// maxGroup bounds the requests committed together.
const maxGroup = 512

// submit hands r to the committer and waits for its answer.
func (g *GeoRoute) submit(r *writeReq) error {
	r.done = make(chan error, 1)
	select {
	case g.commits <- r:
	case <-g.stopping:
		return api.Unavailable("the server is shutting down")
	}
	return <-r.done
}

// committer runs until stop is closed.
func (g *GeoRoute) committer(stop <-chan struct{}) {
	var group []*writeReq
	for {
		select {
		case <-stop:
			return
		case r := <-g.commits:
			group = append(group[:0], r)
		}
		for len(group) < maxGroup && group[len(group)-1].objects == nil {
			select {
			case r := <-g.commits:
				group = append(group, r)
				continue
			default:
			}
			break
		}
		// A request that changes objects is committed on its own, after the names before it.
		last := group[len(group)-1]
		if last.objects != nil && len(group) > 1 {
			g.commitNames(group[:len(group)-1])
			group = group[len(group)-1:]
		}
		if last.objects != nil {
			g.commitObjects(last)
		} else {
			g.commitNames(group)
		}
	}
}

// staged is what a group's earlier requests will change, for checking the later ones.
type staged struct {
	names map[string]*route.Binding // nil: deleted
	rtts  map[string]rtt.Measurement
}

func (s *staged) name(g *GeoRoute, name string) *route.Binding {
	if b, ok := s.names[name]; ok {
		return b
	}
	return g.names.Get(name)
}

// commitNames commits a group of name and RTT requests.
func (g *GeoRoute) commitNames(group []*writeReq) {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	st := g.state.Load()
	s := &staged{names: map[string]*route.Binding{}, rtts: map[string]rtt.Measurement{}}
	var accepted []*writeReq
	var ops []store.Op
	now := time.Now()
	for _, r := range group {
		binds, err := g.checkNames(st, s, r)
		if err != nil {
			r.done <- err
			continue
		}
		for i, nc := range r.names {
			s.names[nc.name] = binds[i]
		}
		for _, rep := range r.rtts {
			key := rep.client.String() + "|" + rep.edge
			var prev *rtt.Measurement
			if m, ok := s.rtts[key]; ok {
				prev = &m
			} else if m, ok := g.rtts.Get(rep.client, rep.edge); ok {
				prev = &m
			}
			m := rtt.Fold(prev, rep.client, rep.edge, rep.millis, now, rtt.FromReport)
			s.rtts[key] = m
			r.ops = append(r.ops, store.Op{Kind: store.RTT, Key: key, Value: encodeMeasurement(m)})
		}
		accepted = append(accepted, r)
		ops = append(ops, r.ops...)
	}
	if len(accepted) == 0 {
		return
	}
	if err := g.commit(ops); err != nil {
		for _, r := range accepted {
			r.done <- err
		}
		return
	}
	// Durable: now visible, in order.
	for _, r := range accepted {
		for _, nc := range r.names {
			b := s.names[nc.name]
			if b == nil {
				if cb := g.cfgNames[nc.name]; cb != nil {
					g.names.Put(cb) // the config file's binding of the name shows again
				} else {
					g.names.Delete(nc.name)
				}
			} else {
				g.names.Put(b)
			}
		}
	}
	for _, m := range s.rtts {
		g.rtts.Put(m)
	}
	objectsServed.WithLabelValues("names").Set(float64(g.names.Len()))
	for _, r := range accepted {
		r.done <- nil
	}
}

// checkNames checks the name changes of r and returns their bindings (nil for deletes) and store ops.
func (g *GeoRoute) checkNames(st *state, s *staged, r *writeReq) ([]*route.Binding, error) {
	binds := make([]*route.Binding, len(r.names))
	r.ops = r.ops[:0]
	for i, nc := range r.names {
		key := store.NameKey(nc.name)
		if st.zoneOf(nc.name) != nc.zone {
			return nil, &model.FieldError{Code: model.CodeForbidden, Field: nc.field, Message: fmt.Sprintf("%s belongs to zone %s, not %s", nc.name, st.zoneOf(nc.name), nc.zone)}
		}
		cur := s.name(g, nc.name)
		if nc.spec == nil {
			switch {
			case cur == nil:
				return nil, api.NotFound("no name %s", nc.name)
			case cur.Source == route.FromConfig:
				return nil, api.Conflict("in_config", "%s is defined in the config file %s: change it there", nc.name, g.in.config)
			}
			r.ops = append(r.ops, store.Op{Kind: store.Names, Key: key, Delete: true})
			continue
		}
		spec := *nc.spec
		spec.Records = slices.Clone(spec.Records)
		spec.Normalize()
		if err := spec.Validate(nc.name, func(id string) bool { return st.table.Edge(id) != nil }, func(id string) bool { return st.table.Pool(id) != nil }); err != nil {
			return nil, model.Prefix(err, nc.field)
		}
		b, err := st.table.Bind(nc.name, spec, route.FromAPI)
		if err == nil && b.Pool != "" {
			err = st.table.CheckDetection(b.Pool, nc.name)
		}
		if err != nil {
			return nil, model.Prefix(err, nc.field)
		}
		val, _ := json.Marshal(spec)
		r.ops = append(r.ops, store.Op{Kind: store.Names, Key: key, Value: val})
		binds[i] = b
	}
	return binds, nil
}

// commitObjects commits one request that changes edges, pools or overrides.
func (g *GeoRoute) commitObjects(r *writeReq) {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	o := g.api.clone()
	if err := r.objects(&o); err != nil {
		r.done <- err
		return
	}
	st := g.state.Load()
	c, err := g.compile(st.files, o)
	if err != nil {
		r.done <- err
		return
	}
	if err := g.commit(r.ops); err != nil {
		r.done <- err
		return
	}
	g.api = o
	g.publish(c)
	r.done <- nil
}

// commit makes ops durable.
func (g *GeoRoute) commit(ops []store.Op) error {
	if len(ops) == 0 {
		return nil
	}
	start := time.Now()
	err := g.db.Commit(ops)
	commitDuration.Observe(time.Since(start).Seconds())
	commitOps.Observe(float64(len(ops)))
	if err != nil {
		log.Errorf("store commit of %d changes failed, none applied: %v", len(ops), err)
		return api.Unavailable("the store could not commit the change; nothing was applied: %v", err)
	}
	return nil
}

// measurement is how an RTT measurement is kept in the store.
type measurement struct {
	Client  string    `json:"client"`
	Edge    string    `json:"edge"`
	Millis  float64   `json:"rtt_ms"`
	Count   uint32    `json:"count"`
	Updated time.Time `json:"updated"`
}

func encodeMeasurement(m rtt.Measurement) []byte {
	b, _ := json.Marshal(measurement{Client: m.Client.String(), Edge: m.Edge, Millis: m.Millis, Count: m.Count, Updated: m.Updated})
	return b
}

func decodeMeasurement(b []byte) (rtt.Measurement, error) {
	var v measurement
	if err := json.Unmarshal(b, &v); err != nil {
		return rtt.Measurement{}, err
	}
	c, err := rtt.ParseClient(v.Client)
	if err != nil {
		return rtt.Measurement{}, err
	}
	return rtt.Measurement{Client: c, Edge: v.Edge, Millis: v.Millis, Count: v.Count, Updated: v.Updated, Origin: rtt.FromReport}, nil
}
