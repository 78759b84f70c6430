package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultMaxChanges is how many transactions the change log of a Bolt store holds.
const DefaultMaxChanges = 100_000

// DefaultMaxLogBytes is how many bytes of entries the change log of a Bolt store holds: a bulk
// load of a million names must not leave a copy of them in the file (which every open scans).
const DefaultMaxLogBytes = 4 << 20

// trimBatch bounds the log entries a commit deletes beyond those it adds, so that one commit
// never deletes a long run (as after MaxChanges was lowered).
const trimBatch = 1024

// Changes reads the log in batches of at most this many entries or bytes.
const (
	changesBatch      = 256
	changesBatchBytes = 1 << 20
)

// Beside one bucket per Kind, the file has these (names no Kind has).
var (
	metaBucket = []byte("meta")    // revKeyName: the revision of the last committed transaction
	logBucket  = []byte("changes") // the change log, see changelog.go
	revKeyName = []byte("rev")
)

// errNoCommit rolls back a write that committed nothing, which saves its fsync.
var errNoCommit = errors.New("store: nothing to commit")

var _ Store = (*Bolt)(nil)

// Bolt is the embedded store: one bbolt file, no server.
type Bolt struct {
	db   *bolt.DB
	path string
	warm sync.Once // the first write, after the whole file was read
	// MaxChanges bounds the change log: each commit trims the oldest entries beyond it. Set it
	// before the first commit; less than 1 counts as 1.
	MaxChanges int
	// MaxLogBytes bounds the change log's size likewise (the newest entry is always kept).
	MaxLogBytes int64

	logBytes atomic.Int64 // the entries' size now, changed under bbolt's writer lock

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced after every commit, to wake the watchers
	closed   chan struct{}
	isClosed bool
	watchers sync.WaitGroup
}

// OpenBolt opens (or creates) the store file at path. It fails if another process holds it.
// A file without revisions (made before they were kept) opens at revision 0 with its objects.
func OpenBolt(path string) (*Bolt, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	fi, statErr := os.Stat(path)
	existed := statErr == nil && fi.Size() > 0
	var db *bolt.DB
	err := protect(path, func() (err error) { // bbolt reads the freelist as it opens
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:      2 * time.Second,
			FreelistType: bolt.FreelistMapType,
			// The freelist is written with every commit rather than rebuilt at open: the rebuild
			// walks the file in a goroutine of bbolt's own, where a damaged page crashes the
			// process. (A file written without it is walked once, after LoadAll read it whole.)
			NoFreelistSync: false,
		})
		return err
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store %s is in use by another process", path)
		}
		return nil, fmt.Errorf("store %s: %v", path, err)
	}
	// Reads only until LoadAll has read the whole file: a write has bbolt walk it (to rebuild
	// its freelist) in a goroutine of its own, where a damaged page cannot be recovered from.
	var missing bool
	var logBytes int64
	err = protect(path, func() error {
		return db.View(func(tx *bolt.Tx) error {
			for _, name := range append([][]byte{metaBucket, logBucket}, kindNames()...) {
				missing = missing || tx.Bucket(name) == nil
			}
			if missing {
				return nil
			}
			if _, err := readRev(tx.Bucket(metaBucket)); err != nil {
				return err
			}
			return tx.Bucket(logBucket).ForEach(func(_, v []byte) error {
				logBytes += int64(len(v))
				return nil
			})
		})
	})
	if err == nil && missing && existed {
		// An older layout, or a root page that lost its buckets: read the whole file here before
		// the write below has bbolt walk it where a damaged page cannot be recovered from.
		err = protect(path, func() error { return db.View(walkAll) })
	}
	if err == nil && missing { // a new file, or one of an older layout
		err = protect(path, func() error {
			return db.Update(func(tx *bolt.Tx) error {
				for _, name := range append([][]byte{metaBucket, logBucket}, kindNames()...) {
					if _, err := tx.CreateBucketIfNotExists(name); err != nil {
						return err
					}
				}
				var err error
				_, err = readRev(tx.Bucket(metaBucket))
				if err == nil {
					err = tx.Bucket(logBucket).ForEach(func(_, v []byte) error {
						logBytes += int64(len(v))
						return nil
					})
				}
				return err
			})
		})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %v", path, err)
	}
	b := &Bolt{
		db:          db,
		path:        path,
		MaxChanges:  DefaultMaxChanges,
		MaxLogBytes: DefaultMaxLogBytes,
		changed:     make(chan struct{}),
		closed:      make(chan struct{}),
	}
	b.logBytes.Store(logBytes)
	return b, nil
}

// Path is the store file's.
func (b *Bolt) Path() string { return b.path }

