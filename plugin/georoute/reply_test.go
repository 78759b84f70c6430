package georoute

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// TestMaxLen: the bound fit trusts instead of packing is never below the length miekg/dns packs
// uncompressed, and is given only for address answers with ECS options.
func TestMaxLen(t *testing.T) {
	opt := func(ecs ...*dns.EDNS0_SUBNET) *dns.OPT {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		for _, e := range ecs {
			o.Option = append(o.Option, e)
		}
		return o
	}
	v4 := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, SourceScope: 20, Address: net.ParseIP("81.2.69.0").To4()}
	v6 := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 2, SourceNetmask: 56, Address: net.ParseIP("2a02:c7f::")}
	zero := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 0}
	a := func(name string) dns.RR {
		return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: 1}, A: net.ParseIP("192.0.2.10")}
	}
	aaaa := func(name string) dns.RR {
		return &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: 1}, AAAA: net.ParseIP("2001:db8::1")}
	}
	for _, tc := range []struct {
		name   string
		qname  string
		answer []dns.RR
		extra  []dns.RR
		ok     bool
	}{
		{"A", "www.example.net.", []dns.RR{a("www.example.net.")}, nil, true},
		{"A with ECS", "www.example.net.", []dns.RR{a("www.example.net.")}, []dns.RR{opt(v4)}, true},
		{"three AAAA with ECS", "connect.example.net.", []dns.RR{aaaa("connect.example.net."), aaaa("connect.example.net."), aaaa("connect.example.net.")}, []dns.RR{opt(v6)}, true},
		{"escaped name", `a\.b\065.t.example.net.`, []dns.RR{a(`a\.b\065.t.example.net.`)}, []dns.RR{opt(zero)}, true},
		{"the root", ".", []dns.RR{a(".")}, []dns.RR{opt()}, true},
		{"MX", "example.net.", []dns.RR{&dns.MX{Hdr: dns.RR_Header{Name: "example.net.", Rrtype: dns.TypeMX, Class: 1}, Mx: "mail.example.net."}}, nil, false},
		{"a cookie", "www.example.net.", []dns.RR{a("www.example.net.")}, []dns.RR{opt(v4), &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}, Option: []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"}}}}, false},
	} {
		m := new(dns.Msg).SetQuestion(tc.qname, dns.TypeA)
		m.Answer, m.Extra = tc.answer, tc.extra
		n, ok := maxLen(m)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		m.Compress = false
		if packed := m.Len(); ok && n < packed {
			t.Errorf("%s: bound %d below the packed length %d", tc.name, n, packed)
		}
	}
}
