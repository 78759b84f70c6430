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
	openDrop(100)
	before := readOnlyAnonKiB(t)
	const n = 2000
	openDrop(n)
	// Each database is one read-only anonymous mapping of two pages: kept, n of them would add
	// 16,000 KiB. Cleanups run when the collector has found the DBs garbage: give it time.
	limit := int64(n * 2 * os.Getpagesize() / 1024 / 10)
	grew := readOnlyAnonKiB(t) - before
	for deadline := time.Now().Add(5 * time.Second); grew > limit && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		grew = readOnlyAnonKiB(t) - before
	}
	if grew > limit {
		t.Errorf("read-only anonymous mappings grew by %d KiB over %d opened and closed databases; limit %d KiB", grew, n, limit)
	}
}

// readOnlyAnonKiB is the size of this process's read-only private anonymous mappings: the
// databases' memory (the Go heap is writable, the binary's read-only data is file-backed).
func readOnlyAnonKiB(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var kib int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text()) // range perms offset dev inode [path]
		if len(fs) != 5 || fs[1] != "r--p" || fs[4] != "0" {
			continue
		}
		lo, hi, _ := strings.Cut(fs[0], "-")
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("/proc/self/maps: %q", sc.Text())
		}
		kib += int64(b-a) / 1024
	}
	return kib
}
