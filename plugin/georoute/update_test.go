package georoute

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"
)

// TSIG keys of the UPDATE tests (base64 secrets, as tsig-keygen writes them).
const (
	updateKey    = "update.example.net." // may change every zone
	updateSecret = "c2hhMjU2LXNlY3JldC1mb3ItdGhlLXVwZGF0ZS10ZXN0cw=="
	md5Key       = "md5.example.net." // may change example.net
	md5Secret    = "bWQ1LXNlY3JldC1mb3ItdGhlLXVwZGF0ZS10ZXN0cw=="
	acmeKey      = "acme.example.net." // may change the TXT records of _acme-challenge names
	acmeSecret   = "YWNtZS1zZWNyZXQtZm9yLXRoZS11cGRhdGUtdGVzdHM="
	otherKey     = "other.example.net." // known to tsig, but may update nothing
	otherSecret  = "b3RoZXItc2VjcmV0LWZvci10aGUtdXBkYXRlLXRlc3Q="
)

var updateSecrets = map[string]string{updateKey: updateSecret, md5Key: md5Secret, acmeKey: acmeSecret, otherKey: otherSecret}

// updateServer is the appliance with UPDATE on, listening on one port for UDP and TCP.
type updateServer struct {
	t    testing.TB
	addr string
	dir  string
}

