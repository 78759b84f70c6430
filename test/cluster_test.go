package test

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
	"github.com/miekg/dns"
)

// node is an appliance of a cluster: its own process, its store the cluster's etcd.
type node struct {
	*child
	name string
}

// nodeStatus is what GET /v1/status says.
type nodeStatus struct {
	Revision int64 `json:"revision"`
	Store    struct {
		Kind      string `json:"kind"`
		Reachable bool   `json:"reachable"`
		Error     string `json:"error"`
		Revision  int64  `json:"revision"`
		Lag       int64  `json:"lag"`
		Node      string `json:"node"`
		Nodes     []struct {
			Name    string `json:"name"`
			Applied int64  `json:"applied_revision"`
		} `json:"nodes"`
	} `json:"store"`
}

// startNode starts an appliance named name on the etcd at endpoints, under prefix, with extra
// lines in its georoute block.
func startNode(t testing.TB, name string, endpoints []string, prefix, extra string) *node {
	t.Helper()
	return startNodeConf(t, name, endpoints, prefix, "../georoute.yaml", "", extra)
}

// startNodeConf is startNode with the config file config and the lines plugins in the server
// block (healthprobe).
func startNodeConf(t testing.TB, name string, endpoints []string, prefix, config, plugins, extra string) *node {
	t.Helper()
	c := onFreePorts(t, freeAddrTB(t), freeUDP(t), func(apiAddr, dnsAddr string) (*child, error) {
		_, port, _ := net.SplitHostPort(dnsAddr)
		return spawnChild(t, fmt.Sprintf(`.:%s {
			bind 127.0.0.1
			%s
			georoute {
				zones ../zones
				config %s
				store etcd://%s
				store_prefix %s
				store_node %s
				api %s
				api_token env:GEOROUTE_API_TOKEN write
				reload 0
				%s
			}
		}`, port, plugins, config, strings.Join(endpoints, ","), prefix, name, apiAddr, extra), apiAddr, dnsAddr)
	})
	return &node{child: c, name: name}
}

// startNodes starts n1, n2 and n3 on the etcd at endpoints, under prefix.
func startNodes(t testing.TB, endpoints []string, prefix string) []*node {
	var nodes []*node
	for _, name := range []string{"n1", "n2", "n3"} {
		nodes = append(nodes, startNode(t, name, endpoints, prefix, ""))
	}
	return nodes
}

func (n *node) status(t testing.TB) nodeStatus {
	t.Helper()
	code, body, err := n.call("GET", "/v1/status", nil)
	var s nodeStatus
	if err != nil || code != 200 || json.Unmarshal(body, &s) != nil {
		t.Fatalf("%s: GET /v1/status: %d %s %v", n.name, code, body, err)
	}
	return s
}

// putName pins name (relative to example.net) to edge on n.
func (n *node) putName(name, edge string) (int, []byte, error) {
	return n.call("PUT", "/v1/zones/example.net/names/"+name, []byte(fmt.Sprintf(`{"edge":%q,"ttl":10}`, edge)))
}

