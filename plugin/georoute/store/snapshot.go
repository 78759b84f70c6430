package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Snapshot is a node's own copy of a shared store's objects at one of its revisions, in a bbolt
// file: what the node serves from when it starts while the shared store does not answer. The
// node brings it forward in batches (Apply) as it follows the store, and writes it whole
// (Replace: a new file renamed over the old) when it holds nothing of the store yet or has
// missed more than the store's change log keeps. Either is atomic: a crash leaves the previous
// snapshot or the next, never a mix.
type Snapshot struct {
	path string
	db   *bolt.DB
}

// SnapshotInfo says what a snapshot holds.
type SnapshotInfo struct {
	Rev     int64     // the store's revision it holds; 0: nothing yet
	Of      string    // which store: its caller's words (a deployment's prefix)
	Written time.Time // when it was last brought forward
}

var (
	snapMeta    = []byte("snapshot") // snapRev, snapOf, snapWritten
	snapRev     = []byte("rev")
	snapOf      = []byte("of")
	snapWritten = []byte("written")
)

// snapshotBatch is how many objects one bbolt transaction of Replace writes.
const snapshotBatch = 10_000

// OpenSnapshot opens (or creates) the snapshot file at path. It fails if another process holds
// it, or if it is damaged.
func OpenSnapshot(path string) (*Snapshot, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	db, err := openSnapshotDB(path)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{path: path, db: db}
	if _, err := s.Info(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func openSnapshotDB(path string) (*bolt.DB, error) {
	var db *bolt.DB
	err := protect(path, func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType})
		return err
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("snapshot %s is in use by another process", path)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %v", path, err)
	}
	return db, nil
}

// Path is the snapshot file's.
func (s *Snapshot) Path() string { return s.path }

func (s *Snapshot) view(f func(tx *bolt.Tx) error) error {
	return protect(s.path, func() error { return s.db.View(f) })
}

// Info says what the snapshot holds.
func (s *Snapshot) Info() (info SnapshotInfo, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		info, err = readSnapshotInfo(tx)
		return err
	})
	return info, err
}

func readSnapshotInfo(tx *bolt.Tx) (SnapshotInfo, error) {
	var info SnapshotInfo
	meta := tx.Bucket(snapMeta)
	if meta == nil {
		return info, nil
	}
	v := meta.Get(snapRev)
	if len(v) != 8 {
		return info, fmt.Errorf("snapshot: a revision of %d bytes", len(v))
	}
	info.Rev, info.Of = keyRev(v), string(meta.Get(snapOf))
	if err := info.Written.UnmarshalBinary(meta.Get(snapWritten)); err != nil {
		return info, fmt.Errorf("snapshot: when it was written: %v", err)
	}
	return info, nil
}

// Rev is the store revision the snapshot holds (0: nothing yet).
func (s *Snapshot) Rev() (int64, error) {
	info, err := s.Info()
	return info.Rev, err
}

// Count is how many objects of kind the snapshot holds.
func (s *Snapshot) Count(kind Kind) (n int, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(kind)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// LoadAll calls fn with every object of the snapshot, kind by kind in load order (Kinds), and
// returns the revision they are at.
func (s *Snapshot) LoadAll(fn func(kind Kind, key string, value []byte) error) (rev int64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		info, err := readSnapshotInfo(tx)
		if err != nil {
			return err
		}
		rev = info.Rev
		for _, kind := range Kinds {
			if b := tx.Bucket([]byte(kind)); b != nil {
				if err := b.ForEach(func(k, v []byte) error { return fn(kind, string(k), v) }); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return rev, err
}

// Apply brings the snapshot to revision rev with ops, what the store committed after the
// revision it holds, in one transaction on disk before it returns.
func (s *Snapshot) Apply(rev int64, ops []Op) error {
	return protect(s.path, func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			info, err := readSnapshotInfo(tx)
			if err != nil {
				return err
			}
			if rev < info.Rev {
				return fmt.Errorf("snapshot: revision %d is older than the %d it holds", rev, info.Rev)
			}
			for _, op := range ops {
				if err := putOp(tx, op); err != nil {
					return err
				}
			}
			return writeSnapshotInfo(tx, SnapshotInfo{Rev: rev, Of: info.Of, Written: time.Now()})
		})
	})
}

func putOp(tx *bolt.Tx, op Op) error {
	if !slices.Contains(Kinds, op.Kind) || op.Key == "" {
		return fmt.Errorf("snapshot: no place for %s/%q", op.Kind, op.Key)
	}
	b, err := tx.CreateBucketIfNotExists([]byte(op.Kind))
	if err != nil {
		return err
	}
	if op.Delete {
		return b.Delete([]byte(op.Key))
	}
	return b.Put([]byte(op.Key), op.Value)
}

func writeSnapshotInfo(tx *bolt.Tx, info SnapshotInfo) error {
	meta, err := tx.CreateBucketIfNotExists(snapMeta)
	if err != nil {
		return err
	}
	at, _ := info.Written.MarshalBinary()
	for k, v := range map[string][]byte{string(snapRev): revKey(info.Rev), string(snapOf): []byte(info.Of), string(snapWritten): at} {
		if err := meta.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// Replace writes the snapshot whole: what load puts (every object of store of, at the revision
// it returns) into a new file, renamed over the snapshot once it is complete and on disk. If
// load fails, the snapshot is as it was.
func (s *Snapshot) Replace(of string, load func(put func(kind Kind, key string, value []byte) error) (int64, error)) error {
	tmp := s.path + ".new"
	os.Remove(tmp)
	db, err := openSnapshotDB(tmp)
	if err != nil {
		return err
	}
	db.NoSync = true // synced once, whole, below
	defer os.Remove(tmp)
	fail := func(err error) error {
		db.Close()
		return fmt.Errorf("snapshot %s: %v", s.path, err)
	}
	var batch []Op
	flush := func() error {
		err := db.Update(func(tx *bolt.Tx) error {
			for _, op := range batch {
				if err := putOp(tx, op); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	rev, err := load(func(kind Kind, key string, value []byte) error {
		batch = append(batch, Op{Kind: kind, Key: key, Value: slices.Clone(value)})
		if len(batch) < snapshotBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error {
			return writeSnapshotInfo(tx, SnapshotInfo{Rev: rev, Of: of, Written: time.Now()})
		})
	}
	if err == nil {
		err = db.Sync()
	}
	if err != nil {
		return fail(err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("snapshot %s: %v", s.path, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("snapshot %s: %v", s.path, err)
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil { // the rename on disk too
		d.Sync()
		d.Close()
	}
	s.db.Close()
	if s.db, err = openSnapshotDB(s.path); err != nil {
		return err
	}
	return nil
}

// Close closes the file.
func (s *Snapshot) Close() error { return s.db.Close() }
