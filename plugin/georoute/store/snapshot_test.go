package store

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// snapshotObjects is what s holds, as KIND/KEY -> value, and its revision.
func snapshotObjects(t *testing.T, s *Snapshot) (map[string]string, int64) {
	t.Helper()
	got := map[string]string{}
	rev, err := s.LoadAll(func(kind Kind, key string, v []byte) error {
		got[string(kind)+"/"+key] = string(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, rev
}

func TestSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snapshot.db")
	s, err := OpenSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(); err != nil || info.Rev != 0 || !info.Written.IsZero() {
		t.Fatalf("a new snapshot: %+v %v", info, err)
	}
	if _, err := OpenSnapshot(path); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("a second open: %v", err)
	}

	// Written whole, then brought forward.
	err = s.Replace("/georoute/prod/", func(put func(Kind, string, []byte) error) (int64, error) {
		for _, o := range []Op{{Kind: Edges, Key: "fra1", Value: []byte("F")}, {Kind: Names, Key: "a.", Value: []byte("A")}, {Kind: Names, Key: "b.", Value: []byte("B")}} {
			if err := put(o.Kind, o.Key, o.Value); err != nil {
				return 0, err
			}
		}
		return 7, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(9, []Op{{Kind: Names, Key: "a.", Delete: true}, {Kind: Names, Key: "c.", Value: []byte("C")}, {Kind: Zones, Key: "example.org.", Value: []byte("Z")}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"edges/fra1": "F", "names/b.": "B", "names/c.": "C", "zones/example.org.": "Z"}
	if got, rev := snapshotObjects(t, s); rev != 9 || !maps.Equal(got, want) {
		t.Errorf("at %d: %v", rev, got)
	}
	if n, err := s.Count(Names); err != nil || n != 2 {
		t.Errorf("Count(names) = %d, %v", n, err)
	}
	if info, _ := s.Info(); info.Of != "/georoute/prod/" || time.Since(info.Written) > time.Minute {
		t.Errorf("info %+v", info)
	}
	if err := s.Apply(8, nil); err == nil {
		t.Error("Apply of an older revision")
	}
	if err := s.Apply(10, []Op{{Kind: "nonsense", Key: "x", Value: []byte("X")}}); err == nil {
		t.Error("Apply of an unknown kind")
	}
	if _, rev := snapshotObjects(t, s); rev != 9 {
		t.Errorf("a refused Apply moved the snapshot to %d", rev)
	}

	// A Replace whose load fails leaves the snapshot as it was, and no file beside it.
	err = s.Replace("/georoute/prod/", func(put func(Kind, string, []byte) error) (int64, error) {
		put(Names, "x.", []byte("X"))
		return 0, errors.New("etcd does not answer")
	})
	if err == nil || !strings.Contains(err.Error(), "etcd does not answer") {
		t.Errorf("a failed Replace: %v", err)
	}
	if got, rev := snapshotObjects(t, s); rev != 9 || !maps.Equal(got, want) {
		t.Errorf("after a failed Replace, at %d: %v", rev, got)
	}
	if _, err := os.Stat(path + ".new"); err == nil {
		t.Error("a failed Replace left its file")
	}

	// Closed and opened again: the same.
	s.Close()
	if s, err = OpenSnapshot(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, rev := snapshotObjects(t, s); rev != 9 || !maps.Equal(got, want) {
		t.Errorf("reopened, at %d: %v", rev, got)
	}

	// A damaged file is refused.
	bad := filepath.Join(t.TempDir(), "bad.db")
	os.WriteFile(bad, []byte("not a snapshot"), 0o600)
	if _, err := OpenSnapshot(bad); err == nil {
		t.Error("a damaged snapshot opens")
	}
}
