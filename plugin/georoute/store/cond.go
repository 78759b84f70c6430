package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Check decides the conditions of the txns of one Txns call, for any implementation: against
// the transactions the store committed before the call, read from its change log as far back
// as a condition needs, and the txns of the call that did not commit. A txn is prepared against
// the state at its Cond.Rev plus the earlier txns of its call, so these count as seen when they
// commit, and as changed (what they would have written) when they do not.
type Check struct {
	rev       int64    // the store's revision before the call
	seen      *changed // what the revisions after seen.lo, up to rev, changed
	failed    *changed // what the call's txns that did not commit would have changed
	compacted int64    // conditions at or before it need entries the log no longer holds
	read      LogReader
}

// LogReader calls fn for the change log's entries after from up to to, in order. It is
// ErrCompacted when the log no longer holds from+1.
type LogReader func(from, to int64, fn func(rev int64, ops []Op) error) error

// NewCheck returns the Check of a call that begins at revision rev.
func NewCheck(rev int64, read LogReader) *Check {
	return &Check{rev: rev, seen: newChanged(rev), compacted: -1, read: read}
}

// Holds reports whether cond holds. A condition at a revision the store has not reached, or
// older than the log holds, does not: conservatively a conflict.
func (c *Check) Holds(cond Cond) (bool, error) {
	switch {
	case len(cond.Reads) == 0:
		return true, nil
	case cond.Rev > c.rev || cond.Rev <= c.compacted:
		return false, nil
	case c.failed != nil && c.failed.since(0, cond.Reads):
		return false, nil
	case cond.Rev == c.rev:
		return true, nil
	}
	if cond.Rev < c.seen.lo {
		err := c.read(cond.Rev, c.seen.lo, func(rev int64, ops []Op) error {
			c.seen.note(rev, ops, false)
			return nil
		})
		for _, kc := range c.seen.kinds {
			slices.Sort(kc.sorted) // once for every entry read: there may be many
		}
		switch {
		case errors.Is(err, ErrCompacted):
			c.compacted = cond.Rev
			return false, nil
		case err != nil:
			return false, err
		}
		c.seen.lo = cond.Rev
	}
	return !c.seen.since(cond.Rev, cond.Reads), nil
}

// Failed notes a txn of the call that did not commit: a later one that reads what it would
// have changed was prepared on a state that does not come to be, and does not hold either.
func (c *Check) Failed(ops []Op) {
	if c.failed == nil {
		c.failed = newChanged(0)
	}
	c.failed.note(1, ops, true)
}

// CheckOps reports an op no store holds: an unknown kind, or an empty or oversized key.
func CheckOps(ops []Op) error {
	for _, op := range ops {
		switch {
		case !slices.Contains(Kinds, op.Kind):
			return fmt.Errorf("store: no kind %q", op.Kind)
		case op.Key == "" || len(op.Key) > MaxKeySize:
			return fmt.Errorf("store: %s: a key of %d bytes", op.Kind, len(op.Key))
		}
	}
	return nil
}

// MaxKeySize bounds a key, in bytes (bbolt's limit).
const MaxKeySize = 32768

// changed is what some revisions changed, for checking conditions: each kind's latest
// revision and each key's, the keys also in order for prefix reads.
type changed struct {
	lo    int64
	kinds map[Kind]*kindChanged
}

type kindChanged struct {
	rev    int64
	keys   map[string]int64
	sorted []string
}

func newChanged(lo int64) *changed { return &changed{lo: lo, kinds: map[Kind]*kindChanged{}} }

// note records that rev changed ops. Unless inOrder, the caller sorts the keys afterwards.
func (c *changed) note(rev int64, ops []Op, inOrder bool) {
	for _, op := range ops {
		kc := c.kinds[op.Kind]
		if kc == nil {
			kc = &kindChanged{keys: map[string]int64{}}
			c.kinds[op.Kind] = kc
		}
		kc.rev = max(kc.rev, rev)
		old, ok := kc.keys[op.Key]
		if rev > old {
			kc.keys[op.Key] = rev
		}
		switch {
		case ok:
		case inOrder:
			i, _ := slices.BinarySearch(kc.sorted, op.Key)
			kc.sorted = slices.Insert(kc.sorted, i, op.Key)
		default:
			kc.sorted = append(kc.sorted, op.Key)
		}
	}
}

// since reports whether a revision after rev changed one of reads.
func (c *changed) since(rev int64, reads []Read) bool {
	for _, r := range reads {
		kc := c.kinds[r.Kind]
		switch {
		case kc == nil || kc.rev <= rev:
		case r.Prefix && r.Key == "":
			return true
		case r.Prefix:
			i, _ := slices.BinarySearch(kc.sorted, r.Key)
			for ; i < len(kc.sorted) && strings.HasPrefix(kc.sorted[i], r.Key); i++ {
				if kc.keys[kc.sorted[i]] > rev {
					return true
				}
			}
		case kc.keys[r.Key] > rev:
			return true
		}
	}
	return false
}
