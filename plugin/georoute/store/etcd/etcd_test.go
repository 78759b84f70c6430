package etcd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
	"github.com/georoute/appliance/plugin/georoute/store/storetest"
)

var prefixes atomic.Int64

// openAt opens a store on c under prefix (a new one when ""), closed when the test ends.
func openAt(t testing.TB, c *etcdtest.Cluster, prefix string, o Options) *Store {
	t.Helper()
	if prefix == "" {
		prefix = fmt.Sprintf("/test/%d/", prefixes.Add(1))
	}
	o.Endpoints, o.Prefix = c.Endpoints(), prefix
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestEtcd runs the behaviour every store shows on a real etcd, each store under a prefix of
// its own, with etcd's default limits (128 ops a transaction).
func TestEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	storetest.Run(t, storetest.Factory{
		New: func(t testing.TB, maxChanges int) store.Store {
			return openAt(t, c, "", Options{MaxChanges: maxChanges})
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			s.Close()
			return openAt(t, c, s.(*Store).opts.Prefix, s.(*Store).opts)
		},
	})
}

// TestPrefixes: deployments under different prefixes of one etcd do not see each other.
func TestPrefixes(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a, b := openAt(t, c, "/georoute/prod/", Options{}), openAt(t, c, "/georoute/", Options{})
	storetest.MustTxns(t, a, store.Txn{Ops: []store.Op{storetest.Put(store.Names, "a.", "A")}}, store.Txn{Ops: []store.Op{storetest.Put(store.Edges, "x", "A")}})
	storetest.MustTxns(t, b, store.Txn{Ops: []store.Op{storetest.Put(store.Names, "b.", "B")}})
	ga, ra := storetest.Objects(t, a)
	gb, rb := storetest.Objects(t, b)
	if ra != 2 || !maps.Equal(ga, map[string]string{"names/a.": "A", "edges/x": "A"}) {
		t.Errorf("prod at %d: %v", ra, ga)
	}
	if rb != 1 || !maps.Equal(gb, map[string]string{"names/b.": "B"}) {
		t.Errorf("the other at %d: %v", rb, gb)
	}
	m := map[string]string{}
	if last := storetest.Replay(t, b, 0, m); last != 1 || !maps.Equal(m, gb) {
		t.Errorf("the other's change stream: %v up to %d", m, last)
	}
}

