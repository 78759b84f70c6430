// Package storetest is the behaviour every store.Store shows, as tests that each implementation
// runs on itself (Run), and the helpers they share.
package storetest

import (
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store"
)

// Factory makes the stores the suite runs on.
type Factory struct {
	// New returns a new, empty store whose change log holds at most maxChanges transactions
	// (0: the store's default). It is closed when the test ends.
	New func(t testing.TB, maxChanges int) store.Store
	// Reopen closes s and opens what it holds again, as after a restart.
	Reopen func(t testing.TB, s store.Store) store.Store
}

// Put is the op that sets kind/key to value.
func Put(kind store.Kind, key, value string) store.Op {
	return store.Op{Kind: kind, Key: key, Value: []byte(value)}
}

// Del is the op that deletes kind/key.
func Del(kind store.Kind, key string) store.Op { return store.Op{Kind: kind, Key: key, Delete: true} }

// Objects is what LoadAll reads, by "kind/key", and its revision.
func Objects(t testing.TB, s store.Store) (map[string]string, int64) {
	t.Helper()
	m := map[string]string{}
	rev, err := s.LoadAll(func(kind store.Kind, key string, value []byte) error {
		m[string(kind)+"/"+key] = string(value)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, rev
}

// ApplyOps applies ops to m, a map as Objects makes.
func ApplyOps(m map[string]string, ops []store.Op) {
	for _, op := range ops {
		if op.Delete {
			delete(m, string(op.Kind)+"/"+op.Key)
		} else {
			m[string(op.Kind)+"/"+op.Key] = string(op.Value)
		}
	}
}

// Replay applies the events of Changes(from) to m, checking that they come in order, and
// returns the last revision.
func Replay(t testing.TB, s store.Store, from int64, m map[string]string) (last int64) {
	t.Helper()
	last = from
	err := s.Changes(from, func(e store.Event) error {
		if e.Rev != last+1 {
			t.Fatalf("event %d after %d", e.Rev, last)
		}
		last = e.Rev
		ApplyOps(m, e.Ops)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// MustTxns commits txns, failing the test on an error for the whole call.
func MustTxns(t testing.TB, s store.Store, txns ...store.Txn) []store.Result {
	t.Helper()
	res, err := s.Txns(txns)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Receive is the next event of a watch, and false once it is closed; the test fails after 10 s
// without either.
func Receive(t testing.TB, ch <-chan store.WatchEvent) (store.WatchEvent, bool) {
	t.Helper()
	select {
	case e, ok := <-ch:
		return e, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event in 10s")
	}
	return store.WatchEvent{}, false
}
