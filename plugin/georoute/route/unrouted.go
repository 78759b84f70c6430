package route

// Unrouted is what a server that cannot route (a plain secondary fed by zone transfer) should
// answer for the routed binding b in family f: every edge b can answer that is up, or, when none
// is, every one of them as the pool fails open (none when its when_all_down is none or
// servfail). A pool's edges are its members', its nested pools' and every rule's, each once, in
// the order the pool lists them. A pinned name answers its edge, up or not, as Decide does. ttl
// is the binding's. Edges without an address of f are left out.
func Unrouted(t *Table, b *Binding, f Family, h Health) (edges []*Edge, ttl uint32) {
	ttl = t.TTLOf(b)
	if b.Edge != "" {
		if e := t.Edge(b.Edge); e != nil && len(e.Addrs(f)) > 0 {
			return []*Edge{e}, ttl
		}
		return nil, ttl
	}
	p := t.Pool(b.Pool)
	if p == nil {
		return nil, ttl
	}
	var all []*Edge
	seen := map[string]bool{}
	collect(p, f, seen, &all, 0)
	env := &Env{Health: h}
	for _, e := range all {
		if env.up(e) {
			edges = append(edges, e)
		}
	}
	if len(edges) == 0 && p.WhenAllDown == FailOpen {
		edges = all
	}
	return edges, ttl
}

// collect appends the edges of p with an address of f that seen lacks.
func collect(p *Pool, f Family, seen map[string]bool, out *[]*Edge, depth int) {
	if depth > maxDepth {
		return
	}
	members := func(ms []Member) {
		for _, m := range ms {
			switch {
			case m.Edge != nil:
				if !seen[m.Edge.ID] && len(m.Edge.Addrs(f)) > 0 {
					seen[m.Edge.ID] = true
					*out = append(*out, m.Edge)
				}
			case m.Pool != nil:
				collect(m.Pool, f, seen, out, depth+1)
			}
		}
	}
	members(p.Members)
	for _, r := range p.Rules {
		members(r.Members)
	}
}
