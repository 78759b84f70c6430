package route

import "net/netip"

// trie is a binary trie of prefixes of one address family, for longest-prefix match.
type trie struct {
	root *trieNode
	bits int
}

type trieNode struct {
	child [2]*trieNode
	rule  int // -1: no prefix ends here
}

func newTrie(bits int) *trie { return &trie{root: &trieNode{rule: -1}, bits: bits} }

func bitAt(a netip.Addr, i int) int {
	b := a.AsSlice()
	return int(b[i/8]>>(7-i%8)) & 1
}

// insert adds p for rule; false when p is already there.
func (t *trie) insert(p netip.Prefix, rule int) bool {
	n := t.root
	for i := 0; i < p.Bits(); i++ {
		b := bitAt(p.Addr(), i)
		if n.child[b] == nil {
			n.child[b] = &trieNode{rule: -1}
		}
		n = n.child[b]
	}
	if n.rule >= 0 {
		return false
	}
	n.rule = rule
	return true
}

// lookup returns the rule of the longest prefix that holds a (-1 when none) and the prefix
// length the answer depends on: every address that shares that many leading bits with a takes
// the same path through the trie, matched or not.
func (t *trie) lookup(a netip.Addr) (rule, scope int) {
	rule = -1
	var raw [16]byte
	if a.Is4() {
		b := a.As4()
		copy(raw[:], b[:])
	} else {
		raw = a.As16()
	}
	n := t.root
	for depth := 0; ; depth++ {
		if n.rule >= 0 {
			rule = n.rule
		}
		if depth == t.bits {
			return rule, depth
		}
		c := n.child[int(raw[depth/8]>>(7-depth%8))&1]
		if c == nil {
			if n.child[0] != nil || n.child[1] != nil {
				return rule, depth + 1
			}
			return rule, depth
		}
		n = c
	}
}
