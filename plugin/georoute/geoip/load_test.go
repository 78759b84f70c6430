//go:build linux

package geoip

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A database file truncated or overwritten in place after Open changes nothing for the DB that
// read it: it answers from its own copy (a mapping of the file would fault or read garbage).
func TestOpenCopiesTheFile(t *testing.T) {
	data, err := os.ReadFile(geoip2City)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, Options{City: []string{path}, CacheSize: 1})
	if got := db.Lookup(netip.MustParseAddr("81.2.69.142")).Loc; got == nil || got.City != "London" {
		t.Fatalf("before: %+v, want London", got)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, len(data)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Records not decoded before, and one pushed out of the one-slot caches: read from memory.
	for addr, city := range map[string]string{"85.214.132.117": "Berlin", "81.2.69.1": "London"} {
		if got := db.Lookup(netip.MustParseAddr(addr)).Loc; got == nil || got.City != city {
			t.Errorf("%s after the file was overwritten: %+v, want %s", addr, got, city)
		}
	}
}

// The memory a database was read into is given back once its DB is closed and unreachable.
func TestClosedDatabasesAreUnmapped(t *testing.T) {
	openDrop := func(n int) {
		for i := 0; i < n; i++ {
			db, err := Open(Options{City: []string{geoip2City}, CacheSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			db.Lookup(netip.MustParseAddr("81.2.69.142"))
			db.Close()
			if i%200 == 0 {
				runtime.GC()
			}
		}
		for i := 0; i < 3; i++ {
			runtime.GC()
			time.Sleep(20 * time.Millisecond) // cleanups run on a goroutine of their own
		}
	}
	openDrop(500)
	before := vmSizeKiB(t)
	const n = 4000
	openDrop(n)
	grew := vmSizeKiB(t) - before
	// Each database takes two pages of its own mapping: kept, n of them would add 31 MiB.
	if limit := int64(n * 2 * os.Getpagesize() / 1024 / 4); grew > limit {
		t.Errorf("the address space grew by %d KiB over %d opened and closed databases (leaked mappings?); limit %d KiB", grew, n, limit)
	}
}

func vmSizeKiB(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}
