package georoute

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Validating resolvers in front of the signed appliance, as the Internet sees it: Unbound
// (module-config "subnetcache validator iterator", sending the client's ECS to us) and BIND's
// delv, each with example.net's DS as its only trust anchor.

// needValidators skips the test without unbound and delv; CI (.ci/run) installs them (Debian
// unbound, bind9-dnsutils) and sets GEOROUTE_REQUIRE_UNBOUND, so there it fails rather than skips.
func needValidators(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"unbound", "delv"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	switch {
	case len(missing) == 0:
	case os.Getenv("GEOROUTE_REQUIRE_UNBOUND") != "":
		t.Fatalf("not installed: %v", missing)
	default:
		t.Skipf("not installed: %v (Debian: unbound, bind9-dnsutils)", missing)
	}
}

// signedZone is the appliance on a port of its own with dnssec signing example.net, and the
// DS a parent would publish for it.
type signedZone struct {
	addr string // host:port, UDP and TCP
	ds   *dns.DS
}

func startSignedZone(t *testing.T) *signedZone {
	t.Helper()
	dir := t.TempDir()
	keys := signingKeys(t, dir, "example.net")
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	startServer(t, fmt.Sprintf(`.:%s {
		bind 127.0.0.1
		dnssec example.net example.org {
			key file %s
		}
		georoute {
			zones testdata/zones
			config testdata/georoute.yaml
			geoip testdata/geoip2-city.mmdb
			reload 0
		}
	}`, port, strings.Join(keys, " ")))
	// The DS as an operator makes it: from the DNSKEY set the server answers, its KSK.
	r := exchange(t, "udp", addr, new(dns.Msg).SetQuestion("example.net.", dns.TypeDNSKEY))
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
			return &signedZone{addr: addr, ds: k.ToDS(dns.SHA256)}
		}
	}
	t.Fatalf("no KSK in the DNSKEY set: %v", r)
	return nil
}

// startUnbound runs Unbound on a free loopback port, validating example.net with anchor and
// asking z for it with the client's subnet, and returns its address.
func startUnbound(t *testing.T, z *signedZone, anchor *dns.DS) string {
	t.Helper()
	dir := t.TempDir()
	addr := freePort(t)
	host, port, _ := net.SplitHostPort(addr)
	zhost, zport, _ := net.SplitHostPort(z.addr)
	conf := fmt.Sprintf(`server:
  interface: %[1]s
  port: %[2]s
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "%[3]s"
  pidfile: "%[3]s/unbound.pid"
  use-syslog: no
  logfile: "%[3]s/unbound.log"
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  do-ip6: no
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  module-config: "subnetcache validator iterator"
  send-client-subnet: %[4]s
  client-subnet-always-forward: yes
  max-client-subnet-ipv4: 24
  trust-anchor: "%[6]s"
stub-zone:
  name: "example.net"
  stub-addr: %[4]s@%[5]s
`, host, port, dir, zhost, zport, strings.TrimSpace(strings.Join(strings.Fields(anchor.String()), " ")))
	path := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("unbound-checkconf", path).CombinedOutput(); err != nil {
		t.Fatalf("unbound-checkconf: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command("unbound", "-d", "-c", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "unbound.log"))
			t.Logf("unbound.log:\n%s", log)
		}
	})
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	for deadline := time.Now().Add(10 * time.Second); ; {
		// Up when it answers anything (a name outside the stub zone gets REFUSED from access rules
		// or SERVFAIL without the Internet): the question is only whether it listens.
		if _, _, err := c.Exchange(new(dns.Msg).SetQuestion("example.net.", dns.TypeSOA), addr); err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatal("unbound does not answer")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// resolve asks the resolver at addr with DO and, when subnet is set, that ECS.
func resolve(t *testing.T, addr, name string, qtype uint16, subnet string) *dns.Msg {
	t.Helper()
	m := signedQuery(name, qtype, subnet)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s via %s: %v", name, dns.TypeToString[qtype], addr, err)
	}
	return r
}

