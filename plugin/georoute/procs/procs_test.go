package procs

import (
	"runtime"
	"testing"
)

// fake is a runtime whose GOMAXPROCS default is def.
type fake struct{ def, cur, sets int }

func (f *fake) boost(env bool) *Boost {
	f.cur = f.def
	return &Boost{
		procs: func(n int) int {
			old := f.cur
			if n > 0 {
				f.cur, f.sets = n, f.sets+1
			}
			return old
		},
		setDefault: func() { f.cur, f.sets = f.def, f.sets+1 },
		env:        func() bool { return env },
	}
}

func TestBoost(t *testing.T) {
	for _, tc := range []struct {
		name      string
		def       int
		env       bool
		held, end int // GOMAXPROCS while held (twice, nested) and after the last release
		sets      int // calls that changed it
	}{
		{"one CPU: raised while held", 1, false, 2, 1, 2},
		{"two CPUs: left alone", 2, false, 2, 2, 0},
		{"eight CPUs: left alone", 8, false, 8, 8, 0},
		{"GOMAXPROCS=1 set by the operator: kept", 1, true, 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{def: tc.def}
			b := f.boost(tc.env)
			b.Hold()
			b.Hold() // a second committer
			if f.cur != tc.held {
				t.Errorf("held twice: GOMAXPROCS %d, want %d", f.cur, tc.held)
			}
			b.Release()
			if f.cur != tc.held {
				t.Errorf("one of two released: GOMAXPROCS %d, want %d still", f.cur, tc.held)
			}
			b.Release()
			b.Release() // one too many: ignored
			if f.cur != tc.end || f.sets != tc.sets {
				t.Errorf("released: GOMAXPROCS %d after %d changes, want %d after %d", f.cur, f.sets, tc.end, tc.sets)
			}
			if b.Raised() {
				t.Error("still raised after the last release")
			}
		})
	}
}

// TestBoostRuntime uses the real runtime: at one P, held gives two, released the default again.
func TestBoostRuntime(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	defer runtime.SetDefaultGOMAXPROCS()
	runtime.GOMAXPROCS(1)
	var b Boost
	b.Hold()
	if n := runtime.GOMAXPROCS(0); n != 2 {
		t.Fatalf("held at one P: GOMAXPROCS %d, want 2", n)
	}
	b.Release()
	if n, want := runtime.GOMAXPROCS(0), defaultProcs(); n != want {
		t.Fatalf("released: GOMAXPROCS %d, want the default %d", n, want)
	}
}

func defaultProcs() int {
	runtime.SetDefaultGOMAXPROCS()
	return runtime.GOMAXPROCS(0)
}
