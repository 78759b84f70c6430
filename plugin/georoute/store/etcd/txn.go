package etcd

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/georoute/appliance/plugin/georoute/store"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Commit implements store.Store: one unconditional transaction of Txns.
func (s *Store) Commit(ops []store.Op) error {
	res, err := s.Txns([]store.Txn{{Ops: ops}})
	if err != nil {
		return err
	}
	return res[0].Err
}

// Txns implements store.Store. The txns go to etcd in as few etcd transactions as its limits
// allow (one, for a group of the committer's usual size), each durable on a quorum of etcd's
// members when it returns. Should a later one of them fail, the txns it held get the error
// (wrapping store.ErrUnknown) and those before it keep their revisions.
func (s *Store) Txns(txns []store.Txn) ([]store.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make([]store.Result, len(txns))
	var failed [][]store.Op // txns of the call that did not commit, for the later ones' conditions
	next, attempts := 0, 0
	committed := false
	fail := func(err error) ([]store.Result, error) {
		if !committed {
			return nil, err
		}
		for i := next; i < len(results); i++ {
			results[i] = store.Result{Err: err}
		}
		return results, nil
	}
	for next < len(txns) {
		if attempts++; attempts > maxAttempts {
			return fail(fmt.Errorf("store: etcd: other writers committed first %d times in a row", maxAttempts))
		}
		if err := s.fresh(txns[next:]); err != nil {
			return fail(err)
		}
		w, err := s.decide(txns, next, failed, results)
		if err != nil {
			return fail(err)
		}
		if len(w.ops) == 0 { // nothing to write: every txn decided was a conflict, an error or empty
			failed, next = append(failed, w.failed...), w.end
			continue
		}
		// The log's oldest entries beyond MaxChanges go, short of those this write adds.
		trim := min(w.rev-int64(s.opts.MaxChanges)+1, w.entries[0].rev)
		w.ops = append(w.ops,
			clientv3.OpPut(s.revKey, strconv.FormatInt(w.rev, 10)),
			clientv3.OpDelete(s.logKey(0), clientv3.WithRange(s.logKey(max(1, trim)))))
		ctx, cancel := s.request()
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.revKey), "=", s.modRev)).
			Then(w.ops...).
			// Else: what the others committed, so that deciding again reads nothing more.
			Else(clientv3.OpGet(s.revKey), clientv3.OpGet(s.logKey(s.rev+1), clientv3.WithRange(clientv3.GetPrefixRangeEnd(s.logPre)), clientv3.WithLimit(logPage))).
			Commit()
		cancel()
		if err != nil {
			s.known = false
			return fail(fmt.Errorf("%w (%w)", s.unavailable(err), store.ErrUnknown))
		}
		if !resp.Succeeded { // another writer committed since the revision key was read
			s.known = false
			if r := resp.Responses[0].GetResponseRange(); r != nil {
				if err := s.setRev(r.Kvs); err == nil {
					s.known = true
				}
			}
			if r := resp.Responses[1].GetResponseRange(); r != nil {
				s.cacheEntries(r.Kvs)
			}
			clear(results[next:w.end])
			continue
		}
		for _, e := range w.entries {
			s.cache.add(e.rev, e.ops, s.opts.MaxChanges)
		}
		s.rev, s.modRev = w.rev, resp.Header.Revision
		failed, next, committed = append(failed, w.failed...), w.end, true
	}
	return results, nil
}

// write is one etcd transaction's worth of the call's txns, decided.
type write struct {
	ops     []clientv3.Op
	keys    map[string]int // the index in ops of each object key
	rev     int64          // the revision after them
	end     int            // the first txn not decided
	failed  [][]store.Op
	entries []entry
}

type entry struct {
	rev int64
	ops []store.Op
}

