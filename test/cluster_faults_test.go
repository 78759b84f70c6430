package test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
)

// cutter forwards TCP connections to target until cut: then it drops them and every new one,
// as a network partition between one node and etcd, until healed.
type cutter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cutOff bool
	conns  []net.Conn
}

func startCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutter{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return p
}

func (p *cutter) addr() string { return p.ln.Addr().String() }

func (p *cutter) forward(c net.Conn) {
	p.mu.Lock()
	if p.cutOff {
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func (p *cutter) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOff = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutter) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOff = false
}

// TestClusterPartition: one node cut off from etcd goes on answering DNS and refuses writes
// while the others write more than the change log keeps and etcd compacts its history; back,
// it reads the store whole and serves what the others do.
func TestClusterPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three appliances as processes")
	}
	etcd := etcdtest.Start(t, 1)
	link := startCutter(t, etcd.Endpoints()[0])
	prefix, extra := "/georoute/partition-test/", "store_max_changes 10"
	a := startNode(t, "n1", etcd.Endpoints(), prefix, extra)
	b := startNode(t, "n2", etcd.Endpoints(), prefix, extra)
	c := startNode(t, "n3", []string{link.addr()}, prefix, extra)
	if code, body, err := a.putName("gone", "iad1"); err != nil || code != 201 {
		t.Fatalf("PUT: %d %s %v", code, body, err)
	}
	awaitA(t, c, "gone.example.net.", childEdgeAddr["iad1"], 5*time.Second)

	link.cut()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body, _ := c.putName("cut", "iad1")
		if code == 503 && strings.Contains(string(body), "store unavailable") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a write on the node cut off: %d %s", code, body)
		}
	}
	if st := c.status(t); st.Store.Reachable {
		t.Errorf("the node cut off says its store is reachable: %+v", st)
	}
	for i := range 30 {
		n := []*node{a, b}[i%2]
		if code, body, err := n.putName(fmt.Sprintf("p%d", i), "sin1"); err != nil || code != 201 {
			t.Fatalf("PUT p%d on %s: %d %s %v", i, n.name, code, body, err)
		}
	}
	if code, body, err := b.call("DELETE", "/v1/zones/example.net/names/gone", nil); err != nil || code != 204 {
		t.Fatalf("DELETE: %d %s %v", code, body, err)
	}
	if err := etcd.Compact(); err != nil {
		t.Fatal(err)
	}
	awaitA(t, c, "gone.example.net.", childEdgeAddr["iad1"], time.Second) // still what it had
	// n3's presence lapses: n1 no longer counts it live (Route 53's GetChange waits for live nodes).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var live []string
		for _, o := range a.status(t).Store.Nodes {
			live = append(live, o.Name)
		}
		if strings.Join(live, " ") == "n1 n2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1 counts %v live with n3 cut off", live)
		}
	}

	link.heal()
	awaitA(t, c, "gone.example.net.", "", 20*time.Second)
	for i := range 30 {
		awaitA(t, c, fmt.Sprintf("p%d.example.net.", i), childEdgeAddr["sin1"], time.Second)
	}
	awaitSameRevision(t, []*node{a, b, c}, 10*time.Second)
	_, body, _ := c.call("GET", "/v1/status", nil)
	if !strings.Contains(string(body), `"last_resync"`) {
		t.Errorf("the node back did not read the store whole: %s", body)
	}
	if code, body, err := c.putName("back", "fra1"); err != nil || code != 201 {
		t.Errorf("a write on the node back: %d %s %v", code, body, err)
	}
}

