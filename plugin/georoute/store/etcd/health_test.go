package etcd

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// observed follows a store's observations as WatchObservations delivers them.
type observed struct {
	mu     sync.Mutex
	now    map[string]string // TARGET@NODE -> value
	resets int
}

func watchObserved(t *testing.T, s *Store) *observed {
	o := &observed{now: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WatchObservations(ctx, func(reset bool, obs []Observation) {
			o.mu.Lock()
			defer o.mu.Unlock()
			if reset {
				o.resets++
				clear(o.now)
			}
			for _, ob := range obs {
				if ob.Value == nil {
					delete(o.now, ob.Target+"@"+ob.Node)
				} else {
					o.now[ob.Target+"@"+ob.Node] = string(ob.Value)
				}
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return o
}

func (o *observed) await(t *testing.T, want map[string]string, within time.Duration) {
	t.Helper()
	var got map[string]string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		o.mu.Lock()
		got = maps.Clone(o.now)
		o.mu.Unlock()
		if maps.Equal(got, want) {
			return
		}
	}
	t.Fatalf("observations %v, want %v", got, want)
}

// TestObservations: what one node puts, another watching sees, deletes included, targets with a
// '/' included, in transactions of at most MaxTxnOps; a node whose store closes takes its
// observations with it (its lease is revoked); a node whose lease expired writes under a new one.
func TestObservations(t *testing.T) {
	c := etcdtest.Start(t, 1)
	const prefix = "/georoute/health-test/"
	a := openAt(t, c, prefix, Options{})
	b := openAt(t, c, prefix, Options{MaxTxnOps: 4})
	if err := b.Announce("n2", 1); err != nil {
		t.Fatal(err)
	}
	seen := watchObserved(t, a)

	var puts []Observation
	want := map[string]string{}
	for i := range 10 {
		target := fmt.Sprintf("e%d", i)
		puts = append(puts, Observation{Target: target, Value: []byte("down")})
		want[target+"@n2"] = "down"
	}
	puts = append(puts, Observation{Target: "route53/healthcheck/abc", Value: []byte("up")})
	want["route53/healthcheck/abc@n2"] = "up"
	lease, err := b.PutObservations("n2", puts, nil)
	if err != nil || lease == 0 || lease != b.Lease() {
		t.Fatalf("PutObservations: lease %d (Lease %d), %v", lease, b.Lease(), err)
	}
	if _, err := a.PutObservations("n1", []Observation{{Target: "e0", Value: []byte("up")}}, nil); err != nil {
		t.Fatal(err)
	}
	want["e0@n1"] = "up"
	seen.await(t, want, 5*time.Second)

	if _, err := b.PutObservations("n2", []Observation{{Target: "e1", Value: []byte("up")}}, []string{"e2", "e3"}); err != nil {
		t.Fatal(err)
	}
	want["e1@n2"] = "up"
	delete(want, "e2@n2")
	delete(want, "e3@n2")
	seen.await(t, want, 5*time.Second)

	// A second watcher starts from the whole set.
	late := watchObserved(t, a)
	late.await(t, want, 5*time.Second)

	if _, err := b.PutObservations("a/b", nil, nil); err == nil {
		t.Error("a node name with a slash")
	}
	if _, err := b.PutObservations("n2", []Observation{{Value: []byte("up")}}, nil); err == nil {
		t.Error("an observation without a target")
	}

	// The lease expires (revoked behind the store's back): the next put grants another.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.cli.Revoke(ctx, clientv3.LeaseID(lease)); err != nil {
		t.Fatal(err)
	}
	seen.await(t, map[string]string{"e0@n1": "up"}, 5*time.Second)
	if _, err := b.PutObservations("n2", []Observation{{Target: "e5", Value: []byte("down")}}, nil); err == nil {
		t.Error("a put under a lease that expired succeeds")
	}
	next, err := b.PutObservations("n2", []Observation{{Target: "e5", Value: []byte("down")}}, nil)
	if err != nil || next == lease || next != b.Lease() {
		t.Fatalf("after the lease expired: lease %d (was %d), %v", next, lease, err)
	}
	seen.await(t, map[string]string{"e0@n1": "up", "e5@n2": "down"}, 5*time.Second)

	b.Close()
	seen.await(t, map[string]string{"e0@n1": "up"}, 5*time.Second)
}
