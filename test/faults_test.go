package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/miekg/dns"
)

// The edges of the root georoute.yaml the child serves, by address.
var childEdgeAddr = map[string]string{"fra1": "192.0.2.10", "iad1": "198.51.100.10", "sin1": "203.0.113.20"}

// call is request that also returns the body.
func (c *child) call(method, path string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest(method, c.api+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+durableToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// apiErrorCode is the code of a JSON error answer, "" when the body is not one.
func apiErrorCode(body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// lookupA asks server for name's A records as a client in the /24 of client (ECS) would, or with
// no ECS when client is "".
func lookupA(server, name, client string) (addrs []string, rcode int, err error) {
	m := new(dns.Msg).SetQuestion(name, dns.TypeA)
	if client != "" {
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP(client).To4()}}
	}
	r, err := dns.Exchange(m, server)
	if err != nil {
		return nil, 0, err
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addrs = append(addrs, a.A.String())
		}
	}
	return addrs, r.Rcode, nil
}

// TestFaultStoreDiskFull runs the appliance with its store on a small tmpfs, fills it, and checks
// that writes then fail with a clear 5xx and apply nothing, that reads and DNS go on, that writes
// succeed again once space is freed, and that every acknowledged write survives a crash.
func TestFaultStoreDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the appliance as a process")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	c := startChild(t, dir, freeAddr(t, "tcp"), freeAddr(t, "udp"))

	// Fill the tmpfs, then give back 256 KiB: the store runs out after a few hundred writes.
	filler := filepath.Join(dir, "filler")
	fh, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	var size int64
	for {
		n, err := fh.Write(chunk)
		size += int64(n)
		if err != nil {
			break
		}
	}
	if err := fh.Truncate(max(0, size-256<<10)); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	acked := map[string]string{} // name -> edge
	edges := []string{"fra1", "iad1", "sin1"}
	batch := func(b int) (names []string, body []byte) {
		put := map[string]any{}
		for i := 0; i < 20; i++ {
			name := fmt.Sprintf("disk-full-batch-%04d-name-%02d-padding-padding.f.example.net.", b, i)
			names = append(names, name)
			put[name] = map[string]string{"edge": edges[(b+i)%len(edges)]}
		}
		body, _ = json.Marshal(map[string]any{"put": put})
		return names, body
	}
	var failedNames []string
	var failStatus int
	var failBody []byte
	start := time.Now()
	b := 0
	for ; b < 5000 && time.Since(start) < 10*time.Second; b++ {
		names, body := batch(b)
		st, resp, err := c.call("POST", "/v1/zones/example.net/batch", body)
		if err != nil {
			t.Fatalf("batch %d: %v (a hang or a dropped connection, not a clear error)", b, err)
		}
		if st/100 == 2 {
			for i, n := range names {
				acked[n] = edges[(b+i)%len(edges)]
			}
			continue
		}
		failedNames, failStatus, failBody = names, st, resp
		break
	}
	if failedNames == nil {
		t.Fatalf("%d batches (%d names) all succeeded on a full disk", b, len(acked))
	}
	t.Logf("the store filled after %d batches (%d names): %d %s", b, len(acked), failStatus, failBody)
	if failStatus != http.StatusServiceUnavailable && failStatus != http.StatusInsufficientStorage {
		t.Errorf("a write on a full disk answered %d %s, want 503 or 507", failStatus, failBody)
	}
	if apiErrorCode(failBody) == "" {
		t.Errorf("a write on a full disk answered %q, not a JSON error", failBody)
	}

	// Nothing of the failed batch is applied, by the API or in DNS.
	for _, n := range failedNames {
		if st, _, err := c.call("GET", "/v1/zones/example.net/names/"+n, nil); err != nil || st != 404 {
			t.Errorf("%s of the failed batch: GET %d %v, want 404", n, st, err)
		}
		if addrs, _, err := lookupA(c.dns, n, ""); err != nil || len(addrs) != 0 {
			t.Errorf("%s of the failed batch: DNS %v %v, want no address", n, addrs, err)
		}
	}
	// Single writes fail too, and cleanly; reads and DNS go on.
	for i := 0; i < 5; i++ {
		n := fmt.Sprintf("disk-full-single-%d.f.example.net.", i)
		st, resp, err := c.call("PUT", "/v1/zones/example.net/names/"+n, []byte(`{"edge":"fra1"}`))
		if err != nil {
			t.Fatalf("PUT on a full disk: %v", err)
		}
		if st/100 == 2 {
			acked[n] = "fra1" // space may have freed up within the store's file
			continue
		}
		if st/100 != 5 || apiErrorCode(resp) == "" {
			t.Errorf("PUT on a full disk: %d %s, want a 5xx JSON error", st, resp)
		}
	}
	checked := 0
	for n, e := range acked {
		if checked++; checked > 50 {
			break
		}
		if st, _, err := c.call("GET", "/v1/zones/example.net/names/"+n, nil); err != nil || st != 200 {
			t.Errorf("reading %s on a full disk: %d %v", n, st, err)
		}
		if addrs, _, err := lookupA(c.dns, n, ""); err != nil || len(addrs) != 1 || addrs[0] != childEdgeAddr[e] {
			t.Errorf("%s in DNS on a full disk: %v %v, want %s", n, addrs, err, childEdgeAddr[e])
		}
	}
	if addrs, _, err := lookupA(c.dns, "www.example.net.", "81.2.69.0"); err != nil || len(addrs) == 0 {
		t.Errorf("www.example.net on a full disk: %v %v", addrs, err)
	}

	// Space back: the same batch goes through.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	_, body := batch(b)
	if st, resp, err := c.call("POST", "/v1/zones/example.net/batch", body); err != nil || st/100 != 2 {
		t.Fatalf("the failed batch once space is freed: %d %s %v", st, resp, err)
	}
	for i, n := range failedNames {
		acked[n] = edges[(b+i)%len(edges)]
	}

	// Crash and restart: every acknowledged write is there.
	c.cmd.Process.Kill()
	<-c.exited
	c = startChild(t, dir, freeAddr(t, "tcp"), freeAddr(t, "udp"))
	lost := 0
	for n, e := range acked {
		if st, _, err := c.call("GET", "/v1/zones/example.net/names/"+n, nil); err != nil || st != 200 {
			if lost++; lost <= 5 {
				t.Errorf("acknowledged %s gone after the restart: %d %v", n, st, err)
			}
			continue
		}
		if addrs, _, err := lookupA(c.dns, n, ""); err != nil || len(addrs) != 1 || addrs[0] != childEdgeAddr[e] {
			t.Errorf("%s in DNS after the restart: %v %v, want %s", n, addrs, err, childEdgeAddr[e])
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged names lost", lost, len(acked))
	}
}

