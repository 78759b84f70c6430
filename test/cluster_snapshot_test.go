package test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
)

// snapshotState is what GET /v1/status says of a node's snapshot.
type snapshotState struct {
	Revision  int64 `json:"revision"`
	Reachable bool
	Snapshot  *struct {
		File        string `json:"file"`
		Revision    int64  `json:"revision"`
		Written     string `json:"written"`
		StartedFrom string `json:"started_from"`
	}
}

func snapshotOf(t *testing.T, n *node) snapshotState {
	t.Helper()
	code, body, err := n.call("GET", "/v1/status", nil)
	var st struct {
		Revision int64 `json:"revision"`
		Store    struct {
			Reachable bool `json:"reachable"`
			Snapshot  json.RawMessage
		} `json:"store"`
	}
	if err != nil || code != 200 || json.Unmarshal(body, &st) != nil {
		t.Fatalf("%s: GET /v1/status: %d %s %v", n.name, code, body, err)
	}
	s := snapshotState{Revision: st.Revision, Reachable: st.Store.Reachable}
	if len(st.Store.Snapshot) > 0 {
		json.Unmarshal(st.Store.Snapshot, &s.Snapshot)
	}
	return s
}

// TestClusterSnapshot: a node with store_snapshot keeps the state it follows on disk, within
// seconds and at shutdown; started while etcd is down, it serves that state, refuses writes and
// says so; with etcd back it catches up, past a compaction too. A node whose snapshot holds
// nothing does not start while etcd is down.
func TestClusterSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and appliances as processes")
	}
	etcd := etcdtest.Start(t, 1)
	const prefix = "/georoute/snapshot-test/"
	dir := t.TempDir()
	keep := fmt.Sprintf("store_max_changes 5\n store_snapshot %s", filepath.Join(dir, "n1.snapshot"))
	n1 := startNode(t, "n1", etcd.Endpoints(), prefix, keep)
	n2 := startNode(t, "n2", etcd.Endpoints(), prefix, "store_max_changes 5")

	for i := range 20 {
		if code, body, err := n1.putName(fmt.Sprintf("s%d", i), "iad1"); err != nil || code != 201 {
			t.Fatalf("PUT s%d: %d %s %v", i, code, body, err)
		}
	}
	// Within a few seconds the snapshot holds what the node serves.
	start := time.Now()
	for st := snapshotOf(t, n1); st.Snapshot == nil || st.Snapshot.Revision != st.Revision; st = snapshotOf(t, n1) {
		if time.Since(start) > 15*time.Second {
			t.Fatalf("the snapshot is not brought forward: %+v %+v", st, st.Snapshot)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the snapshot held revision %d %s after the last write", snapshotOf(t, n1).Revision, time.Since(start).Round(time.Millisecond))

	// A write the node applies just before it stops is in the snapshot: it is written at shutdown.
	if code, body, err := n2.putName("last", "fra1"); err != nil || code != 201 {
		t.Fatalf("PUT last: %d %s %v", code, body, err)
	}
	awaitA(t, n1, "last.example.net.", childEdgeAddr["fra1"], 5*time.Second)
	n1.cmd.Process.Signal(syscall.SIGTERM)
	<-n1.exited

	// Meanwhile the others write more than the change log keeps, and etcd compacts.
	for i := range 8 {
		if code, body, err := n2.putName(fmt.Sprintf("while%d", i), "sin1"); err != nil || code != 201 {
			t.Fatalf("PUT while%d: %d %s %v", i, code, body, err)
		}
	}
	if err := etcd.Compact(); err != nil {
		t.Fatal(err)
	}
	etcd.Stop(0)

	// Without a snapshot that holds anything, a node does not start.
	apiAddr, dnsAddr := freeAddrTB(t), freeUDP(t)
	_, port, _ := strings.Cut(dnsAddr, ":")
	_, err := spawnChild(t, fmt.Sprintf(".:%s {\n bind 127.0.0.1\n georoute {\n zones ../zones\n store etcd://%s\n store_prefix %s\n store_snapshot %s\n api %s\n api_token env:GEOROUTE_API_TOKEN write\n }\n}",
		port, etcd.Endpoints()[0], prefix, filepath.Join(dir, "empty.snapshot"), apiAddr), apiAddr, dnsAddr)
	if err == nil || !strings.Contains(err.Error(), "holds nothing yet") {
		t.Errorf("a node with an empty snapshot started with etcd stopped: %v", err)
	}

	// With its snapshot, n1 starts: it serves what it had, and refuses writes.
	n1 = startNode(t, "n1", etcd.Endpoints(), prefix, keep)
	for _, name := range []string{"s0", "s19"} {
		awaitA(t, n1, name+".example.net.", childEdgeAddr["iad1"], time.Second)
	}
	awaitA(t, n1, "last.example.net.", childEdgeAddr["fra1"], time.Second)
	awaitA(t, n1, "while0.example.net.", "", time.Second) // written while it was down
	if code, body, _ := n1.putName("refused", "iad1"); code != 503 || !strings.Contains(string(body), "store unavailable") {
		t.Errorf("a write to a node serving its snapshot: %d %s", code, body)
	}
	st := snapshotOf(t, n1)
	if st.Reachable || st.Snapshot == nil || !strings.Contains(st.Snapshot.StartedFrom, fmt.Sprintf("revision %d", st.Revision)) {
		t.Errorf("status of a node serving its snapshot: %+v %+v", st, st.Snapshot)
	}

	// etcd is back: n1 reads the store whole (the log no longer holds what it missed), and
	// takes writes again; its snapshot follows.
	etcd.Restart(0)
	for i := range 8 {
		awaitA(t, n1, fmt.Sprintf("while%d.example.net.", i), childEdgeAddr["sin1"], 30*time.Second)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body, _ := n1.putName("after", "fra1")
		if code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes do not resume on n1: %d %s", code, body)
		}
	}
	awaitA(t, n2, "after.example.net.", childEdgeAddr["fra1"], 5*time.Second)
	awaitSameRevision(t, []*node{n1, n2}, 10*time.Second)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := snapshotOf(t, n1)
		if st.Reachable && st.Snapshot != nil && st.Snapshot.Revision == st.Revision {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1's snapshot with etcd back: %+v %+v", st, st.Snapshot)
		}
	}
}

