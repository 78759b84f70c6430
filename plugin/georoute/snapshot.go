package georoute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/etcd"
)

// With store_snapshot FILE a node sharing an etcd store keeps the last state it read from it in
// FILE (store.Snapshot): brought forward from the store's change stream at most every
// snapshotEvery and at shutdown, written whole when it holds nothing of this deployment yet or
// has missed more than the change log keeps. A node that starts while etcd does not answer
// serves what the snapshot holds, refuses writes (503 store unavailable) and catches up once etcd
// answers; without store_snapshot it does not start.

// snapshotEvery is how often the snapshot is brought forward, when the store changed.
const snapshotEvery = 5 * time.Second

// snapshotStatus is the snapshot's part of GET /v1/status.
type snapshotStatus struct {
	File     string `json:"file"`
	Revision int64  `json:"revision"`          // the store revision it holds
	Written  string `json:"written,omitempty"` // when it was last brought forward
	// StartedFrom says that the node started from it, etcd not answering: which revision.
	StartedFrom string `json:"started_from,omitempty"`
}

// snapshotStart is the store of a node that starts while etcd does not answer: start-up's
// reads (Count, Rev, LoadAll) come from the snapshot, everything after from etcd.
type snapshotStart struct {
	*etcd.Store
	snap *store.Snapshot
	read atomic.Bool // start-up has read the snapshot whole
}

func (s *snapshotStart) Count(kind store.Kind) (int, error) {
	if s.read.Load() {
		return s.Store.Count(kind)
	}
	return s.snap.Count(kind)
}

func (s *snapshotStart) Rev() (int64, error) {
	if s.read.Load() {
		return s.Store.Rev()
	}
	return s.snap.Rev()
}

func (s *snapshotStart) LoadAll(fn func(store.Kind, string, []byte) error) (int64, error) {
	if s.read.Load() {
		return s.Store.LoadAll(fn)
	}
	rev, err := s.snap.LoadAll(fn)
	if err == nil {
		s.read.Store(true)
		s.snap.Close() // the snapshot keeper opens it again
	}
	return rev, err
}

func (s *snapshotStart) Close() error {
	if !s.read.Load() {
		s.snap.Close()
	}
	return s.Store.Close()
}

// startFromSnapshot is the store of a node whose etcd s did not answer (why) at start: the
// snapshot's state, if it holds one of this deployment.
func (g *GeoRoute) startFromSnapshot(s *etcd.Store, why error) (store.Store, error) {
	path := g.storeHealth.snapshot
	snap, err := store.OpenSnapshot(path)
	if err != nil {
		return nil, fmt.Errorf("%v: etcd does not answer, and the snapshot cannot be read: %v", why, err)
	}
	info, err := snap.Info()
	switch {
	case err != nil:
	case info.Rev == 0:
		err = fmt.Errorf("snapshot %s holds nothing yet", path)
	case info.Of != g.etcdPrefix():
		err = fmt.Errorf("snapshot %s is of the deployment under %s, not %s", path, info.Of, g.etcdPrefix())
	}
	if err != nil {
		snap.Close()
		return nil, fmt.Errorf("%v: a node starts once it has read the store or a snapshot of it, and etcd does not answer: %v", why, err)
	}
	started := fmt.Sprintf("revision %d, written %s", info.Rev, info.Written.UTC().Format(time.RFC3339))
	log.Warningf("etcd does not answer (%v): serving the snapshot %s (%s, %s ago); writes are refused until etcd answers",
		why, path, started, time.Since(info.Written).Round(time.Second))
	h := &g.storeHealth
	h.failed(why)
	h.mu.Lock()
	h.snapRev, h.snapWritten, h.startedFrom = info.Rev, info.Written, started
	h.mu.Unlock()
	return &snapshotStart{Store: s, snap: snap}, nil
}

