package georoute

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"github.com/georoute/appliance/plugin/georoute/reach"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/quorum"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store/etcd"
	"github.com/georoute/appliance/plugin/pkg/health"
)

// Nodes sharing a store probe every edge each, and share what they see: each node writes its
// verdict on each edge (its checks under their rise, fall and rule) to the store when it
// changes, and every 30 s all the same, under its presence lease (so that a node gone takes its
// observations with it), and reads the others'. An edge counts as down when health_quorum N of
// the nodes that have a verdict see it down (by default more than half of them): one node's bad
// network does not drain an edge everywhere. The query path reads the outcome from one atomic
// pointer (quorumView): the verdicts are worked out here, when a node's word changes.

const (
	observeEvery   = 100 * time.Millisecond // how often this node's own verdicts are read
	observeRefresh = 30 * time.Second       // every observation written again
	publishRetry   = time.Second            // after a write the store did not take
)

// observer is what a store that shares health observations does (etcd.Store).
type observer interface {
	PutObservations(node string, puts []etcd.Observation, gone []string) (int64, error)
	Lease() int64
	WatchObservations(ctx context.Context, fn func(reset bool, obs []etcd.Observation))
}

// observation is one node's word on one target (an edge, or a Route 53 health check's own
// target), as the store keeps it.
type observation struct {
	State  health.State `json:"state"`
	Reason string       `json:"reason,omitempty"`
	Since  time.Time    `json:"since,omitzero"`
	At     time.Time    `json:"at"` // when it was written
	// Addr and Check are a Route 53 health check's: the node's address toward its endpoint and
	// the latest result of its check (GetHealthCheckStatus).
	Addr  string              `json:"addr,omitempty"`
	Check *health.CheckStatus `json:"check,omitempty"`
	// Vantage is the client networks the node's probes stand for (its 'vantage'): when it
	// finds the target down, they avoid it.
	Vantage []string `json:"vantage,omitempty"`
}

// sharedHealth is what this node knows of the other nodes' observations.
type sharedHealth struct {
	need int // health_quorum; 0: a majority of the nodes that have a verdict

	mu     sync.Mutex
	board  *quorum.Board                     // the others' votes
	others map[string]map[string]observation // target -> node -> what it said
	dirty  bool                              // the board changed since the verdicts were worked out
}

// quorumView is the health the query path reads with shared observations: an operator's
// override, else the verdict of the nodes on edges other nodes have a word on, else this node's.
type quorumView struct {
	local health.Source
	up    map[string]bool
}

func (q *quorumView) Up(e *route.Edge) bool {
	switch e.Override {
	case "down":
		return false
	case "up":
		return true
	}
	if v, ok := q.up[e.ID]; ok {
		return v
	}
	return q.local.Up(e.ID)
}

// observed is what this node last found of each target, and which targets these are.
type observed struct {
	mine    map[string]health.State
	table   *route.Table
	view    *catalog.View
	targets []string
}

// shareHealth shares this node's observations through o and follows the others' until stop is
// closed, publishing the verdicts for the query path.
func (g *GeoRoute) shareHealth(o observer, p health.Prober, stop <-chan struct{}) {
	sh := &g.storeHealth.shared
	sh.mu.Lock()
	sh.board, sh.others = quorum.NewBoard(), map[string]map[string]observation{}
	sh.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	self := g.nodeName()
	wg.Add(2)
	go func() {
		defer wg.Done()
		o.WatchObservations(ctx, func(reset bool, obs []etcd.Observation) { sh.follow(self, reset, obs) })
	}()
	pub := newPublisher()
	go func() { defer wg.Done(); pub.run(o, self, stop) }()

	t := time.NewTicker(observeEvery)
	defer t.Stop()
	seen := &observed{mine: map[string]health.State{}}
	var lastFull time.Time
	wasAlone := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		st := g.state.Load()
		if st == nil {
			continue
		}
		full := time.Since(lastFull) > observeRefresh || pub.leaseChanged(o.Lease())
		if full {
			lastFull = time.Now()
		}
		changed := g.observe(p, st, seen, pub, full)
		// Cut off from the store past the presence lease, this node's own lease has lapsed too:
		// the others' words are as old, and its own decide until it hears from them again.
		alone := g.storeHealth.unreachableFor() > etcd.PresenceTTL
		if sh.takeDirty() || changed || alone != wasAlone {
			var up map[string]bool
			if !alone {
				sh.mu.Lock()
				up = sh.board.Verdicts(func(target string) health.State { return seen.mine[target] }, sh.need)
				sh.mu.Unlock()
			}
			var h route.Health = &quorumView{local: p, up: up}
			g.healthy.Store(&h)
			g.healthChanged()
			wasAlone = alone
			g.setVantages(g.vantagesOf(st, self, seen.mine, sh, alone))
		}
	}
}