// TestFaultSIGTERMInFlight sends SIGTERM while 16 writers put names and batches through the API:
// each request either got a 2xx and is in the store after a restart, or failed cleanly (a
// connection error or a 5xx) and, if it was refused, applied nothing; a batch is whole or absent;
// the appliance exits within a few seconds.
func TestFaultSIGTERMInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops the appliance as a process")
	}
	dir := t.TempDir()
	c := startChild(t, dir, freeAddr(t, "tcp"), freeAddr(t, "udp"))

	type outcome struct {
		names []string
		edge  string
		st    int // 0: connection error
		body  []byte
	}
	var mu sync.Mutex
	var outcomes []outcome
	var acked atomic.Int64
	var wg sync.WaitGroup
	edges := []string{"fra1", "iad1", "sin1"}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				edge := edges[(w+i)%len(edges)]
				o := outcome{edge: edge}
				var st int
				var body []byte
				var err error
				if w%2 == 0 {
					name := fmt.Sprintf("w%d-%d.s.example.net.", w, i)
					o.names = []string{name}
					st, body, err = c.call("PUT", "/v1/zones/example.net/names/"+name, []byte(`{"edge":"`+edge+`"}`))
				} else {
					put := map[string]any{}
					for j := 0; j < 4; j++ {
						name := fmt.Sprintf("w%d-%d-%d.s.example.net.", w, i, j)
						o.names = append(o.names, name)
						put[name] = map[string]string{"edge": edge}
					}
					b, _ := json.Marshal(map[string]any{"put": put})
					st, body, err = c.call("POST", "/v1/zones/example.net/batch", b)
				}
				if err == nil {
					o.st, o.body = st, body
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if err != nil {
					return // the server is going or gone
				}
				if st/100 == 2 {
					acked.Add(1)
				}
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); acked.Load() < 1000 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	sent := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the appliance did not exit within 10 s of SIGTERM")
	}
	took := time.Since(sent)
	wg.Wait()
	t.Logf("exited %s after SIGTERM (%v); %d requests, %d acknowledged", took, c.cmd.ProcessState, len(outcomes), acked.Load())
	if took > 5*time.Second {
		t.Errorf("the appliance took %s to exit after SIGTERM, want under 5 s", took)
	}
	if !c.cmd.ProcessState.Success() {
		t.Errorf("the appliance exited %v after SIGTERM, want 0", c.cmd.ProcessState)
	}

	c = startChild(t, dir, freeAddr(t, "tcp"), freeAddr(t, "udp"))
	var ok2xx, failed5xx, connErr, cutApplied int
	for _, o := range outcomes {
		present := 0
		for _, n := range o.names {
			st, body, err := c.call("GET", "/v1/zones/example.net/names/"+n, nil)
			if err != nil {
				t.Fatalf("GET %s after the restart: %v", n, err)
			}
			if st == 200 {
				present++
				if !strings.Contains(string(body), `"`+o.edge+`"`) {
					t.Errorf("%s after the restart: %s, want edge %s", n, body, o.edge)
				}
			}
		}
		switch {
		case o.st/100 == 2:
			ok2xx++
			if present != len(o.names) {
				t.Errorf("acknowledged (%d) %v: %d of %d names after the restart", o.st, o.names, present, len(o.names))
			}
			if addrs, _, err := lookupA(c.dns, o.names[0], ""); err != nil || len(addrs) != 1 || addrs[0] != childEdgeAddr[o.edge] {
				t.Errorf("%s in DNS after the restart: %v %v, want %s", o.names[0], addrs, err, childEdgeAddr[o.edge])
			}
		case o.st == 0:
			connErr++
			if present == len(o.names) {
				cutApplied++ // applied, but the answer was lost with the connection
			}
			if present != 0 && present != len(o.names) {
				t.Errorf("a request cut off by SIGTERM is half applied: %d of %v", present, o.names)
			}
		case o.st/100 == 5:
			failed5xx++
			if apiErrorCode(o.body) == "" {
				t.Errorf("%v answered %d %q, not a JSON error", o.names, o.st, o.body)
			}
			if present != 0 {
				t.Errorf("%v answered %d but %d of its names are in the store", o.names, o.st, present)
			}
		default:
			t.Errorf("%v answered %d %s during the shutdown, want a 2xx, a 5xx or a connection error", o.names, o.st, o.body)
		}
	}
	t.Logf("%d acknowledged, %d refused with a 5xx, %d cut off (%d of them applied)", ok2xx, failed5xx, connErr, cutApplied)
}