// keepSnapshot brings the snapshot forward from db's change stream until stop is closed, and
// once more then.
func (g *GeoRoute) keepSnapshot(db store.Store, stop <-chan struct{}) {
	path, of := g.storeHealth.snapshot, g.etcdPrefix()
	snap, err := store.OpenSnapshot(path)
	if err != nil {
		log.Errorf("snapshot %v: set aside as %s.damaged, written anew", err, path)
		os.Rename(path, path+".damaged")
		if snap, err = store.OpenSnapshot(path); err != nil {
			log.Errorf("no snapshot is kept: %v", err)
			return
		}
	}
	defer snap.Close()
	ctx, cancel := untilClosed(stop)
	defer cancel()
	k := &snapshotKeeper{g: g, snap: snap, pending: map[string]store.Op{}}
	info, err := snap.Info()
	k.rev, k.whole = info.Rev, err != nil || info.Rev == 0 || info.Of != of
	for ctx.Err() == nil {
		if k.whole {
			// Stream straight from the store into the new file: no copy of the state in memory.
			if err := snap.Replace(of, db.LoadAll); err != nil {
				log.Warningf("the snapshot is not written whole: %v", err)
			} else if info, err := snap.Info(); err == nil {
				k.rev, k.pendingRev, k.whole = info.Rev, info.Rev, false
				clear(k.pending)
				g.storeHealth.snapshotAt(info.Rev, info.Written)
			}
			if k.whole {
				select {
				case <-ctx.Done():
				case <-time.After(snapshotEvery):
				}
				continue
			}
		}
		k.follow(ctx, db)
		k.flush()
		select {
		case <-ctx.Done():
		case <-time.After(followRetry):
		}
	}
	k.flush()
}

// snapshotKeeper gathers the store's changes for the snapshot between two writes of it.
type snapshotKeeper struct {
	g          *GeoRoute
	snap       *store.Snapshot
	rev        int64               // what the snapshot holds
	pending    map[string]store.Op // KIND/KEY -> its latest op after rev
	pendingRev int64               // the revision pending brings it to
	whole      bool                // write it whole next
}

// follow gathers db's change stream after k.rev, writing it every snapshotEvery, until the
// stream ends (etcd unreachable, compacted: then whole is set) or ctx does.
func (k *snapshotKeeper) follow(ctx context.Context, db store.Store) {
	t := time.NewTicker(snapshotEvery)
	defer t.Stop()
	ch := db.Watch(ctx, k.rev)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return
			}
			if e.Err != nil {
				k.whole = errors.Is(e.Err, store.ErrCompacted)
				return
			}
			for _, op := range e.Ops {
				k.pending[string(op.Kind)+"/"+op.Key] = op
			}
			k.pendingRev = e.Rev
		case <-t.C:
			k.flush()
		case <-ctx.Done():
			return
		}
	}
}

// flush writes what is pending to the snapshot, in one transaction.
func (k *snapshotKeeper) flush() {
	if k.pendingRev <= k.rev {
		return
	}
	ops := slices.Collect(maps.Values(k.pending))
	if err := k.snap.Apply(k.pendingRev, ops); err != nil {
		log.Errorf("the snapshot stays at revision %d, to be written whole: %v", k.rev, err)
		k.whole = true
		return
	}
	k.rev = k.pendingRev
	clear(k.pending)
	k.g.storeHealth.snapshotAt(k.rev, time.Now())
}

// snapshotAt notes that the snapshot holds revision rev, written at.
func (h *storeHealth) snapshotAt(rev int64, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.snapRev, h.snapWritten = rev, at
}

// snapshotStatus is what GET /v1/status shows of the snapshot; h.mu is held.
func (h *storeHealth) snapshotStatus() *snapshotStatus {
	if h.snapshot == "" {
		return nil
	}
	s := &snapshotStatus{File: h.snapshot, Revision: h.snapRev, StartedFrom: h.startedFrom}
	if !h.snapWritten.IsZero() {
		s.Written = h.snapWritten.UTC().Format(time.RFC3339Nano)
	}
	return s
}
