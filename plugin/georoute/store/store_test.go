package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestNameKey(t *testing.T) {
	for name, want := range map[string]string{
		"k3x9.t.example.net.": "net.example.t.k3x9.",
		"example.net.":        "net.example.",
		"*.t.example.net.":    "net.example.t.*.",
		`a\.b.example.net.`:   `net.example.a\.b.`,
		".":                   ".",
	} {
		if got := NameKey(name); got != want {
			t.Errorf("NameKey(%q) = %q, want %q", name, got, want)
		}
		if back := KeyName(want); back != name {
			t.Errorf("KeyName(%q) = %q, want %q", want, back, name)
		}
	}
}

func TestBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "georoute.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBolt(path); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("a second open: %v", err)
	}
	ops := []Op{
		{Kind: Edges, Key: "fra1", Value: []byte(`{"addresses":["192.0.2.10"]}`)},
		{Kind: Names, Key: NameKey("b.example.net."), Value: []byte(`{"edge":"fra1"}`)},
		{Kind: Names, Key: NameKey("a.example.net."), Value: []byte(`{"edge":"fra1"}`)},
		{Kind: Names, Key: NameKey("a.example.org."), Value: []byte(`{"edge":"fra1"}`)},
	}
	if err := s.Commit(ops); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit([]Op{{Kind: Names, Key: NameKey("b.example.net."), Delete: true}, {Kind: "nope", Key: "x"}}); err == nil {
		t.Error("a commit with a bad op succeeded")
	}
	s.Close()

	// Reopened: everything committed is there; the failed transaction left nothing.
	s, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names []string
	s.Load(Names, func(k string, v []byte) error { names = append(names, KeyName(k)); return nil })
	if strings.Join(names, " ") != "a.example.net. b.example.net. a.example.org." {
		t.Errorf("names after reopen: %v", names)
	}
	var scanned []string
	s.Scan(Names, NameKey("example.net."), NameKey("a.example.net.")+"\x00", func(k string, v []byte) bool {
		scanned = append(scanned, KeyName(k))
		return true
	})
	if strings.Join(scanned, " ") != "b.example.net." {
		t.Errorf("scan of example.net after a.example.net: %v", scanned)
	}
}

func TestBoltConcurrentCommits(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "georoute.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := s.Commit([]Op{{Kind: Names, Key: fmt.Sprintf("net.example.w%d-%d.", w, i), Value: []byte("{}")}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	s.Load(Names, func(string, []byte) error { n++; return nil })
	if n != 400 {
		t.Errorf("%d names, want 400", n)
	}
}
