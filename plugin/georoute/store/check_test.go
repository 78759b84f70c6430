package store_test

import (
	"fmt"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/storetest"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// filled makes a store file of n names and returns its path.
func filled(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "georoute.db")
	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	var ops []store.Op
	for i := 0; i < n; i++ {
		ops = append(ops, storetest.Put(store.Names, fmt.Sprintf("net.example.t.n%06d.", i), `{"edge":"fra1","ttl":10}`))
	}
	if err := s.Commit(ops); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return path
}

// openAndLoad opens path and reads it whole, as start-up does.
func openAndLoad(path string) error {
	s, err := store.OpenBolt(path)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.LoadAll(func(store.Kind, string, []byte) error { return nil })
	return err
}

// TestDamagedFiles: a damaged store file is an error naming the file and saying what to do,
// never a crash, and never a silently empty store.
func TestDamagedFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"truncated to half", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()/2)
		}, "truncated"},
		{"empty", func(t *testing.T, path string) { os.Truncate(path, 0) }, "0 bytes"},
		{"not a store", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("this is not a bbolt file\n", 1000)), 0o600)
		}, "no valid meta page"},
		{"both meta pages overwritten", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY, 0)
			f.WriteAt(make([]byte, 2*os.Getpagesize()), 0)
			f.Close()
		}, "no valid meta page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filled(t, 20000)
			tc.damage(t, path)
			err := openAndLoad(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "last good copy") {
				t.Fatalf("err = %v, want one naming %s, saying %q and what to do", err, path, tc.want)
			}
		})
	}
}

// TestRandomBytesOverPages: garbage written over data pages (the meta pages intact) is an error,
// never a crash, whatever pages it hits.
func TestRandomBytesOverPages(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	page := int64(os.Getpagesize())
	for i := 0; i < 20; i++ {
		path := filled(t, 20000)
		fi, _ := os.Stat(path)
		pages := fi.Size() / page
		f, _ := os.OpenFile(path, os.O_WRONLY, 0)
		for j := 0; j < 3; j++ {
			junk := make([]byte, page)
			for k := range junk {
				junk[k] = byte(rng.Uint32())
			}
			f.WriteAt(junk, (2+rng.Int64N(pages-2))*page)
		}
		f.Close()
		if err := openAndLoad(path); err != nil && !strings.Contains(err.Error(), "damaged") {
			t.Errorf("run %d: %v, want a damaged-store error", i, err)
		}
	}
}
