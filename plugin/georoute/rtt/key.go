// Package rtt is the RTT matrix: round-trip times measured from client networks to edges, and
// estimates for the networks nobody measured.
//
// A measurement of the client's own network (its /24 for IPv4, /48 for IPv6) wins. Anything else
// is estimated: the distance model (geo.ModelRTTMillis) corrected by what the nearest measured
// client networks saw of the same edge, weighted by nearness, where a network of the same AS or
// the same city counts as nearest. Compile turns raw measurements into an immutable Matrix that
// queries read without locks; estimates are computed once per client location and cached.
package rtt

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// NetKey identifies a client network: the /24 of an IPv4 address or the /48 of an IPv6 address.
type NetKey uint64

const (
	v4Tag = 1 << 62
	v6Tag = 2 << 62

	// V4Bits and V6Bits are the prefix lengths of a client network.
	V4Bits = 24
	V6Bits = 48
)

// KeyOf returns the network key of addr.
func KeyOf(addr netip.Addr) NetKey {
	addr = addr.Unmap()
	if addr.Is4() {
		b := addr.As4()
		return NetKey(v4Tag | uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2]))
	}
	b := addr.As16()
	return NetKey(v6Tag | uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5]))
}

// Is4 reports whether k is an IPv4 network.
func (k NetKey) Is4() bool { return k&v4Tag != 0 }

// Bits is the prefix length of k's network.
func (k NetKey) Bits() int {
	if k.Is4() {
		return V4Bits
	}
	return V6Bits
}

// Prefix is k's network.
func (k NetKey) Prefix() netip.Prefix {
	if k.Is4() {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(k >> 16), byte(k >> 8), byte(k)}), V4Bits)
	}
	var b [16]byte
	for i := 0; i < 6; i++ {
		b[i] = byte(k >> (40 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), V6Bits)
}

func (k NetKey) String() string { return k.Prefix().String() }

// ClientKind says what a Client names.
type ClientKind uint8

// The kinds of client a measurement may be about.
const (
	// Net is one client network (/24, /48): its measurement answers its own clients directly.
	Net ClientKind = iota + 1
	// Area is a network wider than a /24 (/48): it corrects estimates nearby, located by GeoIP.
	Area
	// Place is a point given by coordinates (an imported city-to-edge matrix).
	Place
)

// Client is who a measurement is about.
type Client struct {
	Kind  ClientKind
	Net   NetKey
	Area  netip.Prefix
	Point geo.Point
}

// ParseClient reads a client: an address or a prefix of /24 (/48) or longer counts for its /24
// (/48); a wider prefix is an area; "geo:LAT,LON" is a place.
func ParseClient(s string) (Client, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "geo:"); ok {
		lat, lon, ok := strings.Cut(rest, ",")
		la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
		lo, err2 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
		p := geo.Point{Lat: la, Lon: lo}
		if !ok || err1 != nil || err2 != nil || !p.Valid() {
			return Client{}, fmt.Errorf("%q is not a place (write geo:LAT,LON)", s)
		}
		return Client{Kind: Place, Point: p}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return Client{Kind: Net, Net: KeyOf(a)}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Client{}, fmt.Errorf("%q is not an address, a prefix or geo:LAT,LON", s)
	}
	if p.Addr().Is4In6() && p.Bits() < 96 {
		return Client{}, fmt.Errorf("%q: an IPv4-mapped prefix shorter than /96 is not an IPv4 network", s)
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapShift(p.Addr())).Masked()
	if (p.Addr().Is4() && p.Bits() >= V4Bits) || (p.Addr().Is6() && p.Bits() >= V6Bits) {
		return Client{Kind: Net, Net: KeyOf(p.Addr())}, nil
	}
	if p.Bits() == 0 {
		return Client{}, fmt.Errorf("%q is the whole address space", s)
	}
	return Client{Kind: Area, Area: p}, nil
}

func unmapShift(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// Compare orders clients: by kind, then network, prefix or place. Cheap: no formatting.
func (c Client) Compare(o Client) int {
	if c.Kind != o.Kind {
		return cmp.Compare(c.Kind, o.Kind)
	}
	switch c.Kind {
	case Net:
		return cmp.Compare(c.Net, o.Net)
	case Area:
		if x := c.Area.Addr().Compare(o.Area.Addr()); x != 0 {
			return x
		}
		return cmp.Compare(c.Area.Bits(), o.Area.Bits())
	case Place:
		if x := cmp.Compare(c.Point.Lat, o.Point.Lat); x != 0 {
			return x
		}
		return cmp.Compare(c.Point.Lon, o.Point.Lon)
	}
	return 0
}

func (c Client) String() string {
	switch c.Kind {
	case Net:
		return c.Net.String()
	case Area:
		return c.Area.String()
	case Place:
		return fmt.Sprintf("geo:%g,%g", c.Point.Lat, c.Point.Lon)
	}
	return "?"
}
