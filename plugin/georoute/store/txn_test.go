package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t testing.TB) *Bolt {
	t.Helper()
	s, err := OpenBolt(filepath.Join(t.TempDir(), "georoute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(kind Kind, key, value string) Op { return Op{Kind: kind, Key: key, Value: []byte(value)} }

func del(kind Kind, key string) Op { return Op{Kind: kind, Key: key, Delete: true} }

// objects is what LoadAll reads, by "kind/key", and its revision.
func objects(t *testing.T, s Store) (map[string]string, int64) {
	t.Helper()
	m := map[string]string{}
	rev, err := s.LoadAll(func(kind Kind, key string, value []byte) error {
		m[string(kind)+"/"+key] = string(value)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, rev
}

// replay applies the events of Changes(from) to m.
func replay(t *testing.T, s Store, from int64, m map[string]string) (last int64) {
	t.Helper()
	last = from
	err := s.Changes(from, func(e Event) error {
		if e.Rev != last+1 {
			t.Fatalf("event %d after %d", e.Rev, last)
		}
		last = e.Rev
		applyOps(m, e.Ops)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

func applyOps(m map[string]string, ops []Op) {
	for _, op := range ops {
		if op.Delete {
			delete(m, string(op.Kind)+"/"+op.Key)
		} else {
			m[string(op.Kind)+"/"+op.Key] = string(op.Value)
		}
	}
}

func mustTxns(t testing.TB, s Store, txns ...Txn) []Result {
	t.Helper()
	res, err := s.Txns(txns)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRevisions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "georoute.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name string
		txns []Txn
		want []Result // nil: Commit of the first txn's ops, wanting no error
		rev  int64
	}{
		{name: "empty store", rev: 0},
		{name: "commit", txns: []Txn{{Ops: []Op{put(Edges, "fra1", "{}")}}}, rev: 1},
		{name: "commit of nothing", txns: []Txn{{}}, rev: 1},
		{
			name: "three txns, one of them empty",
			txns: []Txn{{Ops: []Op{put(Pools, "eu", "{}")}}, {}, {Ops: []Op{put(Names, "net.example.a.", "{}"), put(Names, "net.example.b.", "{}")}}},
			want: []Result{{Rev: 2}, {Rev: 2}, {Rev: 3}},
			rev:  3,
		},
		{
			name: "a conflict and a bad op take no revision",
			txns: []Txn{
				{Cond: Cond{Rev: 2, Reads: []Read{{Kind: Names, Key: "net.example.a."}}}, Ops: []Op{put(Names, "net.example.c.", "{}")}},
				{Ops: []Op{put("nope", "x", "")}},
				{Ops: []Op{put(Names, "", "{}")}},
				{Ops: []Op{del(Names, "net.example.b.")}},
			},
			want: []Result{{Err: ErrConflict}, {Err: errors.New(`store: no kind "nope"`)}, {Err: errors.New("store: names: a key of 0 bytes")}, {Rev: 4}},
			rev:  4,
		},
		{name: "only conflicts", txns: []Txn{{Cond: Cond{Rev: 3, Reads: []Read{{Kind: Names, Prefix: true}}}, Ops: []Op{put(Edges, "x", "")}}}, want: []Result{{Err: ErrConflict}}, rev: 4},
	} {
		switch {
		case step.txns == nil:
		case step.want == nil:
			if err := s.Commit(step.txns[0].Ops); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		default:
			res := mustTxns(t, s, step.txns...)
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
	s.Close()

	s, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rev, err := s.Rev(); err != nil || rev != 4 {
		t.Errorf("revision after reopen %d (%v), want 4", rev, err)
	}
	if res := mustTxns(t, s, Txn{Cond: Cond{Rev: 4, Reads: []Read{{Kind: Names, Prefix: true}}}, Ops: []Op{del(Edges, "fra1")}}); res[0] != (Result{Rev: 5}) {
		t.Errorf("a commit after reopen: %+v, want revision 5", res[0])
	}
	got, rev := objects(t, s)
	want := map[string]string{"pools/eu": "{}", "names/net.example.a.": "{}"}
	if rev != 5 || !maps.Equal(got, want) {
		t.Errorf("LoadAll at %d: %v, want %v at 5", rev, got, want)
	}
}

func TestTxnsConflicts(t *testing.T) {
	seed := []Op{
		put(Edges, "fra1", "e1"),
		put(Pools, "eu", "p1"),
		put(Names, "net.example.a.", "n1"),
		put(Names, "org.example.a.", "n1"),
	}
	nameA := Read{Kind: Names, Key: "net.example.a."}
	netExample := Read{Kind: Names, Key: "net.example.", Prefix: true}
	allNames := Read{Kind: Names, Prefix: true}
	for _, tc := range []struct {
		name  string
		later [][]Op // committed after the seed (revision 1), one txn each
		txns  []Txn
		want  []error
	}{
		{
			name: "earlier txn of the call, exact key",
			txns: []Txn{
				{Cond: Cond{Rev: 1}, Ops: []Op{put(Names, "net.example.a.", "n2")}},
				{Cond: Cond{Rev: 1, Reads: []Read{nameA}}, Ops: []Op{put(Names, "net.example.b.", "n2"), put(Edges, "ams1", "e2")}},
			},
			want: []error{nil, ErrConflict},
		},
		{
			name: "earlier txn of the call, prefix",
			txns: []Txn{
				{Ops: []Op{put(Names, "net.example.z.", "n2")}},
				{Cond: Cond{Rev: 1, Reads: []Read{netExample}}, Ops: []Op{put(Names, "net.example.b.", "n2")}},
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Names, Key: "org.", Prefix: true}}}, Ops: []Op{put(Names, "org.example.b.", "n2")}},
			},
			want: []error{nil, ErrConflict, nil},
		},
		{
			name: "earlier txn of the call, a delete",
			txns: []Txn{
				{Ops: []Op{del(Names, "net.example.a.")}},
				{Cond: Cond{Rev: 1, Reads: []Read{nameA}}, Ops: []Op{put(Names, "net.example.b.", "n2")}},
			},
			want: []error{nil, ErrConflict},
		},
		{
			name:  "committed after Cond.Rev, exact key",
			later: [][]Op{{put(Names, "net.example.a.", "n2")}, {put(Edges, "ams1", "e2")}},
			txns: []Txn{
				{Cond: Cond{Rev: 1, Reads: []Read{nameA}}, Ops: []Op{put(Names, "net.example.b.", "n2")}},
				{Cond: Cond{Rev: 2, Reads: []Read{nameA}}, Ops: []Op{put(Names, "net.example.c.", "n2")}},
			},
			want: []error{ErrConflict, nil},
		},
		{
			name:  "committed after Cond.Rev, prefix",
			later: [][]Op{{put(Names, "net.example.t.x.", "n2")}},
			txns: []Txn{
				{Cond: Cond{Rev: 1, Reads: []Read{netExample}}, Ops: []Op{put(Names, "net.example.b.", "n2")}},
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Names, Key: "net.example.u.", Prefix: true}}}, Ops: []Op{put(Names, "net.example.u.b.", "n2")}},
			},
			want: []error{ErrConflict, nil},
		},
		{
			name:  "committed after Cond.Rev, whole kind",
			later: [][]Op{{del(Names, "org.example.a.")}},
			txns: []Txn{
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Edges, Key: "fra1"}, allNames}}, Ops: []Op{put(Edges, "fra1", "e2")}},
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Pools, Prefix: true}}}, Ops: []Op{put(Pools, "us", "p2")}},
			},
			want: []error{ErrConflict, nil},
		},
		{
			name:  "an exact read among others, changed and deleted since",
			later: [][]Op{{put(Names, "net.example.a.", "n2")}, {put(Pools, "eu", "p2")}, {del(Names, "net.example.a.")}},
			txns: []Txn{
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Names, Key: "net.example.b."}, {Kind: Edges, Prefix: true}, {Kind: Names, Key: "net.example.a.", Prefix: false}}}, Ops: []Op{put(Names, "net.example.b.", "n2")}},
			},
			want: []error{ErrConflict},
		},
		{
			name:  "non-overlapping with an old Cond.Rev commits",
			later: [][]Op{{put(Names, "net.example.a.", "n2")}, {put(Pools, "eu", "p2")}},
			txns: []Txn{
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Names, Key: "net.example.b."}, {Kind: Edges, Prefix: true}, {Kind: Names, Key: "net.example.a.b", Prefix: true}}}, Ops: []Op{put(Names, "net.example.b.", "n2")}},
				{Cond: Cond{Rev: 2, Reads: []Read{{Kind: Pools, Key: "us"}}}, Ops: []Op{put(Pools, "us", "p2")}},
				{Cond: Cond{Rev: 0, Reads: []Read{{Kind: Overrides, Prefix: true}}}, Ops: []Op{put(Overrides, "fra1", "down")}},
			},
			want: []error{nil, nil, nil},
		},
		{
			name:  "conditions at ever older revisions",
			later: [][]Op{{put(Names, "net.example.b.", "n2")}, {put(Pools, "eu", "p2")}},
			txns: []Txn{
				{Cond: Cond{Rev: 3, Reads: []Read{{Kind: Pools, Prefix: true}}}, Ops: []Op{put(Names, "net.example.z.", "n2")}},
				{Cond: Cond{Rev: 2, Reads: []Read{{Kind: Names, Key: "net.example.y."}}}, Ops: []Op{put(Names, "net.example.c.", "n2")}},
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Names, Key: "net.example.b", Prefix: true}}}, Ops: []Op{put(Names, "net.example.d.", "n2")}},
				{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Names, Key: "net.example.d", Prefix: true}}}, Ops: []Op{put(Names, "net.example.e.", "n2")}},
				{Cond: Cond{Rev: 2, Reads: []Read{{Kind: Names, Key: "net.example.c", Prefix: true}}}, Ops: []Op{put(Names, "net.example.f.", "n2")}},
			},
			want: []error{nil, nil, ErrConflict, nil, ErrConflict},
		},
		{
			name:  "a revision the store has not reached",
			later: [][]Op{{put(Pools, "eu", "p2")}},
			txns:  []Txn{{Cond: Cond{Rev: 3, Reads: []Read{{Kind: RTT, Prefix: true}}}, Ops: []Op{put(RTT, "x", "1")}}},
			want:  []error{ErrConflict},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			want := map[string]string{}
			for _, ops := range append([][]Op{seed}, tc.later...) {
				if err := s.Commit(ops); err != nil {
					t.Fatal(err)
				}
				applyOps(want, ops)
			}
			next := int64(len(tc.later)) + 2
			for i, r := range mustTxns(t, s, tc.txns...) {
				if r.Err != tc.want[i] {
					t.Errorf("txn %d: %v, want %v", i, r.Err, tc.want[i])
				}
				if r.Err != nil {
					continue
				}
				if r.Rev != next {
					t.Errorf("txn %d: revision %d, want %d", i, r.Rev, next)
				}
				next++
				applyOps(want, tc.txns[i].Ops)
			}
			got, rev := objects(t, s)
			if !maps.Equal(got, want) || rev != next-1 {
				t.Errorf("LoadAll at %d: %v\nwant at %d: %v", rev, got, next-1, want)
			}
		})
	}
}