// vantagesOf is what every node's own probes find down, for the client networks it stands for:
// this node's from mine, the others' from their observations (not while cut off from them).
func (g *GeoRoute) vantagesOf(st *state, self string, mine map[string]health.State, sh *sharedHealth, alone bool) []reach.Vantage {
	var out []reach.Vantage
	for target, s := range mine {
		if s == health.Down && st.table.Edge(target) != nil {
			for _, p := range g.vantage {
				out = append(out, reach.Vantage{Prefix: p, Edge: target, Node: self})
			}
		}
	}
	if !alone {
		sh.mu.Lock()
		for target, nodes := range sh.others {
			if st.table.Edge(target) == nil {
				continue
			}
			for node, o := range nodes {
				if o.State != health.Down {
					continue
				}
				for _, s := range o.Vantage {
					if p, err := netip.ParsePrefix(s); err == nil {
						out = append(out, reach.Vantage{Prefix: p, Edge: target, Node: node, Since: o.Since})
					}
				}
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b reach.Vantage) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Edge, b.Edge), a.Prefix.Addr().Compare(b.Prefix.Addr()), a.Prefix.Bits()-b.Prefix.Bits())
	})
	return out
}

// observe reads this node's verdict on every target p probes for st, queues the ones that
// changed (all of them when full) for the store and reports whether any changed.
func (g *GeoRoute) observe(p health.Prober, st *state, seen *observed, pub *publisher, full bool) bool {
	if st.table != seen.table || st.view != seen.view {
		seen.table, seen.view, seen.targets = st.table, st.view, probedIDs(st)
		gone := maps.Clone(seen.mine)
		for _, id := range seen.targets {
			delete(gone, id)
		}
		for id := range gone {
			delete(seen.mine, id)
			pub.queue(id, nil)
		}
	}
	changed := false
	for _, id := range seen.targets {
		prev, known := seen.mine[id]
		if !full && known && prev != health.Unknown && (prev == health.Up) == p.Up(id) {
			continue // the cheap test: Status takes the edge's lock
		}
		s, ok := p.Status(id)
		if !ok {
			continue // added since the prober last heard of the targets
		}
		if s.State != prev || !known {
			seen.mine[id], changed = s.State, true
		} else if !full {
			continue
		}
		if s.State == health.Unknown {
			pub.queue(id, nil) // no result yet: no vote
			continue
		}
		pub.queue(id, g.observationOf(id, s, st.view))
	}
	return changed
}

// observationOf is what this node says of target id with status s.
func (g *GeoRoute) observationOf(id string, s health.Status, v *catalog.View) *observation {
	o := &observation{State: s.State, Reason: s.Reason, Since: s.Since, At: time.Now().UTC()}
	for _, p := range g.vantage {
		o.Vantage = append(o.Vantage, p.String())
	}
	if hcID, ok := healthCheckOf(id); ok && len(s.Checks) > 0 {
		cs := s.Checks[0]
		o.Check = &cs
		if hc, ok := v.Stored.HealthChecks[hcID]; ok {
			o.Addr = sourceAddress(hc)
		}
	}
	return o
}

// probedIDs is every target the prober runs for st: its edges and its health checks.
func probedIDs(st *state) []string {
	ids := make([]string, 0, len(st.table.Edges))
	for _, e := range st.table.Edges {
		ids = append(ids, e.ID)
	}
	for id, hc := range st.view.Stored.HealthChecks {
		if hc.Type != model.HealthCheckCalculated && !hc.Disabled {
			ids = append(ids, healthCheckTarget(id))
		}
	}
	return ids
}

// follow takes what the store says of the others' observations.
func (sh *sharedHealth) follow(self string, reset bool, obs []etcd.Observation) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if reset {
		sh.dirty = sh.board.Reset() || sh.dirty
		clear(sh.others)
	}
	for _, ob := range obs {
		if ob.Node == self {
			continue
		}
		var o observation
		if ob.Value == nil || json.Unmarshal(ob.Value, &o) != nil {
			sh.dirty = sh.board.Remove(ob.Target, ob.Node) || sh.dirty
			delete(sh.others[ob.Target], ob.Node)
			if len(sh.others[ob.Target]) == 0 {
				delete(sh.others, ob.Target)
			}
			continue
		}
		sh.dirty = sh.board.Set(ob.Target, ob.Node, o.State) || sh.dirty
		if sh.others[ob.Target] == nil {
			sh.others[ob.Target] = map[string]observation{}
		}
		sh.others[ob.Target][ob.Node] = o
	}
}