// freeDNSPort returns a loopback address whose port is free for both UDP and TCP now.
func freeDNSPort(t testing.TB) string {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

// startUpdate starts the appliance with the test keys, the tsig block's extra lines tsigExtra
// and the georoute block's extra.
func startUpdate(t *testing.T, tsigExtra, extra string) *updateServer {
	t.Helper()
	return startUpdateIn(t, t.TempDir(), tsigExtra, extra)
}

// startUpdateIn is startUpdate with its files (the store among them) in dir.
func startUpdateIn(t *testing.T, dir, tsigExtra, extra string) *updateServer {
	t.Helper()
	addr, corefile := updateCorefile(t, dir, tsigExtra, extra)
	startServer(t, corefile)
	return &updateServer{t: t, addr: addr, dir: dir}
}

// updateCorefile is the Corefile of startUpdate, on a port it returns.
func updateCorefile(t testing.TB, dir, tsigExtra, extra string) (string, string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "georoute.yaml"), []byte(testConfig(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeDNSPort(t)
	_, port, _ := net.SplitHostPort(addr)
	var secrets strings.Builder
	for _, k := range slices.Sorted(maps.Keys(updateSecrets)) {
		fmt.Fprintf(&secrets, "\t\t\tsecret %s %s\n", k, updateSecrets[k])
	}
	return addr, fmt.Sprintf(`.:%s {
		bind 127.0.0.1
		tsig {
%s			%s
			require_opcode UPDATE
		}
		georoute {
			zones testdata/zones
			config %s
			store %s
			reload 0
			update %s
			update %s example.net
			update %s example.net {
				names _acme-challenge _acme-challenge.www
				types TXT
			}
			%s
		}
	}`, port, secrets.String(), tsigExtra, filepath.Join(dir, "georoute.yaml"), filepath.Join(dir, "georoute.db"), updateKey, md5Key, acmeKey, extra)
}

// newUpdate starts an UPDATE of zone.
func newUpdate(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetUpdate(zone)
	return m
}

// send signs m with key (algorithm alg; no key: unsigned), sends it over network and checks
// the signature of the reply.
func (s *updateServer) send(network, key, alg string, m *dns.Msg) *dns.Msg {
	s.t.Helper()
	return s.sendAt(network, key, alg, m, time.Now())
}

// sendAt is send with the signature's time at signed.
func (s *updateServer) sendAt(network, key, alg string, m *dns.Msg, signed time.Time) *dns.Msg {
	s.t.Helper()
	conn, err := net.DialTimeout(network, s.addr, 5*time.Second)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	co := &dns.Conn{Conn: conn}
	var mac string
	if key == "" {
		err = co.WriteMsg(m)
	} else {
		m.SetTsig(key, alg, 300, signed.Unix())
		var b []byte
		if b, mac, err = sign(m, key); err == nil {
			_, err = co.Write(b)
		}
	}
	if err != nil {
		s.t.Fatalf("UPDATE %v: %v", m.Ns, err)
	}
	buf := make([]byte, dns.MaxMsgSize)
	n, err := co.Read(buf)
	if err != nil {
		s.t.Fatalf("UPDATE %v: %v", m.Ns, err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		s.t.Fatal(err)
	}
	// miekg/dns reads a NOTAUTH reply as a TSIG failure and checks none.
	if key != "" && r.IsTsig() != nil && r.Rcode != dns.RcodeNotAuth {
		if err := verify(buf[:n], key, mac); err != nil {
			s.t.Errorf("UPDATE %v: the reply's signature: %v", m.Ns, err)
		}
	}
	return r
}

// sign and verify do as a client does: with miekg/dns's HMACs, or with the server's own
// hmac-md5 (nsupdate checks that one independently: update_nsupdate_test.go).
func sign(m *dns.Msg, key string) ([]byte, string, error) {
	if key == md5Key {
		return dns.TsigGenerateWithProvider(m, md5Keys{key: md5Secret}, "", false)
	}
	return dns.TsigGenerate(m, updateSecrets[key], "", false)
}

func verify(b []byte, key, mac string) error {
	if key == md5Key {
		return dns.TsigVerifyWithProvider(b, md5Keys{key: md5Secret}, mac, false)
	}
	return dns.TsigVerify(b, updateSecrets[key], mac, false)
}

// rrs parses records of example.net.
func rrs(t testing.TB, lines ...string) []dns.RR {
	t.Helper()
	var out []dns.RR
	for _, l := range lines {
		r, err := dns.NewRR("$ORIGIN example.net.\n" + l)
		if err != nil || r == nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// answer asks the server for name's records of type qtype and returns the rcode and the
// answer's records' data, sorted.
func (s *updateServer) answer(name string, qtype uint16) (string, []string) {
	s.t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	slices.Sort(out)
	return dns.RcodeToString[r.Rcode], out
}

func (s *updateServer) want(name string, qtype uint16, rcode string, values ...string) {
	s.t.Helper()
	got, vals := s.answer(name, qtype)
	if got != rcode || !slices.Equal(vals, values) {
		s.t.Errorf("%s %s: %s %q, want %s %q", name, dns.TypeToString[qtype], got, vals, rcode, values)
	}
}

func rcodeOf(r *dns.Msg) string { return dns.RcodeToString[r.Rcode] }

func TestUpdate(t *testing.T) {
	s := startUpdate(t, "", "")
	const zone = "example.net."
	for _, network := range []string{"udp", "tcp"} {
		name := "new-" + network + ".example.net."
		// Add.
		m := newUpdate(zone)
		m.Insert(rrs(t, name+" 60 A 192.0.2.1", name+" 60 TXT \"v=1\""))
		if r := s.send(network, updateKey, dns.HmacSHA256, m); r.Rcode != dns.RcodeSuccess || r.Opcode != dns.OpcodeUpdate || r.IsTsig() == nil {
			t.Fatalf("%s: add: %v", network, r)
		}
		s.want(name, dns.TypeA, "NOERROR", "192.0.2.1")
		s.want(name, dns.TypeTXT, "NOERROR", `"v=1"`)
		// Replace, as external-dns does: remove then insert, in one message.
		m = newUpdate(zone)
		m.Remove(rrs(t, name+" 60 A 192.0.2.1"))
		m.Insert(rrs(t, name+" 60 A 192.0.2.2"))
		if r := s.send(network, updateKey, dns.HmacSHA512, m); r.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s: replace: %v", network, r)
		}
		s.want(name, dns.TypeA, "NOERROR", "192.0.2.2")
		// Delete the name.
		m = newUpdate(zone)
		m.RemoveName(rrs(t, name+" 0 A 0.0.0.0"))
		if r := s.send(network, updateKey, dns.HmacSHA1, m); r.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s: delete: %v", network, r)
		}
		s.want(name, dns.TypeA, "NXDOMAIN")
	}

	for _, tc := range []struct {
		name   string
		key    string
		m      func() *dns.Msg
		rcode  int
		checks func()
	}{
		{"a prerequisite that holds", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.NameNotUsed(rrs(t, "p 0 A 0.0.0.0"))
			m.Insert(rrs(t, "p 60 A 192.0.2.3"))
			return m
		}, dns.RcodeSuccess, func() { s.want("p.example.net.", dns.TypeA, "NOERROR", "192.0.2.3") }},
		{"nxdomain fails", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.NameNotUsed(rrs(t, "p 0 A 0.0.0.0"))
			m.Insert(rrs(t, "p 60 A 192.0.2.4"))
			return m
		}, dns.RcodeYXDomain, func() { s.want("p.example.net.", dns.TypeA, "NOERROR", "192.0.2.3") }},
		{"yxdomain fails", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.NameUsed(rrs(t, "q 0 A 0.0.0.0"))
			m.Insert(rrs(t, "q 60 A 192.0.2.4"))
			return m
		}, dns.RcodeNameError, func() { s.want("q.example.net.", dns.TypeA, "NXDOMAIN") }},
		{"yxrrset of the zone file's data holds", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.RRsetUsed(rrs(t, "mail 0 A 0.0.0.0"))
			m.Insert(rrs(t, "q 60 A 192.0.2.5"))
			return m
		}, dns.RcodeSuccess, func() { s.want("q.example.net.", dns.TypeA, "NOERROR", "192.0.2.5") }},
		{"nxrrset fails", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.RRsetNotUsed(rrs(t, "q 0 A 0.0.0.0"))
			m.Insert(rrs(t, "q 60 A 192.0.2.6"))
			return m
		}, dns.RcodeYXRrset, func() { s.want("q.example.net.", dns.TypeA, "NOERROR", "192.0.2.5") }},
		{"value-dependent fails", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Used(rrs(t, "q 0 A 192.0.2.99"))
			m.RemoveRRset(rrs(t, "q 0 A 0.0.0.0"))
			return m
		}, dns.RcodeNXRrset, func() { s.want("q.example.net.", dns.TypeA, "NOERROR", "192.0.2.5") }},
		{"value-dependent holds", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Used(rrs(t, "q 0 A 192.0.2.5"))
			m.RemoveRRset(rrs(t, "q 0 A 0.0.0.0"))
			return m
		}, dns.RcodeSuccess, func() { s.want("q.example.net.", dns.TypeA, "NXDOMAIN") }},
		{"all or nothing: a refused RRset refuses the message", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "r 60 A 192.0.2.7", "mail 60 A 192.0.2.8"))
			return m
		}, dns.RcodeRefused, func() {
			s.want("r.example.net.", dns.TypeA, "NXDOMAIN")
			s.want("mail.example.net.", dns.TypeA, "NOERROR", "192.0.2.25")
		}},
		{"the zone file's records are read-only", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.RemoveRRset(rrs(t, "mail 0 A 0.0.0.0"))
			return m
		}, dns.RcodeRefused, nil},
		{"a routed name's addresses", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "k3x9.t 60 A 192.0.2.9"))
			return m
		}, dns.RcodeRefused, nil},
		{"a CNAME beside the zone file's data is ignored", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "static 60 CNAME www"))
			return m
		}, dns.RcodeSuccess, func() { s.want("static.example.net.", dns.TypeA, "NOERROR", "192.0.2.80") }},
		{"a CNAME at a new name", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "c 60 CNAME mail"))
			return m
		}, dns.RcodeSuccess, func() { s.want("c.example.net.", dns.TypeA, "NOERROR", "192.0.2.25", "mail.example.net.") }},
		{"the apex SOA is the appliance's", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "@ 60 SOA ns1 hostmaster 2099010101 1 1 1 1"))
			return m
		}, dns.RcodeRefused, nil},
		{"deleting the apex NS is ignored", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.RemoveRRset(rrs(t, "@ 0 NS ns1"))
			return m
		}, dns.RcodeSuccess, func() { s.want(zone, dns.TypeNS, "NOERROR", "ns1.example.net.", "ns2.example.net.") }},
		{"a name outside the zone", updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "x.example.org. 60 A 192.0.2.1"))
			return m
		}, dns.RcodeNotZone, nil},
		{"a zone not served here", updateKey, func() *dns.Msg {
			m := newUpdate("example.com.")
			m.Insert(rrs(t, "x.example.com. 60 A 192.0.2.1"))
			return m
		}, dns.RcodeNotAuth, nil},
		{"a name of a zone, not a zone", updateKey, func() *dns.Msg {
			m := newUpdate("www.example.net.")
			m.Insert(rrs(t, "x.www 60 A 192.0.2.1"))
			return m
		}, dns.RcodeNotAuth, nil},
		{"a key limited to example.net updates example.org", md5Key, func() *dns.Msg {
			m := newUpdate("example.org.")
			m.Insert(rrs(t, "x.example.org. 60 A 192.0.2.1"))
			return m
		}, dns.RcodeRefused, func() { s.want("x.example.org.", dns.TypeA, "NXDOMAIN") }},
		{"a key tsig knows but update does not name", otherKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "o 60 A 192.0.2.1"))
			return m
		}, dns.RcodeRefused, func() { s.want("o.example.net.", dns.TypeA, "NXDOMAIN") }},
		{"the ACME key writes its TXT", acmeKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, `_acme-challenge.www 60 TXT "token"`))
			return m
		}, dns.RcodeSuccess, func() { s.want("_acme-challenge.www.example.net.", dns.TypeTXT, "NOERROR", `"token"`) }},
		{"the ACME key writes an address", acmeKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, `_acme-challenge 60 A 192.0.2.1`))
			return m
		}, dns.RcodeRefused, nil},
		{"the ACME key writes another name", acmeKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, `acme 60 TXT "x"`))
			return m
		}, dns.RcodeRefused, func() { s.want("acme.example.net.", dns.TypeTXT, "NXDOMAIN") }},
		{"the ACME key deletes its name", acmeKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.RemoveName(rrs(t, "_acme-challenge.www 0 A 0.0.0.0"))
			return m
		}, dns.RcodeSuccess, func() { s.want("_acme-challenge.www.example.net.", dns.TypeTXT, "NXDOMAIN") }},
		{"hmac-md5", md5Key, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "m 60 A 192.0.2.10"))
			return m
		}, dns.RcodeSuccess, func() { s.want("m.example.net.", dns.TypeA, "NOERROR", "192.0.2.10") }},
		{"signed an hour ago: BADTIME", "stale " + updateKey, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "late 60 A 192.0.2.1"))
			return m
		}, dns.RcodeNotAuth, func() { s.want("late.example.net.", dns.TypeA, "NXDOMAIN") }},
		{"signed an hour ago, hmac-md5: BADTIME", "stale " + md5Key, func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "late 60 A 192.0.2.1"))
			return m
		}, dns.RcodeNotAuth, func() { s.want("late.example.net.", dns.TypeA, "NXDOMAIN") }},
		{"unsigned", "", func() *dns.Msg {
			m := newUpdate(zone)
			m.Insert(rrs(t, "u 60 A 192.0.2.1"))
			return m
		}, dns.RcodeRefused, func() { s.want("u.example.net.", dns.TypeA, "NXDOMAIN") }},
	} {
		key, stale := strings.CutPrefix(tc.key, "stale ")
		alg := dns.HmacSHA256
		if key == md5Key {
			alg = hmacMD5
		}
		var r *dns.Msg
		if stale {
			r = s.sendAt("tcp", key, alg, tc.m(), time.Now().Add(-time.Hour))
			if t := r.IsTsig(); t == nil || t.Error != dns.RcodeBadTime {
				s.t.Errorf("%s: the reply's TSIG %v, want error BADTIME", tc.name, t)
			}
		} else {
			r = s.send("tcp", key, alg, tc.m())
		}
		if r.Rcode != tc.rcode {
			t.Errorf("%s: %s, want %s", tc.name, rcodeOf(r), dns.RcodeToString[tc.rcode])
		}
		if key != "" && r.IsTsig() == nil {
			t.Errorf("%s: the reply is not signed", tc.name)
		}
		if tc.checks != nil {
			tc.checks()
		}
	}
}

