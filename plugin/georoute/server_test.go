package georoute

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/bind"
	"github.com/miekg/dns"
)

var (
	serverMu  sync.Mutex
	instances []*caddy.Instance
)

// stopServers stops the servers the test started so far (to start them again).
func stopServers(t testing.TB) {
	serverMu.Lock()
	defer serverMu.Unlock()
	for _, i := range instances {
		i.Stop()
		i.ShutdownCallbacks()
	}
	instances = nil
}

// The custom build splices georoute into the directives (cmd/coredns-custom); so does this test.
func init() {
	if !slices.Contains(dnsserver.Directives, pluginName) {
		i := slices.Index(dnsserver.Directives, "file")
		dnsserver.Directives = slices.Insert(dnsserver.Directives, i, pluginName)
	}
}

// startServer starts a real CoreDNS server from corefile and returns its UDP and TCP addresses.
func startServer(t testing.TB, corefile string) (udp, tcp string) {
	t.Helper()
	serverMu.Lock()
	defer serverMu.Unlock()
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	instances = append(instances, inst)
	t.Cleanup(func() { stopServers(t) })
	srv := inst.Servers()[0]
	return srv.LocalAddr().String(), srv.Addr().String()
}

func exchange(t *testing.T, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s exchange with %s: %v", network, addr, err)
	}
	return r
}

func TestServer(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "georoute.yaml")
	if err := os.WriteFile(cfg, []byte(testConfig(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	udp, tcp := startServer(t, fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		georoute {
			zones testdata/zones
			config %s
			geoip testdata/geoip2-city.mmdb
			asn testdata/asn.mmdb
			reload 100ms
		}
	}`, cfg))

	for _, tc := range []struct{ network, addr string }{{"udp", udp}, {"tcp", tcp}} {
		// ECS from Sydney: the Sydney edge, with the scope of the fixture's network.
		r := exchange(t, tc.network, tc.addr, withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), "1.1.1.0", 24))
		if got := addresses(r); !r.Authoritative || len(got) != 1 || got[0] != "203.0.113.30" {
			t.Errorf("%s: www from Sydney: aa=%v %v", tc.network, r.Authoritative, got)
		}
		if e := replyECS(r); e == nil || e.SourceScope != 24 || e.SourceNetmask != 24 {
			t.Errorf("%s: ECS in reply %v, want source 24 scope 24", tc.network, e)
		}
		// The client's own address (127.0.0.1, unknown): the pool's first edge; no ECS in, none out.
		r = exchange(t, tc.network, tc.addr, new(dns.Msg).SetQuestion("www.example.net.", dns.TypeAAAA))
		if got := addresses(r); len(got) != 1 || got[0] != "2001:db8:f::1" || r.IsEdns0() != nil {
			t.Errorf("%s: www AAAA: %v (opt %v)", tc.network, got, r.IsEdns0())
		}
		// NXDOMAIN with the SOA.
		r = exchange(t, tc.network, tc.addr, new(dns.Msg).SetQuestion("nope.example.net.", dns.TypeA))
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("%s: nope: %v", tc.network, r)
		}
		// Outside our zones.
		r = exchange(t, tc.network, tc.addr, new(dns.Msg).SetQuestion("www.example.com.", dns.TypeA))
		if r.Rcode != dns.RcodeRefused {
			t.Errorf("%s: outside the zones: %s, want REFUSED", tc.network, dns.RcodeToString[r.Rcode])
		}
		// EDNS0: the OPT comes back with our buffer size, and the DO bit when asked.
		m := new(dns.Msg).SetQuestion("static.example.net.", dns.TypeA)
		m.SetEdns0(1232, true)
		r = exchange(t, tc.network, tc.addr, m)
		if o := r.IsEdns0(); o == nil || !o.Do() || len(r.Answer) != 1 {
			t.Errorf("%s: EDNS0 echo: %v", tc.network, r)
		}
		// An unknown EDNS version is refused with BADVERS.
		m = new(dns.Msg).SetQuestion("static.example.net.", dns.TypeA)
		m.SetEdns0(1232, false)
		m.IsEdns0().SetVersion(1)
		r = exchange(t, tc.network, tc.addr, m)
		if r.Rcode != dns.RcodeBadVers {
			t.Errorf("%s: EDNS version 1: rcode %s, want BADVERS", tc.network, dns.RcodeToString[r.Rcode])
		}
	}

	// A large answer is truncated over UDP without EDNS and comes whole over TCP.
	big := new(dns.Msg).SetQuestion("big.example.net.", dns.TypeTXT)
	r := exchange(t, "udp", udp, big)
	if !r.Truncated {
		t.Errorf("big TXT over UDP: not truncated (%d answers)", len(r.Answer))
	}
	r = exchange(t, "tcp", tcp, big)
	if r.Truncated || len(r.Answer) != 2 {
		t.Errorf("big TXT over TCP: tc=%v, %d answers", r.Truncated, len(r.Answer))
	}

	// Reload: a changed config is served within the reload interval; a broken one is refused and
	// the last good one keeps serving.
	changed := strings.Replace(testConfig(t), "www.example.net: {pool: web}", "www.example.net: {edge: gru1}", 1)
	if err := os.WriteFile(cfg, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the changed config", func() bool {
		got := addresses(exchange(t, "udp", udp, new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)))
		return len(got) == 1 && got[0] == "203.0.113.10"
	})
	if err := os.WriteFile(cfg, []byte(changed+"\nedges: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	got := addresses(exchange(t, "udp", udp, new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)))
	if len(got) != 1 || got[0] != "203.0.113.10" {
		t.Errorf("after a broken edit: %v, want the last good answer 203.0.113.10", got)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
