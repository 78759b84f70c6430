package etcd

import (
	"context"
	"fmt"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rangeAt calls fn for the keys from start up to (not including) end, in pages, all read at
// one etcd revision: at (0: the first page's). It returns that revision.
func (s *Store) rangeAt(start, end string, at int64, limit int64, fn func(key, value []byte) (bool, error)) (int64, error) {
	for {
		ctx, cancel := s.request()
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(limit)}
		if at > 0 {
			opts = append(opts, clientv3.WithRev(at))
		}
		resp, err := s.cli.Get(ctx, start, opts...)
		cancel()
		if err != nil {
			return at, s.unavailable(err)
		}
		if at == 0 {
			at = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			more, err := fn(kv.Key, kv.Value)
			if err != nil || !more {
				return at, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return at, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// kindRange is the keys of kind whose keys start with prefix.
func (s *Store) kindRange(kind store.Kind, prefix string) (start, end string) {
	start = s.objKey(kind, prefix)
	return start, clientv3.GetPrefixRangeEnd(start)
}

// Load implements store.Store.
func (s *Store) Load(kind store.Kind, fn func(key string, value []byte) error) error {
	start, end := s.kindRange(kind, "")
	_, err := s.rangeAt(start, end, 0, pageKeys, func(k, v []byte) (bool, error) {
		return true, fn(strings.TrimPrefix(string(k), start), v)
	})
	return err
}

// Scan implements store.Store.
func (s *Store) Scan(kind store.Kind, prefix, from string, fn func(key string, value []byte) bool) error {
	base, _ := s.kindRange(kind, "")
	start, end := s.kindRange(kind, prefix)
	if from > prefix {
		start = s.objKey(kind, from)
	}
	_, err := s.rangeAt(start, end, 0, pageKeys, func(k, v []byte) (bool, error) {
		return fn(strings.TrimPrefix(string(k), base), v), nil
	})
	return err
}

// Count implements store.Store.
func (s *Store) Count(kind store.Kind) (int, error) {
	start, end := s.kindRange(kind, "")
	ctx, cancel := s.request()
	defer cancel()
	resp, err := s.cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithCountOnly())
	if err != nil {
		return 0, s.unavailable(err)
	}
	return int(resp.Count), nil
}

// Rev implements store.Store: a linearizable read, so it fails when etcd has no quorum.
func (s *Store) Rev() (int64, error) {
	rev, _, _, err := s.readRev(0)
	return rev, err
}

// readRev reads the revision key at etcd revision at (0: now): the store's revision, the key's
// ModRevision, and the etcd revision read.
func (s *Store) readRev(at int64) (rev, modRev, header int64, err error) {
	ctx, cancel := s.request()
	defer cancel()
	var opts []clientv3.OpOption
	if at > 0 {
		opts = append(opts, clientv3.WithRev(at))
	}
	resp, err := s.cli.Get(ctx, s.revKey, opts...)
	if err != nil {
		return 0, 0, 0, s.unavailable(err)
	}
	if len(resp.Kvs) > 0 {
		rev, err = parseRev(resp.Kvs[0].Value)
		modRev = resp.Kvs[0].ModRevision
	}
	return rev, modRev, resp.Header.Revision, err
}

// LoadAll implements store.Store: every page is read at the etcd revision the revision key was
// read at. If etcd compacts that revision away meanwhile (its --auto-compaction-retention is
// shorter than the read), LoadAll fails and can be called again.
func (s *Store) LoadAll(fn func(kind store.Kind, key string, value []byte) error) (int64, error) {
	rev, _, at, err := s.readRev(0)
	if err != nil {
		return 0, err
	}
	for _, kind := range store.Kinds {
		start, end := s.kindRange(kind, "")
		each := func(k, v []byte) (bool, error) { return true, fn(kind, strings.TrimPrefix(string(k), start), v) }
		streamed, err := s.streamAt(start, end, at, each)
		if !streamed && err == nil {
			_, err = s.rangeAt(start, end, at, loadPageKeys, each)
		}
		if err != nil {
			return 0, err
		}
	}
	return rev, nil
}

// streamAt calls fn for the keys from start up to end at etcd revision at, streamed in one
// request (etcd 3.7's RangeStream): a paged Range counts every key after the page, so paging
// through a million keys costs a million squared. It reports false, having called fn for none,
// when etcd is older and does not stream.
func (s *Store) streamAt(start, end string, at int64, fn func(key, value []byte) (bool, error)) (bool, error) {
	ctx, cancel := context.WithTimeout(s.ctx, loadTimeout)
	defer cancel()
	ch, err := s.cli.GetStream(ctx, start, clientv3.WithRange(end), clientv3.WithRev(at))
	if status.Code(err) == codes.Unimplemented {
		return false, nil
	}
	if err != nil {
		return true, s.unavailable(err)
	}
	first := true
	for r := range ch {
		if err := r.Err(); err != nil {
			if first && status.Code(err) == codes.Unimplemented {
				return false, nil
			}
			return true, s.unavailable(err)
		}
		first = false
		for _, kv := range r.Kvs {
			if more, err := fn(kv.Key, kv.Value); err != nil || !more {
				return true, err
			}
		}
	}
	return true, nil
}

// Changes implements store.Store.
func (s *Store) Changes(from int64, fn func(store.Event) error) error {
	_, err := s.changes(from, fn)
	return err
}

// changes is Changes, returning the etcd revision it read the log at: a watch of the log from
// the next one misses nothing.
func (s *Store) changes(from int64, fn func(store.Event) error) (int64, error) {
	from = max(from, 0)
	next := from + 1
	return s.rangeAt(s.logKey(next), clientv3.GetPrefixRangeEnd(s.logPre), 0, logPage, func(k, v []byte) (bool, error) {
		rev, ok := s.logRev(k)
		switch {
		case !ok:
			return false, fmt.Errorf("store: etcd: a change log key %q", k)
		case rev != next:
			// Read at one etcd revision the log has no gaps: the oldest entries are trimmed.
			return false, store.ErrCompacted
		}
		ops, err := store.DecodeOps(v)
		if err != nil {
			return false, fmt.Errorf("%w: revision %d", err, rev)
		}
		next++
		return true, fn(store.Event{Rev: rev, Ops: ops})
	})
}
