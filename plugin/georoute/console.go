package georoute

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/events"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// What the console (GET /v1/events, /v1/routing, the edges' answers) reads of the plugin.

// healthWatch is how often edges' health is compared with what the event stream last said
// besides when the prober, the nodes' verdicts or a change of the catalog says it changed.
const healthWatch = time.Second

// Answers over the last minute are the answers metric now less its value a minute ago, from
// samples taken every answersSample.
const (
	answersSample = 5 * time.Second
	answersWindow = time.Minute
)

func (b backend) Events() *events.Bus { return b.g.events }

// healthChanged tells the health watcher to look now. It never blocks.
func (g *GeoRoute) healthChanged() {
	select {
	case g.healthKick <- struct{}{}:
	default:
	}
}

// publishChanges tells the event stream what a committed transaction changed: an event for
// each object put or deleted, a drain event for each override. g.writeMu is held.
func (g *GeoRoute) publishChanges(rev int64, ops []store.Op) {
	if g.events == nil {
		return
	}
	v := g.cat.View()
	evs := make([]events.Event, 0, len(ops))
	health := false // an edge's health may follow: its checks, its override
	for _, op := range ops {
		health = health || op.Kind == store.Edges || op.Kind == store.Overrides || op.Kind == store.HealthChecks
		switch op.Kind {
		case store.RTT, store.Reach, store.Load:
			continue // measurements and reports, thousands a second: the RTT view and explain show them
		case store.Overrides:
			state := v.Stored.Overrides[op.Key]
			if op.Delete || state == "" {
				state = catalog.OverrideAuto
			}
			evs = append(evs, events.Event{Type: events.Drain, Rev: rev, Edge: op.Key, State: state})
			continue
		}
		e := events.Event{Type: events.Change, Rev: rev, Kind: string(op.Kind), Key: op.Key, Op: "put"}
		if op.Delete {
			e.Op = "delete"
		}
		if op.Kind == store.Names {
			e.Key = store.KeyName(op.Key)
			e.Zone = v.ZoneOf(e.Key)
		}
		evs = append(evs, e)
	}
	if health {
		// A drain, an edge's checks: the health that follows from it is published with it, in
		// order, before the write is answered.
		evs = append(evs, g.healthEvents()...)
	}
	g.events.Publish(evs...)
}

// watchHealth publishes a health event whenever an edge's health as the API shows it (this
// node's checks, other nodes' verdicts, an override) changes, and samples the answers metric,
// until stop is closed. An edge seen for the first time gets an event from "" to its state.
func (g *GeoRoute) watchHealth(stop <-chan struct{}) {
	t := time.NewTicker(healthWatch)
	defer t.Stop()
	sampled := time.Now()
	g.publishHealth()
	for {
		select {
		case <-stop:
			return
		case <-g.healthKick:
			g.publishHealth()
		case now := <-t.C:
			g.publishHealth()
			g.expireReachLoad(now)
			if now.Sub(sampled) >= answersSample {
				g.answers.sample(now)
				sampled = now
			}
		}
	}
}

// healthWatched is the health the event stream last said of every edge.
type healthWatched struct {
	mu   sync.Mutex
	last map[string]string
}

// publishHealth publishes an event for every edge whose health as the API shows it is not what
// the stream last said.
func (g *GeoRoute) publishHealth() {
	g.watched.mu.Lock()
	defer g.watched.mu.Unlock()
	g.events.Publish(g.healthEvents()...)
}

// healthEvents returns an event for every edge whose health as the API shows it is not what
// the stream last said, in edge order, and takes them as said. g.watched.mu is held: apply holds
// it from before a change is applied (a drain changes the prober's state while it is applied)
// until its events are out, so that the health a change makes comes after the change's event.
func (g *GeoRoute) healthEvents() []events.Event {
	w := &g.watched
	if w.last == nil {
		w.last = map[string]string{}
	}
	b := backend{g}
	v := g.cat.View()
	var evs []events.Event
	for id := range v.Merged.Edges {
		e, ok := b.edgeView(v, id)
		if !ok || e.Health == nil {
			continue
		}
		now := e.Health.State.String()
		if was, seen := w.last[id]; seen && was == now {
			continue
		}
		evs = append(evs, events.Event{Type: events.Health, Edge: id, State: now, From: w.last[id], Reason: e.Health.Reason})
		w.last[id] = now
	}
	for id := range w.last {
		if _, ok := v.Merged.Edges[id]; !ok {
			delete(w.last, id) // the change event says it is gone
		}
	}
	slices.SortFunc(evs, func(a, b events.Event) int { return strings.Compare(a.Edge, b.Edge) })
	return evs
}

// answerSamples keeps the answers metric's per-edge totals of the last minute.
type answerSamples struct {
	mu   sync.Mutex
	ring []answerSample // oldest first
}

type answerSample struct {
	at     time.Time
	totals map[string]float64
}

// answerTotals is the answers metric now, summed over pools, by edge.
func answerTotals() map[string]float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { answersTotal.Collect(ch); close(ch) }()
	out := map[string]float64{}
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.Counter == nil {
			continue
		}
		for _, l := range d.Label {
			if l.GetName() == "edge" {
				out[l.GetValue()] += d.Counter.GetValue()
			}
		}
	}
	return out
}

