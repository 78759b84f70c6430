package store_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/storetest"
)

// TestLogBytes: the change log keeps at most MaxLogBytes of entries (and always the newest), so
// that a bulk load leaves no second copy of itself in the file; its size is known again after a
// reopen.
func TestLogBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "georoute.db")
	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	s.MaxLogBytes = 10_000
	big := strings.Repeat("x", 3000)
	for i := 0; i < 10; i++ {
		storetest.MustTxns(t, s, store.Txn{Ops: []store.Op{storetest.Put(store.Names, "n"+string(rune('a'+i)), big)}})
		if store.LogBytes(s) > s.MaxLogBytes {
			t.Fatalf("after commit %d the log holds %d bytes", i+1, store.LogBytes(s))
		}
	}
	var held []int64
	if err := s.Changes(7, func(ev store.Event) error { held = append(held, ev.Rev); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(held) != 3 || held[0] != 8 {
		t.Errorf("from 7 the log replays %v, want 8 9 10", held)
	}
	if err := s.Changes(0, func(store.Event) error { return nil }); !errors.Is(err, store.ErrCompacted) {
		t.Errorf("from 0: %v, want store.ErrCompacted", err)
	}
	// One entry larger than the bound is kept: the newest always is.
	storetest.MustTxns(t, s, store.Txn{Ops: []store.Op{storetest.Put(store.Names, "huge", strings.Repeat("y", 20_000))}})
	if err := s.Changes(10, func(store.Event) error { return nil }); err != nil {
		t.Errorf("the newest entry was trimmed: %v", err)
	}
	size := store.LogBytes(s)
	s.Close()
	if s, err = store.OpenBolt(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if store.LogBytes(s) != size {
		t.Errorf("reopened with a log of %d bytes, was %d", store.LogBytes(s), size)
	}
}