func (sh *sharedHealth) takeDirty() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	d := sh.dirty
	sh.dirty = false
	return d
}

// nodeObservation is one other node's word on a target.
type nodeObservation struct {
	node string
	observation
}

// of is what the other nodes last said of target, by node name.
func (sh *sharedHealth) of(target string) []nodeObservation {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	nodes := sh.others[target]
	out := make([]nodeObservation, 0, len(nodes))
	for _, n := range slices.Sorted(maps.Keys(nodes)) {
		out = append(out, nodeObservation{node: n, observation: nodes[n]})
	}
	return out
}

// publisher writes this node's observations to the store, from its own goroutine: the loop
// that reads them never waits for the store.
type publisher struct {
	mu      sync.Mutex
	pending map[string]*observation // nil: delete
	lease   int64                   // the lease the last write was under
	renewed bool                    // a write went under a new lease: those before it are gone
	wake    chan struct{}
}

func newPublisher() *publisher {
	return &publisher{pending: map[string]*observation{}, wake: make(chan struct{}, 1)}
}

// queue has the observation of target written (o nil: deleted).
func (p *publisher) queue(target string, o *observation) {
	p.mu.Lock()
	p.pending[target] = o
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// leaseChanged reports whether the store's lease now is not the one the last write was under:
// what was written then is gone, or goes when it expires.
func (p *publisher) leaseChanged(now int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := p.renewed || p.lease != 0 && now != 0 && now != p.lease
	p.renewed = false
	return changed
}

func (p *publisher) run(o observer, self string, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-p.wake:
		}
		p.mu.Lock()
		batch := p.pending
		p.pending = map[string]*observation{}
		p.mu.Unlock()
		var puts []etcd.Observation
		var gone []string
		for _, target := range slices.Sorted(maps.Keys(batch)) {
			if batch[target] == nil {
				gone = append(gone, target)
				continue
			}
			v, _ := json.Marshal(batch[target])
			puts = append(puts, etcd.Observation{Target: target, Node: self, Value: v})
		}
		lease, err := o.PutObservations(self, puts, gone)
		p.mu.Lock()
		if err == nil {
			p.renewed = p.renewed || p.lease != 0 && lease != p.lease
			p.lease = lease
		} else {
			for target, ob := range batch { // again, unless a newer word came meanwhile
				if _, newer := p.pending[target]; !newer {
					p.pending[target] = ob
				}
			}
		}
		p.mu.Unlock()
		if err != nil {
			select {
			case <-stop:
				return
			case <-time.After(publishRetry):
			}
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}
}

// edgeHealth is what the API shows of edge id's health, local being this node's: once other
// nodes have said what they see, the state of their verdict together (an override still wins)
// and each node's word.
func (g *GeoRoute) edgeHealth(id string, local health.Status) (health.Status, []api.NodeHealth) {
	if g.etcdConf == nil || g.storeHealth.unreachableFor() > etcd.PresenceTTL {
		return local, nil
	}
	others := g.storeHealth.shared.of(id)
	if len(others) == 0 {
		return local, nil
	}
	nodes := []api.NodeHealth{{Node: g.nodeName(), State: local.State, Reason: local.Reason, Since: local.Since}}
	for _, o := range others {
		nodes = append(nodes, api.NodeHealth{Node: o.node, State: o.State, Reason: o.Reason, Since: o.Since})
	}
	slices.SortFunc(nodes, func(a, b api.NodeHealth) int { return strings.Compare(a.Node, b.Node) })
	if local.Override != "" {
		return local, nodes
	}
	up, down := 0, 0
	for _, n := range nodes {
		switch n.State {
		case health.Up:
			up++
		case health.Down:
			down++
		}
	}
	isDown, _ := quorum.Down(up, down, g.storeHealth.shared.need)
	need := (up+down)/2 + 1
	if n := g.storeHealth.shared.need; n > 0 {
		need = min(n, up+down)
	}
	out := local
	out.State = health.Up
	if isDown {
		out.State = health.Down
	}
	out.Reason = fmt.Sprintf("%d of %d nodes see it down, %d needed; here: %s", down, up+down, need, local.Reason)
	return out, nodes
}
