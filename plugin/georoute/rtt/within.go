package rtt

import (
	"math/bits"
	"net/netip"
	"sync/atomic"
)

// Whether a network was measured inside a prefix is read, for IPv4, from a bitmap of the /24s
// measured and one of the /16s holding any (2 MB and 8 KB): a prefix is one run of bits, a cache
// line for a /16 or longer; for IPv6, from counts of measured networks by prefix, every 4 bits:
// a prefix of any length is at most 8 counts (or networks) to look at.

// v4Bitmap is the IPv4 bitmaps, allocated with the first IPv4 network.
type v4Bitmap struct {
	nets  [1 << 24 / 64]atomic.Uint64 // by /24
	wide  [1 << 16 / 64]atomic.Uint64 // by /16: any /24 of it set
	count [1 << 16]uint16             // by /16: /24s set (writer only)
}

// set records that the /24 n (its 24 bits) is measured or not. Writer only.
func (b *v4Bitmap) set(n uint64, on bool) {
	w, bit := &b.nets[n/64], uint64(1)<<(n%64)
	wide, wbit := &b.wide[n>>8/64], uint64(1)<<(n>>8%64)
	switch {
	case on && w.Load()&bit == 0:
		w.Or(bit)
		if b.count[n>>8]++; b.count[n>>8] == 1 {
			wide.Or(wbit)
		}
	case !on && w.Load()&bit != 0:
		w.And(^bit)
		if b.count[n>>8]--; b.count[n>>8] == 0 {
			wide.And(^wbit)
		}
	}
}

func (b *v4Bitmap) has(n uint64) bool { return b.nets[n/64].Load()&(1<<(n%64)) != 0 }

// anyIn calls fn for the set bits of words in [lo, hi] (bit numbers) until it returns true.
func anyIn(words []atomic.Uint64, lo, hi uint64, fn func(bit uint64) bool) bool {
	for i := lo / 64; i <= hi/64; i++ {
		w := words[i].Load()
		if i == lo/64 {
			w &= ^uint64(0) << (lo % 64)
		}
		if i == hi/64 && hi%64 != 63 {
			w &= 1<<(hi%64+1) - 1
		}
		for ; w != 0; w &= w - 1 {
			if fn(i*64 + uint64(bits.TrailingZeros64(w))) {
				return true
			}
		}
	}
	return false
}

// within4 reports whether a /24 inside the IPv4 prefix of b bits (< 24) at payload v is measured
// (and live, when live is given).
func (d *measured) within4(v uint64, b int, live func(int32) bool) bool {
	m := d.v4.Load()
	if m == nil {
		return false
	}
	net := func(n uint64) bool { return live == nil || d.netLive(NetKey(v4Tag|n), live) }
	lo := v >> (24 - b) << (24 - b)
	hi := lo | (1<<(24-b) - 1)
	if b >= 16 {
		return anyIn(m.nets[:], lo, hi, net)
	}
	return anyIn(m.wide[:], lo>>8, hi>>8, func(w uint64) bool {
		return live == nil || anyIn(m.nets[:], w<<8, w<<8|255, net)
	})
}

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
	if k.Is4() {
		m := d.v4.Load()
		if m == nil {
			m = new(v4Bitmap)
			d.v4.Store(m)
		}
		m.set(p, delta > 0)
		return
	}
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
	if lo.Is4() {
		return d.within4(v, b, live)
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