func (a *answerSamples) sample(now time.Time) {
	s := answerSample{at: now, totals: answerTotals()}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ring = append(a.ring, s)
	// Keep the latest sample at least a window old, and all after it.
	for len(a.ring) > 1 && now.Sub(a.ring[1].at) >= answersWindow {
		a.ring = a.ring[1:]
	}
}

// lastMinute is each edge's answers since the sample closest to a minute ago (since the first
// sample while the server is younger than that).
func (a *answerSamples) lastMinute() map[string]int64 {
	now := answerTotals()
	a.mu.Lock()
	var base map[string]float64
	if len(a.ring) > 0 {
		base = a.ring[0].totals
	}
	a.mu.Unlock()
	out := make(map[string]int64, len(now))
	for id, n := range now {
		out[id] = int64(n - base[id])
	}
	return out
}

// countryRoute is one country's clients and what they get from a pool.
type countryRoute struct {
	Country     string       `json:"country"`
	Client      string       `json:"client"`
	Network     string       `json:"network"`
	Location    any          `json:"location"`
	Outcome     string       `json:"outcome"` // answer, fail_open, nodata, servfail
	AnswerEdges []string     `json:"answer_edges"`
	Answer      []string     `json:"answer"`
	RTT         []countryRTT `json:"rtt"`
}

type countryRTT struct {
	Edge     string   `json:"edge"`
	Millis   *float64 `json:"rtt_ms"`
	Measured bool     `json:"measured"` // this network's own figure, not an estimate
	Source   string   `json:"source"`
}

// Routing decides, for one client network of every country the GeoIP database knows, what the
// pool answers it now: the DNS path's decision (route.Decide with the served table, health and
// matrix), and the RTT figure of every edge of the pool.
func (b backend) Routing(pool, qtype string) (any, error) {
	st := b.g.state.Load()
	p := st.table.Pool(pool)
	if p == nil {
		return nil, api.NotFound("no pool %q", pool)
	}
	fam := route.V4
	if qtype == "AAAA" {
		fam = route.V6
	}
	edges := poolEdges(p, nil, map[*route.Pool]bool{})
	var samples []countrySample
	if st.geo != nil {
		for _, s := range st.geo.Countries() {
			samples = append(samples, countrySample{s.Country, s.Prefix})
		}
	}
	bind := &route.Binding{Name: "(routing)", Pool: p.ID}
	loads := b.g.loads(st.table)
	var avoid [4]string
	out := make([]countryRoute, 0, len(samples))
	var d route.Decision
	for _, s := range samples {
		addr := s.prefix.Addr()
		c := st.clientOf(addr)
		env := &route.Env{Health: b.g.health(), RTT: st.matrix, Loads: loads, Unreachable: b.g.unreachable(&c, avoid[:0])}
		d.Reset()
		route.Decide(st.table, bind, fam, &c, env, &d)
		cr := countryRoute{Country: s.country, Client: addr.String(), Network: s.prefix.String(), Location: location(c),
			Outcome: outcomeOf(&d), AnswerEdges: []string{}, Answer: []string{}}
		for _, e := range d.Edges {
			cr.AnswerEdges = append(cr.AnswerEdges, e.ID)
			for _, ip := range e.IPs(fam) {
				cr.Answer = append(cr.Answer, ip.String())
			}
		}
		for _, e := range edges {
			ms, src := c.RTTTo(env, e)
			r := countryRTT{Edge: e.ID, Measured: src == rtt.Measured, Source: sourceKey(src)}
			if !math.IsInf(ms, 0) && !math.IsNaN(ms) {
				r.Millis = &ms
			}
			cr.RTT = append(cr.RTT, r)
		}
		out = append(out, cr)
	}
	ids := make([]string, len(edges))
	for i, e := range edges {
		ids[i] = e.ID
	}
	return map[string]any{"pool": p.ID, "policy": p.Spec.Policy, "type": qtype, "edges": ids, "countries": out}, nil
}

type countrySample struct {
	country string
	prefix  netip.Prefix
}

func outcomeOf(d *route.Decision) string {
	switch {
	case d.Outcome == route.NoData:
		return "nodata"
	case d.Outcome == route.Servfail:
		return "servfail"
	case d.FailOpen:
		return "fail_open"
	}
	return "answer"
}

// sourceKey is a figure's source in one word.
func sourceKey(s rtt.Source) string {
	return [...]string{"none", "measured", "corrected", "distance", "neighbour"}[s]
}

// poolEdges appends the edges p reaches (its members, its rules' members, nested pools'), each
// once, in order.
func poolEdges(p *route.Pool, out []*route.Edge, seen map[*route.Pool]bool) []*route.Edge {
	if seen[p] {
		return out
	}
	seen[p] = true
	add := func(ms []route.Member) {
		for _, m := range ms {
			switch {
			case m.Edge != nil && !slices.Contains(out, m.Edge):
				out = append(out, m.Edge)
			case m.Pool != nil:
				out = poolEdges(m.Pool, out, seen)
			}
		}
	}
	add(p.Members)
	for _, r := range p.Rules {
		add(r.Members)
	}
	return out
}