// soaSerial is the serial of the SOA the server answers for zone, and of the SOA of a negative
// answer in it.
func (s *updateServer) soaSerial(zone string) (uint32, uint32) {
	s.t.Helper()
	var serials [2]uint32
	for i, q := range []struct {
		name string
		t    uint16
	}{{zone, dns.TypeSOA}, {"no-such-name." + zone, dns.TypeA}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, s.addr)
		if err != nil {
			s.t.Fatal(err)
		}
		sec := r.Answer
		if i == 1 {
			sec = r.Ns
		}
		if len(sec) != 1 {
			s.t.Fatalf("%s %s: no SOA in %v", q.name, dns.TypeToString[q.t], r)
		}
		serials[i] = sec[0].(*dns.SOA).Serial
	}
	return serials[0], serials[1]
}

func TestUpdateSerial(t *testing.T) {
	dir := t.TempDir()
	s := startUpdateIn(t, dir, "", "")
	const fileSerial = 2026112201 // testdata/zones/example.net.zone's
	serial := func() uint32 {
		t.Helper()
		soa, neg := s.soaSerial("example.net.")
		if soa != neg {
			t.Errorf("the SOA answers serial %d, a negative answer's SOA %d", soa, neg)
		}
		return soa
	}
	s0 := serial()
	if s0 != fileSerial {
		t.Errorf("an empty store serves the zone file's serial %d as %d", fileSerial, s0)
	}
	add := func(name string) *dns.Msg {
		m := newUpdate("example.net.")
		m.Insert(rrs(t, name+" 60 A 192.0.2.1"))
		return m
	}
	if r := s.send("tcp", updateKey, dns.HmacSHA256, add("s1")); r.Rcode != dns.RcodeSuccess {
		t.Fatal(r)
	}
	s1 := serial()
	if s1 != s0+1 {
		t.Errorf("after the first change: serial %d, want %d", s1, s0+1)
	}
	if r := s.send("tcp", updateKey, dns.HmacSHA256, add("s2")); r.Rcode != dns.RcodeSuccess {
		t.Fatal(r)
	}
	s2 := serial()
	if s2 <= s1 {
		t.Errorf("after the second change: serial %d, not after %d", s2, s1)
	}
	// A refused update and one that changes nothing leave it.
	m := newUpdate("example.net.")
	m.NameNotUsed(rrs(t, "s1 0 A 0.0.0.0"))
	m.Insert(rrs(t, "s3 60 A 192.0.2.1"))
	if r := s.send("tcp", updateKey, dns.HmacSHA256, m); r.Rcode != dns.RcodeYXDomain {
		t.Fatal(r)
	}
	if r := s.send("tcp", updateKey, dns.HmacSHA256, add("s2")); r.Rcode != dns.RcodeSuccess {
		t.Fatal(r)
	}
	if got := serial(); got != s2 {
		t.Errorf("no change moved the serial from %d to %d", s2, got)
	}
	// example.org did not change.
	if soa, _ := s.soaSerial("example.org."); soa != 1 {
		t.Errorf("example.org's serial: %d, want its zone file's 1", soa)
	}
	// A restart on the same store never serves an older serial.
	stopServers(t)
	s = startUpdateIn(t, dir, "", "")
	if got := serial(); got < s2 {
		t.Errorf("after a restart: serial %d, before it %d", got, s2)
	}
}

