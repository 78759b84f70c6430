package georoute

import (
	"runtime"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/procs"
)

// TestCommitterSecondP: in a process of one P, a write to a local store gives the runtime a
// second P while it commits (its fsyncs would otherwise stop every answer: bench/dnswrites), and
// the committer gives it back once writes stop.
func TestCommitterSecondP(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // not set by an operator
	defer runtime.SetDefaultGOMAXPROCS()
	s := startAPI(t, t.TempDir())
	runtime.GOMAXPROCS(1)
	s.expect("PUT", "/v1/zones/example.net/names/p1", writeToken, map[string]any{"edge": "fra1"}, 201, "", "")
	if n := runtime.GOMAXPROCS(0); n != 2 || !procs.Shared.Raised() {
		t.Fatalf("after a write at one P: GOMAXPROCS %d (raised %v), want 2", n, procs.Shared.Raised())
	}
	s.expect("PUT", "/v1/zones/example.net/names/p2", writeToken, map[string]any{"edge": "fra1"}, 201, "", "")
	deadline := time.Now().Add(boostIdle + 5*time.Second)
	for procs.Shared.Raised() {
		if time.Now().After(deadline) {
			t.Fatalf("still two Ps %v after the last write", boostIdle+5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Given back (Release restores the runtime's default: procs' tests).

	// GOMAXPROCS set by the operator is kept.
	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1)
	s.expect("PUT", "/v1/zones/example.net/names/p3", writeToken, map[string]any{"edge": "fra1"}, 201, "", "")
	if n := runtime.GOMAXPROCS(0); n != 1 || procs.Shared.Raised() {
		t.Fatalf("GOMAXPROCS=1 in the environment: %d after a write (raised %v), want 1", n, procs.Shared.Raised())
	}
}
