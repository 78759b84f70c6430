package store_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/storetest"
)

func TestNameKey(t *testing.T) {
	for name, want := range map[string]string{
		"k3x9.t.example.net.": "net.example.t.k3x9.",
		"example.net.":        "net.example.",
		"*.t.example.net.":    "net.example.t.*.",
		`a\.b.example.net.`:   `net.example.a\.b.`,
		".":                   ".",
	} {
		if got := store.NameKey(name); got != want {
			t.Errorf("NameKey(%q) = %q, want %q", name, got, want)
		}
		if back := store.KeyName(want); back != name {
			t.Errorf("KeyName(%q) = %q, want %q", want, back, name)
		}
	}
}

// openTemp opens a new store file that is closed when the test ends.
func openTemp(t testing.TB) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "georoute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestBolt runs the behaviour every store shows on bbolt files.
func TestBolt(t *testing.T) {
	paths := map[store.Store]string{}
	storetest.Run(t, storetest.Factory{
		New: func(t testing.TB, maxChanges int) store.Store {
			s := openTemp(t)
			if maxChanges > 0 {
				s.MaxChanges = maxChanges
			}
			paths[s] = s.Path()
			return s
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			s.Close()
			r, err := store.OpenBolt(paths[s])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		},
	})
}

func TestBoltInUse(t *testing.T) {
	s := openTemp(t)
	if _, err := store.OpenBolt(s.Path()); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("a second open: %v", err)
	}
}
