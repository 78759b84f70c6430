package etcd

import "github.com/georoute/appliance/plugin/georoute/store"

// logCache keeps what the latest revisions changed (kinds and keys, no values), in revision
// order without gaps, so that deciding conditions at a recent revision reads nothing from etcd.
type logCache struct {
	lo      int64 // the revision of entries[0]
	entries [][]store.Op
	bytes   int
}

// add appends rev's ops if rev follows the last entry; a later rev starts the cache again. It
// keeps no more revisions than the log (maxChanges): a condition older than the log holds is a
// conflict, whichever store decides it.
func (c *logCache) add(rev int64, ops []store.Op, maxChanges int) {
	switch hi := c.lo + int64(len(c.entries)) - 1; {
	case len(c.entries) > 0 && rev <= hi:
		return
	case len(c.entries) == 0 || rev > hi+1:
		c.lo, c.entries, c.bytes = rev, c.entries[:0], 0
	}
	keys := make([]store.Op, len(ops))
	for i, op := range ops {
		keys[i] = store.Op{Kind: op.Kind, Key: op.Key, Delete: op.Delete}
		c.bytes += len(op.Key) + 32
	}
	c.entries = append(c.entries, keys)
	for (c.bytes > cacheBytes || len(c.entries) > maxChanges) && len(c.entries) > 1 {
		for _, op := range c.entries[0] {
			c.bytes -= len(op.Key) + 32
		}
		c.entries[0] = nil
		c.entries = c.entries[1:]
		c.lo++
	}
}

// covers reports whether the cache holds every revision after from up to to.
func (c *logCache) covers(from, to int64) bool {
	return len(c.entries) > 0 && from+1 >= c.lo && to <= c.lo+int64(len(c.entries))-1
}

// each calls fn for the revisions after from up to to, which the cache covers.
func (c *logCache) each(from, to int64, fn func(int64, []store.Op) error) error {
	for rev := from + 1; rev <= to; rev++ {
		if err := fn(rev, c.entries[rev-c.lo]); err != nil {
			return err
		}
	}
	return nil
}