// awaitA waits until n answers name with want (an address, or "" for NXDOMAIN), and returns
// how long that took.
func awaitA(t testing.TB, n *node, name, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var got []string
	var rcode int
	for time.Since(start) < within {
		var err error
		got, rcode, err = lookupA(n.dns, name, "")
		if err == nil && (want == "" && rcode == dns.RcodeNameError || want != "" && slices.Equal(got, []string{want})) {
			return time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s answers %s with %v (%s) after %s, want %q", n.name, name, got, dns.RcodeToString[rcode], within, want)
	return 0
}

// digA is what dig says name's A records are on n.
func digA(t testing.TB, n *node, name string) []string {
	t.Helper()
	host, port, _ := net.SplitHostPort(n.dns)
	out, err := exec.Command("dig", "@"+host, "-p", port, "+short", "+tries=1", "+time=2", name, "A").Output()
	if err != nil {
		t.Fatalf("dig on %s: %v", n.name, err)
	}
	return strings.Fields(string(out))
}

// TestCluster runs three appliances on one real etcd: a write to one is answered by the others;
// an RTT report to one changes the answers of all; a batch is seen whole; conflicting writes to two at once: one wins, the other gets 409, all
// agree; with etcd stopped DNS goes on and writes get 503, status says why; with etcd back
// writes resume and every node catches up.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three appliances as processes")
	}
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("needs dig (Debian bind9-dnsutils)")
	}
	etcd := etcdtest.Start(t, 1)
	nodes := startNodes(t, etcd.Endpoints(), "/georoute/cluster-test/")
	a, b, c := nodes[0], nodes[1], nodes[2]

	t.Run("a write to one is answered by the others", func(t *testing.T) {
		if code, body, err := a.putName("tun1", "iad1"); err != nil || code != 201 {
			t.Fatalf("PUT on %s: %d %s %v", a.name, code, body, err)
		}
		for _, n := range []*node{b, c} {
			awaitA(t, n, "tun1.example.net.", childEdgeAddr["iad1"], 5*time.Second)
		}
		if got := digA(t, c, "tun1.example.net."); !slices.Equal(got, []string{childEdgeAddr["iad1"]}) {
			t.Errorf("dig on %s: %v", c.name, got)
		}
		if code, body, err := b.call("DELETE", "/v1/zones/example.net/names/tun1", nil); err != nil || code != 204 {
			t.Fatalf("DELETE on %s: %d %s %v", b.name, code, body, err)
		}
		for _, n := range []*node{a, c} {
			awaitA(t, n, "tun1.example.net.", "", 5*time.Second)
		}
	})

	t.Run("an RTT report to one reaches every matrix", func(t *testing.T) {
		if code, body, err := a.call("POST", "/v1/rtt", []byte(`[{"client": "81.2.69.0/24", "edge": "sin1", "rtt_ms": 1}]`)); err != nil || code != 202 {
			t.Fatalf("POST /v1/rtt on %s: %d %s %v", a.name, code, body, err)
		}
		for _, n := range []*node{b, c} {
			var got []string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if got, _, _ = lookupA(n.dns, "www.example.net.", "81.2.69.10"); slices.Equal(got, []string{childEdgeAddr["sin1"]}) {
					break
				}
			}
			if !slices.Equal(got, []string{childEdgeAddr["sin1"]}) {
				t.Errorf("%s answers www.example.net for 81.2.69.0/24 with %v, want sin1 (measured 1 ms on %s)", n.name, got, a.name)
			}
		}
	})

	t.Run("failure and load reports to one change every node's answers", func(t *testing.T) {
		// The nodes have no GeoIP database: 81.2.69.0/24 goes to sin1 for the 1 ms measured above.
		london, sin1, fra1 := "81.2.69.10", childEdgeAddr["sin1"], childEdgeAddr["fra1"]
		calls := []struct{ method, path, body string }{
			{"PUT", "/v1/pools/busy", `{"policy": "latency", "edges": ["fra1", "sin1"], "load": {"shed_at": 0.7, "full_at": 0.95}}`},
			{"PUT", "/v1/zones/example.net/names/busy", `{"pool": "busy"}`},
		}
		for _, c := range calls {
			if code, body, err := a.call(c.method, c.path, []byte(c.body)); err != nil || code/100 != 2 {
				t.Fatalf("%s %s on %s: %d %s %v", c.method, c.path, a.name, code, body, err)
			}
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got, _, _ := lookupA(c.dns, "busy.example.net.", london); slices.Equal(got, []string{sin1}) {
				break // the name has reached the other nodes
			}
		}
		for _, n := range []*node{b, c} {
			for _, name := range []string{"www.example.net.", "busy.example.net."} {
				if got, _, _ := lookupA(n.dns, name, london); !slices.Equal(got, []string{sin1}) {
					t.Fatalf("%s answers %s for London %v before any report, want sin1", n.name, name, got)
				}
			}
		}
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v1/rtt", `[{"client": "81.2.69.0/24", "edge": "sin1", "failed": true}]`},
			{"POST", "/v1/rtt", `[{"client": "81.2.69.0/24", "edge": "sin1", "loss": 1}]`}, // fall: two failures
		} {
			if code, body, err := a.call(c.method, c.path, []byte(c.body)); err != nil || code != 202 {
				t.Fatalf("%s %s on %s: %d %s %v", c.method, c.path, a.name, code, body, err)
			}
		}
		for _, n := range []*node{b, c} {
			var got []string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if got, _, _ = lookupA(n.dns, "www.example.net.", london); len(got) == 1 && got[0] != sin1 {
					break
				}
			}
			if len(got) != 1 || got[0] == sin1 {
				t.Errorf("%s answers London %v: its network reported sin1 unreachable on %s", n.name, got, a.name)
			}
		}
		// Reachable again (two successes), but full: the pool with watermarks sends London to fra1.
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v1/rtt", `[{"client": "81.2.69.0/24", "edge": "sin1", "rtt_ms": 1}]`},
			{"POST", "/v1/rtt", `[{"client": "81.2.69.0/24", "edge": "sin1", "failed": false}]`},
			{"PUT", "/v1/edges/sin1/load", `{"utilisation": 1}`},
		} {
			if code, body, err := a.call(c.method, c.path, []byte(c.body)); err != nil || code/100 != 2 {
				t.Fatalf("%s %s on %s: %d %s %v", c.method, c.path, a.name, code, body, err)
			}
		}
		for _, n := range []*node{b, c} {
			var www, busy []string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				www, _, _ = lookupA(n.dns, "www.example.net.", london)
				if busy, _, _ = lookupA(n.dns, "busy.example.net.", london); slices.Equal(www, []string{sin1}) && slices.Equal(busy, []string{fra1}) {
					break
				}
			}
			if !slices.Equal(www, []string{sin1}) || !slices.Equal(busy, []string{fra1}) {
				t.Errorf("%s answers London www %v (want sin1, reachable again) and busy %v (want fra1: sin1 reported full on %s)", n.name, www, busy, a.name)
			}
		}
	})

	t.Run("a batch is seen whole", func(t *testing.T) {
		var put []string
		for i := range 50 {
			put = append(put, fmt.Sprintf(`"b%d": {"edge": "sin1", "ttl": 10}`, i))
		}
		if code, body, err := a.call("POST", "/v1/zones/example.net/batch", []byte(`{"put": {`+strings.Join(put, ",")+`}}`)); err != nil || code != 200 {
			t.Fatalf("batch on %s: %d %s %v", a.name, code, body, err)
		}
		for _, n := range []*node{b, c} {
			awaitA(t, n, "b0.example.net.", childEdgeAddr["sin1"], 5*time.Second)
			for i := range 50 {
				if got, _, err := lookupA(n.dns, fmt.Sprintf("b%d.example.net.", i), ""); err != nil || !slices.Equal(got, []string{childEdgeAddr["sin1"]}) {
					t.Errorf("%s answers b%d with %v (%v) once it answers b0", n.name, i, got, err)
				}
			}
		}
	})

	t.Run("conflicting writes at once", func(t *testing.T) {
		conflicts := 0
		for round := range 20 {
			name := fmt.Sprintf("race%d", round)
			var wg sync.WaitGroup
			codes := make([]int, 2)
			bodies := make([][]byte, 2)
			start := make(chan struct{})
			for i, w := range []struct {
				n    *node
				edge string
			}{{a, "iad1"}, {b, "fra1"}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					codes[i], bodies[i], _ = w.n.putName(name, w.edge)
				}()
			}
			close(start)
			wg.Wait()
			var want string
			switch {
			case codes[0] == 201 && codes[1] == 409:
				want = childEdgeAddr["iad1"]
			case codes[0] == 409 && codes[1] == 201:
				want = childEdgeAddr["fra1"]
			case (codes[0] == 200 || codes[0] == 201) && (codes[1] == 200 || codes[1] == 201):
				// One after the other: the second replaced the first. Whichever: all nodes agree.
			default:
				t.Fatalf("round %d: %d %s and %d %s", round, codes[0], bodies[0], codes[1], bodies[1])
			}
			if codes[0] == 409 || codes[1] == 409 {
				conflicts++
				if code := apiErrorCode(bodies[slices.Index(codes, 409)]); code != "conflict" {
					t.Errorf("round %d: the conflict's code is %q", round, code)
				}
			}
			if want == "" {
				got, _, _ := lookupA(a.dns, name+".example.net.", "")
				if len(got) == 1 {
					want = got[0]
				}
			}
			for _, n := range nodes {
				awaitA(t, n, name+".example.net.", want, 5*time.Second)
			}
		}
		t.Logf("%d of 20 rounds conflicted", conflicts)
		if conflicts == 0 {
			t.Error("20 rounds of writes to two nodes at once and never a conflict")
		}
		// Every node is at the same revision, and each sees the three live.
		awaitSameRevision(t, nodes, 5*time.Second)
		for _, n := range nodes {
			// Presence is announced every few seconds on a lease: on a loaded machine a node
			// may miss another for a moment; it must see all three within the lease.
			var live []string
			var st nodeStatus
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				st, live = n.status(t), nil
				for _, o := range st.Store.Nodes {
					live = append(live, o.Name)
				}
				if strings.Join(live, " ") == "n1 n2 n3" || time.Now().After(deadline) {
					break
				}
			}
			if st.Store.Node != n.name || strings.Join(live, " ") != "n1 n2 n3" {
				t.Errorf("%s's status: node %q, live %v", n.name, st.Store.Node, live)
			}
		}
	})

	t.Run("etcd stopped, then back", func(t *testing.T) {
		etcd.Stop(0)
		for _, n := range nodes {
			if got := digA(t, n, "b1.example.net."); !slices.Equal(got, []string{childEdgeAddr["sin1"]}) {
				t.Errorf("%s with etcd stopped answers %v", n.name, got)
			}
		}
		code, body, err := a.putName("down1", "iad1")
		if err != nil || code != 503 || !strings.Contains(string(body), "store unavailable") {
			t.Errorf("a write with etcd stopped: %d %s %v", code, body, err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for st := a.status(t); st.Store.Reachable; st = a.status(t) {
			if time.Now().After(deadline) {
				t.Fatalf("status with etcd stopped: %+v", st)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st := a.status(t); st.Store.Error == "" || st.Store.Kind != "etcd" {
			t.Errorf("status with etcd stopped: %+v", st)
		}
		if code, body, _ := b.putName("down2", "iad1"); code != 503 || !strings.Contains(string(body), "store unavailable") {
			t.Errorf("a write to %s with etcd stopped: %d %s", b.name, code, body)
		}
		// A node that has not read the store does not start.
		apiAddr, dnsAddr := freeAddrTB(t), freeUDP(t)
		_, port, _ := net.SplitHostPort(dnsAddr)
		_, err = spawnChild(t, fmt.Sprintf(".:%s {\n bind 127.0.0.1\n georoute {\n zones ../zones\n store etcd://%s\n api %s\n api_token env:GEOROUTE_API_TOKEN write\n }\n}",
			port, etcd.Endpoints()[0], apiAddr), apiAddr, dnsAddr)
		if err == nil || !strings.Contains(err.Error(), "a node starts once it has read the store, and etcd does not answer") {
			t.Errorf("a node started with etcd stopped: %v", err)
		}

		etcd.Restart(0)
		deadline = time.Now().Add(30 * time.Second)
		for {
			code, body, err := b.putName("up1", "iad1")
			if code == 201 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("writes do not resume with etcd back: %d %s %v", code, body, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, n := range nodes {
			awaitA(t, n, "up1.example.net.", childEdgeAddr["iad1"], 10*time.Second)
		}
		awaitSameRevision(t, nodes, 10*time.Second)
		for _, n := range nodes {
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				st := n.status(t)
				if st.Store.Reachable && st.Store.Lag == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s's status with etcd back: %+v", n.name, st)
				}
			}
		}
	})
}

// awaitSameRevision waits until every node serves the same revision.
func awaitSameRevision(t testing.TB, nodes []*node, within time.Duration) {
	t.Helper()
	var revs []int64
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		revs = revs[:0]
		for _, n := range nodes {
			revs = append(revs, n.status(t).Revision)
		}
		if slices.Min(revs) == slices.Max(revs) {
			return
		}
	}
	t.Fatalf("the nodes serve revisions %v", revs)
}