// externalDNSBatch sends one batch as external-dns's rfc2136 provider sends it: one UPDATE,
// over UDP when it fits 512 bytes, else TCP.
func (s *updateServer) externalDNSBatch(build func(m *dns.Msg)) {
	s.t.Helper()
	m := newUpdate("example.net.")
	build(m)
	network := "udp"
	if m.Len() > 512 {
		network = "tcp"
	}
	if r := s.send(network, updateKey, dns.HmacSHA256, m); r.Rcode != dns.RcodeSuccess {
		s.t.Fatalf("a batch of %d records: %s", len(m.Ns), rcodeOf(r))
	}
}

// TestExternalDNSSequence replays what external-dns's rfc2136 provider sends for 120 services:
// creates, then updates (each the old records removed, then the new inserted), then deletes,
// in batches of 50 endpoints an UPDATE, no prerequisites, each endpoint's A record with its TXT
// registry records (at its name and at a-NAME, external-dns's new format).
func TestExternalDNSSequence(t *testing.T) {
	s := startUpdate(t, "", "")
	const services, batch = 120, 50
	name := func(i int) string { return fmt.Sprintf("svc-%03d.example.net", i) }
	records := func(i int, addr string) []dns.RR {
		owner := fmt.Sprintf(`"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/svc-%03d"`, i)
		var out []dns.RR
		for _, line := range []string{
			fmt.Sprintf("%s 300 A %s", name(i), addr),
			fmt.Sprintf("%s 300 TXT %s", name(i), owner),
			fmt.Sprintf("a-%s 300 TXT %s", name(i), owner),
		} {
			rr, err := dns.NewRR(line)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rr)
		}
		return out
	}
	addr := func(i, gen int) string { return fmt.Sprintf("10.%d.%d.%d", gen, i/250, i%250+1) }
	batches := func(each func(m *dns.Msg, i int)) {
		for first := 0; first < services; first += batch {
			s.externalDNSBatch(func(m *dns.Msg) {
				for i := first; i < min(first+batch, services); i++ {
					each(m, i)
				}
			})
		}
	}
	check := func(gen int) {
		t.Helper()
		for i := range services {
			want := []string{addr(i, gen)}
			if gen < 0 {
				s.want(name(i)+".", dns.TypeA, "NXDOMAIN")
				s.want("a-"+name(i)+".", dns.TypeTXT, "NXDOMAIN")
				continue
			}
			s.want(name(i)+".", dns.TypeA, "NOERROR", want...)
			if _, txt := s.answer("a-"+name(i)+".", dns.TypeTXT); len(txt) != 1 {
				t.Errorf("%s: registry records %q", name(i), txt)
			}
		}
	}
	batches(func(m *dns.Msg, i int) { m.Insert(records(i, addr(i, 1))) })
	check(1)
	batches(func(m *dns.Msg, i int) {
		m.Remove(records(i, addr(i, 1)))
		m.Insert(records(i, addr(i, 2)))
	})
	check(2)
	batches(func(m *dns.Msg, i int) { m.Remove(records(i, addr(i, 2))) })
	check(-1)
}

