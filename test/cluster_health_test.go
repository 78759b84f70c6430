package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
)

// The edges of quorumConfig: q.example.net answers q1 while it is up, else q2. n1 stands for
// the clients of vantageNet: what its own probes find down, they avoid.
const (
	vantageNet    = "81.2.0.0/16"
	vantageClient = "81.2.69.10"

	quorumEdge  = "192.0.2.50"
	quorumSpare = "192.0.2.51"
	quorumTTL   = 5 * time.Second
)

// quorumConfig is a node's config: edge q1 probed at probe (each node its own endpoint, so that
// the test decides what each node sees), q2 unprobed, and q.example.net failing over from q1 to
// q2 with a TTL of quorumTTL.
func quorumConfig(t *testing.T, probe *edgeServer) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "georoute.yaml")
	cfg := fmt.Sprintf(`
edges:
  q1:
    addresses: [%s]
    location: {lat: 50.11, lon: 8.68, country: DE}
    checks: [{type: http, url: "http://%s/healthz", interval: %s, timeout: %s, rise: %d, fall: %d}]
  q2:
    addresses: [%s]
    location: {lat: 39.04, lon: -77.49, country: US}
pools:
  qp: {policy: failover, members: [{edge: q1}, {edge: q2}], ttl: %d}
names:
  q.example.net: {pool: qp}
`, quorumEdge, probe.addr, interval, timeout, rise, fall, quorumSpare, int(quorumTTL/time.Second))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// edgeNodes is what GET /v1/edges/ID on n says of the edge's health: its state and each node's
// state, "n1=up n2=down n3=up".
func edgeNodes(t *testing.T, n *node, id string) (state, nodes string) {
	t.Helper()
	code, body, err := n.call("GET", "/v1/edges/"+id, nil)
	var e struct {
		Health struct {
			State  string `json:"state"`
			Reason string `json:"reason"`
		} `json:"health"`
		Nodes []struct {
			Node  string `json:"node"`
			State string `json:"state"`
		} `json:"nodes"`
	}
	if err != nil || code != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("%s: GET /v1/edges/%s: %d %s %v", n.name, id, code, body, err)
	}
	var words []string
	for _, o := range e.Nodes {
		words = append(words, o.Node+"="+o.State)
	}
	return e.Health.State, strings.Join(words, " ")
}

// awaitEdgeNodes waits until n's API says edge id is state with nodes' states nodes.
func awaitEdgeNodes(t *testing.T, n *node, id, state, nodes string, within time.Duration) {
	t.Helper()
	var gotState, gotNodes string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if gotState, gotNodes = edgeNodes(t, n, id); gotState == state && gotNodes == nodes {
			return
		}
	}
	t.Fatalf("%s says %s is %s (%s), want %s (%s)", n.name, id, gotState, gotNodes, state, nodes)
}

