package georoute

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// FuzzUpdate sends arbitrary UPDATE messages, as a key that may change everything (its
// signature checked), to the appliance with a store: no panic, every answer one of RFC 2136's
// rcodes, and nothing of a refused update applied.
func FuzzUpdate(f *testing.F) {
	dir := f.TempDir()
	c := caddy.NewTestController("dns", fmt.Sprintf(`georoute {
		zones testdata/zones
		config testdata/georoute.yaml
		store %s
		reload 0
		update %s
		update %s example.net {
			names _acme-challenge
			types TXT
		}
	}`, filepath.Join(dir, "georoute.db"), updateKey, acmeKey))
	g, _, err := parse(c)
	if err != nil {
		f.Fatal(err)
	}
	if err := g.open(); err != nil {
		f.Fatal(err)
	}
	bg := &background{}
	if err := g.startBackground(bg); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { g.stopBackground(bg) })

	seed := func(zone string, build func(m *dns.Msg)) {
		m := newUpdate(zone)
		build(m)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	seed("example.net.", func(m *dns.Msg) { m.Insert(rrs(f, "fuzz 60 A 192.0.2.1", `fuzz 60 TXT "x"`)) })
	seed("example.net.", func(m *dns.Msg) { m.Insert(rrs(f, "c 60 CNAME www", "mx 60 MX 10 mail", "_s._tcp 60 SRV 1 2 3 mail")) })
	seed("example.net.", func(m *dns.Msg) {
		m.NameNotUsed(rrs(f, "fuzz 0 A 0.0.0.0"))
		m.RRsetUsed(rrs(f, "mail 0 A 0.0.0.0"))
		m.Used(rrs(f, "mail 0 A 192.0.2.25"))
		m.Insert(rrs(f, "fuzz 60 AAAA 2001:db8::1"))
	})
	seed("example.net.", func(m *dns.Msg) {
		m.Remove(rrs(f, "fuzz 0 A 192.0.2.1"))
		m.RemoveRRset(rrs(f, "fuzz 0 TXT x"))
		m.RemoveName(rrs(f, "www 0 A 0.0.0.0"))
	})
	seed("example.net.", func(m *dns.Msg) { m.Insert(rrs(f, "@ 60 SOA ns1 hostmaster 2099010101 1 1 1 1", "@ 60 NS ns3")) })
	seed("example.org.", func(m *dns.Msg) { m.Insert(rrs(f, "x.example.org. 60 A 192.0.2.1")) })
	seed("lab.example.net.", func(m *dns.Msg) { m.Insert(rrs(f, "x.lab 60 A 192.0.2.1")) })

	rfc2136 := []int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError, dns.RcodeNotImplemented,
		dns.RcodeRefused, dns.RcodeYXDomain, dns.RcodeYXRrset, dns.RcodeNXRrset, dns.RcodeNotAuth, dns.RcodeNotZone}
	f.Fuzz(func(t *testing.T, b []byte, limited bool) {
		r := new(dns.Msg)
		if err := r.Unpack(b); err != nil || len(r.Question) != 1 {
			return // the server answers these itself
		}
		r.Opcode, r.Response = dns.OpcodeUpdate, false
		key := updateKey
		if limited {
			key = acmeKey
		}
		before := g.cat.View().Rev
		zone := strings.ToLower(r.Question[0].Name)
		rep := g.update(r, g.state.Load(), zone, key, true)
		if !slices.Contains(rfc2136, rep.rcode) {
			t.Fatalf("%v: rcode %d", r, rep.rcode)
		}
		if rep.rcode != dns.RcodeSuccess && g.cat.View().Rev != before {
			t.Fatalf("%v: refused (%s: %s), yet a change was committed", r, dns.RcodeToString[rep.rcode], rep.reason)
		}
		// The reply as the server writes it, unsigned: refused at once.
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		if _, err := g.serveUpdate(context.Background(), rec, r, zone); err != nil || rec.Msg == nil {
			t.Fatalf("%v: no reply (%v)", r, err)
		}
	})
}