// BenchmarkUpdate is UPDATEs of one new name each (an A record, hmac-sha256), one after the
// other through one TCP connection, each answered once it is on disk: the rate one client such
// as external-dns or nsupdate gets. Parallel: 16 connections at once, which share fsyncs.
func BenchmarkUpdate(b *testing.B) {
	for _, conns := range []int{1, 16} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { benchUpdate(b, conns) })
	}
}

func benchUpdate(b *testing.B, conns int) {
	addr, corefile := updateCorefile(b, b.TempDir(), "", "")
	serverMu.Lock()
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	serverMu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })
	var n atomic.Int64
	b.SetParallelism((conns + 1) / 2) // GOMAXPROCS is 2 here: 1 and 16 connections
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		co := &dns.Conn{Conn: conn}
		buf := make([]byte, dns.MaxMsgSize)
		for pb.Next() {
			m := newUpdate("example.net.")
			rr, _ := dns.NewRR(fmt.Sprintf("b%d.example.net. 60 A 192.0.2.1", n.Add(1)))
			m.Insert([]dns.RR{rr})
			m.SetTsig(updateKey, dns.HmacSHA256, 300, time.Now().Unix())
			msg, _, err := sign(m, updateKey)
			if err == nil {
				_, err = co.Write(msg)
			}
			var size int
			if err == nil {
				size, err = co.Read(buf)
			}
			r := new(dns.Msg)
			if err == nil {
				err = r.Unpack(buf[:size])
			}
			if err != nil || r.Rcode != dns.RcodeSuccess {
				b.Errorf("%v %v", r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// TestUpdateRoutedName: UPDATE of a name pinned to an edge through the API changes the records
// it holds besides its addresses, and refuses its addresses and its deletion.
func TestUpdateRoutedName(t *testing.T) {
	t.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	api := freePort(t)
	s := startUpdate(t, "", "api "+api+"\n\t\t\tapi_token env:GEOROUTE_TEST_TOKEN write")
	req, _ := http.NewRequest("PUT", "http://"+api+"/v1/zones/example.net/names/tun", strings.NewReader(`{"edge": "fra1", "ttl": 30}`))
	req.Header.Set("Authorization", "Bearer "+writeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("PUT the pinned name: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, tc := range []struct {
		name  string
		build func(m *dns.Msg)
		rcode int
	}{
		{"a TXT beside the edge", func(m *dns.Msg) { m.Insert(rrs(t, `tun 60 TXT "tunnel"`)) }, dns.RcodeSuccess},
		{"an address", func(m *dns.Msg) { m.Insert(rrs(t, "tun 60 A 192.0.2.99")) }, dns.RcodeRefused},
		{"its addresses deleted", func(m *dns.Msg) { m.RemoveRRset(rrs(t, "tun 0 A 0.0.0.0")) }, dns.RcodeRefused},
		{"the name deleted", func(m *dns.Msg) { m.RemoveName(rrs(t, "tun 0 A 0.0.0.0")) }, dns.RcodeRefused},
		{"yxrrset of its addresses", func(m *dns.Msg) {
			m.RRsetUsed(rrs(t, "tun 0 A 0.0.0.0"))
			m.Insert(rrs(t, `tun 60 MX 10 mail`))
		}, dns.RcodeSuccess},
	} {
		m := newUpdate("example.net.")
		tc.build(m)
		if r := s.send("tcp", updateKey, dns.HmacSHA256, m); r.Rcode != tc.rcode {
			t.Errorf("%s: %s, want %s", tc.name, rcodeOf(r), dns.RcodeToString[tc.rcode])
		}
	}
	s.want("tun.example.net.", dns.TypeA, "NOERROR", "192.0.2.10")
	s.want("tun.example.net.", dns.TypeTXT, "NOERROR", `"tunnel"`)
	s.want("tun.example.net.", dns.TypeMX, "NOERROR", "10 mail.example.net.")
}

// TestUpdatePrerequisitesRace: clients racing to create one name, each on the prerequisite that
// it does not exist yet, as a lock: exactly one wins, the others get YXDOMAIN, and the name holds
// the winner's record.
func TestUpdatePrerequisitesRace(t *testing.T) {
	s := startUpdate(t, "", "")
	const clients = 24
	rcodes := make([]int, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := newUpdate("example.net.")
			m.NameNotUsed(rrs(t, "lock 0 A 0.0.0.0"))
			m.Insert(rrs(t, fmt.Sprintf(`lock 60 TXT "client %d"`, i)))
			rcodes[i] = s.send("tcp", updateKey, dns.HmacSHA256, m).Rcode
		}()
	}
	wg.Wait()
	winner := -1
	for i, rc := range rcodes {
		switch {
		case rc == dns.RcodeSuccess && winner >= 0:
			t.Errorf("clients %d and %d both created the name", winner, i)
		case rc == dns.RcodeSuccess:
			winner = i
		case rc != dns.RcodeYXDomain:
			t.Errorf("client %d: %s, want YXDOMAIN", i, dns.RcodeToString[rc])
		}
	}
	if winner < 0 {
		t.Fatal("no client created the name")
	}
	s.want("lock.example.net.", dns.TypeTXT, "NOERROR", fmt.Sprintf(`"client %d"`, winner))
}

// TestTSIGMD5Query: a query signed with hmac-md5 is answered, its reply signed with hmac-md5
// (what a secondary with an md5 key asks); a wrong MAC gets BADSIG.
func TestTSIGMD5Query(t *testing.T) {
	s := startUpdate(t, "", "")
	m := new(dns.Msg)
	m.SetQuestion("mail.example.net.", dns.TypeA)
	r := s.send("udp", md5Key, hmacMD5, m)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.IsTsig() == nil {
		t.Errorf("an md5-signed query: %v", r)
	}
	m = new(dns.Msg)
	m.SetQuestion("mail.example.net.", dns.TypeA)
	m.SetTsig(md5Key, hmacMD5, 300, time.Now().Unix())
	b, _, err := dns.TsigGenerateWithProvider(m, md5Keys{md5Key: otherSecret}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	r = s.raw(b)
	if ts := r.IsTsig(); r.Rcode != dns.RcodeNotAuth || ts == nil || ts.Error != dns.RcodeBadSig {
		t.Errorf("a wrong md5 MAC: %v", r)
	}
}

// raw sends the packed message b over UDP and returns the reply.
func (s *updateServer) raw(b []byte) *dns.Msg {
	s.t.Helper()
	conn, err := net.Dial("udp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(b); err != nil {
		s.t.Fatal(err)
	}
	buf := make([]byte, dns.MaxMsgSize)
	n, err := conn.Read(buf)
	if err != nil {
		s.t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		s.t.Fatal(err)
	}
	return r
}
