package test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// edgeServer is an edge's health endpoint on loopback that can be taken down and brought back
// on the same address.
type edgeServer struct {
	addr   string
	status atomic.Int32 // what /healthz answers; 0: 200
	srv    *http.Server
	ln     net.Listener
}

func newEdgeServer(t *testing.T) *edgeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &edgeServer{addr: ln.Addr().String()}
	e.serve(ln)
	t.Cleanup(e.stop)
	return e
}

func (e *edgeServer) serve(ln net.Listener) {
	e.ln = ln
	e.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := e.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		fmt.Fprintln(w, "ok")
	})}
	go e.srv.Serve(ln)
}

func (e *edgeServer) stop() { e.srv.Close() }

func (e *edgeServer) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port was just released
		if ln, err = net.Listen("tcp", e.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	e.serve(ln)
}

const (
	interval = 200 * time.Millisecond
	timeout  = 100 * time.Millisecond
	rise     = 2
	fall     = 2
	// The detection bound, interval × fall + timeout, plus slack for scheduling on a busy machine.
	bound = interval*fall + timeout
	slack = interval + 300*time.Millisecond
)

func healthConfig(fra, iad, flap *edgeServer, extra string) string {
	check := func(e *edgeServer, r, f int) string {
		return fmt.Sprintf("[{type: http, url: \"http://%s/healthz\", interval: %s, timeout: %s, rise: %d, fall: %d}]", e.addr, interval, timeout, r, f)
	}
	return `
edges:
  fra1:
    addresses: [192.0.2.10]
    location: {lat: 50.11, lon: 8.68, country: DE}
    checks: ` + check(fra, rise, fall) + extra + `
  iad1:
    addresses: [198.51.100.10]
    location: {lat: 39.04, lon: -77.49, country: US}
    checks: ` + check(iad, rise, fall) + `
  lhr1:
    addresses: [192.0.2.11]
    location: {lat: 51.51, lon: -0.13, country: GB}
    checks: ` + check(flap, 3, 3) + `
pools:
  web: {policy: latency, edges: [fra1, iad1], ttl: 2}
  flappy: {policy: latency, edges: [lhr1, iad1], ttl: 2}
names:
  www.example.net: {pool: web}
  flap.example.net: {pool: flappy}
`
}

// answer asks for name as a client in London (by ECS) and returns the address answered.
func answer(t *testing.T, server, name string) string {
	t.Helper()
	m := new(dns.Msg).SetQuestion(name, dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("81.2.69.0").To4()}}
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	var got []string
	for _, rr := range r.Answer {
		got = append(got, rr.(*dns.A).A.String())
	}
	return strings.Join(got, " ")
}

// await polls until name answers want and returns how long that took.
func await(t *testing.T, server, name, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := answer(t, server, name)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s still answers %q after %s, want %q", name, got, within, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHealthEndToEnd(t *testing.T) {
	fra, iad, flap := newEdgeServer(t), newEdgeServer(t), newEdgeServer(t)
	// The flapping edge alternates: 200, 500, 200, 500...
	var n atomic.Int32
	flap.srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "georoute.yaml")
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(healthConfig(fra, iad, flap, ""))
	server := Server(t, fmt.Sprintf(`example.net:0 {
		bind 127.0.0.1
		healthprobe
		georoute {
			zones ../zones
			config %s
			geoip ../plugin/georoute/testdata/geoip2-city.mmdb
			reload 100ms
		}
	}`, cfg))

	// London's nearest is Frankfurt. Every check has a first result within a second.
	await(t, server, "www.example.net.", "192.0.2.10", 2*time.Second)
	time.Sleep(time.Second)

	// Frankfurt's health endpoint goes away: it leaves the answers within the detection bound.
	fra.stop()
	took := await(t, server, "www.example.net.", "198.51.100.10", bound+slack+time.Second)
	t.Logf("down detected in %s (bound %s + slack %s)", took, bound, slack)
	if took > bound+slack {
		t.Errorf("fra1 left the answers after %s, beyond interval × fall + timeout = %s (+ %s slack)", took, bound, slack)
	}

	// It comes back, and returns after rise passes.
	fra.start(t)
	took = await(t, server, "www.example.net.", "192.0.2.10", rise*interval+slack+time.Second)
	t.Logf("recovery seen in %s (rise × interval %s)", took, rise*interval)

	// A flapping check never gathers rise passes or fall failures in a row: whatever its first
	// result made it, its edge's place in the answers does not move.
	first := answer(t, server, "flap.example.net.")
	for deadline := time.Now().Add(10 * interval); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got := answer(t, server, "flap.example.net."); got != first {
			t.Fatalf("the flapping edge's answer moved from %q to %q", first, got)
		}
	}

	// Everything down: the pool fails open (when_all_down: all) and still answers the nearest.
	fra.status.Store(503)
	iad.status.Store(503)
	time.Sleep(bound + slack)
	if got := answer(t, server, "www.example.net."); got != "192.0.2.10" {
		t.Errorf("all down: answered %q, want the nearest edge (fail open)", got)
	}
	fra.status.Store(0)
	iad.status.Store(0)
	await(t, server, "www.example.net.", "192.0.2.10", rise*interval+slack+time.Second)

	// Drain: an operator forces Frankfurt down; it leaves the answers although it is healthy.
	write(healthConfig(fra, iad, flap, "\n    override: down"))
	await(t, server, "www.example.net.", "198.51.100.10", 3*time.Second)
	write(healthConfig(fra, iad, flap, ""))
	await(t, server, "www.example.net.", "192.0.2.10", 3*time.Second)
}
