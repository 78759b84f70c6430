package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Each node says it is live, and which revision it has applied, under PREFIX nodes/NAME, a key
// bound to a lease of its own: when the node stops renewing it (gone, or cut off from etcd), the
// key goes with the lease, PresenceTTL later.

// PresenceTTL is how long a node counts as live after it last said so.
const PresenceTTL = 10 * time.Second

// Node is one node's presence.
type Node struct {
	Name    string    `json:"name"`
	Applied int64     `json:"applied_revision"`
	At      time.Time `json:"at"` // when it said so
}

// Announce says that the node name is live and has applied revision applied.
func (s *Store) Announce(name string, applied int64) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("store: etcd: a node name of %q", name)
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	ctx, cancel := s.request()
	defer cancel()
	if s.lease != 0 {
		if _, err := s.cli.KeepAliveOnce(ctx, s.lease); err != nil {
			s.lease = 0 // expired (cut off too long) or etcd gone: a new one next time
			return s.unavailable(err)
		}
	}
	lease, err := s.granted(ctx)
	if err != nil {
		return err
	}
	v, _ := json.Marshal(Node{Name: name, Applied: applied, At: time.Now().UTC()})
	if _, err := s.cli.Put(ctx, s.opts.Prefix+"nodes/"+name, string(v), clientv3.WithLease(lease)); err != nil {
		s.lease = 0
		return s.unavailable(err)
	}
	return nil
}

// granted is the presence lease, granted now if the node has none. s.leaseMu is held.
func (s *Store) granted(ctx context.Context) (clientv3.LeaseID, error) {
	if s.lease == 0 {
		l, err := s.cli.Grant(ctx, int64(PresenceTTL/time.Second))
		if err != nil {
			return 0, s.unavailable(err)
		}
		s.lease = l.ID
	}
	return s.lease, nil
}

// Lease identifies the presence lease now (0: none): what was put under an earlier one is
// gone, or goes once it expires.
func (s *Store) Lease() int64 {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	return int64(s.lease)
}

// Nodes are the live nodes, by name.
func (s *Store) Nodes() ([]Node, error) {
	ctx, cancel := s.request()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.opts.Prefix+"nodes/", clientv3.WithPrefix())
	if err != nil {
		return nil, s.unavailable(err)
	}
	var nodes []Node
	for _, kv := range resp.Kvs {
		var n Node
		if json.Unmarshal(kv.Value, &n) == nil {
			nodes = append(nodes, n)
		}
	}
	return nodes, nil
}