// TestClusterEtcdLeaderKilled: a three-member etcd loses its leader while three appliances take
// a stream of writes: every write that got a 2xx is served by every node afterwards.
func TestClusterEtcdLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three etcd members and three appliances as processes")
	}
	etcd := etcdtest.Start(t, 3)
	nodes := startNodes(t, etcd.Endpoints(), "/georoute/leader-test/")
	var mu sync.Mutex
	var acked []string
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := nodes[w%3]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				code, _, err := n.putName(name, []string{"fra1", "iad1", "sin1"}[i%3])
				if err == nil && code == 201 {
					mu.Lock()
					acked = append(acked, name)
					mu.Unlock()
				} else {
					failed.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	leader := etcd.Leader()
	if leader < 0 {
		t.Fatal("no etcd leader")
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	etcd.Stop(leader)
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d writes acknowledged (%d before the leader, member %d, was killed), %d refused", len(acked), before, leader+1, failed.Load())
	if len(acked) <= before {
		t.Errorf("no write was acknowledged after the leader was killed")
	}
	awaitSameRevision(t, nodes, 20*time.Second)
	for _, n := range nodes {
		missing := 0
		for _, name := range acked {
			i := strings.LastIndexByte(name, '-')
			var idx int
			fmt.Sscan(name[i+1:], &idx)
			want := childEdgeAddr[[]string{"fra1", "iad1", "sin1"}[idx%3]]
			if got, _, err := lookupA(n.dns, name+".example.net.", ""); err != nil || !slices.Equal(got, []string{want}) {
				if missing++; missing <= 5 {
					t.Errorf("%s answers %s with %v (%v), want %s", n.name, name, got, err, want)
				}
			}
		}
		if missing > 0 {
			t.Errorf("%s: %d of %d acknowledged writes missing", n.name, missing, len(acked))
		}
	}
}

// TestClusterDivergedFiles: a node whose config file lacks an edge that another node's names use
// cannot apply their revision: it goes on serving what it has (not crashing, not reading the
// store whole in a loop), its status shows the lag, and it catches up once the store holds
// nothing its files cannot serve.
func TestClusterDivergedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and two appliances as processes")
	}
	base, err := os.ReadFile("../georoute.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more := filepath.Join(t.TempDir(), "more.yaml")
	cfg := strings.Replace(string(base), "edges:\n", "edges:\n  ams9: {addresses: [192.0.2.99], location: {lat: 52.37, lon: 4.90, country: NL}}\n", 1)
	if err := os.WriteFile(more, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	etcd := etcdtest.Start(t, 1)
	prefix := "/georoute/diverged-test/"
	a := startNode(t, "n1", etcd.Endpoints(), prefix, "config "+more)
	c := startNode(t, "n3", etcd.Endpoints(), prefix, "")
	if code, body, err := a.putName("ok1", "iad1"); err != nil || code != 201 {
		t.Fatalf("PUT: %d %s %v", code, body, err)
	}
	awaitA(t, c, "ok1.example.net.", childEdgeAddr["iad1"], 5*time.Second)
	if code, body, err := a.putName("odd", "ams9"); err != nil || code != 201 {
		t.Fatalf("PUT on ams9: %d %s %v", code, body, err)
	}
	if code, body, err := a.putName("ok2", "iad1"); err != nil || code != 201 {
		t.Fatalf("PUT: %d %s %v", code, body, err)
	}
	awaitA(t, a, "odd.example.net.", "192.0.2.99", time.Second)
	time.Sleep(2 * time.Second)
	st := c.status(t)
	if st.Revision != 1 || st.Store.Lag != 2 {
		t.Errorf("n3, whose files lack ams9: %+v, want revision 1 and a lag of 2", st)
	}
	awaitA(t, c, "ok1.example.net.", childEdgeAddr["iad1"], time.Second) // still serving
	if code, body, err := a.call("DELETE", "/v1/zones/example.net/names/odd", nil); err != nil || code != 204 {
		t.Fatalf("DELETE: %d %s %v", code, body, err)
	}
	// The next resync (10 s after the failed one) finds nothing n3 cannot serve.
	awaitA(t, c, "ok2.example.net.", childEdgeAddr["iad1"], 30*time.Second)
	awaitSameRevision(t, []*node{a, c}, 5*time.Second)
}