// view is a read transaction where a fault or panic reading the file is an error.
func (b *Bolt) view(f func(tx *bolt.Tx) error) error {
	return protect(b.path, func() error { return b.db.View(f) })
}

// walkAll reads every bucket of tx and every byte of its values: a damaged page faults or
// panics here, where protect turns it into an error.
func walkAll(tx *bolt.Tx) error {
	return tx.ForEach(func(_ []byte, bk *bolt.Bucket) error { return walkBucket(bk) })
}

// walked keeps walkBucket's reads of values from being optimized away.
var walked atomic.Uint32

func walkBucket(bk *bolt.Bucket) error {
	return bk.ForEach(func(k, v []byte) error {
		var x byte
		for _, c := range v {
			x ^= c
		}
		walked.Add(uint32(x))
		if v == nil {
			if nb := bk.Bucket(k); nb != nil {
				return walkBucket(nb)
			}
		}
		return nil
	})
}

func kindNames() [][]byte {
	out := make([][]byte, len(Kinds))
	for i, k := range Kinds {
		out[i] = []byte(k)
	}
	return out
}

// Load implements Store.
func (b *Bolt) Load(kind Kind, fn func(key string, value []byte) error) error {
	return b.view(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(kind)).ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// Scan implements Store.
func (b *Bolt) Scan(kind Kind, prefix, from string, fn func(key string, value []byte) bool) error {
	return b.view(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(kind)).Cursor()
		start := prefix
		if from > start {
			start = from
		}
		for k, v := c.Seek([]byte(start)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
			if !fn(string(k), v) {
				return nil
			}
		}
		return nil
	})
}

// Count implements Store.
func (b *Bolt) Count(kind Kind) (int, error) {
	n := 0
	err := b.view(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(kind)).Stats().KeyN
		return nil
	})
	return n, err
}

// Rev implements Store.
func (b *Bolt) Rev() (rev int64, err error) {
	err = b.view(func(tx *bolt.Tx) error {
		rev, err = readRev(tx.Bucket(metaBucket))
		return err
	})
	return rev, err
}

// LoadAll implements Store.
//
// It is the read of the whole file that start-up makes: once it is through, the first write (which
// has bbolt walk the file in a goroutine of its own) is made here.
func (b *Bolt) LoadAll(fn func(kind Kind, key string, value []byte) error) (rev int64, err error) {
	err = b.view(func(tx *bolt.Tx) error {
		if rev, err = readRev(tx.Bucket(metaBucket)); err != nil {
			return err
		}
		for _, kind := range Kinds {
			err := tx.Bucket([]byte(kind)).ForEach(func(k, v []byte) error { return fn(kind, string(k), v) })
			if err != nil {
				return err
			}
		}
		// The rest of the file too, before the first write walks it.
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			if slices.Contains(Kinds, Kind(name)) {
				return nil
			}
			return walkBucket(bk)
		})
	})
	if err != nil {
		return 0, err
	}
	b.warm.Do(func() {
		err = protect(b.path, func() error { return b.db.Update(func(*bolt.Tx) error { return nil }) })
	})
	return rev, err
}

// Commit implements Store: one unconditional transaction of Txns.
func (b *Bolt) Commit(ops []Op) error {
	res, err := b.Txns([]Txn{{Ops: ops}})
	if err != nil {
		return err
	}
	return res[0].Err
}

// Txns implements Store: one bbolt transaction, fsynced before it returns. A txn with an op the
// store cannot hold (an unknown kind, an empty key) gets an error saying so and changes nothing.
func (b *Bolt) Txns(txns []Txn) ([]Result, error) {
	results := make([]Result, len(txns))
	err := b.db.Update(func(tx *bolt.Tx) error {
		logBytes := b.logBytes.Load() // bbolt's writer lock is held: writers take turns here
		meta, log := tx.Bucket(metaBucket), tx.Bucket(logBucket)
		log.FillPercent = 1 // appended in revision order, trimmed from the front
		start, err := readRev(meta)
		if err != nil {
			return err
		}
		rev := start
		first := rev + 1 // the oldest revision the log holds, or the next if it holds none
		if k, _ := log.Cursor().First(); k != nil {
			first = keyRev(k)
		}
		check := NewCheck(start, func(from, to int64, fn func(int64, []Op) error) error {
			if from+1 < first {
				return ErrCompacted
			}
			return readLog(log, from, to, fn)
		})
		for i, t := range txns {
			if err := CheckOps(t.Ops); err != nil {
				results[i].Err = err
				check.Failed(t.Ops)
				continue
			}
			ok, err := check.Holds(t.Cond)
			if err != nil {
				return err
			}
			if !ok {
				results[i].Err = ErrConflict
				check.Failed(t.Ops)
				continue
			}
			if len(t.Ops) == 0 {
				results[i].Rev = rev
				continue
			}
			entry := EncodeOps(t.Ops)
			if len(entry) > bolt.MaxValueSize {
				results[i].Err = fmt.Errorf("store: a transaction of %d bytes is too large", len(entry))
				check.Failed(t.Ops)
				continue
			}
			if err := apply(tx, t.Ops); err != nil {
				return err
			}
			rev++
			logBytes += int64(len(entry))
			if err := log.Put(revKey(rev), entry); err != nil {
				return fmt.Errorf("store: change log: %v", err)
			}
			results[i].Rev = rev
		}
		if rev == start {
			return errNoCommit
		}
		if err := meta.Put(revKeyName, revKey(rev)); err != nil {
			return fmt.Errorf("store: revision: %v", err)
		}
		err = b.trim(log, first, rev, rev-start, &logBytes)
		// Still under the lock; should the commit then fail, the log is thought larger than it
		// is, and trimmed a little early.
		b.logBytes.Store(logBytes)
		return err
	})
	switch {
	case errors.Is(err, errNoCommit):
		return results, nil
	case err != nil:
		return nil, err
	}
	b.notify()
	return results, nil
}

