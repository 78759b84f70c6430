package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/store"
)

const (
	edges     = store.Edges
	pools     = store.Pools
	names     = store.Names
	rtt       = store.RTT
	overrides = store.Overrides
)

type (
	txn  = store.Txn
	op   = store.Op
	cond = store.Cond
	read = store.Read
)

// Run runs every behavioural test on the stores f makes.
func Run(t *testing.T, f Factory) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Factory)
	}{
		{"LoadScanCount", testLoadScanCount},
		{"Revisions", testRevisions},
		{"ConcurrentCommits", testConcurrentCommits},
		{"ManyTxnsInOneCall", testManyTxns},
		{"TxnsConflicts", testTxnsConflicts},
		{"ConflictBeyondTheLog", testConflictBeyondTheLog},
		{"ConflictsMatchTheLog", testConflictsMatchTheLog},
		{"ChangesReplay", testChangesReplay},
		{"LoadAllOrder", testLoadAllOrder},
		{"ChangesCompacted", testChangesCompacted},
		{"Watch", testWatch},
		{"WatchEnds", testWatchEnds},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, f) })
	}
}

func testLoadScanCount(t *testing.T, f Factory) {
	s := f.New(t, 0)
	ops := []op{
		Put(edges, "fra1", `{"addresses":["192.0.2.10"]}`),
		Put(names, store.NameKey("b.example.net."), `{"edge":"fra1"}`),
		Put(names, store.NameKey("a.example.net."), `{"edge":"fra1"}`),
		Put(names, store.NameKey("a.example.org."), `{"edge":"fra1"}`),
	}
	if err := s.Commit(ops); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit([]op{Del(names, store.NameKey("b.example.net.")), {Kind: "nope", Key: "x"}}); err == nil {
		t.Error("a commit with a bad op succeeded")
	}
	// Reopened: everything committed is there; the failed transaction left nothing.
	s = f.Reopen(t, s)
	var got []string
	if err := s.Load(names, func(k string, v []byte) error { got = append(got, store.KeyName(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "a.example.net. b.example.net. a.example.org." {
		t.Errorf("names after reopen: %v", got)
	}
	var scanned []string
	err := s.Scan(names, store.NameKey("example.net."), store.NameKey("a.example.net.")+"\x00", func(k string, v []byte) bool {
		scanned = append(scanned, store.KeyName(k))
		return true
	})
	if err != nil || strings.Join(scanned, " ") != "b.example.net." {
		t.Errorf("scan of example.net after a.example.net: %v (%v)", scanned, err)
	}
	scanned = nil
	s.Scan(names, "", "", func(k string, v []byte) bool {
		scanned = append(scanned, store.KeyName(k))
		return len(scanned) < 2
	})
	if strings.Join(scanned, " ") != "a.example.net. b.example.net." {
		t.Errorf("a scan stopped after two: %v", scanned)
	}
	for kind, want := range map[store.Kind]int{names: 3, edges: 1, pools: 0} {
		if n, err := s.Count(kind); err != nil || n != want {
			t.Errorf("Count(%s) = %d (%v), want %d", kind, n, err, want)
		}
	}
}

func testConcurrentCommits(t *testing.T, f Factory) {
	s := f.New(t, 0)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if err := s.Commit([]op{Put(names, fmt.Sprintf("net.example.w%d-%d.", w, i), "{}")}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	s.Load(names, func(string, []byte) error { n++; return nil })
	if rev, err := s.Rev(); n != 200 || rev != 200 || err != nil {
		t.Errorf("%d names at revision %d (%v), want 200 at 200", n, rev, err)
	}
	m := map[string]string{}
	if last := Replay(t, s, 0, m); last != 200 || len(m) != 200 {
		t.Errorf("the change stream replays %d objects up to %d, want 200 up to 200", len(m), last)
	}
}

// testManyTxns: a call of more txns than one write of a store may hold, some of many ops,
// commits each at the next revision, in order.
func testManyTxns(t *testing.T, f Factory) {
	s := f.New(t, 0)
	var txns []txn
	want := map[string]string{}
	for i := range 700 {
		t := txn{Ops: []op{Put(names, fmt.Sprintf("n%04d.", i), fmt.Sprint(i))}}
		if i%100 == 7 {
			for j := range 90 {
				t.Ops = append(t.Ops, Put(rtt, fmt.Sprintf("r%04d-%02d", i, j), "{}"))
			}
		}
		if i > 0 && i%50 == 0 {
			t.Ops = append(t.Ops, Del(names, fmt.Sprintf("n%04d.", i-1)))
		}
		txns = append(txns, t)
		ApplyOps(want, t.Ops)
	}
	for i, r := range MustTxns(t, s, txns...) {
		if r.Err != nil || r.Rev != int64(i+1) {
			t.Fatalf("txn %d: %+v, want revision %d", i, r, i+1)
		}
	}
	got, rev := Objects(t, s)
	if rev != 700 || !maps.Equal(got, want) {
		t.Errorf("LoadAll at %d: %d objects, want %d at 700", rev, len(got), len(want))
	}
	replayed := map[string]string{}
	if last := Replay(t, s, 0, replayed); last != 700 || !maps.Equal(replayed, want) {
		t.Errorf("the change stream replays %d objects up to %d", len(replayed), last)
	}
}

func testRevisions(t *testing.T, f Factory) {
	s := f.New(t, 0)
	for _, step := range []struct {
		name string
		txns []txn
		want []store.Result // nil: Commit of the first txn's ops, wanting no error
		rev  int64
	}{
		{name: "empty store", rev: 0},
		{name: "commit", txns: []txn{{Ops: []op{Put(edges, "fra1", "{}")}}}, rev: 1},
		{name: "commit of nothing", txns: []txn{{}}, rev: 1},
		{
			name: "three txns, one of them empty",
			txns: []txn{{Ops: []op{Put(pools, "eu", "{}")}}, {}, {Ops: []op{Put(names, "net.example.a.", "{}"), Put(names, "net.example.b.", "{}")}}},
			want: []store.Result{{Rev: 2}, {Rev: 2}, {Rev: 3}},
			rev:  3,
		},
		{
			name: "a conflict and a bad op take no revision",
			txns: []txn{
				{Cond: cond{Rev: 2, Reads: []read{{Kind: names, Key: "net.example.a."}}}, Ops: []op{Put(names, "net.example.c.", "{}")}},
				{Ops: []op{Put("nope", "x", "")}},
				{Ops: []op{Put(names, "", "{}")}},
				{Ops: []op{Del(names, "net.example.b.")}},
			},
			want: []store.Result{{Err: store.ErrConflict}, {Err: errors.New(`store: no kind "nope"`)}, {Err: errors.New("store: names: a key of 0 bytes")}, {Rev: 4}},
			rev:  4,
		},
		{name: "only conflicts", txns: []txn{{Cond: cond{Rev: 3, Reads: []read{{Kind: names, Prefix: true}}}, Ops: []op{Put(edges, "x", "")}}}, want: []store.Result{{Err: store.ErrConflict}}, rev: 4},
	} {
		switch {
		case step.txns == nil:
		case step.want == nil:
			if err := s.Commit(step.txns[0].Ops); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		default:
			res := MustTxns(t, s, step.txns...)
			for i, r := range res {
				w := step.want[i]
				if r.Rev != w.Rev || fmt.Sprint(r.Err) != fmt.Sprint(w.Err) {
					t.Errorf("%s: txn %d: %+v, want %+v", step.name, i, r, w)
				}
			}
		}
		if rev, err := s.Rev(); err != nil || rev != step.rev {
			t.Errorf("%s: revision %d (%v), want %d", step.name, rev, err, step.rev)
		}
	}
	s = f.Reopen(t, s)
	if rev, err := s.Rev(); err != nil || rev != 4 {
		t.Errorf("revision after reopen %d (%v), want 4", rev, err)
	}
	if res := MustTxns(t, s, txn{Cond: cond{Rev: 4, Reads: []read{{Kind: names, Prefix: true}}}, Ops: []op{Del(edges, "fra1")}}); res[0] != (store.Result{Rev: 5}) {
		t.Errorf("a commit after reopen: %+v, want revision 5", res[0])
	}
	got, rev := Objects(t, s)
	want := map[string]string{"pools/eu": "{}", "names/net.example.a.": "{}"}
	if rev != 5 || !maps.Equal(got, want) {
		t.Errorf("LoadAll at %d: %v, want %v at 5", rev, got, want)
	}
}

func testTxnsConflicts(t *testing.T, f Factory) {
	seed := []op{
		Put(edges, "fra1", "e1"),
		Put(pools, "eu", "p1"),
		Put(names, "net.example.a.", "n1"),
		Put(names, "org.example.a.", "n1"),
	}
	nameA := read{Kind: names, Key: "net.example.a."}
	netExample := read{Kind: names, Key: "net.example.", Prefix: true}
	allNames := read{Kind: names, Prefix: true}
	conflict := store.ErrConflict
	for _, tc := range []struct {
		name  string
		later [][]op // committed after the seed (revision 1), one txn each
		txns  []txn
		want  []error
	}{
		{
			name: "an earlier txn of the call is seen, exact key",
			txns: []txn{
				{Cond: cond{Rev: 1}, Ops: []op{Put(names, "net.example.a.", "n2")}},
				{Cond: cond{Rev: 1, Reads: []read{nameA}}, Ops: []op{Put(names, "net.example.b.", "n2"), Put(edges, "ams1", "e2")}},
			},
			want: []error{nil, nil},
		},
		{
			name: "an earlier txn of the call is seen, prefix and delete",
			txns: []txn{
				{Ops: []op{Put(names, "net.example.z.", "n2"), Del(names, "net.example.a.")}},
				{Cond: cond{Rev: 1, Reads: []read{netExample, nameA}}, Ops: []op{Put(names, "net.example.b.", "n2")}},
			},
			want: []error{nil, nil},
		},
		{
			name:  "an earlier txn of the call that did not commit: what it would have changed conflicts",
			later: [][]op{{Put(names, "net.example.a.", "n2")}},
			txns: []txn{
				{Cond: cond{Rev: 1, Reads: []read{nameA}}, Ops: []op{Put(names, "net.example.b.", "n2"), Put(pools, "us", "p2")}},
				{Cond: cond{Rev: 2, Reads: []read{{Kind: names, Key: "net.example.b."}}}, Ops: []op{Put(names, "net.example.c.", "n2")}},
				{Cond: cond{Rev: 2, Reads: []read{{Kind: pools, Prefix: true}}}, Ops: []op{Put(names, "net.example.d.", "n2")}},
				{Cond: cond{Rev: 2, Reads: []read{{Kind: names, Key: "net.example.c"}, {Kind: edges, Prefix: true}}}, Ops: []op{Put(names, "net.example.e.", "n2")}},
				{Ops: []op{Put("nope", "x", "")}},
				{Cond: cond{Rev: 2, Reads: []read{{Kind: "nope", Key: "x"}}}, Ops: []op{Put(names, "net.example.f.", "n2")}},
			},
			want: []error{conflict, conflict, conflict, nil, errors.New(`store: no kind "nope"`), conflict},
		},
		{
			name:  "committed after Cond.Rev, exact key",
			later: [][]op{{Put(names, "net.example.a.", "n2")}, {Put(edges, "ams1", "e2")}},
			txns: []txn{
				{Cond: cond{Rev: 1, Reads: []read{nameA}}, Ops: []op{Put(names, "net.example.b.", "n2")}},
				{Cond: cond{Rev: 2, Reads: []read{nameA}}, Ops: []op{Put(names, "net.example.c.", "n2")}},
			},
			want: []error{conflict, nil},
		},
		{
			name:  "committed after Cond.Rev, prefix",
			later: [][]op{{Put(names, "net.example.t.x.", "n2")}},
			txns: []txn{
				{Cond: cond{Rev: 1, Reads: []read{netExample}}, Ops: []op{Put(names, "net.example.b.", "n2")}},
				{Cond: cond{Rev: 1, Reads: []read{{Kind: names, Key: "net.example.u.", Prefix: true}}}, Ops: []op{Put(names, "net.example.u.b.", "n2")}},
			},
			want: []error{conflict, nil},
		},
		{
			name:  "committed after Cond.Rev, whole kind",
			later: [][]op{{Del(names, "org.example.a.")}},
			txns: []txn{
				{Cond: cond{Rev: 1, Reads: []read{{Kind: edges, Key: "fra1"}, allNames}}, Ops: []op{Put(edges, "fra1", "e2")}},
				{Cond: cond{Rev: 1, Reads: []read{{Kind: pools, Prefix: true}}}, Ops: []op{Put(pools, "us", "p2")}},
			},
			want: []error{conflict, nil},
		},
		{
			name:  "an exact read among others, changed and deleted since",
			later: [][]op{{Put(names, "net.example.a.", "n2")}, {Put(pools, "eu", "p2")}, {Del(names, "net.example.a.")}},
			txns: []txn{
				{Cond: cond{Rev: 1, Reads: []read{{Kind: names, Key: "net.example.b."}, {Kind: edges, Prefix: true}, {Kind: names, Key: "net.example.a.", Prefix: false}}}, Ops: []op{Put(names, "net.example.b.", "n2")}},
			},
			want: []error{conflict},
		},
		{
			name:  "non-overlapping with an old Cond.Rev commits",
			later: [][]op{{Put(names, "net.example.a.", "n2")}, {Put(pools, "eu", "p2")}},
			txns: []txn{
				{Cond: cond{Rev: 1, Reads: []read{{Kind: names, Key: "net.example.b."}, {Kind: edges, Prefix: true}, {Kind: names, Key: "net.example.a.b", Prefix: true}}}, Ops: []op{Put(names, "net.example.b.", "n2")}},
				{Cond: cond{Rev: 2, Reads: []read{{Kind: pools, Key: "us"}}}, Ops: []op{Put(pools, "us", "p2")}},
				{Cond: cond{Rev: 0, Reads: []read{{Kind: overrides, Prefix: true}}}, Ops: []op{Put(overrides, "fra1", "down")}},
			},
			want: []error{nil, nil, nil},
		},
		{
			name:  "conditions at ever older revisions",
			later: [][]op{{Put(names, "net.example.b.", "n2")}, {Put(pools, "eu", "p2")}},
			txns: []txn{
				{Cond: cond{Rev: 3, Reads: []read{{Kind: pools, Prefix: true}}}, Ops: []op{Put(names, "net.example.z.", "n2")}},
				{Cond: cond{Rev: 2, Reads: []read{{Kind: names, Key: "net.example.y."}}}, Ops: []op{Put(names, "net.example.c.", "n2")}},
				{Cond: cond{Rev: 1, Reads: []read{{Kind: names, Key: "net.example.b", Prefix: true}}}, Ops: []op{Put(names, "net.example.d.", "n2")}},
				{Cond: cond{Rev: 1, Reads: []read{{Kind: names, Key: "net.example.d", Prefix: true}}}, Ops: []op{Put(names, "net.example.e.", "n2")}},
				{Cond: cond{Rev: 2, Reads: []read{{Kind: names, Key: "net.example.c", Prefix: true}}}, Ops: []op{Put(names, "net.example.f.", "n2")}},
			},
			want: []error{nil, nil, conflict, conflict, nil},
		},
		{
			name:  "a revision the store has not reached",
			later: [][]op{{Put(pools, "eu", "p2")}},
			txns:  []txn{{Cond: cond{Rev: 3, Reads: []read{{Kind: rtt, Prefix: true}}}, Ops: []op{Put(rtt, "x", "1")}}},
			want:  []error{conflict},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.New(t, 0)
			want := map[string]string{}
			for _, ops := range append([][]op{seed}, tc.later...) {
				if err := s.Commit(ops); err != nil {
					t.Fatal(err)
				}
				ApplyOps(want, ops)
			}
			next := int64(len(tc.later)) + 2
			for i, r := range MustTxns(t, s, tc.txns...) {
				if fmt.Sprint(r.Err) != fmt.Sprint(tc.want[i]) {
					t.Errorf("txn %d: %v, want %v", i, r.Err, tc.want[i])
				}
				if r.Err != nil {
					continue
				}
				if r.Rev != next {
					t.Errorf("txn %d: revision %d, want %d", i, r.Rev, next)
				}
				next++
				ApplyOps(want, tc.txns[i].Ops)
			}
			got, rev := Objects(t, s)
			if !maps.Equal(got, want) || rev != next-1 {
				t.Errorf("LoadAll at %d: %v\nwant at %d: %v", rev, got, next-1, want)
			}
		})
	}
}

func testConflictBeyondTheLog(t *testing.T, f Factory) {
	s := f.New(t, 3)
	for i := range 5 {
		if err := s.Commit([]op{Put(edges, fmt.Sprint("e", i), "")}); err != nil {
			t.Fatal(err)
		}
	}
	// The log holds 3..5: a Cond at 2 checks 3..5, one at 1 would need 2.
	res := MustTxns(t, s,
		txn{Cond: cond{Rev: 2, Reads: []read{{Kind: names, Prefix: true}}}, Ops: []op{Put(names, "a.", "")}},
		txn{Cond: cond{Rev: 1, Reads: []read{{Kind: pools, Prefix: true}}}, Ops: []op{Put(pools, "b", "")}},
	)
	if res[0] != (store.Result{Rev: 6}) || res[1].Err != store.ErrConflict {
		t.Errorf("results %+v, want revision 6 and a conflict", res)
	}
}

// testConflictsMatchTheLog checks random conditions against a walk of every change since.
func testConflictsMatchTheLog(t *testing.T, f Factory) {
	s := f.New(t, 0)
	rnd := rand.New(rand.NewPCG(1, 2))
	keys := []string{"a.", "ab.", "abc.", "b.", "ba.", "c."}
	kinds := []store.Kind{names, pools}
	pick := func() (store.Kind, string) { return kinds[rnd.IntN(len(kinds))], keys[rnd.IntN(len(keys))] }
	touches := func(ops []op, reads []read) bool {
		for _, o := range ops {
			for _, rd := range reads {
				if o.Kind == rd.Kind && (o.Key == rd.Key || rd.Prefix && strings.HasPrefix(o.Key, rd.Key)) {
					return true
				}
			}
		}
		return false
	}
	changes := map[int64][]op{} // by revision
	var rev int64
	for range 60 {
		txns := make([]txn, 1+rnd.IntN(8))
		for i := range txns {
			for range 1 + rnd.IntN(2) {
				kind, key := pick()
				if rnd.IntN(3) == 0 {
					txns[i].Ops = append(txns[i].Ops, Del(kind, key))
				} else {
					txns[i].Ops = append(txns[i].Ops, Put(kind, key, "v"))
				}
			}
			txns[i].Cond.Rev = max(0, rev-int64(rnd.IntN(6)))
			for range rnd.IntN(3) {
				kind, key := pick()
				txns[i].Cond.Reads = append(txns[i].Cond.Reads, read{Kind: kind, Key: key[:1+rnd.IntN(len(key))], Prefix: rnd.IntN(2) == 0})
			}
		}
		start := rev
		var failed [][]op
		for i, r := range MustTxns(t, s, txns...) {
			reads := txns[i].Cond.Reads
			conflict := false
			for at := txns[i].Cond.Rev + 1; at <= start; at++ {
				conflict = conflict || touches(changes[at], reads)
			}
			for _, ops := range failed {
				conflict = conflict || touches(ops, reads)
			}
			if conflict != (r.Err == store.ErrConflict) || !conflict && r.Rev != rev+1 {
				t.Fatalf("txn %+v at revision %d: %+v, want a conflict: %v", txns[i], rev, r, conflict)
			}
			if conflict {
				failed = append(failed, txns[i].Ops)
			} else {
				rev++
				changes[rev] = txns[i].Ops
			}
		}
	}
}

// history commits a mix of puts and deletes over every kind, snapshotting LoadAll on the way.
func history(t *testing.T, s store.Store, n int) (snapshots map[int64]map[string]string) {
	snapshots = map[int64]map[string]string{}
	for i := range n {
		var txns []txn
		for j := range 1 + i%3 {
			kind := store.Kinds[(i+j)%len(store.Kinds)]
			ops := []op{Put(kind, fmt.Sprintf("k%02d", (i*7+j)%13), fmt.Sprint(i, j))}
			if i%4 == 3 {
				ops = append(ops, Del(kind, fmt.Sprintf("k%02d", (i*5)%13)))
			}
			txns = append(txns, txn{Ops: ops})
		}
		MustTxns(t, s, txns...)
		m, rev := Objects(t, s)
		snapshots[rev] = m
	}
	return snapshots
}

func testChangesReplay(t *testing.T, f Factory) {
	s := f.New(t, 0)
	snapshots := history(t, s, 40)
	final, rev := Objects(t, s)
	if rev != 79 {
		t.Fatalf("revision %d, want 79", rev)
	}
	for _, from := range slices.Sorted(maps.Keys(snapshots)) {
		m := maps.Clone(snapshots[from])
		if last := Replay(t, s, from, m); last != rev {
			t.Errorf("Changes(%d) ended at %d, want %d", from, last, rev)
		}
		if !maps.Equal(m, final) {
			t.Errorf("LoadAll at %d and Changes(%d): %v\nwant %v", from, from, m, final)
		}
	}
	m := map[string]string{}
	Replay(t, s, 0, m)
	if !maps.Equal(m, final) {
		t.Errorf("Changes(0): %v\nwant %v", m, final)
	}

	stop := errors.New("stop")
	n := 0
	if err := s.Changes(10, func(store.Event) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Changes with an fn that fails: %v after %d events", err, n)
	}
}

func testLoadAllOrder(t *testing.T, f Factory) {
	s := f.New(t, 0)
	MustTxns(t, s, txn{Ops: []op{Put(rtt, "b", ""), Put(names, "b.", ""), Put(names, "a.", ""), Put(edges, "x", ""), Put(overrides, "x", ""), Put(store.Zones, "example.net.", "")}})
	var got []string
	s.LoadAll(func(kind store.Kind, key string, _ []byte) error {
		got = append(got, string(kind)+"/"+key)
		return nil
	})
	want := []string{"zones/example.net.", "edges/x", "overrides/x", "names/a.", "names/b.", "rtt/b"}
	if !slices.Equal(got, want) {
		t.Errorf("LoadAll order %v, want %v", got, want)
	}
	stop := errors.New("stop")
	if _, err := s.LoadAll(func(store.Kind, string, []byte) error { return stop }); err != stop {
		t.Errorf("LoadAll with an fn that fails: %v", err)
	}
}

func testChangesCompacted(t *testing.T, f Factory) {
	s := f.New(t, 5)
	for i := range 20 {
		if err := s.Commit([]op{Put(names, fmt.Sprint(i), "")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		from   int64
		events int
		err    error
	}{
		{from: 0, err: store.ErrCompacted},
		{from: 14, err: store.ErrCompacted},
		{from: 15, events: 5},
		{from: 19, events: 1},
		{from: 20},
		{from: 25},
	} {
		n := 0
		err := s.Changes(tc.from, func(store.Event) error { n++; return nil })
		if err != tc.err || n != tc.events {
			t.Errorf("Changes(%d): %d events, %v; want %d, %v", tc.from, n, err, tc.events, tc.err)
		}
	}
}

func testWatch(t *testing.T, f Factory) {
	s := f.New(t, 0)
	for i := 1; i <= 3; i++ {
		if err := s.Commit([]op{Put(names, fmt.Sprint(i), "v")}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx, 1)
	done := make(chan error)
	go func() {
		for i := 4; i <= 6; i++ {
			if _, err := s.Txns([]txn{{Ops: []op{Put(names, fmt.Sprint(i), "v")}}, {Ops: []op{Del(names, fmt.Sprint(i-3))}}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for rev := int64(2); rev <= 9; rev++ {
		e, ok := Receive(t, ch)
		if !ok || e.Err != nil || e.Rev != rev || len(e.Ops) != 1 {
			t.Fatalf("watch event %+v (open %v), want revision %d with one op", e, ok, rev)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		e, ok := Receive(t, ch)
		if !ok {
			break
		}
		if e.Rev <= 9 || e.Err != nil {
			t.Fatalf("after cancel: %+v", e)
		}
	}
}

func testWatchEnds(t *testing.T, f Factory) {
	s := f.New(t, 2)
	for i := range 5 {
		if err := s.Commit([]op{Put(names, fmt.Sprint(i), "")}); err != nil {
			t.Fatal(err)
		}
	}
	ch := s.Watch(context.Background(), 1)
	if e, ok := Receive(t, ch); !ok || e.Err != store.ErrCompacted {
		t.Errorf("watch from a trimmed revision: %+v, want ErrCompacted", e)
	}
	if e, ok := Receive(t, ch); ok {
		t.Errorf("after ErrCompacted: %+v", e)
	}

	live := s.Watch(context.Background(), 5)
	s.Close()
	if e, ok := Receive(t, live); ok {
		t.Errorf("after Close: %+v", e)
	}
	if _, ok := Receive(t, s.Watch(context.Background(), 0)); ok {
		t.Error("a watch of a closed store is open")
	}
}
