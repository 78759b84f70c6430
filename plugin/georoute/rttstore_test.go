package georoute

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// rttShown is what GET /v1/rtt shows of a client's measured edges: edge -> [rtt_ms, samples].
func rttShown(s *apiServer, client string) map[string][2]float64 {
	out := s.expect("GET", "/v1/rtt?client="+client, readToken, nil, 200, "", "")
	got := map[string][2]float64{}
	for _, e := range out["edges"].([]any) {
		e := e.(map[string]any)
		if m, ok := e["measured"].(map[string]any); ok {
			got[e["edge"].(string)] = [2]float64{m["rtt_ms"].(float64), m["samples"].(float64)}
		}
	}
	return got
}

func rttKeys(t *testing.T, path string) (keys []string) {
	t.Helper()
	db, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Load(store.RTT, func(k string, _ []byte) error { keys = append(keys, k); return nil })
	return keys
}

// TestRTTSegments: reports are kept as a few segments that later writes supersede and delete;
// what was reported is there, value for value, after a restart; a store written before segments
// (one key a measurement) is read and its keys go as the segments take over.
func TestRTTSegments(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "georoute.db")
	db, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := rtt.ParseClient("81.2.69.0/24")
	old := rtt.Measurement{Client: legacy, Edge: "nrt1", Millis: 1, Count: 7, Updated: time.Now()}
	if err := db.Commit([]store.Op{{Kind: store.RTT, Key: "81.2.69.0/24|nrt1", Value: encodeMeasurement(old)}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := startAPI(t, dir)
	if got := rttShown(s, "81.2.69.142"); got["nrt1"] != [2]float64{1, 7} {
		t.Fatalf("the measurement stored alone reads %v, want nrt1 1 ms, 7 samples", got)
	}
	edges := []string{"fra1", "iad1", "gru1", "sin1", "nrt1", "syd1"}
	const posts, nets = 30, 600
	for p := range posts {
		var batch []any
		for i := range nets {
			batch = append(batch, map[string]any{"client": fmt.Sprintf("10.%d.%d.0/24", i/256, i%256), "edge": edges[(p+i)%len(edges)], "rtt_ms": 10 + p + i%50})
		}
		s.expect("POST", "/v1/rtt", writeToken, batch, 202, "", "")
	}
	clients := []string{"10.0.0.1", "10.0.77.1", "10.1.88.1", "10.2.87.1", "81.2.69.142"}
	want := map[string]map[string][2]float64{}
	for _, c := range clients {
		want[c] = rttShown(s, c)
		if len(want[c]) == 0 {
			t.Fatalf("%s: nothing measured after the reports", c)
		}
	}
	stopServers(t)

	keys := rttKeys(t, path)
	if len(keys) >= posts || len(keys) == 0 {
		t.Errorf("%d RTT keys after %d reports: superseded segments are not deleted", len(keys), posts)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "~") {
			t.Errorf("key %q of a measurement stored alone is still there", k)
		}
	}
	s = startAPI(t, dir)
	for _, c := range clients {
		if got := rttShown(s, c); fmt.Sprint(got) != fmt.Sprint(want[c]) {
			t.Errorf("%s after restart: %v, before %v", c, got, want[c])
		}
	}
}