// TestClusterHealthQuorum: three nodes probe edge q1 each from its own vantage point (each its
// own endpoint, which the test fails at will). Failing for one node only, q1 stays in every
// node's answers; failing for two, it leaves every node's answers, the third's too, within the
// pool's TTL; an operator's override still wins. Route 53's GetHealthCheckStatus lists every
// live node's observation, and a node cut off from etcd past its lease drops out of it; a
// change made while a live node lags is PENDING until it has it (or has lapsed).
func TestClusterHealthQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three appliances as processes")
	}
	etcd := etcdtest.Start(t, 1)
	link := startCutter(t, etcd.Endpoints()[0])
	t.Setenv("GEOROUTE_BENCH_AWS_KEY", benchAWSKeyID)
	t.Setenv("GEOROUTE_BENCH_AWS_SECRET", benchAWSSecret)
	probes := []*edgeServer{newEdgeServer(t), newEdgeServer(t), newEdgeServer(t)}
	var nodes []*node
	var r53 []*route53.Client
	for i, name := range []string{"n1", "n2", "n3"} {
		endpoints := etcd.Endpoints()
		if name == "n3" {
			endpoints = []string{link.addr()} // cut off at the end
		}
		r53Addr := freeAddrTB(t)
		extra := "route53 " + r53Addr + "\n route53_key env:GEOROUTE_BENCH_AWS_KEY env:GEOROUTE_BENCH_AWS_SECRET"
		if name == "n1" {
			extra += "\n vantage " + vantageNet // n1's probes stand for these clients
		}
		nodes = append(nodes, startNodeConf(t, name, endpoints, "/georoute/quorum-test/", quorumConfig(t, probes[i]), "healthprobe", extra))
		r53 = append(r53, route53Client("http://"+r53Addr))
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	everywhere := func(want string, within time.Duration) time.Duration {
		t.Helper()
		var took time.Duration
		for _, n := range nodes {
			took = max(took, awaitA(t, n, "q.example.net.", want, within))
		}
		return took
	}
	everywhere(quorumEdge, 10*time.Second)
	for _, n := range nodes {
		awaitEdgeNodes(t, n, "q1", "up", "n1=up n2=up n3=up", 10*time.Second)
	}

	t.Run("down from one node: up everywhere", func(t *testing.T) {
		probes[0].status.Store(503)
		// n1 sees it down, and the others hear of it.
		awaitEdgeNodes(t, n2, "q1", "up", "n1=down n2=up n3=up", bound+slack+5*time.Second)
		awaitEdgeNodes(t, n1, "q1", "up", "n1=down n2=up n3=up", time.Second)
		for _, n := range nodes { // the nodes work out the vantages at their next look at health
			var got []string
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if got, _, _ = lookupA(n.dns, "q.example.net.", vantageClient); slices.Equal(got, []string{quorumSpare}) {
					break
				}
			}
			if !slices.Equal(got, []string{quorumSpare}) {
				t.Fatalf("%s answers a client of n1's vantage %s with %v: n1's own probes find q1 down", n.name, vantageNet, got)
			}
		}
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, n := range nodes {
				if got, _, err := lookupA(n.dns, "q.example.net.", ""); err != nil || !slices.Equal(got, []string{quorumEdge}) {
					t.Fatalf("%s answers %v (%v) with q1 down from n1 only", n.name, got, err)
				}
				if got, _, err := lookupA(n.dns, "q.example.net.", vantageClient); err != nil || !slices.Equal(got, []string{quorumSpare}) {
					t.Fatalf("%s answers a client of n1's vantage %s with %v (%v): n1's own probes find q1 down", n.name, vantageNet, got, err)
				}
				if got, _, err := lookupA(n.dns, "q.example.net.", "82.0.0.1"); err != nil || !slices.Equal(got, []string{quorumEdge}) {
					t.Fatalf("%s answers a client outside n1's vantage with %v (%v)", n.name, got, err)
				}
			}
		}
	})

	t.Run("down from two nodes: down everywhere within the TTL", func(t *testing.T) {
		probes[1].status.Store(503)
		took := everywhere(quorumSpare, 2*quorumTTL)
		t.Logf("q1 failing for n1 and n2: every node answers q2 after %s (detection bound %s, TTL %s)", took.Round(time.Millisecond), bound, quorumTTL)
		if took > quorumTTL {
			t.Errorf("the answers changed everywhere after %s, beyond the TTL of %s", took, quorumTTL)
		}
		awaitEdgeNodes(t, n3, "q1", "down", "n1=down n2=down n3=up", time.Second)
		if took < interval {
			t.Errorf("down after %s: before two failures %s apart could be seen", took, interval)
		}
	})

	t.Run("an override wins", func(t *testing.T) {
		if code, body, err := n3.call("PUT", "/v1/edges/q1/override", []byte(`{"state": "up"}`)); err != nil || code != 200 {
			t.Fatalf("override: %d %s %v", code, body, err)
		}
		everywhere(quorumEdge, 5*time.Second)
		if code, body, err := n3.call("PUT", "/v1/edges/q1/override", []byte(`{"state": "auto"}`)); err != nil || code != 200 {
			t.Fatalf("override: %d %s %v", code, body, err)
		}
		everywhere(quorumSpare, 5*time.Second)
	})

	t.Run("back", func(t *testing.T) {
		probes[0].status.Store(0)
		probes[1].status.Store(0)
		took := everywhere(quorumEdge, 2*quorumTTL)
		t.Logf("q1 back: every node answers it after %s (rise × interval %s)", took.Round(time.Millisecond), rise*interval)
	})

	ctx := context.Background()
	ep := newEdgeServer(t)
	t.Run("Route 53 health check status from every node", func(t *testing.T) {
		host, port := splitHostPortInt(t, ep.addr)
		hc, err := r53[0].CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("quorum-1"),
			HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String(host), Port: aws.Int32(port),
				ResourcePath: aws.String("/healthz"), RequestInterval: aws.Int32(10), FailureThreshold: aws.Int32(1)}})
		if err != nil {
			t.Fatal(err)
		}
		awaitObservations(t, r53[1], *hc.HealthCheck.Id, "n1 n2 n3", "Success: HTTP Status Code 200, OK", 15*time.Second)
	})

	t.Run("a change is PENDING until every live node has it", func(t *testing.T) {
		zone, err := r53[0].CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("quorum.example.org"), CallerReference: aws.String("quorum-zone")})
		if err != nil {
			t.Fatal(err)
		}
		awaitInsync(t, r53[0], zone.ChangeInfo, 5*time.Second)
		link.cut()
		change, err := r53[0].ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id,
			ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionCreate, ResourceRecordSet: &types.ResourceRecordSet{
				Name: aws.String("www.quorum.example.org"), Type: types.RRTypeA, TTL: aws.Int64(60),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String("192.0.2.60")}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if change.ChangeInfo.Status != types.ChangeStatusPending {
			t.Errorf("ChangeResourceRecordSets with n3 cut off but live: %s", change.ChangeInfo.Status)
		}
		got, err := r53[1].GetChange(ctx, &route53.GetChangeInput{Id: change.ChangeInfo.Id})
		if err != nil || got.ChangeInfo.Status != types.ChangeStatusPending {
			t.Errorf("GetChange on n2 with n3 cut off but live: %+v %v", got, err)
		}
		// n3's lease lapses: it is no longer live, nor are its observations.
		took := awaitInsync(t, r53[0], change.ChangeInfo, 20*time.Second)
		t.Logf("INSYNC %s after n3 was cut off (its presence lease: 10 s)", took.Round(time.Millisecond))
		hcs, err := r53[0].ListHealthChecks(ctx, &route53.ListHealthChecksInput{})
		if err != nil || len(hcs.HealthChecks) != 1 {
			t.Fatalf("ListHealthChecks: %+v %v", hcs, err)
		}
		awaitObservations(t, r53[0], *hcs.HealthChecks[0].Id, "n1 n2", "Success: HTTP Status Code 200, OK", 5*time.Second)
		awaitEdgeNodes(t, n1, "q1", "up", "n1=up n2=up", 5*time.Second)

		link.heal()
		awaitObservations(t, r53[0], *hcs.HealthChecks[0].Id, "n1 n2 n3", "Success: HTTP Status Code 200, OK", 20*time.Second)
		awaitEdgeNodes(t, n1, "q1", "up", "n1=up n2=up n3=up", 5*time.Second)
	})
}

