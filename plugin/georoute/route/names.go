package route

import "github.com/miekg/dns"

// Names indexes bindings by owner name, and remembers which names exist only because a binding
// lies below them (empty non-terminals), so that such a name answers NODATA, not NXDOMAIN.
type Names struct {
	exact map[string]*Binding
	below map[string]int32
}

// NewNames returns an empty index.
func NewNames() *Names {
	return &Names{exact: make(map[string]*Binding), below: make(map[string]int32)}
}

// Get returns the binding of name (lower case, fully qualified), or nil.
func (n *Names) Get(name string) *Binding { return n.exact[name] }

// HasBelow reports whether some binding lies strictly below name.
func (n *Names) HasBelow(name string) bool { return n.below[name] > 0 }

// Len is the number of bindings.
func (n *Names) Len() int { return len(n.exact) }

// All calls f for every binding, in no order, until f returns false.
func (n *Names) All(f func(*Binding) bool) {
	for _, b := range n.exact {
		if !f(b) {
			return
		}
	}
}

func (n *Names) put(b *Binding) {
	if _, ok := n.exact[b.Name]; !ok {
		for off, end := dns.NextLabel(b.Name, 0); !end; off, end = dns.NextLabel(b.Name, off) {
			n.below[b.Name[off:]]++
		}
	}
	n.exact[b.Name] = b
}
