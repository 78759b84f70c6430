package georoute

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/debug"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// serverBlock is the georoute block both servers of FuzzServer run.
const serverBlock = `georoute {
		zones testdata/zones
		config %s
		geoip testdata/geoip2-city.mmdb
		asn testdata/asn.mmdb
		reload 0
	}`

// FuzzServer sends arbitrary packets through the whole server: CoreDNS's own ServeDNS (question
// check, EDNS version, scrubbing, the zone mux) and georoute, in process, and the same bytes over
// UDP to a real server. Every query answered in process has a reply that packs and echoes its ID
// and question; the real server answers it the same way and stays up. The servers run in debug
// mode, so a panic is not recovered into a SERVFAIL but fails the target.
func FuzzServer(f *testing.F) {
	cfg := filepath.Join(f.TempDir(), "georoute.yaml")
	if err := os.WriteFile(cfg, []byte(testConfig(f)), 0o644); err != nil {
		f.Fatal(err)
	}
	block := fmt.Sprintf(serverBlock, cfg)

	c := caddy.NewTestController("dns", block)
	if err := setup(c); err != nil {
		f.Fatal(err)
	}
	site := dnsserver.GetConfig(c)
	site.Zone, site.Transport, site.Debug = ".", "dns", true
	srv, err := dnsserver.NewServer("dns://:0", []*dnsserver.Config{site})
	if err != nil {
		f.Fatal(err)
	}
	udp := startFuzzServer(f, ".:0 {\n\tbind 127.0.0.1\n\tdebug\n\t"+block+"\n}")

	for _, b := range serverSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil {
			return // the server drops what does not unpack
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: london})
		srv.ServeDNS(context.Background(), rec, m)
		if rec.Msg != nil {
			checkReply(t, m, rec.Msg)
		}

		conn, err := net.Dial("udp", udp)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write(data); err != nil {
			t.Fatal(err)
		}
		if rec.Msg == nil || !acceptedOverUDP(data) {
			return
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, dns.MaxMsgSize)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no UDP reply to a query answered in process (%v): %v\n%v", rec.Msg.MsgHdr, err, m)
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("UDP reply does not unpack: %v", err)
		}
		checkReply(t, m, r)
	})
}

// checkReply: a reply packs and echoes the query's ID and question.
func checkReply(t *testing.T, q, r *dns.Msg) {
	t.Helper()
	if _, err := r.Pack(); err != nil {
		t.Fatalf("reply does not pack: %v\n%v", err, r)
	}
	if r.Id != q.Id {
		t.Fatalf("reply ID %d, asked with ID %d", r.Id, q.Id)
	}
	// A reply echoes the first question only (dns.Msg.SetReply), and none when there was none.
	if len(q.Question) == 0 && len(r.Question) != 0 || len(q.Question) > 0 && (len(r.Question) != 1 || r.Question[0] != q.Question[0]) {
		t.Fatalf("reply question %v, asked %v", r.Question, q.Question)
	}
}

// acceptedOverUDP reports whether miekg/dns's server passes the packet to CoreDNS at all.
func acceptedOverUDP(data []byte) bool {
	if len(data) < 12 {
		return false
	}
	h := dns.Header{
		Id:      binary.BigEndian.Uint16(data),
		Bits:    binary.BigEndian.Uint16(data[2:]),
		Qdcount: binary.BigEndian.Uint16(data[4:]),
		Ancount: binary.BigEndian.Uint16(data[6:]),
		Nscount: binary.BigEndian.Uint16(data[8:]),
		Arcount: binary.BigEndian.Uint16(data[10:]),
	}
	return dns.DefaultMsgAcceptFunc(h) == dns.MsgAccept
}

// startFuzzServer starts a real server from corefile and returns its UDP address.
func startFuzzServer(f *testing.F, corefile string) string {
	f.Helper()
	serverMu.Lock()
	defer serverMu.Unlock()
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		f.Fatalf("start: %v", err)
	}
	instances = append(instances, inst)
	f.Cleanup(func() { stopServers(nil) })
	return inst.Servers()[0].LocalAddr().String()
}

// serverSeeds are the packets the seed corpus starts from: normal queries, broken ECS, odd
// section counts and opcodes.
func serverSeeds(f *testing.F) [][]byte {
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	q := func(name string, qtype uint16) *dns.Msg { return new(dns.Msg).SetQuestion(name, qtype) }
	// ecs adds an ECS option with raw fields, as a broken client might send it.
	ecs := func(m *dns.Msg, family uint16, bits uint8, addr []byte) *dns.Msg {
		m.SetEdns0(1232, false)
		o := m.IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: append(binary.BigEndian.AppendUint16(nil, family), append([]byte{bits, 0}, addr...)...)})
		return m
	}
	var seeds [][]byte
	for _, m := range []*dns.Msg{
		q("www.example.net.", dns.TypeA),
		q("www.example.org.", dns.TypeAAAA),
		q("nope.example.net.", dns.TypeA),
		q("www.example.com.", dns.TypeA),
		q("example.net.", dns.TypeANY),
		q("example.net.", dns.TypeAXFR),
		q("example.net.", dns.TypeIXFR),
		q("example.net.", dns.TypeDS),
		withECS(q("www.example.net.", dns.TypeA), "1.1.1.0", 24),
		withECS(q("www.example.net.", dns.TypeAAAA), "2400:cb00::", 48),
		ecs(q("www.example.net.", dns.TypeA), 3, 24, []byte{1, 1, 1}), // no such family
		ecs(q("www.example.net.", dns.TypeA), 1, 33, []byte{1, 1, 1, 1}),
		ecs(q("www.example.net.", dns.TypeA), 1, 24, []byte{1, 1, 1, 0, 9}), // longer than /24 needs
		ecs(q("www.example.net.", dns.TypeA), 2, 129, make([]byte, 17)),
		ecs(q("www.example.net.", dns.TypeA), 1, 0, nil),
	} {
		seeds = append(seeds, pack(m))
	}

	twoOPT := withECS(q("www.example.net.", dns.TypeA), "1.1.1.0", 24)
	twoOPT.Extra = append(twoOPT.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 512}})
	seeds = append(seeds, pack(twoOPT))

	noQuestion := q("www.example.net.", dns.TypeA)
	noQuestion.Question = nil
	seeds = append(seeds, pack(noQuestion))

	twoQuestions := q("www.example.net.", dns.TypeA)
	twoQuestions.Question = append(twoQuestions.Question, dns.Question{Name: "www.example.org.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	seeds = append(seeds, pack(twoQuestions))

	update := new(dns.Msg)
	update.SetUpdate("example.net.")
	a, _ := dns.NewRR("new.example.net. 60 IN A 192.0.2.1")
	update.Insert([]dns.RR{a})
	seeds = append(seeds, pack(update))

	chaos := q("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	seeds = append(seeds, pack(chaos))

	badVersion := q("www.example.net.", dns.TypeA)
	badVersion.SetEdns0(1232, true)
	badVersion.IsEdns0().SetVersion(1)
	seeds = append(seeds, pack(badVersion))
	return seeds
}
