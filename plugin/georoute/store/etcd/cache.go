package etcd

import (
	"sync"

	"github.com/georoute/appliance/plugin/georoute/store"
)

// logCache keeps what the latest revisions changed (kinds and keys, no values), so that
// deciding conditions at a recent revision reads nothing from etcd. It learns them from this
// client's commits, from what a failed compare returns, and from the watch.
type logCache struct {
	mu      sync.Mutex
	entries map[int64][]store.Op
	lo, hi  int64 // no entry before lo or after hi
	bytes   int
}

// add notes rev's ops. It keeps no more revisions than the log (maxChanges): a condition
// older than the log holds is a conflict, whichever store decides it.
func (c *logCache) add(rev int64, ops []store.Op, maxChanges int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries, c.lo = map[int64][]store.Op{}, rev
	}
	if _, ok := c.entries[rev]; ok || rev < c.lo {
		return
	}
	keys := make([]store.Op, len(ops))
	for i, op := range ops {
		keys[i] = store.Op{Kind: op.Kind, Key: op.Key, Delete: op.Delete}
		c.bytes += len(op.Key) + 32
	}
	c.entries[rev] = keys
	c.hi = max(c.hi, rev)
	for (c.bytes > cacheBytes || c.hi-c.lo >= int64(maxChanges)) && c.lo < c.hi {
		for _, op := range c.entries[c.lo] {
			c.bytes -= len(op.Key) + 32
		}
		delete(c.entries, c.lo)
		c.lo++
	}
}

// get calls fn for the revisions after from up to to if the cache holds every one of them, and
// reports whether it did.
func (c *logCache) get(from, to int64, fn func(int64, []store.Op) error) (bool, error) {
	c.mu.Lock()
	var held [][]store.Op
	for rev := from + 1; rev <= to; rev++ {
		ops, ok := c.entries[rev]
		if !ok {
			c.mu.Unlock()
			return false, nil
		}
		held = append(held, ops)
	}
	c.mu.Unlock()
	for i, ops := range held {
		if err := fn(from+1+int64(i), ops); err != nil {
			return true, err
		}
	}
	return true, nil
}