// TestTwoWriters: two nodes (clients) increment one counter with conditional transactions
// validated at the revision they read; every increment that commits is counted once, so no two
// conflicting writes were both accepted.
func TestTwoWriters(t *testing.T) {
	c := etcdtest.Start(t, 1)
	prefix := "/georoute/two/"
	nodes := []*Store{openAt(t, c, prefix, Options{}), openAt(t, c, prefix, Options{})}
	var committed, conflicts atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		s := nodes[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				for {
					rev, err := s.Rev()
					if err != nil {
						t.Error(err)
						return
					}
					n := 0
					s.Load(store.RTT, func(key string, v []byte) error {
						if key == "counter" {
							n, _ = strconv.Atoi(string(v))
						}
						return nil
					})
					res, err := s.Txns([]store.Txn{{
						Cond: store.Cond{Rev: rev, Reads: []store.Read{{Kind: store.RTT, Key: "counter"}}},
						Ops:  []store.Op{storetest.Put(store.RTT, "counter", strconv.Itoa(n+1))},
					}})
					if err != nil {
						t.Error(err)
						return
					}
					if res[0].Err == nil {
						committed.Add(1)
						break
					}
					if !errors.Is(res[0].Err, store.ErrConflict) {
						t.Error(res[0].Err)
						return
					}
					conflicts.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	got, rev := storetest.Objects(t, nodes[0])
	if got["rtt/counter"] != "120" || committed.Load() != 120 || rev != 120 {
		t.Errorf("counter %s at revision %d after %d commits, want 120", got["rtt/counter"], rev, committed.Load())
	}
	t.Logf("%d commits, %d conflicts", committed.Load(), conflicts.Load())
}

// TestStaleClient: a client that did not see another's commits decides its conditions against
// them (its compare on the revision key fails, it reads the log and decides again).
func TestStaleClient(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a, b := openAt(t, c, "/georoute/stale/", Options{}), openAt(t, c, "/georoute/stale/", Options{})
	if err := a.Commit([]store.Op{storetest.Put(store.Names, "x.", "1"), storetest.Put(store.Names, "y.", "1")}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.Commit([]store.Op{storetest.Put(store.Names, "x.", fmt.Sprint(i+2))}); err != nil {
			t.Fatal(err)
		}
	}
	x, y := store.Read{Kind: store.Names, Key: "x."}, store.Read{Kind: store.Names, Key: "y."}
	res := storetest.MustTxns(t, a,
		store.Txn{Cond: store.Cond{Rev: 1, Reads: []store.Read{x}}, Ops: []store.Op{storetest.Put(store.Names, "z.", "a")}},
		store.Txn{Cond: store.Cond{Rev: 1, Reads: []store.Read{y}}, Ops: []store.Op{storetest.Put(store.Names, "y.", "a")}},
		store.Txn{Cond: store.Cond{Rev: 1, Reads: []store.Read{{Kind: store.Names, Key: "z", Prefix: true}}}, Ops: []store.Op{storetest.Put(store.Names, "w.", "a")}},
	)
	if res[0].Err != store.ErrConflict || res[1] != (store.Result{Rev: 5}) || res[2].Err != store.ErrConflict {
		t.Errorf("results %+v, want a conflict, revision 5, a conflict (on what the first would have written)", res)
	}
}

// TestTooLarge: a transaction of more ops than one etcd transaction holds is refused, saying
// which limits to raise; the others of its call commit.
func TestTooLarge(t *testing.T) {
	c := etcdtest.Start(t, 1)
	s := openAt(t, c, "", Options{})
	var big []store.Op
	for i := range 200 {
		big = append(big, storetest.Put(store.Names, fmt.Sprintf("n%d.", i), ""))
	}
	res := storetest.MustTxns(t, s, store.Txn{Ops: big}, store.Txn{Ops: big[:100]})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "--max-txn-ops") || res[1] != (store.Result{Rev: 1}) {
		t.Errorf("results %+v", res)
	}
}

// TestUnavailable: with etcd stopped, reads and writes fail within the timeout, saying so; the
// watch started before goes on once etcd is back and delivers what was committed since.
func TestUnavailable(t *testing.T) {
	c := etcdtest.Start(t, 1)
	s := openAt(t, c, "", Options{Timeout: time.Second})
	if err := s.Commit([]store.Op{storetest.Put(store.Names, "a.", "1")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.Watch(ctx, 0)
	if e, ok := storetest.Receive(t, w); !ok || e.Rev != 1 {
		t.Fatalf("watch: %+v", e)
	}
	c.Stop(0)
	start := time.Now()
	_, err := s.Txns([]store.Txn{{Ops: []store.Op{storetest.Put(store.Names, "b.", "1")}}})
	if err == nil || !errors.Is(err, store.ErrUnknown) || !strings.Contains(err.Error(), c.Endpoints()[0]) {
		t.Errorf("a write with etcd stopped: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the write failed after %s", d)
	}
	if _, err := s.Rev(); err == nil {
		t.Error("Rev with etcd stopped")
	}
	c.Restart(0)
	var rev int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := s.Txns([]store.Txn{{Ops: []store.Op{storetest.Put(store.Names, "c.", "1")}}})
		if err == nil {
			rev = res[0].Rev
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes do not resume: %v", err)
		}
	}
	if rev != 2 {
		t.Errorf("the first write after etcd came back: revision %d, want 2", rev)
	}
	if e, ok := storetest.Receive(t, w); !ok || e.Rev != 2 || e.Ops[0].Key != "c." {
		t.Errorf("watch after etcd came back: %+v (open %v)", e, ok)
	}
}

// TestEtcdCompaction: etcd compacting its own history does not touch the change log (its
// entries are keys), and a watch it cancels reads the log again, missing nothing.
func TestEtcdCompaction(t *testing.T) {
	c := etcdtest.Start(t, 1)
	s := openAt(t, c, "", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.Watch(ctx, 0)
	for i := range 20 {
		if err := s.Commit([]store.Op{storetest.Put(store.Names, "a.", fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			if err := c.Compact(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for rev := int64(1); rev <= 20; rev++ {
		if e, ok := storetest.Receive(t, w); !ok || e.Err != nil || e.Rev != rev {
			t.Fatalf("watch event %+v, want revision %d", e, rev)
		}
	}
	m := map[string]string{}
	if last := storetest.Replay(t, s, 0, m); last != 20 || m["names/a."] != "19" {
		t.Errorf("Changes(0) after compaction: %v up to %d", m, last)
	}
}

// TestEtcdProcess runs the behaviour every store shows on an etcd of another version: Debian's
// etcd-server (3.4), which streams no ranges, when it is installed (apt-get install etcd-server).
func TestEtcdProcess(t *testing.T) {
	const bin = "/usr/bin/etcd"
	if _, err := exec.LookPath(bin); err != nil {
		t.Skip("needs Debian's etcd-server")
	}
	p := etcdtest.StartProcess(t, bin)
	var n atomic.Int64
	open := func(t testing.TB, prefix string, maxChanges int) store.Store {
		s, err := Open(Options{Endpoints: p.Endpoints(), Prefix: prefix, MaxChanges: maxChanges, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.Run(t, storetest.Factory{
		New: func(t testing.TB, maxChanges int) store.Store {
			return open(t, fmt.Sprintf("/process/%d/", n.Add(1)), maxChanges)
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			s.Close()
			return open(t, s.(*Store).opts.Prefix, s.(*Store).opts.MaxChanges)
		},
	})
	// A watch goes on across a restart of the process.
	s := open(t, "/process/watch/", 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.Watch(ctx, 0)
	p.Stop()
	p.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for s.Commit([]store.Op{storetest.Put(store.Names, "a.", "1")}) != nil {
		if time.Now().After(deadline) {
			t.Fatal("writes do not resume after a restart")
		}
	}
	if e, ok := storetest.Receive(t, w); !ok || e.Err != nil || e.Rev != 1 {
		t.Errorf("watch after a restart: %+v", e)
	}
}

// TestPresence: nodes that announce themselves are listed with the revision they applied; one
// whose store closes is gone at once.
func TestPresence(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a, b := openAt(t, c, "/georoute/presence/", Options{}), openAt(t, c, "/georoute/presence/", Options{})
	for _, step := range []struct {
		s       *Store
		name    string
		applied int64
	}{{a, "n1", 3}, {b, "n2", 2}, {a, "n1", 5}} {
		if err := step.s.Announce(step.name, step.applied); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Announce("a/b", 1); err == nil {
		t.Error("a node name with a slash")
	}
	nodes, err := a.Nodes()
	if err != nil || len(nodes) != 2 || nodes[0].Name != "n1" || nodes[0].Applied != 5 || nodes[1].Name != "n2" || nodes[1].Applied != 2 {
		t.Fatalf("nodes %+v (%v)", nodes, err)
	}
	b.Close()
	if nodes, err := a.Nodes(); err != nil || len(nodes) != 1 || nodes[0].Name != "n1" {
		t.Errorf("nodes after n2 closed: %+v (%v)", nodes, err)
	}
}