// geoClients are clients on several continents and the edge of plugin/georoute/testdata's
// config nearest to each by the fixture GeoIP database.
var geoClients = []struct{ client, city, edgeAddr string }{
	{"81.2.69.0", "London", "192.0.2.10"},        // fra1
	{"198.51.100.0", "Ashburn", "198.51.100.10"}, // iad1
	{"1.1.1.0", "Sydney", "203.0.113.30"},        // syd1
	{"126.0.0.0", "Tokyo", "203.0.113.21"},       // nrt1
	{"200.160.0.0", "Sao Paulo", "203.0.113.10"}, // gru1
}

// movedCityDB writes a GeoIP2 City database that places each of geoClients' networks, London's
// at Sydney: there the answer for London's clients changes from fra1 to syd1.
func movedCityDB(t *testing.T, path string) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24, IncludeReservedNetworks: true, IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	place := map[string][2]float64{
		"81.2.69.0/24":    {-33.8688, 151.2093}, // moved: London's network at Sydney
		"198.51.100.0/24": {39.0438, -77.4874},
		"1.1.1.0/24":      {-33.8688, 151.2093},
		"126.0.0.0/8":     {35.6762, 139.6503},
		"200.160.0.0/16":  {-23.5505, -46.6333},
	}
	for network, ll := range place {
		_, ipnet, err := net.ParseCIDR(network)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{
			"city":      mmdbtype.Map{"geoname_id": mmdbtype.Uint32(1), "names": mmdbtype.Map{"en": mmdbtype.String("Moved")}},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String("AU")},
			"continent": mmdbtype.Map{"code": mmdbtype.String("OC")},
			"location":  mmdbtype.Map{"accuracy_radius": mmdbtype.Uint16(20), "latitude": mmdbtype.Float64(ll[0]), "longitude": mmdbtype.Float64(ll[1])},
		}
		if err := tree.Insert(ipnet, rec); err != nil {
			t.Fatal(err)
		}
	}
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(fh); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

// prober asks server for name as every client of clients in a loop until stop, and counts the
// queries that got no answer.
type prober struct {
	queries, failures atomic.Int64
	mu                sync.Mutex
	lastErr           error
	stop              chan struct{}
	done              sync.WaitGroup
}

