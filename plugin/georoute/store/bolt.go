package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bolt is the embedded store: one bbolt file, no server.
type Bolt struct {
	db *bolt.DB
}

// OpenBolt opens (or creates) the store file at path. It fails if another process holds it.
func OpenBolt(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true, // as etcd: the freelist is rebuilt at open rather than written on every commit
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store %s is in use by another process", path)
		}
		return nil, fmt.Errorf("store %s: %v", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, k := range Kinds {
			if _, err := tx.CreateBucketIfNotExists([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %v", path, err)
	}
	return &Bolt{db: db}, nil
}

// Load implements Store.
func (b *Bolt) Load(kind Kind, fn func(key string, value []byte) error) error {
	return b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(kind)).ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// Scan implements Store.
func (b *Bolt) Scan(kind Kind, prefix, from string, fn func(key string, value []byte) bool) error {
	return b.db.View(func(tx *bolt.Tx) error {
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
	err := b.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(kind)).Stats().KeyN
		return nil
	})
	return n, err
}

// Commit implements Store: one bbolt transaction, fsynced before it returns.
func (b *Bolt) Commit(ops []Op) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, op := range ops {
			bk := tx.Bucket([]byte(op.Kind))
			if bk == nil {
				return fmt.Errorf("store: no kind %q", op.Kind)
			}
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
	})
}

// Close implements Store.
func (b *Bolt) Close() error { return b.db.Close() }
