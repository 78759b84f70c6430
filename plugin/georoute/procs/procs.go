// Package procs gives the Go runtime a second P while a process that would run with one is
// making blocking system calls, such as a store's fsync.
//
// A goroutine in a blocking system call (fdatasync, pwrite on a file) keeps its P until the
// runtime's monitor thread hands it to another thread, and on a busy process the monitor looks
// only every 10 ms: a call of a millisecond or two is never handed off. With one P (one CPU, or
// a CPU quota of one, which is what Go then defaults to), nothing else runs meanwhile, so every
// fsync of a commit stops the DNS answers: routed queries/s fell from about 32,000 to 1,060 under
// 1,000 API writes a second (bench/dnswrites). A second P lets the other goroutines run on
// another thread while one waits in the kernel; it also costs about 15% of the answers a CPU
// when nothing blocks (more threads for one CPU), so it is held only while writes are committed
// and given back once they stop.
package procs

import (
	"os"
	"runtime"
	"sync"
)

// Boost is held by callers about to make blocking system calls for a while. The zero value is
// ready.
type Boost struct {
	mu      sync.Mutex
	holders int
	raised  bool

	// procs and setDefault are runtime.GOMAXPROCS and runtime.SetDefaultGOMAXPROCS (tests
	// replace them); env says whether the operator set GOMAXPROCS.
	procs      func(int) int
	setDefault func()
	env        func() bool
}

// Shared is the process's Boost: every committer holds it.
var Shared Boost

// Hold raises GOMAXPROCS to 2 if it is 1 and the operator did not set it (GOMAXPROCS in the
// environment is kept as it is). Every Hold is followed by one Release.
func (b *Boost) Hold() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holders++
	if b.holders > 1 || b.raised {
		return
	}
	procs, env := b.procs, b.env
	if procs == nil {
		procs = runtime.GOMAXPROCS
	}
	if env == nil {
		env = func() bool { return os.Getenv("GOMAXPROCS") != "" }
	}
	if procs(0) == 1 && !env() {
		procs(2)
		b.raised = true
	}
}

// Release gives back what Hold took once no one holds b: GOMAXPROCS is again the runtime's
// default, which follows the CPUs and the CPU quota the process has.
func (b *Boost) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holders == 0 {
		return
	}
	b.holders--
	if b.holders > 0 || !b.raised {
		return
	}
	b.raised = false
	if b.setDefault != nil {
		b.setDefault()
		return
	}
	runtime.SetDefaultGOMAXPROCS()
}

// Raised reports whether b holds the runtime at two Ps.
func (b *Boost) Raised() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.raised
}
