package rtt

import "net/netip"

// Whether a network was measured inside a prefix is read from counts of measured networks by
// prefix, every 4 bits: a prefix of any length is at most 8 counts (or networks) to look at.

const withinStep = 4

// payloadBits is the length of k's network (24, 48) and its bits.
func payload(k NetKey) (uint64, int) {
	if k.Is4() {
		return uint64(k) & (1<<V4Bits - 1), V4Bits
	}
	return uint64(k) & (1<<V6Bits - 1), V6Bits
}

func withinKey(level int, v6 bool, prefix uint64) uint64 {
	k := uint64(level)<<56 | prefix
	if v6 {
		k |= 1 << 55
	}
	return k
}

// countWithin adds delta to the counts of every prefix of k. Writer only.
func (d *measured) countWithin(k NetKey, delta int) {
	p, bits := payload(k)
	for level := withinStep; level < bits; level += withinStep {
		key := withinKey(level, !k.Is4(), p>>(bits-level))
		n := int(d.within.get(key))
		if n == int(noID) {
			n = 0
		}
		if n += delta; n > 0 {
			d.within.set(key, uint32(n))
		} else {
			d.within.del(key)
		}
	}
}

// measuredWithin reports whether a network inside p is measured: one that live says holds a
// measurement of an edge there now, or, with live nil, any.
func (d *measured) measuredWithin(p netip.Prefix, live func(site int32) bool) bool {
	if d.netCount.Load() == 0 || !p.IsValid() {
		return false
	}
	p = p.Masked()
	lo := KeyOf(p.Addr())
	v, bits := payload(lo)
	b := p.Bits()
	if p.Addr().Is4In6() {
		b -= 96
	}
	if b >= bits {
		return d.netLive(lo, live)
	}
	level := max(withinStep, (b+withinStep-1)/withinStep*withinStep)
	first := v >> (bits - level)
	for i := range uint64(1) << (level - b) {
		if d.anyWithin(lo, level, bits, first+i, live) {
			return true
		}
	}
	return false
}

func (d *measured) netLive(k NetKey, live func(int32) bool) bool {
	s := d.nets.get(uint64(k))
	return s != noID && (live == nil || live(int32(s)))
}

// anyWithin reports whether a measured network has the prefix of level bits prefix.
func (d *measured) anyWithin(like NetKey, level, bits int, prefix uint64, live func(int32) bool) bool {
	if level == bits {
		tag := uint64(like) &^ (1<<bits - 1)
		return d.netLive(NetKey(tag|prefix), live)
	}
	if d.within.get(withinKey(level, !like.Is4(), prefix)) == noID {
		return false
	}
	if live == nil {
		return true
	}
	next := min(bits, level+withinStep)
	for i := range uint64(1) << (next - level) {
		if d.anyWithin(like, next, bits, prefix<<(next-level)|i, live) {
			return true
		}
	}
	return false
}
