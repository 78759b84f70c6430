package georoute

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestProtocol: the EDNS and message details that a server answering DNS from CoreDNS gets wrong
// unless georoute takes care (issue 13's protocol fixes that are in the plugin's reach), each with
// the packet that showed it, compared against what Knot DNS answers.
func TestProtocol(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "georoute.yaml")
	var big []string
	for i := range 40 {
		big = append(big, fmt.Sprintf(`{type: TXT, value: '"%02d %s"'}`, i, strings.Repeat("x", 60)))
	}
	os.WriteFile(cfg, []byte(testConfig(t)+"  big.example.net: {records: ["+strings.Join(big, ", ")+"]}\n"), 0o644)
	udp, tcp := startServer(t, fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		georoute {
			zones testdata/zones
			config %s
			geoip testdata/geoip2-city.mmdb
			reload 0
		}
	}`, cfg))
	edns := func(name string, qtype uint16, size uint16, flags uint32) *dns.Msg {
		m := new(dns.Msg).SetQuestion(name, qtype)
		m.SetEdns0(size, false)
		m.IsEdns0().Hdr.Ttl |= flags
		return m
	}

	// Two OPT RRs: FORMERR (RFC 6891 section 6.1.1); it was NOERROR.
	m := edns("static.example.net.", dns.TypeA, 1232, 0)
	m.Extra = append(m.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}})
	if r := exchange(t, "udp", udp, m); r.Rcode != dns.RcodeFormatError {
		t.Errorf("two OPT RRs: %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}

	for _, net := range []struct{ name, addr string }{{"udp", udp}, {"tcp", tcp}} {
		// Our own UDP size is advertised, not the client's echoed (kdig +bufsize=100 gave udp: 100).
		for _, size := range []uint16{100, 512, 4096} {
			r := exchange(t, net.name, net.addr, edns("static.example.net.", dns.TypeA, size, 0))
			if o := r.IsEdns0(); o == nil || o.UDPSize() != advertisedSize {
				t.Errorf("%s bufsize %d: reply OPT %v, want udp %d", net.name, size, o, advertisedSize)
			}
		}
		// Undefined flag bits are not echoed (kdig +ednsflags=0x100 gave MBZ: 0x0100); DO is.
		r := exchange(t, net.name, net.addr, edns("www.example.net.", dns.TypeA, 1232, 0x100|0x8000))
		if o := r.IsEdns0(); o == nil || o.Hdr.Ttl&0x7fff != 0 || !o.Do() {
			t.Errorf("%s: flags 0x8100: reply OPT flags %#x", net.name, r.IsEdns0().Hdr.Ttl&0xffff)
		}
		// The same for a reply CoreDNS writes for us (REFUSED outside the zones).
		r = exchange(t, net.name, net.addr, edns("www.example.com.", dns.TypeA, 100, 0x100))
		if o := r.IsEdns0(); r.Rcode != dns.RcodeRefused || o == nil || o.UDPSize() != advertisedSize || o.Hdr.Ttl&0x7fff != 0 {
			t.Errorf("%s: REFUSED's OPT %v", net.name, o)
		}
	}

	// Over UDP a reply fits the client's size and ours, whichever is smaller, TC set when cut.
	for size, limit := range map[uint16]int{512: 512, 1232: 1232, 4096: 1232} {
		r, n := rawExchange(t, "udp", udp, edns("big.example.net.", dns.TypeTXT, size, 0))
		if n > limit || !r.Truncated {
			t.Errorf("udp bufsize %d: %d bytes (limit %d), TC %v", size, n, limit, r.Truncated)
		}
	}
	// What CoreDNS's writer sends stays its own to decide: it compresses a reply only when it
	// would not fit the size (request.Scrub), over TCP never; a reply cut for a client's
	// smaller size therefore fits that size uncompressed (the 512-byte case above).
}

// rawExchange sends m and returns the reply and its size on the wire.
func rawExchange(t *testing.T, network, addr string, m *dns.Msg) (*dns.Msg, int) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	out, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	var n int
	if network == "tcp" {
		c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
		if _, err = io.ReadFull(c, buf[:2]); err == nil {
			n = int(binary.BigEndian.Uint16(buf))
			_, err = io.ReadFull(c, buf[:n])
		}
	} else {
		c.Write(out)
		n, err = c.Read(buf)
	}
	if err != nil {
		t.Fatalf("%s: %v", network, err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatalf("%s: unpack: %v", network, err)
	}
	return r, n
}