func startProber(server, name string) *prober {
	p := &prober{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		for {
			for _, c := range geoClients {
				select {
				case <-p.stop:
					return
				default:
				}
				addrs, rcode, err := lookupA(server, name, c.client)
				p.queries.Add(1)
				if err == nil && (rcode != dns.RcodeSuccess || len(addrs) == 0) {
					err = fmt.Errorf("%s as %s: rcode %s, %v", name, c.city, dns.RcodeToString[rcode], addrs)
				}
				if err != nil {
					p.failures.Add(1)
					p.mu.Lock()
					p.lastErr = err
					p.mu.Unlock()
				}
			}
		}
	}()
	return p
}

func (p *prober) check(t *testing.T) {
	t.Helper()
	close(p.stop)
	p.done.Wait()
	t.Logf("%d queries while the files changed, %d unanswered", p.queries.Load(), p.failures.Load())
	if p.failures.Load() > 0 {
		t.Errorf("%d of %d queries went unanswered; the last: %v", p.failures.Load(), p.queries.Load(), p.lastErr)
	}
}

// expectAnswers checks, within a deadline, that name answers each client as want says.
func expectAnswers(t *testing.T, server, name string, want map[string]string, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var bad []string
		for client, addr := range want {
			addrs, _, err := lookupA(server, name, client)
			if err != nil || len(addrs) != 1 || addrs[0] != addr {
				bad = append(bad, fmt.Sprintf("%s as %s: %v %v, want %s", name, client, addrs, err, addr))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, strings.Join(bad, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdAnswers checks that name answers each client as want says for the whole of d: a change that
// the appliance should refuse is not taken up.
func holdAnswers(t *testing.T, server, name string, want map[string]string, d time.Duration, what string) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for client, addr := range want {
			addrs, _, err := lookupA(server, name, client)
			if err != nil || len(addrs) != 1 || addrs[0] != addr {
				t.Fatalf("%s: %s as %s answers %v %v, want %s (the last good file)", what, name, client, addrs, err, addr)
			}
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// renameOver puts content at path by renaming a new file over it.
func renameOver(t *testing.T, path string, content []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const faultTestdata = "../plugin/georoute/testdata"

// TestFaultGeoIPReplaced replaces the GeoIP database under a serving appliance, by rename and in
// place, with good, foreign-schema and truncated files: answers never stop, a good file is used,
// a bad one is refused with the last good one serving.
func TestFaultGeoIPReplaced(t *testing.T) {
	dir := t.TempDir()
	city := filepath.Join(dir, "city.mmdb")
	copyFile(t, filepath.Join(faultTestdata, "geoip2-city.mmdb"), city)
	original, _ := os.ReadFile(city)
	moved := filepath.Join(dir, "moved.mmdb")
	movedCityDB(t, moved)
	movedBytes, _ := os.ReadFile(moved)
	foreign, err := os.ReadFile(filepath.Join(faultTestdata, "not-a-city.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	server := Server(t, fmt.Sprintf(`example.net:0 {
		bind 127.0.0.1
		georoute {
			zones %s/zones
			config %s/georoute.yaml
			geoip %s
			reload 100ms
		}
	}`, faultTestdata, faultTestdata, city))

	const name = "www.example.net."
	before := map[string]string{}
	for _, c := range geoClients {
		before[c.client] = c.edgeAddr
	}
	after := map[string]string{}
	for k, v := range before {
		after[k] = v
	}
	after["81.2.69.0"] = "203.0.113.30" // London's network placed at Sydney: syd1
	expectAnswers(t, server, name, before, 2*time.Second, "at start")

	p := startProber(server, name)
	const settle = 600 * time.Millisecond // several reload periods

	// A good new file renamed over the old one is used.
	renameOver(t, city, movedBytes)
	expectAnswers(t, server, name, after, 3*time.Second, "a good database renamed over the old one")

	// A valid database of another schema, written in place, is refused.
	if err := os.WriteFile(city, foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	holdAnswers(t, server, name, after, settle, "a foreign-schema database written in place")

	// A good file written in place is used.
	if err := os.WriteFile(city, original, 0o644); err != nil {
		t.Fatal(err)
	}
	expectAnswers(t, server, name, before, 3*time.Second, "the original database written back in place")

	// Truncated to half, in place: refused.
	if err := os.Truncate(city, int64(len(original)/2)); err != nil {
		t.Fatal(err)
	}
	holdAnswers(t, server, name, before, settle, "the database truncated to half")

	// Garbage renamed over it: refused.
	renameOver(t, city, bytes.Repeat([]byte("not an mmdb "), 1000))
	holdAnswers(t, server, name, before, settle, "garbage renamed over the database")

	// Removed: refused.
	if err := os.Remove(city); err != nil {
		t.Fatal(err)
	}
	holdAnswers(t, server, name, before, settle, "the database removed")

	// A good one again, after all the bad ones, is used.
	renameOver(t, city, movedBytes)
	expectAnswers(t, server, name, after, 3*time.Second, "a good database after bad ones")
	p.check(t)
}

// faultConfig is a config for the zones of plugin/georoute/testdata, with k3x9.t.example.net
// pinned to pin and web's edges extra added.
func faultConfig(pin, extra string) string {
	return fmt.Sprintf(`edges:
  fra1: {addresses: [192.0.2.10], location: {lat: 50.11, lon: 8.68, country: DE}}
  iad1: {addresses: [198.51.100.10], location: {lat: 39.04, lon: -77.49, country: US}}
  gru1: {addresses: [203.0.113.10], location: {lat: -23.55, lon: -46.63, country: BR}}
  sin1: {addresses: [203.0.113.20], location: {lat: 1.35, lon: 103.82, country: SG}}
  nrt1: {addresses: [203.0.113.21], location: {lat: 35.68, lon: 139.65, country: JP}}
  syd1: {addresses: [203.0.113.30], location: {lat: -33.87, lon: 151.21, country: AU}}
pools:
  web: {policy: latency, edges: [fra1, iad1, gru1, sin1, nrt1, syd1%s]}
names:
  www.example.net: {pool: web}
  k3x9.t.example.net: {edge: %s, ttl: 10}
`, extra, pin)
}

// TestFaultConfigBroken breaks georoute.yaml under a serving appliance, with invalid YAML and with
// a config naming an unknown edge: the last good config keeps serving unchanged, and a good one
// later is picked up.
func TestFaultConfigBroken(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "georoute.yaml")
	if err := os.WriteFile(cfg, []byte(faultConfig("sin1", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	server := Server(t, fmt.Sprintf(`example.net:0 {
		bind 127.0.0.1
		georoute {
			zones %s/zones
			config %s
			geoip %s/geoip2-city.mmdb
			reload 100ms
		}
	}`, faultTestdata, cfg, faultTestdata))

	const pinned = "k3x9.t.example.net."
	web := map[string]string{}
	for _, c := range geoClients {
		web[c.client] = c.edgeAddr
	}
	onSin1 := map[string]string{"81.2.69.0": "203.0.113.20"}
	onFra1 := map[string]string{"81.2.69.0": "192.0.2.10"}
	expectAnswers(t, server, "www.example.net.", web, 2*time.Second, "at start")
	expectAnswers(t, server, pinned, onSin1, 2*time.Second, "at start")

	p := startProber(server, "www.example.net.")
	const settle = 600 * time.Millisecond

	// Invalid YAML, renamed over the file: refused.
	renameOver(t, cfg, []byte("edges:\n  fra1: {addresses: [192.0.2.10\n  pools: ]]\n"))
	holdAnswers(t, server, pinned, onSin1, settle, "invalid YAML renamed over the config")
	expectAnswers(t, server, "www.example.net.", web, 0, "invalid YAML renamed over the config")

	// Invalid YAML written in place: refused.
	if err := os.WriteFile(cfg, []byte(":\t- {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	holdAnswers(t, server, pinned, onSin1, settle, "invalid YAML written in place")

	// A config that moves the pinned name but names an unknown edge in a pool: refused whole.
	renameOver(t, cfg, []byte(faultConfig("fra1", ", zzz9")))
	holdAnswers(t, server, pinned, onSin1, settle, "a config naming an unknown edge in a pool")
	// And one that pins the name to an unknown edge.
	renameOver(t, cfg, []byte(faultConfig("zzz9", "")))
	holdAnswers(t, server, pinned, onSin1, settle, "a config pinning a name to an unknown edge")
	expectAnswers(t, server, "www.example.net.", web, 0, "after the refused configs")

	// A good config, later, is picked up.
	renameOver(t, cfg, []byte(faultConfig("fra1", "")))
	expectAnswers(t, server, pinned, onFra1, 3*time.Second, "a good config after bad ones")
	expectAnswers(t, server, "www.example.net.", web, 0, "a good config after bad ones")
	p.check(t)
}