func TestConflictBeyondTheLog(t *testing.T) {
	s := openTemp(t)
	s.MaxChanges = 3
	for i := range 5 {
		if err := s.Commit([]Op{put(Edges, fmt.Sprint("e", i), "")}); err != nil {
			t.Fatal(err)
		}
	}
	// The log holds 3..5: a Cond at 2 checks 3..5, one at 1 would need 2.
	res := mustTxns(t, s,
		Txn{Cond: Cond{Rev: 2, Reads: []Read{{Kind: Names, Prefix: true}}}, Ops: []Op{put(Names, "a.", "")}},
		Txn{Cond: Cond{Rev: 1, Reads: []Read{{Kind: Names, Prefix: true}}}, Ops: []Op{put(Names, "b.", "")}},
	)
	if res[0] != (Result{Rev: 6}) || res[1].Err != ErrConflict {
		t.Errorf("results %+v, want revision 6 and a conflict", res)
	}
}

// TestConflictsMatchTheLog checks random conditions against a walk of every change since.
func TestConflictsMatchTheLog(t *testing.T) {
	s := openTemp(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	keys := []string{"a.", "ab.", "abc.", "b.", "ba.", "c."}
	kinds := []Kind{Names, Pools}
	pick := func() (Kind, string) { return kinds[rnd.IntN(len(kinds))], keys[rnd.IntN(len(keys))] }
	changes := map[int64][]Op{} // by revision
	var rev int64
	for range 60 {
		txns := make([]Txn, 1+rnd.IntN(8))
		for i := range txns {
			for range 1 + rnd.IntN(2) {
				kind, key := pick()
				if rnd.IntN(3) == 0 {
					txns[i].Ops = append(txns[i].Ops, del(kind, key))
				} else {
					txns[i].Ops = append(txns[i].Ops, put(kind, key, "v"))
				}
			}
			txns[i].Cond.Rev = max(0, rev-int64(rnd.IntN(6)))
			for range rnd.IntN(3) {
				kind, key := pick()
				txns[i].Cond.Reads = append(txns[i].Cond.Reads, Read{Kind: kind, Key: key[:1+rnd.IntN(len(key))], Prefix: rnd.IntN(2) == 0})
			}
		}
		for i, r := range mustTxns(t, s, txns...) {
			conflict := false
			for at := txns[i].Cond.Rev + 1; at <= rev; at++ {
				for _, op := range changes[at] {
					for _, rd := range txns[i].Cond.Reads {
						if op.Kind == rd.Kind && (op.Key == rd.Key || rd.Prefix && strings.HasPrefix(op.Key, rd.Key)) {
							conflict = true
						}
					}
				}
			}
			if conflict != (r.Err == ErrConflict) || !conflict && r.Rev != rev+1 {
				t.Fatalf("txn %+v at revision %d: %+v, want a conflict: %v", txns[i], rev, r, conflict)
			}
			if !conflict {
				rev++
				changes[rev] = txns[i].Ops
			}
		}
	}
}

// history commits a mix of puts and deletes over every kind, snapshotting LoadAll on the way.
func history(t *testing.T, s Store, n int) (snapshots map[int64]map[string]string) {
	snapshots = map[int64]map[string]string{}
	for i := range n {
		var txns []Txn
		for j := range 1 + i%3 {
			kind := Kinds[(i+j)%len(Kinds)]
			ops := []Op{put(kind, fmt.Sprintf("k%02d", (i*7+j)%13), fmt.Sprint(i, j))}
			if i%4 == 3 {
				ops = append(ops, del(kind, fmt.Sprintf("k%02d", (i*5)%13)))
			}
			txns = append(txns, Txn{Ops: ops})
		}
		mustTxns(t, s, txns...)
		m, rev := objects(t, s)
		snapshots[rev] = m
	}
	return snapshots
}

func TestChangesReplay(t *testing.T) {
	s := openTemp(t)
	snapshots := history(t, s, 40)
	final, rev := objects(t, s)
	if rev != 79 {
		t.Fatalf("revision %d, want 79", rev)
	}
	for _, from := range slices.Sorted(maps.Keys(snapshots)) {
		m := maps.Clone(snapshots[from])
		if last := replay(t, s, from, m); last != rev {
			t.Errorf("Changes(%d) ended at %d, want %d", from, last, rev)
		}
		if !maps.Equal(m, final) {
			t.Errorf("LoadAll at %d and Changes(%d): %v\nwant %v", from, from, m, final)
		}
	}
	m := map[string]string{}
	replay(t, s, 0, m)
	if !maps.Equal(m, final) {
		t.Errorf("Changes(0): %v\nwant %v", m, final)
	}

	stop := errors.New("stop")
	n := 0
	if err := s.Changes(10, func(Event) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Changes with an fn that fails: %v after %d events", err, n)
	}
}

func TestLoadAllOrder(t *testing.T) {
	s := openTemp(t)
	mustTxns(t, s, Txn{Ops: []Op{put(RTT, "b", ""), put(Names, "b.", ""), put(Names, "a.", ""), put(Edges, "x", ""), put(Overrides, "x", "")}})
	var got []string
	s.LoadAll(func(kind Kind, key string, _ []byte) error {
		got = append(got, string(kind)+"/"+key)
		return nil
	})
	want := []string{"edges/x", "overrides/x", "names/a.", "names/b.", "rtt/b"}
	if !slices.Equal(got, want) {
		t.Errorf("LoadAll order %v, want %v", got, want)
	}
}

func TestChangesCompacted(t *testing.T) {
	s := openTemp(t)
	s.MaxChanges = 5
	for i := range 20 {
		if err := s.Commit([]Op{put(Names, fmt.Sprint(i), "")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		from   int64
		events int
		err    error
	}{
		{from: 0, err: ErrCompacted},
		{from: 14, err: ErrCompacted},
		{from: 15, events: 5},
		{from: 19, events: 1},
		{from: 20},
		{from: 25},
	} {
		n := 0
		err := s.Changes(tc.from, func(Event) error { n++; return nil })
		if err != tc.err || n != tc.events {
			t.Errorf("Changes(%d): %d events, %v; want %d, %v", tc.from, n, err, tc.events, tc.err)
		}
	}
}

func TestTrimIsBounded(t *testing.T) {
	s := openTemp(t)
	txns := make([]Txn, 2000)
	for i := range txns {
		txns[i] = Txn{Ops: []Op{put(Names, fmt.Sprint(i), "")}}
	}
	mustTxns(t, s, txns...)
	s.MaxChanges = 1
	mustTxns(t, s, Txn{Ops: []Op{put(Names, "last", "")}})
	// One commit trims at most trimBatch more entries than it adds: 1..1025 of 1..2001.
	if err := s.Changes(1024, func(Event) error { return nil }); err != ErrCompacted {
		t.Errorf("Changes(1024): %v, want ErrCompacted", err)
	}
	if err := s.Changes(1025, func(Event) error { return nil }); err != nil {
		t.Errorf("Changes(1025): %v", err)
	}
	mustTxns(t, s, Txn{Ops: []Op{put(Names, "last", "")}})
	if err := s.Changes(2001, func(Event) error { return nil }); err != nil {
		t.Errorf("Changes(2001) after the second trim: %v", err)
	}
	if err := s.Changes(2000, func(Event) error { return nil }); err != ErrCompacted {
		t.Errorf("Changes(2000) after the second trim: %v, want ErrCompacted", err)
	}
}

func receive(t *testing.T, ch <-chan WatchEvent) (WatchEvent, bool) {
	t.Helper()
	select {
	case e, ok := <-ch:
		return e, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event in 5s")
	}
	return WatchEvent{}, false
}

func TestWatch(t *testing.T) {
	s := openTemp(t)
	for i := 1; i <= 3; i++ {
		if err := s.Commit([]Op{put(Names, fmt.Sprint(i), "v")}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx, 1)
	done := make(chan error)
	go func() {
		for i := 4; i <= 6; i++ {
			if _, err := s.Txns([]Txn{{Ops: []Op{put(Names, fmt.Sprint(i), "v")}}, {Ops: []Op{del(Names, fmt.Sprint(i-3))}}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for rev := int64(2); rev <= 9; rev++ {
		e, ok := receive(t, ch)
		if !ok || e.Err != nil || e.Rev != rev || len(e.Ops) != 1 {
			t.Fatalf("watch event %+v (open %v), want revision %d with one op", e, ok, rev)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		e, ok := receive(t, ch)
		if !ok {
			break
		}
		if e.Rev <= 9 || e.Err != nil {
			t.Fatalf("after cancel: %+v", e)
		}
	}
}

func TestWatchEnds(t *testing.T) {
	s := openTemp(t)
	s.MaxChanges = 2
	for i := range 5 {
		if err := s.Commit([]Op{put(Names, fmt.Sprint(i), "")}); err != nil {
			t.Fatal(err)
		}
	}
	ch := s.Watch(context.Background(), 1)
	if e, ok := receive(t, ch); !ok || e.Err != ErrCompacted {
		t.Errorf("watch from a trimmed revision: %+v, want ErrCompacted", e)
	}
	if e, ok := receive(t, ch); ok {
		t.Errorf("after ErrCompacted: %+v", e)
	}

	live := s.Watch(context.Background(), 5)
	s.Close()
	if e, ok := receive(t, live); ok {
		t.Errorf("after Close: %+v", e)
	}
	if _, ok := receive(t, s.Watch(context.Background(), 0)); ok {
		t.Error("a watch of a closed store is open")
	}
}

// TestOldLayout opens a file made before revisions were kept: only the kinds' buckets.
func TestOldLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "georoute.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"edges/fra1": `{"addresses":["192.0.2.10"]}`, "names/net.example.a.": `{"edge":"fra1"}`}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, k := range Kinds {
			if _, err := tx.CreateBucket([]byte(k)); err != nil {
				return err
			}
		}
		tx.Bucket([]byte(Edges)).Put([]byte("fra1"), []byte(want["edges/fra1"]))
		return tx.Bucket([]byte(Names)).Put([]byte("net.example.a."), []byte(want["names/net.example.a."]))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, rev := objects(t, s)
	if rev != 0 || !maps.Equal(got, want) {
		t.Errorf("LoadAll at %d: %v, want %v at 0", rev, got, want)
	}
	res := mustTxns(t, s, Txn{Cond: Cond{Rev: 0, Reads: []Read{{Kind: Names, Prefix: true}}}, Ops: []Op{put(Names, "net.example.b.", "{}")}})
	if res[0] != (Result{Rev: 1}) {
		t.Errorf("first commit: %+v, want revision 1", res[0])
	}
	var events []Event
	s.Changes(0, func(e Event) error { events = append(events, e); return nil })
	if len(events) != 1 || events[0].Rev != 1 {
		t.Errorf("changes %+v, want revision 1 only", events)
	}
}

func TestEncodeOps(t *testing.T) {
	for _, ops := range [][]Op{
		{},
		{put(Names, "net.example.a.", `{"edge":"fra1"}`)},
		{del(Edges, "fra1"), put(RTT, "k", ""), put("custom", "x\x00y", "\xff")},
	} {
		got, err := decodeOps(encodeOps(ops))
		if err != nil || len(got) != len(ops) {
			t.Fatalf("decode of %v: %v, %v", ops, got, err)
		}
		for i := range ops {
			if got[i].Kind != ops[i].Kind || got[i].Key != ops[i].Key || got[i].Delete != ops[i].Delete || string(got[i].Value) != string(ops[i].Value) {
				t.Errorf("op %d: %+v, want %+v", i, got[i], ops[i])
			}
		}
	}
	entry := encodeOps([]Op{put(Names, "a.", "v")})
	for n := range len(entry) {
		if _, err := decodeOps(entry[:n]); err == nil {
			t.Errorf("a truncated entry of %d bytes decoded", n)
		}
	}
}

func FuzzDecodeOps(f *testing.F) {
	f.Add(encodeOps([]Op{put(Names, "a.", "v"), del(Edges, "x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := decodeOps(b)
		if err != nil {
			return
		}
		again, err := decodeOps(encodeOps(ops))
		if err != nil || len(again) != len(ops) {
			t.Fatalf("re-encoding %v: %v, %v", ops, again, err)
		}
	})
}
