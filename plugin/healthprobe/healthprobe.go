// Package healthprobe is a CoreDNS plugin that probes edges (ICMP, TCP, HTTP(S), DNS) and
// publishes their health for georoute, which reads it lock-free on every query.
package healthprobe

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/georoute/appliance/plugin/pkg/health"
	"github.com/georoute/appliance/plugin/pkg/health/check"
	"github.com/miekg/dns"
)

const pluginName = "healthprobe"

var log = clog.NewWithPlugin(pluginName)

// HealthProbe is the plugin: a pass-through handler in the chain, so that georoute finds it,
// and the scheduler of every edge's checks.
type HealthProbe struct {
	Next plugin.Handler

	mu      sync.Mutex // guards the set of edges (Track, Close); never held by queries or probes
	edges   map[string]*edgeRun
	tracked atomic.Bool
	pending atomic.Int64 // checks of the first Track without a first result
	closed  bool

	table atomic.Pointer[table] // what queries read: changes only when the set of edges does

	// onLag, when set, sees every probe's scheduling lag (tests and benchmarks).
	onLag func(time.Duration)
	// changed, when set, is called after any edge's state changes (health.Notifier).
	changed atomic.Pointer[func()]
}

var _ health.Notifier = (*HealthProbe)(nil)

// OnChange implements health.Notifier: fn is called, from the probing goroutine, whenever an
// edge's state changes.
func (h *HealthProbe) OnChange(fn func()) { h.changed.Store(&fn) }

var _ health.Prober = (*HealthProbe)(nil)

// New returns a HealthProbe that probes nothing until Track.
func New() *HealthProbe {
	h := &HealthProbe{edges: make(map[string]*edgeRun)}
	h.table.Store(&table{})
	return h
}

// edgeRun is one edge: its checks, their runners and the combined state.
type edgeRun struct {
	id    string
	state atomic.Uint32 // State; written under mu, read by queries

	mu       sync.Mutex // guards what follows and the runners' machines
	rule     rule
	override string
	runners  []*runner
	reason   string
	since    time.Time
	rtt      time.Duration // the latest transport round trip a probe measured
	rttAt    time.Time
	changed  *atomic.Pointer[func()] // the prober's
}

func (er *edgeRun) State() State { return State(er.state.Load()) }

// ServeDNS implements the plugin.Handler interface: it passes every query on, to the next plugin
// directly: plugin.NextOrFailure wraps the writer for each plugin a query passes (an allocation a
// query, and a layer every write and address read goes through), which a pass-through that never
// writes has no use for.
func (h *HealthProbe) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if h.Next == nil {
		return plugin.NextOrFailure(pluginName, h.Next, ctx, w, r)
	}
	return h.Next.ServeDNS(ctx, w, r)
}

// Name implements the plugin.Handler interface.
func (h *HealthProbe) Name() string { return pluginName }

// Up implements health.Source. An edge the prober does not know (added since the last Track) is
// up; an edge whose checks have no result yet is not.
func (h *HealthProbe) Up(id string) bool {
	er, ok := h.table.Load().edges[id]
	return !ok || er.State() == Up
}

// table maps edge ids to their runs; it is rebuilt only when edges come or go, a state change is
// one atomic store in the edge's run.
type table struct {
	edges map[string]*edgeRun
}

// Track implements health.Tracker: targets become the set of edges to probe. Checks of new edges
// start at once, changed checks restart, checks of edges that are gone stop. Unchanged checks keep
// running and keep their state.
func (h *HealthProbe) Track(targets []health.Target) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	first := !h.tracked.Load()
	seen := make(map[string]bool, len(targets))
	for i := range targets {
		tg := &targets[i]
		seen[tg.ID] = true
		er := h.edges[tg.ID]
		if er == nil {
			er = &edgeRun{id: tg.ID, since: time.Now(), changed: &h.changed}
			h.edges[tg.ID] = er
		}
		h.trackEdge(er, tg, first)
	}
	for id, er := range h.edges {
		if !seen[id] {
			er.mu.Lock()
			for _, r := range er.runners {
				h.stopRunner(r)
			}
			er.runners = nil
			er.mu.Unlock()
			delete(h.edges, id)
			edgeUp.DeleteLabelValues(id)
		}
	}
	t := &table{edges: make(map[string]*edgeRun, len(h.edges))}
	for id, er := range h.edges {
		t.edges[id] = er
	}
	h.table.Store(t)
	h.tracked.Store(true)
}

