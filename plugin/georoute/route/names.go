package route

import (
	"strings"

	"github.com/miekg/dns"
	"github.com/puzpuzpuz/xsync/v4"
)

// Names indexes bindings by owner name for the query path: lock-free reads, while one writer at a
// time (the plugin serializes them) adds and removes names. It also counts which names exist
// only because a binding lies below them (empty non-terminals, NODATA rather than NXDOMAIN), and
// how many bindings use each edge and pool.
type Names struct {
	m     *xsync.Map[string, *Binding]
	below *xsync.Map[string, int32]
	uses  *xsync.Map[string, int32] // "edge:ID", "pool:ID"
}

// NewNames returns an empty index.
func NewNames() *Names { return NewNamesSized(0) }

// NewNamesSized returns an empty index with room for about n names, so that loading them does
// not grow it step by step.
func NewNamesSized(n int) *Names {
	return &Names{m: xsync.NewMap[string, *Binding](xsync.WithPresize(n)), below: xsync.NewMap[string, int32](), uses: xsync.NewMap[string, int32]()}
}

// Get returns the binding of name (lower case, fully qualified), or nil.
func (n *Names) Get(name string) *Binding {
	b, _ := n.m.Load(name)
	return b
}

// HasBelow reports whether some binding lies strictly below name.
func (n *Names) HasBelow(name string) bool {
	c, _ := n.below.Load(name)
	return c > 0
}

// CountBelow is how many bindings lie strictly below name.
func (n *Names) CountBelow(name string) int {
	c, _ := n.below.Load(name)
	return int(c)
}

// Len is the number of bindings.
func (n *Names) Len() int { return n.m.Size() }

// Range calls f for every binding, in no order, until f returns false.
func (n *Names) Range(f func(*Binding) bool) {
	n.m.Range(func(_ string, b *Binding) bool { return f(b) })
}

// Uses is how many bindings use the edge (kind "edge") or pool (kind "pool") id.
func (n *Names) Uses(kind, id string) int {
	c, _ := n.uses.Load(kind + ":" + id)
	return int(c)
}

// UsedIDs lists the edge (kind "edge") or pool ("pool") ids some binding uses.
func (n *Names) UsedIDs(kind string) []string {
	var out []string
	n.uses.Range(func(k string, c int32) bool {
		if id, ok := strings.CutPrefix(k, kind+":"); ok && c > 0 {
			out = append(out, id)
		}
		return true
	})
	return out
}

// Users lists up to max names that use the edge or pool id (a scan: for error messages).
func (n *Names) Users(kind, id string, max int) []string {
	var out []string
	n.Range(func(b *Binding) bool {
		if (kind == "edge" && b.Edge == id) || (kind == "pool" && b.Pool == id) {
			out = append(out, b.Name)
		}
		return len(out) < max
	})
	return out
}

// Put adds or replaces b and returns the binding it replaced. Writers must not run concurrently.
func (n *Names) Put(b *Binding) *Binding {
	old, loaded := n.m.LoadAndStore(b.Name, b)
	if loaded {
		n.use(old, -1)
	} else {
		n.ancestors(b.Name, 1)
	}
	n.use(b, 1)
	return old
}

// Delete removes name and returns its binding, or nil. Writers must not run concurrently.
func (n *Names) Delete(name string) *Binding {
	old, loaded := n.m.LoadAndDelete(name)
	if !loaded {
		return nil
	}
	n.ancestors(name, -1)
	n.use(old, -1)
	return old
}

func (n *Names) ancestors(name string, delta int32) {
	for off, end := dns.NextLabel(name, 0); !end; off, end = dns.NextLabel(name, off) {
		count(n.below, name[off:], delta)
	}
}

func (n *Names) use(b *Binding, delta int32) {
	switch {
	case b.Edge != "":
		count(n.uses, "edge:"+b.Edge, delta)
	case b.Pool != "":
		count(n.uses, "pool:"+b.Pool, delta)
	}
}

func count(m *xsync.Map[string, int32], key string, delta int32) {
	m.Compute(key, func(old int32, _ bool) (int32, xsync.ComputeOp) {
		if old+delta <= 0 {
			return 0, xsync.DeleteOp
		}
		return old + delta, xsync.UpdateOp
	})
}

// InZone reports whether name lies in zone (both lower case, fully qualified).
func InZone(name, zone string) bool {
	return zone == "." || name == zone || strings.HasSuffix(name, "."+zone)
}
