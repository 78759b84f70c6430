package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogBytes: the change log keeps at most MaxLogBytes of entries (and always the newest), so
// that a bulk load leaves no second copy of itself in the file; its size is known again after a
// reopen.
func TestLogBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "georoute.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	s.MaxLogBytes = 10_000
	big := strings.Repeat("x", 3000)
	for i := 0; i < 10; i++ {
		mustTxns(t, s, Txn{Ops: []Op{put(Names, "n"+string(rune('a'+i)), big)}})
		if s.logBytes.Load() > s.MaxLogBytes {
			t.Fatalf("after commit %d the log holds %d bytes", i+1, s.logBytes.Load())
		}
	}
	var held []int64
	if err := s.Changes(7, func(ev Event) error { held = append(held, ev.Rev); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(held) != 3 || held[0] != 8 {
		t.Errorf("from 7 the log replays %v, want 8 9 10", held)
	}
	if err := s.Changes(0, func(Event) error { return nil }); !errors.Is(err, ErrCompacted) {
		t.Errorf("from 0: %v, want ErrCompacted", err)
	}
	// One entry larger than the bound is kept: the newest always is.
	mustTxns(t, s, Txn{Ops: []Op{put(Names, "huge", strings.Repeat("y", 20_000))}})
	if err := s.Changes(10, func(Event) error { return nil }); err != nil {
		t.Errorf("the newest entry was trimmed: %v", err)
	}
	size := s.logBytes.Load()
	s.Close()
	if s, err = OpenBolt(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.logBytes.Load() != size {
		t.Errorf("reopened with a log of %d bytes, was %d", s.logBytes.Load(), size)
	}
}
