// Package etcdtest runs real etcd servers for tests: etcd's own server (go.etcd.io/etcd/server/v3/embed)
// in the test process, on loopback ports found free, with its data in the test's temporary
// folder. Members can be stopped and started again on the same ports and data, as a machine
// that goes away and comes back.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a running etcd cluster of one or more members.
type Cluster struct {
	t         testing.TB
	configure func(*embed.Config)
	mu        sync.Mutex
	members   []*member
}

type member struct {
	name         string
	dir          string
	client, peer url.URL
	etcd         *embed.Etcd
	started      bool // once: a restart joins the existing cluster
}

// Start starts a cluster of n members and waits until it has a leader. It stops when the test
// ends.
func Start(t testing.TB, n int) *Cluster { return StartWith(t, n, nil) }

// StartWith is Start with each member's configuration changed by configure (limits, quotas).
func StartWith(t testing.TB, n int, configure func(*embed.Config)) *Cluster {
	t.Helper()
	c := &Cluster{t: t, configure: configure}
	for attempt := 0; ; attempt++ {
		c.members = nil
		for i := range n {
			c.members = append(c.members, &member{
				name:   fmt.Sprintf("m%d", i+1),
				dir:    t.TempDir(),
				client: url.URL{Scheme: "http", Host: freePort(t)},
				peer:   url.URL{Scheme: "http", Host: freePort(t)},
			})
		}
		err := c.startAll()
		if err == nil {
			break
		}
		c.stopAll()
		if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("etcd: %v", err)
		}
	}
	t.Cleanup(c.stopAll)
	return c
}

// Endpoints are the members' client addresses (host:port).
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.client.Host)
	}
	return out
}

// Stop stops member i (from 0), as if its machine went away.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.members[i]; m.etcd != nil {
		m.etcd.Close()
		m.etcd = nil
	}
}

// Restart starts member i again on its ports and data.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	if m.etcd != nil {
		return
	}
	if err := c.start(m); err != nil {
		c.t.Fatalf("etcd %s: %v", m.name, err)
	}
	select {
	case <-m.etcd.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		c.t.Fatalf("etcd %s is not ready after 30s", m.name)
	}
}

// Leader is the index of the member that leads, or -1.
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.etcd != nil && m.etcd.Server.Leader() == m.etcd.Server.MemberID() {
			return i
		}
	}
	return -1
}

// Compact compacts etcd's history up to its current revision, as its auto-compaction does.
func (c *Cluster) Compact() error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "compact")
	if err != nil {
		return err
	}
	_, err = cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	return err
}

func (c *Cluster) startAll() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i, m := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(m)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, m := range c.members {
		select {
		case <-m.etcd.Server.ReadyNotify():
		case <-time.After(60 * time.Second):
			return fmt.Errorf("%s is not ready after 60s", m.name)
		}
	}
	return nil
}

func (c *Cluster) start(m *member) error {
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = m.name, m.dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{m.client}, []url.URL{m.client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{m.peer}, []url.URL{m.peer}
	var initial []string
	for _, o := range c.members {
		initial = append(initial, o.name+"="+o.peer.String())
	}
	cfg.InitialCluster = strings.Join(initial, ",")
	cfg.InitialClusterToken = "etcdtest"
	if m.started {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.WatchProgressNotifyInterval = time.Second
	// Short election timeouts: a member's loss is noticed in a test's time.
	cfg.TickMs, cfg.ElectionMs = 50, 500
	if c.configure != nil {
		c.configure(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	m.etcd, m.started = e, true
	return nil
}

func (c *Cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		if m.etcd != nil {
			m.etcd.Close()
			m.etcd = nil
		}
	}
}

// freePort is a loopback address with a port free now; another process may take it before
// etcd binds it, so Start tries again on other ports.
func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
