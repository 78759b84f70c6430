package etcd

import (
	"context"
	"fmt"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watch implements store.Store: the log is read from from+1 (Changes), then watched with
// etcd's watch from the etcd revision that read saw, so that nothing between them is missed;
// a watch etcd cancels (compacted, no leader) or a gap in what it sends goes back to reading
// the log. The stream ends with ErrCompacted when the log no longer holds the next revision,
// or with the error of a read of the log (etcd unreachable).
func (s *Store) Watch(ctx context.Context, from int64) <-chan store.WatchEvent {
	out := make(chan store.WatchEvent)
	if !s.addWatch() {
		close(out)
		return out
	}
	go s.watch(ctx, from, out)
	return out
}

// addWatch counts a watch that Close waits for, unless the store is closed.
func (s *Store) addWatch() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if !s.closed {
		s.watches.Add(1)
	}
	return !s.closed
}

func (s *Store) watch(ctx context.Context, from int64, out chan<- store.WatchEvent) {
	defer s.watches.Done()
	defer close(out)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	send := func(e store.WatchEvent) bool {
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		at, err := s.changes(from, func(e store.Event) error {
			s.cache.add(e.Rev, e.Ops, s.opts.MaxChanges)
			if !send(store.WatchEvent{Event: e}) {
				return context.Canceled
			}
			from = e.Rev
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			send(store.WatchEvent{Err: err})
			return
		}
		if err := s.follow(ctx, at, &from, send); err != nil {
			send(store.WatchEvent{Err: err})
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchRetry):
		}
	}
}

// follow sends the log entries etcd's watch delivers after etcd revision at, until the watch
// ends or skips a revision; then the log is read again.
func (s *Store) follow(ctx context.Context, at int64, from *int64, send func(store.WatchEvent) bool) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(wctx, s.logPre, clientv3.WithPrefix(), clientv3.WithRev(at+1), clientv3.WithProgressNotify()) {
		if resp.Canceled || resp.Err() != nil {
			return nil
		}
		for _, ev := range resp.Events {
			if ev.Type != clientv3.EventTypePut {
				continue // the oldest entries trimmed
			}
			rev, ok := s.logRev(ev.Kv.Key)
			switch {
			case !ok:
				return fmt.Errorf("store: etcd: a change log key %q", ev.Kv.Key)
			case rev <= *from:
				continue
			case rev != *from+1:
				return nil
			}
			ops, err := store.DecodeOps(ev.Kv.Value)
			if err != nil {
				return fmt.Errorf("%w: revision %d", err, rev)
			}
			s.cache.add(rev, ops, s.opts.MaxChanges)
			if !send(store.WatchEvent{Event: store.Event{Rev: rev, Ops: ops}}) {
				return nil
			}
			*from = rev
		}
	}
	return nil
}
