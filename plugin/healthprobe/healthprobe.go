// Package healthprobe is a CoreDNS plugin that probes edges (ICMP, TCP, HTTP(S), DNS) and
// publishes their health for georoute, which reads it lock-free on every query.
package healthprobe

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/healthprobe/check"
	"github.com/miekg/dns"
)

const pluginName = "healthprobe"

var log = clog.NewWithPlugin(pluginName)

// HealthProbe is the plugin: a pass-through handler in the chain, so that georoute finds it,
// and the scheduler of every edge's checks.
type HealthProbe struct {
	Next plugin.Handler

	mu      sync.Mutex // guards edges and the runners' machines; never held by queries
	edges   map[string]*edgeRun
	tracked bool
	pending int // checks of the first Track without a first result
	closed  bool

	table atomic.Pointer[table] // what queries read

	// onLag, when set, sees every probe's scheduling lag (tests and benchmarks).
	onLag func(time.Duration)
}

// New returns a HealthProbe that probes nothing until Track.
func New() *HealthProbe {
	h := &HealthProbe{edges: make(map[string]*edgeRun)}
	h.table.Store(&table{})
	return h
}

// edgeRun is one edge: its checks, their runners and the combined state.
type edgeRun struct {
	id       string
	rule     rule
	override string
	runners  []*runner
	state    State
	reason   string
	since    time.Time
	rtt      time.Duration // the latest transport round trip a probe measured
	rttAt    time.Time
}

// ServeDNS implements the plugin.Handler interface: it passes every query on.
func (h *HealthProbe) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return plugin.NextOrFailure(pluginName, h.Next, ctx, w, r)
}

// Name implements the plugin.Handler interface.
func (h *HealthProbe) Name() string { return pluginName }

// Up implements route.Health. An edge the prober does not know (added since the last Track) is
// up; an edge whose checks have no result yet is not.
func (h *HealthProbe) Up(e *route.Edge) bool {
	s, ok := h.table.Load().state[e.ID]
	return !ok || s == Up
}

// table is the health of every tracked edge, published whole on every change.
type table struct {
	state map[string]State
}

// Track makes edges the set of edges to probe: checks of new edges start at once, changed checks
// restart, checks of edges that are gone stop. Unchanged checks keep running and keep their state.
func (h *HealthProbe) Track(edges []*route.Edge) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	first := !h.tracked
	h.tracked = true
	seen := make(map[string]bool, len(edges))
	for _, e := range edges {
		seen[e.ID] = true
		er := h.edges[e.ID]
		if er == nil {
			er = &edgeRun{id: e.ID, since: time.Now()}
			h.edges[e.ID] = er
		}
		er.rule, er.override = parseRule(e.Spec.HealthRule), e.Spec.Override
		addrs := append(append([]netip.Addr{}, e.V4...), e.V6...)
		var keep []*runner
		for i, spec := range e.Spec.Checks {
			c, err := check.Compile(spec, addrs)
			if err != nil { // the config was validated; this is a bug, not a user error
				log.Errorf("edge %s check %d: %v", e.ID, i, err)
				continue
			}
			if i < len(er.runners) && er.runners[i].c.Key == c.Key {
				keep = append(keep, er.runners[i])
				continue
			}
			r := newRunner(er, i, c)
			if first {
				r.initial = true
				h.pending++
			}
			keep = append(keep, r)
			go r.run(h)
		}
		for _, old := range er.runners {
			if !containsRunner(keep, old) {
				h.stopRunner(old)
			}
		}
		er.runners = keep
		h.recompute(er)
	}
	for id, er := range h.edges {
		if !seen[id] {
			for _, r := range er.runners {
				h.stopRunner(r)
			}
			delete(h.edges, id)
			edgeUp.DeleteLabelValues(id)
		}
	}
	h.publish()
}

func containsRunner(rs []*runner, r *runner) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// stopRunner stops r without waiting for its probe in flight; h.mu is held.
func (h *HealthProbe) stopRunner(r *runner) {
	r.cancel()
	if r.initial && !r.seen {
		h.pending--
	}
	checkUp.DeleteLabelValues(r.edge.id, r.label)
}

// record folds one probe result in; runners call it after every probe.
func (h *HealthProbe) record(r *runner, res Result) {
	observeProbe(r, res)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.ctx.Err() != nil {
		return // stopped while probing
	}
	r.last, r.lastAt = res, time.Now()
	if res.RTT > 0 {
		r.edge.rtt, r.edge.rttAt = res.RTT, r.lastAt
	}
	if r.initial && !r.seen {
		h.pending--
	}
	r.seen = true
	if !r.m.observe(res.OK, r.c.Rise, r.c.Fall) {
		return
	}
	transitions.WithLabelValues(r.edge.id, r.label, r.m.state.String()).Inc()
	checkUp.WithLabelValues(r.edge.id, r.label).Set(b2f(r.m.state == Up))
	if h.recompute(r.edge) {
		h.publish()
	}
}

// recompute derives an edge's state from its checks and reports whether it changed.
func (h *HealthProbe) recompute(er *edgeRun) bool {
	states := make([]State, len(er.runners))
	for i, r := range er.runners {
		states[i] = r.m.state
	}
	s, why := edgeState(states, er.rule, er.override)
	er.reason = why
	if s == er.state {
		return false
	}
	if er.state != Unknown || s == Down {
		log.Infof("edge %s is %s: %s", er.id, s, why)
	}
	er.state, er.since = s, time.Now()
	edgeUp.WithLabelValues(er.id).Set(b2f(s == Up))
	return true
}

// publish builds the table queries read; h.mu is held.
func (h *HealthProbe) publish() {
	t := &table{state: make(map[string]State, len(h.edges))}
	for id, er := range h.edges {
		t.state[id] = er.state
	}
	h.table.Store(t)
}

// Ready implements the ready.Readiness interface: ready once every check known at start has a
// first result, so that the first answers already reflect health.
func (h *HealthProbe) Ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tracked && h.pending <= 0
}

// Close stops every check.
func (h *HealthProbe) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, er := range h.edges {
		for _, r := range er.runners {
			h.stopRunner(r)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
