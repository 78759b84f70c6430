package georoute

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// knot is a Knot DNS secondary (Debian's knot) of example.net, started by a test.
type knot struct {
	t    *testing.T
	addr string // host:port
	dir  string
}

// needKnot skips the test without knotd and kdig; CI (.ci/run) installs them and sets
// GEOROUTE_REQUIRE_KNOT, so there it fails rather than skips.
func needKnot(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"knotd", "kdig"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("GEOROUTE_REQUIRE_KNOT") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed (Debian: knot, knot-dnsutils)", tool)
		}
	}
}

// startKnot runs knotd on addr as a secondary of example.net whose primary is primary: it
// transfers with the TSIG key updateKey and takes NOTIFY from 127.0.0.1. Run as root, it runs
// as nobody.
func startKnot(t *testing.T, addr, primary string) *knot {
	t.Helper()
	// Not t.TempDir(): its parent is closed to other users, and Knot may run as nobody.
	dir, err := os.MkdirTemp("", "knot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	host, port, _ := net.SplitHostPort(addr)
	phost, pport, _ := net.SplitHostPort(primary)
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s"
    listen: %[2]s@%[3]s
log:
  - target: "%[1]s/knot.log"
    any: info
database:
    storage: "%[1]s"
key:
  - id: %[4]s
    algorithm: hmac-sha256
    secret: %[5]s
remote:
  - id: primary
    address: %[6]s@%[7]s
    key: %[4]s
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "%[1]s"
    zonefile-sync: -1
    zonefile-load: none
zone:
  - domain: example.net
    master: primary
    acl: notify_from_primary
`, dir, host, port, updateKey, updateSecret, phost, pport)
	path := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("knotd", "-c", path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "knot.log"))
			t.Logf("knot.log:\n%s", b)
		}
	})
	return &knot{t: t, addr: addr, dir: dir}
}

// log is what Knot logged so far.
func (k *knot) log() string {
	b, _ := os.ReadFile(filepath.Join(k.dir, "knot.log"))
	return string(b)
}

// kdig asks server (host:port) for name's records of qtype and returns kdig +short's lines,
// sorted.
func kdig(t *testing.T, server, name, qtype string) []string {
	t.Helper()
	lines, err := tryKdig(server, name, qtype)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func tryKdig(server, name, qtype string) ([]string, error) {
	host, port, _ := net.SplitHostPort(server)
	out, err := exec.Command("kdig", "@"+host, "-p", port, "+short", "+tcp", "+timeout=2", name, qtype).Output()
	if err != nil {
		return nil, fmt.Errorf("kdig @%s %s %s: %v", server, name, qtype, err)
	}
	lines := strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\t"))
	if qtype == "TXT" || qtype == "MX" || qtype == "SOA" {
		lines = strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	slices.Sort(lines)
	return lines, nil
}

// regexpFinished is the line Knot logs for an IXFR applied as a diff.
var regexpFinished = regexp.MustCompile(`IXFR, incoming, remote [^\n]*finished`)

// eventually retries what until ok, for up to 15 s.
func eventually(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		good, got := ok()
		if good {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after 15s", what, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTransferKnot: Knot DNS, a real secondary, transfers example.net by AXFR with TSIG,
// answers its static names as the appliance does and its routed names as every healthy edge; a
// name set through the API reaches it by NOTIFY and IXFR, an edge going down by NOTIFY and a
// transfer of the whole zone.
func TestTransferKnot(t *testing.T) {
	needKnot(t)
	var healthy atomic.Bool
	healthy.Store(true)
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer edge.Close()
	config := fmt.Sprintf(`
edges:
  fra1:
    addresses: [192.0.2.10, "2001:db8:f::1"]
    location: {lat: 50.11, lon: 8.68, country: DE}
    checks: [{type: http, url: "%s/healthz", expect_status: [200], interval: 200ms, timeout: 100ms, rise: 1, fall: 2}]
  iad1: {addresses: [198.51.100.10], location: {lat: 39.04, lon: -77.49, country: US}}
pools:
  web: {policy: latency, edges: [fra1, iad1], ttl: 5}
names:
  www.example.net: {pool: web}
  k3x9.t.example.net: {edge: iad1, ttl: 10}
  txt.example.net: {records: [{type: TXT, ttl: 60, value: '"hello"'}]}
`, edge.URL)
	knotAddr := freeDNSPort(t)
	s := startTransfer(t, config, knotAddr)
	s.awaitHealth("fra1", "up")
	s.expect("PUT", "/v1/zones/example.net/names/api-txt", writeToken, map[string]any{"records": []map[string]any{{"type": "TXT", "ttl": 60, "value": `"set through the API"`}}}, 201, "", "")
	k := startKnot(t, knotAddr, s.addr)

	ours := func() string { return kdig(t, s.addr, "example.net.", "SOA")[0] }
	synced := func() (bool, string) {
		theirs, err := tryKdig(k.addr, "example.net.", "SOA")
		return err == nil && len(theirs) == 1 && theirs[0] == ours(), fmt.Sprintf("%v %v, ours %s", theirs, err, ours())
	}
	eventually(t, "Knot transfers example.net", synced)
	// Knot transferred it signed: the appliance refuses an AXFR that is not.
	if !strings.Contains(k.log(), "AXFR, incoming") {
		t.Errorf("Knot did not log an AXFR:\n%s", k.log())
	}
	if r := exchange(t, "tcp", s.addr, new(dns.Msg).SetAxfr("example.net.")); r.Rcode != dns.RcodeRefused {
		t.Errorf("an unsigned AXFR: %s", dns.RcodeToString[r.Rcode])
	}
	for _, q := range [][2]string{
		{"example.net.", "NS"}, {"example.net.", "MX"}, {"mail.example.net.", "A"}, {"static.example.net.", "A"},
		{"www.example.net.", "TXT"}, {"deep.ent.example.net.", "A"}, {"alias.example.net.", "CNAME"}, {"info.t.example.net.", "TXT"},
		{"x.dev.example.net.", "A"}, {"txt.example.net.", "TXT"}, {"api-txt.example.net.", "TXT"}, {"big.example.net.", "TXT"},
		{"k3x9.t.example.net.", "A"}, {"nothing.example.net.", "A"}, {"www.example.net.", "MX"},
	} {
		if want, got := kdig(t, s.addr, q[0], q[1]), kdig(t, k.addr, q[0], q[1]); !slices.Equal(want, got) {
			t.Errorf("%s %s: Knot answers %q, the appliance %q", q[0], q[1], got, want)
		}
	}
	if got := kdig(t, k.addr, "www.example.net.", "A"); !slices.Equal(got, []string{"192.0.2.10", "198.51.100.10"}) {
		t.Errorf("Knot's www A: %v, want both healthy edges", got)
	}

	// A change through the API: NOTIFY, then Knot follows by IXFR.
	s.expect("PUT", "/v1/zones/example.net/names/later", writeToken, map[string]any{"records": []map[string]any{{"type": "TXT", "ttl": 60, "value": `"after the AXFR"`}}}, 201, "", "")
	eventually(t, "Knot answers the name set through the API", func() (bool, string) {
		got := kdig(t, k.addr, "later.example.net.", "TXT")
		return slices.Equal(got, []string{`"after the AXFR"`}), fmt.Sprint(got)
	})
	eventually(t, "Knot at our serial", synced)
	if log := k.log(); !strings.Contains(strings.ToLower(log), "notify, incoming") || !regexpFinished.MatchString(log) {
		t.Errorf("Knot did not log a NOTIFY and an IXFR that finished:\n%s", log)
	}

	// fra1 goes down: the serial moves, Knot is notified and transfers www without it.
	healthy.Store(false)
	s.awaitHealth("fra1", "down")
	eventually(t, "Knot's www A without fra1", func() (bool, string) {
		got := kdig(t, k.addr, "www.example.net.", "A")
		return slices.Equal(got, []string{"198.51.100.10"}), fmt.Sprint(got)
	})
	eventually(t, "Knot at our serial after fra1 went down", synced)
}