func TestDNSSECUnbound(t *testing.T) {
	needValidators(t)
	z := startSignedZone(t)
	ub := startUnbound(t, z, z.ds)

	// Routed answers for clients on two continents (their subnets in the query, forwarded to us
	// by Unbound): validated, each its own edge, each with the scope our answer had. Asked twice
	// so that the second comes from Unbound's subnet cache, and in turn, so one client's cached
	// answer cannot serve the other.
	for round := 0; round < 2; round++ {
		for _, c := range []struct{ subnet, edge string }{{london, "192.0.2.10"}, {mtnView, "198.51.100.10"}, {tokyo, "203.0.113.21"}} {
			r := resolve(t, ub, "www.example.net.", dns.TypeA, c.subnet)
			if r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData || fmt.Sprint(addresses(r)) != "["+c.edge+"]" {
				t.Errorf("round %d, www from %s: rcode %s, AD %v, %v; want AD and %s", round, c.subnet, dns.RcodeToString[r.Rcode], r.AuthenticatedData, addresses(r), c.edge)
			}
			if e := replyECS(r); e == nil || e.SourceScope == 0 {
				t.Errorf("round %d, www from %s: ECS %v, want our scope", round, c.subnet, e)
			}
		}
	}
	// A static answer, a name that does not exist (NSEC black lies: NOERROR, no data) and a
	// type a name lacks: all validated.
	for _, q := range []struct {
		name  string
		qtype uint16
		want  string
	}{{"static.example.net.", dns.TypeA, "[192.0.2.80]"}, {"nope.example.net.", dns.TypeA, "[]"}, {"static.example.net.", dns.TypeAAAA, "[]"}, {"v4only.example.net.", dns.TypeAAAA, "[]"}} {
		r := resolve(t, ub, q.name, q.qtype, london)
		if r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData || fmt.Sprint(addresses(r)) != q.want || (q.want == "[]" && len(r.Answer) != 0) {
			t.Errorf("%s %s: rcode %s, AD %v, answer %v; want AD and %s", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode], r.AuthenticatedData, r.Answer, q.want)
		}
	}

	// The same resolver with a DS of another key: everything bogus, SERVFAIL.
	wrong := *z.ds
	wrong.KeyTag++
	wrong.Digest = strings.Repeat("00", 32)
	bad := startUnbound(t, z, &wrong)
	if r := resolve(t, bad, "www.example.net.", dns.TypeA, london); r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 {
		t.Errorf("www with the wrong trust anchor: %v, want SERVFAIL", r)
	}
}

func TestDNSSECDelv(t *testing.T) {
	needValidators(t)
	z := startSignedZone(t)
	anchors := func(ds *dns.DS) string {
		path := filepath.Join(t.TempDir(), "anchors.conf")
		text := fmt.Sprintf("trust-anchors {\n  example.net. static-ds %d %d %d \"%s\";\n};\n", ds.KeyTag, ds.Algorithm, ds.DigestType, ds.Digest)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := anchors(z.ds)
	host, port, _ := net.SplitHostPort(z.addr)
	delv := func(anchorFile, name, qtype string) string {
		out, _ := exec.Command("delv", "@"+host, "-p", port, "-a", anchorFile, "+root=example.net", name, qtype).CombinedOutput()
		return string(out)
	}
	for _, q := range []struct{ name, qtype, want string }{
		{"www.example.net", "A", "; fully validated"}, // routed: the edge listed first for a client we cannot place
		{"static.example.net", "A", "; fully validated"},
		{"example.net", "MX", "; fully validated"},
		{"example.net", "CDS", "; fully validated"},
		{"nope.example.net", "A", "; negative response, fully validated"},
		{"static.example.net", "AAAA", "; negative response, fully validated"},
	} {
		if out := delv(good, q.name, q.qtype); !strings.Contains(out, q.want) {
			t.Errorf("delv %s %s: want %q in\n%s", q.name, q.qtype, q.want, out)
		}
	}
	wrong := *z.ds
	wrong.Digest = strings.Repeat("00", 32)
	if out := delv(anchors(&wrong), "www.example.net", "A"); strings.Contains(out, "validated") || !strings.Contains(out, "resolution failed") {
		t.Errorf("delv with the wrong DS: want a failure, got\n%s", out)
	}
}