// TestClusterFailedReload: a Corefile reload that fails while etcd is down leaves the node
// serving what it has, with its API up (writes 503), and writing again once etcd is back.
func TestClusterFailedReload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	etcd := etcdtest.Start(t, 1)
	t.Setenv("GEOROUTE_API_TOKEN", durableToken)
	apiAddr := freeAddrTB(t)
	corefile := func(extra string) caddy.Input {
		return caddy.CaddyfileInput{ServerTypeName: "dns", Filepath: "Corefile", Contents: []byte(fmt.Sprintf(`.:0 {
			bind 127.0.0.1
			georoute {
				zones ../zones
				config ../georoute.yaml
				store etcd://%s
				store_prefix /georoute/reload-test/
				api %s
				api_token env:GEOROUTE_API_TOKEN write
				reload 0
				%s
			}
		}`, etcd.Endpoints()[0], apiAddr, extra))}
	}
	mu.Lock()
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(corefile(""))
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })
	n := &node{child: &child{api: "http://" + apiAddr, dns: inst.Servers()[0].LocalAddr().String()}, name: "n1"}
	if code, body, err := n.putName("before", "iad1"); err != nil || code != 201 {
		t.Fatalf("PUT: %d %s %v", code, body, err)
	}

	etcd.Stop(0)
	mu.Lock()
	_, err = inst.Restart(corefile("no_such_property"))
	mu.Unlock()
	if err == nil {
		t.Fatal("a reload with an unknown property succeeded")
	}
	awaitA(t, n, "before.example.net.", childEdgeAddr["iad1"], time.Second)
	if code, body, err := n.putName("during", "iad1"); err != nil || code != 503 || !strings.Contains(string(body), "store unavailable") {
		t.Errorf("a write after the failed reload, etcd down: %d %s %v", code, body, err)
	}
	etcd.Restart(0)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body, _ := n.putName("after", "fra1")
		if code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes do not resume: %d %s", code, body)
		}
	}
	awaitA(t, n, "after.example.net.", childEdgeAddr["fra1"], time.Second)
}
