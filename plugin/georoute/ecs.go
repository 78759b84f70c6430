package georoute

import (
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// clientSubnet returns the EDNS Client Subnet option of r (RFC 7871), nil when there is none, and
// whether the option is malformed: an address with bits set beyond its source prefix length.
func clientSubnet(r *dns.Msg) (ecs *dns.EDNS0_SUBNET, prefix netip.Prefix, bad bool) {
	o := r.IsEdns0()
	if o == nil {
		return nil, netip.Prefix{}, false
	}
	for _, opt := range o.Option {
		e, ok := opt.(*dns.EDNS0_SUBNET)
		if !ok {
			continue
		}
		addr, ok := netip.AddrFromSlice(e.Address)
		if !ok {
			return e, netip.Prefix{}, true
		}
		if e.Family == 1 || e.Family == 0 {
			addr = addr.Unmap()
		}
		p, err := addr.Prefix(int(e.SourceNetmask))
		if err != nil || p.Addr() != addr {
			return e, netip.Prefix{}, true
		}
		return e, p, false
	}
	return nil, netip.Prefix{}, false
}

// ecsReply is the ECS option of a reply: the query's family, source prefix and address, with the
// scope prefix length the answer depended on.
func ecsReply(q *dns.EDNS0_SUBNET, scope int) dns.EDNS0_SUBNET {
	max := net.IPv4len * 8
	if q.Family == 2 {
		max = net.IPv6len * 8
	}
	if scope > max {
		scope = max
	}
	if q.SourceNetmask == 0 {
		scope = 0 // RFC 7871 7.2.1: a /0 source gets a /0 scope
	}
	return dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: q.Family, SourceNetmask: q.SourceNetmask, SourceScope: uint8(scope), Address: q.Address}
}