// awaitObservations waits until GetHealthCheckStatus of health check id lists one observation
// of each of nodes ("n1 n2 n3"), each with status and an address.
func awaitObservations(t *testing.T, c *route53.Client, id, nodes, status string, within time.Duration) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := c.GetHealthCheckStatus(context.Background(), &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String(id)})
		var missing *types.NoSuchHealthCheck
		if errors.As(err, &missing) {
			continue // created on another node, not applied on this one yet
		}
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		var regions []string
		ok := true
		for _, o := range out.HealthCheckObservations {
			regions = append(regions, string(o.Region))
			got = append(got, fmt.Sprintf("%s %s %s", o.Region, aws.ToString(o.IPAddress), aws.ToString(o.StatusReport.Status)))
			ok = ok && aws.ToString(o.StatusReport.Status) == status && aws.ToString(o.IPAddress) != ""
		}
		if ok && strings.Join(regions, " ") == nodes {
			return
		}
	}
	t.Fatalf("GetHealthCheckStatus %s: %q, want one of each of %s saying %q", id, got, nodes, status)
}

// awaitInsync waits until GetChange says change is INSYNC and returns how long that took.
func awaitInsync(t *testing.T, c *route53.Client, change *types.ChangeInfo, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		got, err := c.GetChange(context.Background(), &route53.GetChangeInput{Id: change.Id})
		if err != nil {
			t.Fatal(err)
		}
		if got.ChangeInfo.Status == types.ChangeStatusInsync {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("change %s is not INSYNC after %s", aws.ToString(change.Id), within)
	return 0
}

// splitHostPortInt splits addr into its host and port number.
func splitHostPortInt(t *testing.T, addr string) (string, int32) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		t.Fatalf("%q is not host:port", addr)
	}
	return host, int32(n)
}
