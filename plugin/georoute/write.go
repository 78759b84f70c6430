package georoute

import (
	"errors"
	"fmt"
	"time"

	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/procs"
	"github.com/georoute/appliance/plugin/georoute/reach"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// Every write, from any front door, goes through one committer goroutine: it prepares each
// change with the catalog (validated against the state and what earlier changes of its group
// staged), commits every accepted change of the group in one store write (one transaction and
// revision each, one fsync for all), durable before anything is applied, then applies them to
// memory in order (apply) and answers. A change of zones, edges, pools or overrides is a group
// of its own.

// writeReq is one write: a catalog change, RTT reports, or both.
type writeReq struct {
	change *catalog.Change
	rtts   []rttReport
	reach  []reachObs // failure reports, and successes of networks that failed
	load   *store.Op  // an edge's load report
	done   chan writeResult
}

// writeResult is what became of a write: the revision it committed at and, per op of its
// change, whether it created the object.
type writeResult struct {
	rev     int64
	created []bool
	err     error
}

type rttReport struct {
	client rtt.Client
	edge   string
	millis float64
}

// maxGroup bounds the writes committed together.
const maxGroup = 512

var errShuttingDown = &catalog.Error{Kind: catalog.Unavailable, Code: catalog.CodeUnavailable, Message: "the server is shutting down"}

// write hands a change to the committer and waits until it is applied or refused.
func (g *GeoRoute) write(ch *catalog.Change) ([]bool, error) {
	res := g.submit(&writeReq{change: ch})
	return res.created, res.err
}

// writeAt is write for a front door that needs the revision the change committed at (Route 53's
// GetChange): applied on this node once the catalog's view has it.
func (g *GeoRoute) writeAt(ch *catalog.Change) (rev int64, created []bool, err error) {
	res := g.submit(&writeReq{change: ch})
	return res.rev, res.created, res.err
}

// submit hands r to the committer and waits for its answer.
func (g *GeoRoute) submit(r *writeReq) writeResult {
	if g.db == nil {
		return writeResult{err: &catalog.Error{Kind: catalog.Unavailable, Code: catalog.CodeUnavailable, Message: "no store: georoute needs 'store FILE' to take writes"}}
	}
	r.done = make(chan writeResult, 1)
	select {
	case g.commits <- r:
	case <-g.stopping:
		return writeResult{err: errShuttingDown}
	}
	return <-r.done
}

func (r *writeReq) objects() bool { return r.change != nil && r.change.Objects() }

// boostIdle is how long after its last commit the committer of a local store gives back the
// second P it holds while committing (procs).
const boostIdle = time.Second

// committer runs until stop is closed. With a local store it holds procs.Shared while writes
// come (until boostIdle without one): its fsyncs would stop the answers of a process of one P.
func (g *GeoRoute) committer(stop <-chan struct{}) {
	var group []*writeReq
	idle := time.NewTimer(boostIdle)
	idle.Stop()
	held := false
	defer func() {
		if held {
			procs.Shared.Release()
		}
	}()
	for {
		select {
		case <-stop:
			return
		case <-idle.C:
			if held {
				procs.Shared.Release()
				held = false
			}
			continue
		case r := <-g.commits:
			group = append(group[:0], r)
		}
		if !held && g.etcdConf == nil {
			procs.Shared.Hold()
			held = true
		}
		for len(group) < maxGroup && !group[len(group)-1].objects() {
			select {
			case r := <-g.commits:
				group = append(group, r)
				continue
			default:
			}
			break
		}
		// A change of objects is committed on its own, after the writes before it.
		if last := group[len(group)-1]; last.objects() && len(group) > 1 {
			g.commitGroup(group[:len(group)-1])
			group = group[len(group)-1:]
		}
		g.commitGroup(group)
		if held {
			idle.Reset(boostIdle)
		}
	}
}

// commitGroup prepares, commits and applies a group of writes.
func (g *GeoRoute) commitGroup(group []*writeReq) {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	var stage *catalog.Stage
	if !group[0].objects() {
		stage = catalog.NewStage()
	}
	rtts := map[rtt.Pair]rtt.Measurement{}
	pairs := map[reach.Key]*reach.Pair{}
	now := time.Now()
	var accepted []*writeReq
	var plans []*catalog.Plan
	var txns []store.Txn
	for _, r := range group {
		var p *catalog.Plan
		var txn store.Txn
		if r.change != nil {
			var err error
			if p, err = g.cat.Prepare(r.change, stage); err != nil {
				r.done <- writeResult{err: err}
				continue
			}
			txn = p.Txn
		}
		if len(r.rtts) > 0 {
			txn.Ops = append(txn.Ops, g.rttOps(r.rtts, rtts, now)...)
		}
		if len(r.reach) > 0 {
			txn.Ops = append(txn.Ops, g.reachOps(r.reach, pairs, now)...)
		}
		if r.load != nil {
			txn.Ops = append(txn.Ops, *r.load)
		}
		accepted, plans, txns = append(accepted, r), append(plans, p), append(txns, txn)
	}
	if len(accepted) == 0 {
		return
	}
	if g.etcdConf != nil {
		// A shared store known to be unreachable: refused at once, rather than each group
		// waiting out the store's timeout in turn.
		if err := g.storeHealth.down(); err != nil {
			e := storeUnavailable(err)
			for _, r := range accepted {
				r.done <- writeResult{err: e}
			}
			return
		}
	}
	prepared := g.cat.View()
	if g.etcdConf != nil {
		// Not held across the round trip to etcd: meanwhile the follower applies what other
		// nodes commit (and may apply this group's commits first: then they are answered here).
		g.writeMu.Unlock()
	}
	start := time.Now()
	results, err := g.db.Txns(txns)
	if g.etcdConf != nil {
		g.writeMu.Lock()
	}
	commitDuration.Observe(time.Since(start).Seconds())
	n := 0
	for _, t := range txns {
		n += len(t.Ops)
	}
	commitOps.Observe(float64(n))
	if err != nil {
		log.Errorf("store commit of %d changes failed: %v", len(txns), err)
		if g.etcdConf != nil {
			g.storeHealth.failed(err)
		}
		e := storeUnavailable(err)
		for _, r := range accepted {
			r.done <- writeResult{err: e}
		}
		return
	}
	// Durable: now visible, in order. A plan holds while this node's state is the one it was
	// prepared on; once other nodes' commits are applied before one (a shared store), or a
	// change it was staged on did not commit, the rest are applied as the stream replays them.
	replay := g.cat.View() != prepared
	for i, r := range accepted {
		res := results[i]
		switch {
		case errors.Is(res.Err, store.ErrConflict):
			r.done <- writeResult{err: &catalog.Error{Kind: catalog.Conflict, Code: catalog.CodeChanged, Message: "what the change was checked against changed meanwhile; nothing was applied: try again"}}
			replay = true
			continue
		case res.Err != nil:
			if errors.Is(res.Err, store.ErrUnknown) {
				g.storeHealth.failed(res.Err)
			}
			r.done <- writeResult{err: storeUnavailable(res.Err)}
			replay = true
			continue
		}
		var created []bool
		if plans[i] != nil {
			created = plans[i].Created
		}
		if len(txns[i].Ops) == 0 || res.Rev <= g.cat.View().Rev { // nothing committed, or the follower applied it
			r.done <- writeResult{rev: res.Rev, created: created}
			continue
		}
		if res.Rev > g.cat.View().Rev+1 {
			if err := g.catchUp(res.Rev - 1); err != nil {
				r.done <- writeResult{err: &catalog.Error{Kind: catalog.Unavailable, Code: catalog.CodeUnavailable, Message: fmt.Sprintf(
					"the change is committed (revision %d) but not applied here yet: the revisions before it could not be read: %v", res.Rev, err)}}
				replay = true
				continue
			}
			replay = true
		}
		p := plans[i]
		if replay {
			p = nil
		}
		if err := g.apply(res.Rev, txns[i].Ops, p); err != nil {
			log.Errorf("revision %d is committed but not fully applied: %v", res.Rev, err)
		}
		r.done <- writeResult{rev: res.Rev, created: created}
	}
	if g.etcdConf != nil {
		g.storeHealth.reached(g.cat.View().Rev)
		appliedRevision.Set(float64(g.cat.View().Rev))
	}
}