// decide decides txns from next at the revision last read, as many as one etcd transaction
// holds, filling in their results.
func (s *Store) decide(txns []store.Txn, next int, failed [][]store.Op, results []store.Result) (write, error) {
	check := store.NewCheck(s.rev, s.readLog)
	for _, ops := range failed {
		check.Failed(ops)
	}
	w := write{rev: s.rev, keys: map[string]int{}}
	budgetOps, budgetBytes := s.opts.MaxTxnOps-2, s.opts.MaxRequestBytes-requestMargin // the revision key, the trim
	size := 0
	fail := func(i int, err error) {
		results[i].Err = err
		check.Failed(txns[i].Ops)
		w.failed = append(w.failed, txns[i].Ops)
	}
	for w.end = next; w.end < len(txns); w.end++ {
		i, t := w.end, txns[w.end]
		if err := store.CheckOps(t.Ops); err != nil {
			fail(i, err)
			continue
		}
		ok, err := check.Holds(t.Cond)
		if err != nil {
			return w, err
		}
		if !ok {
			fail(i, store.ErrConflict)
			continue
		}
		if len(t.Ops) == 0 {
			results[i].Rev = w.rev
			continue
		}
		logEntry := store.EncodeOps(t.Ops)
		n, bytes := len(t.Ops)+1, 2*len(logEntry)+len(s.logPre)+20
		for _, op := range t.Ops {
			bytes += len(s.objPre) + len(op.Kind) + len(op.Key) + 16
		}
		if n > budgetOps || bytes > budgetBytes {
			fail(i, fmt.Errorf("store: etcd: a transaction of %d ops and %d bytes does not fit in one etcd transaction "+
				"(at most %d ops and %d bytes): raise etcd's --max-txn-ops and --max-request-bytes, and the store's limits with them",
				len(t.Ops), bytes, budgetOps-1, budgetBytes))
			continue
		}
		if len(w.ops)+n > budgetOps || size+bytes > budgetBytes { // counted as if no key repeated
			break // the next etcd transaction takes it
		}
		for _, op := range t.Ops {
			key := s.objKey(op.Kind, op.Key)
			o := clientv3.OpPut(key, string(op.Value))
			if op.Delete {
				o = clientv3.OpDelete(key)
			}
			// etcd refuses a key twice in one transaction: the last op of a key is what it becomes.
			if at, ok := w.keys[key]; ok {
				w.ops[at] = o
				continue
			}
			w.keys[key] = len(w.ops)
			w.ops = append(w.ops, o)
		}
		w.rev++
		w.ops = append(w.ops, clientv3.OpPut(s.logKey(w.rev), string(logEntry)))
		w.entries = append(w.entries, entry{rev: w.rev, ops: t.Ops})
		size += bytes
		results[i].Rev = w.rev
	}
	return w, nil
}

// fresh makes sure the revision key as known is one to compare with: read it when it is not
// known, or when a condition is at a later revision (this node applied commits the client
// has not seen: they are decided against, not taken for conflicts).
func (s *Store) fresh(txns []store.Txn) error {
	if s.known {
		for _, t := range txns {
			if len(t.Cond.Reads) > 0 && t.Cond.Rev > s.rev {
				s.known = false
				break
			}
		}
	}
	if s.known {
		return nil
	}
	ctx, cancel := s.request()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.revKey)
	if err != nil {
		return s.unavailable(err)
	}
	if err := s.setRev(resp.Kvs); err != nil {
		return err
	}
	s.known = true
	return nil
}

// setRev takes the revision key as read (none: revision 0).
func (s *Store) setRev(kvs []*mvccpb.KeyValue) error {
	rev, modRev := int64(0), int64(0)
	if len(kvs) > 0 {
		var err error
		if rev, err = parseRev(kvs[0].Value); err != nil {
			return err
		}
		modRev = kvs[0].ModRevision
	}
	if rev < s.rev {
		return fmt.Errorf("store: etcd: the revision went back from %d to %d: was the prefix deleted?", s.rev, rev)
	}
	s.rev, s.modRev = rev, modRev
	return nil
}

// cacheEntries adds log entries as read to the cache.
func (s *Store) cacheEntries(kvs []*mvccpb.KeyValue) {
	for _, kv := range kvs {
		rev, ok := s.logRev(kv.Key)
		if !ok {
			return
		}
		ops, err := store.DecodeOps(kv.Value)
		if err != nil {
			return
		}
		s.cache.add(rev, ops, s.opts.MaxChanges)
	}
}

// readLog is the store.LogReader of conditions: the cached entries, else the log's.
func (s *Store) readLog(from, to int64, fn func(int64, []store.Op) error) error {
	if ok, err := s.cache.get(from, to, fn); ok {
		return err
	}
	last := from
	_, err := s.changes(from, func(e store.Event) error {
		if e.Rev > to {
			return errStop
		}
		s.cache.add(e.Rev, e.Ops, s.opts.MaxChanges)
		last = e.Rev
		return fn(e.Rev, e.Ops)
	})
	switch {
	case errors.Is(err, errStop), err == nil && last == to:
		return nil
	case err == nil:
		return fmt.Errorf("store: etcd: the change log ends at %d, before revision %d", last, to)
	}
	return err
}

var errStop = errors.New("stop")
