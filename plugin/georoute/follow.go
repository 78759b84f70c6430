package georoute

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/etcd"
)

// A store that several nodes share (etcd) commits what other nodes write: the follower applies
// it here, from the store's change stream, through the same apply as the committer's own
// commits, under the same lock (writeMu), so that the two never interleave. Whichever of them
// comes first applies a revision; the other skips it. When the stream no longer holds the
// revisions this node needs (ErrCompacted), or a revision does not apply to this node's state,
// the node reads the store whole and applies the difference (catalog.Resync). Meanwhile, and
// while the store is unreachable, the node serves what it has.

// followRetry is how long the follower waits before it watches again after an error.
const followRetry = 500 * time.Millisecond

// After a failed resync the follower waits resyncRetry, doubling up to maxResyncRetry.
const (
	resyncRetry    = 10 * time.Second
	maxResyncRetry = 5 * time.Minute
)

// probeEvery is how often the store is asked its revision: for the lag, and to notice it gone.
const probeEvery = time.Second

// errDiverged is a revision the node could not apply.
var errDiverged = errors.New("does not apply to this node's state")

// storeHealth is what this node knows of its shared store: whether it answers, and the revision
// it last said it had.
type storeHealth struct {
	mu       sync.Mutex
	err      error     // the last failure to reach it; nil once it answers again
	since    time.Time // when it stopped answering
	rev      int64     // the store's revision, as last read
	checked  time.Time // when
	resync   string    // why the node last read the store whole, and when
	node     string    // this node's name (store_node); the host's when empty
	snapshot string    // store_snapshot: the file of the last state this node read
	// What the snapshot holds (snapshot.go), and which revision of it the node started from,
	// etcd not answering.
	snapRev     int64
	snapWritten time.Time
	startedFrom string
	nodes       []etcd.Node // the live nodes, as last read (presence.go)

	shared sharedHealth // the other nodes' health observations (healthshare.go)
}

// unreachableFor is how long the store has not answered: 0 while it does.
func (h *storeHealth) unreachableFor() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return 0
	}
	return time.Since(h.since)
}

func (h *storeHealth) reached(rev int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err, h.rev, h.checked = nil, max(h.rev, rev), time.Now()
	storeReachable.Set(1)
	storeRevision.Set(float64(h.rev))
}

func (h *storeHealth) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.since = time.Now()
	}
	h.err, h.checked = err, time.Now()
	storeReachable.Set(0)
}

// seen notes a revision the store has (from its change stream).
func (h *storeHealth) seen(rev int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev > h.rev {
		h.rev = rev
		storeRevision.Set(float64(rev))
	}
}

// down is the error writes are refused with at once, nil while the store answers.
func (h *storeHealth) down() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return nil
	}
	return fmt.Errorf("%v (since %s)", h.err, h.since.UTC().Format(time.RFC3339))
}

// storeUnavailable is the error of a write the store did not take.
func storeUnavailable(err error) *catalog.Error {
	msg := "store unavailable: " + err.Error()
	if errors.Is(err, store.ErrUnknown) {
		msg += "; the change may have been committed: read it back before trying again"
	} else {
		msg += "; nothing was applied"
	}
	return &catalog.Error{Kind: catalog.Unavailable, Code: catalog.CodeUnavailable, Message: msg}
}

