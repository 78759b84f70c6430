package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Each node says what it observes of the health of what it probes under
//
//	PREFIX health/TARGET/NODE
//
// bound to its presence lease (presence.go): a node gone, or cut off from etcd past
// PresenceTTL, takes its observations with it. What a value holds is the caller's.

// Observation is what Node last said of Target; a nil Value is one deleted.
type Observation struct {
	Target string
	Node   string
	Value  []byte
}

func (s *Store) healthPrefix() string { return s.opts.Prefix + "health/" }

// observationOf is the target and node of an observation's key (a target may hold '/', a node
// name does not), false if key is not one.
func (s *Store) observationOf(key []byte) (target, node string, ok bool) {
	k, ok := strings.CutPrefix(string(key), s.healthPrefix())
	i := strings.LastIndexByte(k, '/')
	if !ok || i <= 0 || i == len(k)-1 {
		return "", "", false
	}
	return k[:i], k[i+1:], true
}

// PutObservations writes node's observations puts (their Node is node's) and deletes its
// observations of the targets gone, under its presence lease (granted now if it has none), in
// transactions of at most MaxTxnOps operations. It returns the lease they were written under,
// as Lease says it.
func (s *Store) PutObservations(node string, puts []Observation, gone []string) (int64, error) {
	if node == "" || strings.Contains(node, "/") {
		return 0, fmt.Errorf("store: etcd: a node name of %q", node)
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	ctx, cancel := s.request()
	lease, err := s.granted(ctx)
	cancel()
	if err != nil {
		return 0, err
	}
	ops := make([]clientv3.Op, 0, len(puts)+len(gone))
	for _, o := range puts {
		if o.Target == "" {
			return 0, errors.New("store: etcd: an observation without a target")
		}
		ops = append(ops, clientv3.OpPut(s.healthPrefix()+o.Target+"/"+node, string(o.Value), clientv3.WithLease(lease)))
	}
	for _, target := range gone {
		ops = append(ops, clientv3.OpDelete(s.healthPrefix()+target+"/"+node))
	}
	for len(ops) > 0 {
		n := min(len(ops), s.opts.MaxTxnOps)
		ctx, cancel := s.request()
		_, err := s.cli.Txn(ctx).Then(ops[:n]...).Commit()
		cancel()
		if err != nil {
			if errors.Is(err, rpctypes.ErrLeaseNotFound) {
				s.lease = 0 // expired: the next call grants a new one
			}
			return 0, s.unavailable(err)
		}
		ops = ops[n:]
	}
	return int64(lease), nil
}

// WatchObservations calls fn with every node's observations (reset: they replace whatever fn
// had), then with each change etcd's watch delivers, until ctx ends or the store closes. A
// watch etcd ends (compacted, no leader) or that cannot start is followed by a whole read
// again, when etcd answers.
func (s *Store) WatchObservations(ctx context.Context, fn func(reset bool, obs []Observation)) {
	if !s.addWatch() {
		return
	}
	defer s.watches.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	for ctx.Err() == nil {
		s.watchObservations(ctx, fn)
		select {
		case <-ctx.Done():
		case <-time.After(watchRetry):
		}
	}
}

// watchObservations reads the observations whole, then follows etcd's watch until it ends.
func (s *Store) watchObservations(ctx context.Context, fn func(reset bool, obs []Observation)) {
	rctx, rcancel := context.WithTimeout(ctx, s.opts.Timeout)
	resp, err := s.cli.Get(rctx, s.healthPrefix(), clientv3.WithPrefix())
	rcancel()
	if err != nil {
		return
	}
	all := make([]Observation, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if target, node, ok := s.observationOf(kv.Key); ok {
			all = append(all, Observation{Target: target, Node: node, Value: kv.Value})
		}
	}
	fn(true, all)
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	for wr := range s.cli.Watch(wctx, s.healthPrefix(), clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
		if wr.Canceled || wr.Err() != nil {
			return
		}
		var changed []Observation
		for _, ev := range wr.Events {
			target, node, ok := s.observationOf(ev.Kv.Key)
			if !ok {
				continue
			}
			o := Observation{Target: target, Node: node}
			if ev.Type == clientv3.EventTypePut {
				o.Value = ev.Kv.Value
				if o.Value == nil {
					o.Value = []byte{}
				}
			}
			changed = append(changed, o)
		}
		if len(changed) > 0 {
			fn(false, changed)
		}
	}
}
