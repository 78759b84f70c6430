package georoute

import (
	"testing"

	_ "github.com/coredns/coredns/plugin/acl"
	_ "github.com/coredns/coredns/plugin/cancel"
	_ "github.com/coredns/coredns/plugin/chaos"
	_ "github.com/coredns/coredns/plugin/nsid"
	"github.com/miekg/dns"
)

// TestOperatorPlugins: the in-tree plugins an operator puts in front of georoute (README,
// "Other plugins in the build") do their part of georoute's answers, in the build's order.
func TestOperatorPlugins(t *testing.T) {
	udp, tcp := startServer(t, `.:0 {
		bind 127.0.0.1
		cancel 2s
		nsid node-eu-1
		chaos georoute-appliance ops@example.net
		acl {
			block type AXFR net *
			allow net 127.0.0.0/8
		}
		georoute {
			zones testdata/zones
			config testdata/georoute.yaml
			geoip testdata/geoip2-city.mmdb
			reload 0
		}
	}`)
	// nsid: the node's name on a routed answer, for a client that asks (dig +nsid).
	m := withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), "81.2.69.0", 24)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	r := exchange(t, "udp", udp, m)
	var nsid string
	for _, o := range r.IsEdns0().Option {
		if n, ok := o.(*dns.EDNS0_NSID); ok {
			nsid = n.Nsid
		}
	}
	if addrs := addresses(r); len(addrs) != 1 || addrs[0] != "192.0.2.10" || nsid != "6e6f64652d65752d31" || replyECS(r) == nil {
		t.Errorf("www from London with NSID: %v", r)
	}
	// chaos: version.bind in class CH, a name georoute does not serve.
	m = new(dns.Msg).SetQuestion("version.bind.", dns.TypeTXT)
	m.Question[0].Qclass = dns.ClassCHAOS
	if r := exchange(t, "udp", udp, m); len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] != "georoute-appliance" {
		t.Errorf("CH TXT version.bind: %v", r)
	}
	// acl: AXFR refused before georoute (or transfer) sees it; queries from 127.0.0.1 answered.
	if r := exchange(t, "tcp", tcp, new(dns.Msg).SetQuestion("example.net.", dns.TypeAXFR)); r.Rcode != dns.RcodeRefused {
		t.Errorf("AXFR: %v, want REFUSED by acl", r)
	}
	if r := exchange(t, "udp", udp, new(dns.Msg).SetQuestion("static.example.net.", dns.TypeA)); len(r.Answer) != 1 {
		t.Errorf("static from 127.0.0.1: %v", r)
	}
}