// follow applies what other nodes commit to db until stop is closed; the snapshot follows the
// same stream, and is written a last time before follow returns.
func (g *GeoRoute) follow(db store.Store, stop <-chan struct{}) {
	if g.storeHealth.snapshot != "" {
		kept := make(chan struct{})
		go func() { defer close(kept); g.keepSnapshot(db, stop) }()
		defer func() { <-kept }()
	}
	ctx, cancel := untilClosed(stop)
	defer cancel()
	wait := followRetry
	for ctx.Err() == nil {
		err := g.followFrom(ctx, db, g.cat.View().Rev)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrCompacted), errors.Is(err, errDiverged):
			log.Warningf("reading the store whole: %v", err)
			if err := g.resync(db, err); err != nil {
				// Reading it whole again at once would only load etcd: the files or the store
				// must change first.
				wait = min(max(2*wait, resyncRetry), maxResyncRetry)
				log.Errorf("could not read the store whole, still serving revision %d, trying again in %s: %v", g.cat.View().Rev, wait, err)
			} else {
				wait = followRetry
			}
		case err != nil:
			g.storeHealth.failed(err)
			log.Warningf("the store's change stream stopped at revision %d, watching again: %v", g.cat.View().Rev, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// untilClosed is a context canceled once stop is closed (or cancel is called).
func untilClosed(stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// followBatch bounds the events applied under one hold of writeMu.
const followBatch = 1024

// followFrom applies the change stream of db after from until it ends: each event, and those
// that came meanwhile, under one hold of writeMu (the committer takes it for every group).
func (g *GeoRoute) followFrom(ctx context.Context, db store.Store, from int64) error {
	ch := db.Watch(ctx, from)
	for e := range ch {
		g.writeMu.Lock()
		err := e.Err
		for n := 0; err == nil; n++ {
			if err = g.applyFollowed(e.Event); err != nil || n == followBatch {
				break
			}
			var ok bool
			select {
			case e, ok = <-ch:
				if !ok {
					g.writeMu.Unlock()
					return nil
				}
				err = e.Err
				continue
			default:
			}
			break
		}
		g.writeMu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// applyFollowed applies e unless this node has it already. g.writeMu is held.
func (g *GeoRoute) applyFollowed(e store.Event) error {
	switch rev := g.cat.View().Rev; {
	case e.Rev <= rev:
		return nil
	case e.Rev > rev+1:
		return fmt.Errorf("the change stream skipped from %d to %d", rev, e.Rev)
	}
	err := g.apply(e.Rev, e.Ops, nil)
	if g.cat.View().Rev != e.Rev {
		return fmt.Errorf("revision %d %w: %v", e.Rev, errDiverged, err)
	}
	if err != nil {
		log.Errorf("revision %d is applied but not fully published: %v", e.Rev, err)
	}
	appliedRevision.Set(float64(e.Rev))
	g.storeHealth.seen(e.Rev)
	return nil
}

// catchUp applies the revisions after this node's up to rev from the change stream: the
// committer's before it applies a commit of its own that came after others'. g.writeMu is held.
func (g *GeoRoute) catchUp(rev int64) error {
	err := g.db.Changes(g.cat.View().Rev, func(e store.Event) error {
		if e.Rev > rev {
			return errCaughtUp
		}
		return g.applyFollowed(e)
	})
	if errors.Is(err, errCaughtUp) {
		return nil
	}
	return err
}

var errCaughtUp = errors.New("caught up")

// resync reads db whole and applies the difference to what this node serves, at the revision
// read, unless this node got there meanwhile.
func (g *GeoRoute) resync(db store.Store, why error) error {
	held := map[store.Kind]map[string][]byte{}
	rev, err := db.LoadAll(func(kind store.Kind, key string, v []byte) error {
		if held[kind] == nil {
			held[kind] = map[string][]byte{}
		}
		held[kind][key] = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return err
	}
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	from := g.cat.View().Rev
	if rev <= from {
		return nil
	}
	start := time.Now()
	err = g.apply(rev, g.cat.Resync(held), nil)
	if g.cat.View().Rev != rev {
		return fmt.Errorf("revision %d as read whole %w: %v", rev, errDiverged, err)
	}
	g.storeHealth.mu.Lock()
	g.storeHealth.resync = fmt.Sprintf("%s: from revision %d to %d (%v)", start.UTC().Format(time.RFC3339), from, rev, why)
	g.storeHealth.mu.Unlock()
	appliedRevision.Set(float64(rev))
	storeResyncs.Inc()
	log.Infof("read the store whole: revision %d to %d in %s", from, rev, time.Since(start).Round(time.Millisecond))
	return err
}

// probe asks db its revision every probeEvery until stop is closed: the lag, and whether the
// store answers.
func (g *GeoRoute) probe(db store.Store, stop <-chan struct{}) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rev, err := db.Rev()
		select {
		case <-stop:
			return
		default:
		}
		if err != nil {
			g.storeHealth.failed(err)
			continue
		}
		g.storeHealth.reached(rev)
		storeLag.Set(float64(max(0, rev-g.cat.View().Rev)))
	}
}

// storeStatus is the store's part of GET /v1/status.
type storeStatus struct {
	Kind            string          `json:"kind"` // file or etcd
	Where           string          `json:"where"`
	Reachable       bool            `json:"reachable"`
	Error           string          `json:"error,omitempty"`
	Since           string          `json:"unreachable_since,omitempty"`
	Revision        int64           `json:"revision"` // the store's, as last read
	Checked         string          `json:"checked,omitempty"`
	AppliedRevision int64           `json:"applied_revision"`
	Lag             int64           `json:"lag"` // revisions the store has that this node has not applied
	LastResync      string          `json:"last_resync,omitempty"`
	Node            string          `json:"node,omitempty"`  // this node's name
	Nodes           []etcd.Node     `json:"nodes,omitempty"` // the live nodes sharing the store
	Snapshot        *snapshotStatus `json:"snapshot,omitempty"`
}

// status is what GET /v1/status shows of the store.
func (g *GeoRoute) status() storeStatus {
	applied := g.cat.View().Rev
	if g.etcdConf == nil {
		return storeStatus{Kind: "file", Where: g.storePath, Reachable: g.storePath != "", Revision: applied, AppliedRevision: applied}
	}
	h := &g.storeHealth
	h.mu.Lock()
	defer h.mu.Unlock()
	s := storeStatus{Kind: "etcd", Where: g.storePath + " prefix " + g.etcdPrefix(), Reachable: h.err == nil, Revision: h.rev,
		AppliedRevision: applied, Lag: max(0, h.rev-applied), LastResync: h.resync, Nodes: h.nodes, Snapshot: h.snapshotStatus()}
	s.Node = g.nodeName()
	if !h.checked.IsZero() {
		s.Checked = h.checked.UTC().Format(time.RFC3339Nano)
	}
	if h.err != nil {
		s.Error, s.Since = h.err.Error(), h.since.UTC().Format(time.RFC3339)
	}
	return s
}

func (g *GeoRoute) etcdPrefix() string {
	if g.etcdConf.Prefix == "" {
		return etcd.DefaultPrefix
	}
	return g.etcdConf.Prefix
}

// Status implements api.Backend.
func (b backend) Status() any {
	v := b.g.cat.View()
	return struct {
		Revision int64       `json:"revision"` // the store revision this node serves
		Store    storeStatus `json:"store"`
		Names    int         `json:"names"`
		Zones    int         `json:"zones"`
		Edges    int         `json:"edges"`
	}{v.Rev, b.g.status(), b.g.names.Len(), len(v.Zones), len(v.Table.Edges)}
}