// trackEdge brings one edge's runners in line with its target.
func (h *HealthProbe) trackEdge(er *edgeRun, tg *health.Target, first bool) {
	er.mu.Lock()
	defer er.mu.Unlock()
	er.rule, er.override = parseRule(tg.Rule), tg.Override
	var keep []*runner
	for i, spec := range tg.Checks {
		c, err := check.Compile(spec, tg.Addrs)
		if err != nil { // the config was validated; this is a bug, not a user error
			log.Errorf("edge %s check %d: %v", tg.ID, i, err)
			continue
		}
		if i < len(er.runners) && er.runners[i].c.Key == c.Key {
			keep = append(keep, er.runners[i])
			continue
		}
		r := newRunner(er, i, c)
		if first {
			r.initial = true
			h.pending.Add(1)
		}
		keep = append(keep, r)
		go r.run(h)
	}
	for _, old := range er.runners {
		if !slices.Contains(keep, old) {
			h.stopRunner(old)
		}
	}
	er.runners = keep
	if s, why, changed := er.recompute(); changed {
		logTransition(er.id, s, why)
	}
}

// stopRunner stops r without waiting for its probe in flight; r.edge.mu is held.
func (h *HealthProbe) stopRunner(r *runner) {
	r.cancel()
	if r.initial && !r.seen {
		h.pending.Add(-1)
	}
	r.seen = true
	checkUp.DeleteLabelValues(r.edge.id, r.label)
}

// record folds one probe result in; runners call it after every probe.
func (h *HealthProbe) record(r *runner, res Result) {
	observeProbe(r, res)
	er := r.edge
	er.mu.Lock()
	if r.ctx.Err() != nil {
		er.mu.Unlock()
		return // stopped while probing
	}
	r.last, r.lastAt = res, time.Now()
	if res.RTT > 0 {
		er.rtt, er.rttAt = res.RTT, r.lastAt
	}
	if r.initial && !r.seen {
		h.pending.Add(-1)
	}
	r.seen = true
	if !r.m.observe(res.OK != r.c.Invert, r.c.Rise, r.c.Fall) {
		er.mu.Unlock()
		return
	}
	to := r.m.state
	s, why, changed := er.recompute()
	er.mu.Unlock()

	transitions.WithLabelValues(er.id, r.label, to.String()).Inc()
	checkUp.WithLabelValues(er.id, r.label).Set(b2f(to == Up))
	if changed {
		logTransition(er.id, s, why)
	}
}

// recompute derives the edge's state from its checks; er.mu is held.
func (er *edgeRun) recompute() (State, string, bool) {
	states := make([]State, len(er.runners))
	for i, r := range er.runners {
		states[i] = r.m.state
	}
	s, why := edgeState(states, er.rule, er.override)
	er.reason = why
	old := er.State()
	if s == old {
		return s, why, false
	}
	er.since = time.Now()
	er.state.Store(uint32(s))
	if er.changed != nil {
		if fn := er.changed.Load(); fn != nil {
			(*fn)()
		}
	}
	edgeUp.WithLabelValues(er.id).Set(b2f(s == Up))
	return s, why, old != Unknown || s == Down
}

func logTransition(id string, s State, why string) {
	log.Infof("edge %s is %s: %s", id, s, why)
}

// Ready implements the ready.Readiness interface: ready once every check known at start has a
// first result, so that the first answers already reflect health.
func (h *HealthProbe) Ready() bool { return h.tracked.Load() && h.pending.Load() <= 0 }

// Close stops every check.
func (h *HealthProbe) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, er := range h.edges {
		er.mu.Lock()
		for _, r := range er.runners {
			h.stopRunner(r)
		}
		er.mu.Unlock()
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
