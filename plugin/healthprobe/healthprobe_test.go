package healthprobe

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health"
)

// tcpTarget is a loopback listener that accepts and closes connections.
func tcpTarget(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// nowhere is a loopback address nothing listens on.
func nowhere(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func runners(h *HealthProbe) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, er := range h.edges {
		er.mu.Lock()
		n += len(er.runners)
		er.mu.Unlock()
	}
	return n
}

func TestTrackLifecycle(t *testing.T) {
	live, dead := tcpTarget(t), nowhere(t)
	goroutines := runtime.NumGoroutine()
	h := New()
	if h.Ready() {
		t.Fatal("ready before any edge was tracked")
	}
	up, down := tcpEdge("up", live, 100*time.Millisecond), tcpEdge("down", dead, 100*time.Millisecond)
	h.Track([]health.Target{up, down})
	// Before a first result an edge with checks is not up.
	if h.Up(up.ID) && !h.Ready() {
		t.Error("an edge without a result yet counts as up")
	}
	eventually(t, "first results", h.Ready)
	if !h.Up(up.ID) || h.Up(down.ID) {
		t.Fatalf("up=%v down=%v after the first results", h.Up(up.ID), h.Up(down.ID))
	}
	h.mu.Lock()
	er := h.edges["up"]
	h.mu.Unlock()
	er.mu.Lock()
	rtt := er.rtt
	er.mu.Unlock()
	if rtt <= 0 {
		t.Error("a TCP probe recorded no round-trip time")
	}

	// The same edges again: nothing restarts, state is kept.
	r0 := h.edges["up"].runners[0]
	h.Track([]health.Target{up, down})
	if h.edges["up"].runners[0] != r0 || !h.Up(up.ID) {
		t.Error("an unchanged check restarted")
	}

	// A changed check restarts: "down" now points at the live listener.
	fixed := tcpEdge("down", live, 100*time.Millisecond)
	h.Track([]health.Target{up, fixed})
	if r0.ctx.Err() != nil {
		t.Error("the unchanged edge's runner was stopped")
	}
	eventually(t, "the changed check to pass", func() bool { return h.Up(fixed.ID) })

	// Drain and force.
	drained := tcpEdge("up", live, 100*time.Millisecond)
	drained.Override = "down"
	forced := tcpEdge("down", dead, 100*time.Millisecond)
	forced.Override = "up"
	h.Track([]health.Target{drained, forced})
	if h.Up(drained.ID) || !h.Up(forced.ID) {
		t.Errorf("override: drained up=%v, forced up=%v", h.Up(drained.ID), h.Up(forced.ID))
	}

	// Edges that are gone stop their checks; no goroutine is left behind after Close.
	h.Track([]health.Target{drained})
	if n := runners(h); n != 1 {
		t.Errorf("%d runners after removing an edge, want 1", n)
	}
	h.Close()
	eventually(t, "runners to stop", func() bool { return runtime.NumGoroutine() <= goroutines+2 })
}

// TestReadyWaitsForEveryCheck: readiness waits for the checks of the first Track, each of which
// probes at once (within a second), not after a whole interval.
func TestReadyWaitsForEveryCheck(t *testing.T) {
	live := tcpTarget(t)
	h := New()
	start := time.Now()
	h.Track([]health.Target{tcpEdge("a", live, 30*time.Second), tcpEdge("b", live, 30*time.Second)})
	eventually(t, "ready", h.Ready)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("ready after %s: the first probes waited for their 30 s interval", took)
	}
	h.Close()
}

func TestStatus(t *testing.T) {
	h := New()
	e := tcpEdge("fra1", nowhere(t), 100*time.Millisecond)
	h.Track([]health.Target{e})
	eventually(t, "a result", h.Ready)
	st, ok := h.Status("fra1")
	if !ok || st.State != Down || len(st.Checks) != 1 || st.Checks[0].Reason != "refused" || st.Checks[0].Check != "0:tcp" {
		t.Errorf("status %+v", st)
	}
	if _, ok := h.Status("nope"); ok {
		t.Error("status of an untracked edge")
	}
	h.Close()
}

// TestInverted: an inverted check is up while nothing listens and down once something does,
// and its status still shows what the probe found.
func TestInverted(t *testing.T) {
	h := New()
	defer h.Close()
	addr := nowhere(t)
	e := tcpEdge("fra1", addr, 100*time.Millisecond)
	e.Checks[0].Invert = true
	h.Track([]health.Target{e})
	eventually(t, "up while refused", func() bool { return h.Up("fra1") })
	st, _ := h.Status("fra1")
	if st.Checks[0].OK || st.Checks[0].Reason != "refused" || st.Checks[0].State != Up {
		t.Errorf("inverted check while refused: %+v", st.Checks[0])
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	defer ln.Close()
	eventually(t, "down once it connects", func() bool { return !h.Up("fra1") })
}
