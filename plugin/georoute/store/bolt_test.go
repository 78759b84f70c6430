package store_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/storetest"
	bolt "go.etcd.io/bbolt"
)

func TestTrimIsBounded(t *testing.T) {
	s := openTemp(t)
	txns := make([]store.Txn, 2000)
	for i := range txns {
		txns[i] = store.Txn{Ops: []store.Op{storetest.Put(store.Names, fmt.Sprint(i), "")}}
	}
	storetest.MustTxns(t, s, txns...)
	s.MaxChanges = 1
	storetest.MustTxns(t, s, store.Txn{Ops: []store.Op{storetest.Put(store.Names, "last", "")}})
	// One commit trims at most trimBatch (1024) more entries than it adds: 1..1025 of 1..2001.
	if err := s.Changes(1024, func(store.Event) error { return nil }); err != store.ErrCompacted {
		t.Errorf("Changes(1024): %v, want ErrCompacted", err)
	}
	if err := s.Changes(1025, func(store.Event) error { return nil }); err != nil {
		t.Errorf("Changes(1025): %v", err)
	}
	storetest.MustTxns(t, s, store.Txn{Ops: []store.Op{storetest.Put(store.Names, "last", "")}})
	if err := s.Changes(2001, func(store.Event) error { return nil }); err != nil {
		t.Errorf("Changes(2001) after the second trim: %v", err)
	}
	if err := s.Changes(2000, func(store.Event) error { return nil }); err != store.ErrCompacted {
		t.Errorf("Changes(2000) after the second trim: %v, want ErrCompacted", err)
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
		for _, k := range store.Kinds {
			if _, err := tx.CreateBucket([]byte(k)); err != nil {
				return err
			}
		}
		tx.Bucket([]byte(store.Edges)).Put([]byte("fra1"), []byte(want["edges/fra1"]))
		return tx.Bucket([]byte(store.Names)).Put([]byte("net.example.a."), []byte(want["names/net.example.a."]))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, rev := storetest.Objects(t, s)
	if rev != 0 || !maps.Equal(got, want) {
		t.Errorf("LoadAll at %d: %v, want %v at 0", rev, got, want)
	}
	res := storetest.MustTxns(t, s, store.Txn{Cond: store.Cond{Rev: 0, Reads: []store.Read{{Kind: store.Names, Prefix: true}}}, Ops: []store.Op{storetest.Put(store.Names, "net.example.b.", "{}")}})
	if res[0] != (store.Result{Rev: 1}) {
		t.Errorf("first commit: %+v, want revision 1", res[0])
	}
	var events []store.Event
	s.Changes(0, func(e store.Event) error { events = append(events, e); return nil })
	if len(events) != 1 || events[0].Rev != 1 {
		t.Errorf("changes %+v, want revision 1 only", events)
	}
}

func TestEncodeOps(t *testing.T) {
	for _, ops := range [][]store.Op{
		{},
		{storetest.Put(store.Names, "net.example.a.", `{"edge":"fra1"}`)},
		{storetest.Del(store.Edges, "fra1"), storetest.Put(store.RTT, "k", ""), storetest.Put("custom", "x\x00y", "\xff")},
	} {
		got, err := store.DecodeOps(store.EncodeOps(ops))
		if err != nil || len(got) != len(ops) {
			t.Fatalf("decode of %v: %v, %v", ops, got, err)
		}
		for i := range ops {
			if got[i].Kind != ops[i].Kind || got[i].Key != ops[i].Key || got[i].Delete != ops[i].Delete || string(got[i].Value) != string(ops[i].Value) {
				t.Errorf("op %d: %+v, want %+v", i, got[i], ops[i])
			}
		}
	}
	entry := store.EncodeOps([]store.Op{storetest.Put(store.Names, "a.", "v")})
	for n := range len(entry) {
		if _, err := store.DecodeOps(entry[:n]); err == nil {
			t.Errorf("a truncated entry of %d bytes decoded", n)
		}
	}
}

func FuzzDecodeOps(f *testing.F) {
	f.Add(store.EncodeOps([]store.Op{storetest.Put(store.Names, "a.", "v"), storetest.Del(store.Edges, "x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := store.DecodeOps(b)
		if err != nil {
			return
		}
		again, err := store.DecodeOps(store.EncodeOps(ops))
		if err != nil || len(again) != len(ops) {
			t.Fatalf("re-encoding %v: %v, %v", ops, again, err)
		}
	})
}
