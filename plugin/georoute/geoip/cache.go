package geoip

import (
	"math/bits"
	"sync/atomic"
)

// defaultCacheSize is the number of cache slots when Options.CacheSize is 0.
const defaultCacheSize = 1 << 16

// maxCacheSize bounds Options.CacheSize (16 Mi slots, 128 MiB of slot pointers).
const maxCacheSize = 1 << 24

// slot is one cached decoded record. Slots are immutable once published.
type slot[V any] struct {
	key uint64 // recordKey of the record
	val V
}

// cache is a direct-mapped cache of decoded records: a power-of-two array of atomically
// replaced pointers, indexed by a multiplicative hash of the record key. A hit is one atomic
// load and a compare; a miss decodes and publishes a new slot, evicting whatever shared the
// index. Concurrent misses of one record may both decode it; one of the results stays.
type cache[V any] struct {
	slots []atomic.Pointer[slot[V]]
	shift uint8 // 64 - log2(len(slots))
}

func newCache[V any](size int) *cache[V] {
	switch {
	case size <= 0:
		size = defaultCacheSize
	case size > maxCacheSize:
		size = maxCacheSize
	}
	n := 1
	if size > 1 {
		n = 1 << bits.Len(uint(size-1))
	}
	return &cache[V]{
		slots: make([]atomic.Pointer[slot[V]], n),
		shift: uint8(64 - bits.TrailingZeros(uint(n))),
	}
}

func (c *cache[V]) index(key uint64) uint64 {
	const fib = 0x9E3779B97F4A7C15 // 2^64 / golden ratio
	if c.shift == 64 {
		return 0
	}
	return (key * fib) >> c.shift
}

// get returns the cached slot of key, or nil.
func (c *cache[V]) get(key uint64) *slot[V] {
	s := c.slots[c.index(key)].Load()
	if s != nil && s.key == key {
		return s
	}
	return nil
}

// put publishes a new slot for key and returns it.
func (c *cache[V]) put(key uint64, val V) *slot[V] {
	s := &slot[V]{key: key, val: val}
	c.slots[c.index(key)].Store(s)
	return s
}

// recordKey identifies a data record across all files of a DB: the file's index in the upper
// 16 bits, the record's offset in its data section in the lower 48.
func recordKey(fileIndex int, offset uintptr) uint64 {
	return uint64(fileIndex+1)<<48 | uint64(offset)&(1<<48-1)
}