// readLog calls fn for the entries of log after from up to to.
func readLog(log *bolt.Bucket, from, to int64, fn func(int64, []Op) error) error {
	c := log.Cursor()
	for k, v := c.Seek(revKey(from + 1)); k != nil && keyRev(k) <= to; k, v = c.Next() {
		ops, err := DecodeOps(v)
		if err != nil {
			return err
		}
		if err := fn(keyRev(k), ops); err != nil {
			return err
		}
	}
	return nil
}

func apply(tx *bolt.Tx, ops []Op) error {
	for _, op := range ops {
		bk := tx.Bucket([]byte(op.Kind))
		var err error
		if op.Delete {
			err = bk.Delete([]byte(op.Key))
		} else {
			err = bk.Put([]byte(op.Key), op.Value)
		}
		if err != nil {
			return fmt.Errorf("store: %s %q: %v", op.Kind, op.Key, err)
		}
	}
	return nil
}

// trim deletes the log's oldest entries (it holds first..rev, of size *size) beyond MaxChanges
// and MaxLogBytes, at most trimBatch more than the added entries, never the newest.
func (b *Bolt) trim(log *bolt.Bucket, first, rev, added int64, size *int64) error {
	limit := added + trimBatch
	for r := first; r < rev && limit > 0; r, limit = r+1, limit-1 {
		if rev-r+1 <= int64(max(b.MaxChanges, 1)) && (b.MaxLogBytes <= 0 || *size <= b.MaxLogBytes) {
			return nil
		}
		*size -= int64(len(log.Get(revKey(r))))
		if err := log.Delete(revKey(r)); err != nil {
			return fmt.Errorf("store: change log: %v", err)
		}
	}
	return nil
}

// Changes implements Store.
func (b *Bolt) Changes(from int64, fn func(Event) error) error {
	from = max(from, 0)
	for {
		events, err := b.readChanges(from)
		if err != nil || len(events) == 0 {
			return err
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
		}
		from = events[len(events)-1].Rev
	}
}

// readChanges reads a batch of the transactions after from. Changes calls its fn outside the
// read transaction, so that a slow one does not hold it open (which keeps the file from growing).
func (b *Bolt) readChanges(from int64) ([]Event, error) {
	var events []Event
	err := b.view(func(tx *bolt.Tx) error {
		rev, err := readRev(tx.Bucket(metaBucket))
		if err != nil || from >= rev {
			return err
		}
		c := tx.Bucket(logBucket).Cursor()
		k, v := c.Seek(revKey(from + 1))
		if k == nil || keyRev(k) != from+1 {
			return ErrCompacted
		}
		size := 0
		for ; k != nil && len(events) < changesBatch && size < changesBatchBytes; k, v = c.Next() {
			ops, err := DecodeOps(bytes.Clone(v))
			if err != nil {
				return fmt.Errorf("%w: revision %d", err, keyRev(k))
			}
			events = append(events, Event{Rev: keyRev(k), Ops: ops})
			size += len(v)
		}
		return nil
	})
	return events, err
}

// readRev is the revision kept in meta: 0 in a file made before revisions were kept.
func readRev(meta *bolt.Bucket) (int64, error) {
	v := meta.Get(revKeyName)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return keyRev(v), nil
	}
	return 0, fmt.Errorf("store: a revision of %d bytes", len(v))
}

// Close implements Store. The watch channels close.
func (b *Bolt) Close() error {
	b.mu.Lock()
	if !b.isClosed {
		b.isClosed = true
		close(b.closed)
	}
	b.mu.Unlock()
	b.watchers.Wait()
	return b.db.Close()
}
