package georoute

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// FuzzServeDNS feeds arbitrary packets to the handler: whatever unpacks as a DNS message must be
// answered without a panic, with a reply that packs and echoes the question.
func FuzzServeDNS(f *testing.F) {
	g := newTestRoute(f, testConfig(f))
	seeds := []*dns.Msg{
		new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA),
		new(dns.Msg).SetQuestion("x.abc.t.example.net.", dns.TypeAAAA),
		new(dns.Msg).SetQuestion("api.example.net.", dns.TypeA),
		new(dns.Msg).SetQuestion("host.lab.example.net.", dns.TypeDS),
		new(dns.Msg).SetQuestion("example.net.", dns.TypeANY),
		new(dns.Msg).SetQuestion(`a\.b.example.net.`, dns.TypeA),
		new(dns.Msg).SetQuestion(`\000.t.example.net.`, dns.TypeTXT),
		withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), "1.1.1.0", 24),
		withECS(new(dns.Msg).SetQuestion("three.example.net.", dns.TypeAAAA), "2400:cb00::", 48),
		withECS(new(dns.Msg).SetQuestion("cn.example.net.", dns.TypeA), "0.0.0.0", 0),
	}
	for _, m := range seeds {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil || len(m.Question) == 0 {
			return // the server drops these before any plugin sees them
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: london})
		g.ServeDNS(context.Background(), rec, m)
		if rec.Msg == nil {
			return
		}
		if _, err := rec.Msg.Pack(); err != nil {
			t.Fatalf("reply does not pack: %v\n%v", err, rec.Msg)
		}
		if len(rec.Msg.Question) != 1 || rec.Msg.Question[0] != m.Question[0] {
			t.Fatalf("reply question %v, asked %v", rec.Msg.Question, m.Question)
		}
	})
}
