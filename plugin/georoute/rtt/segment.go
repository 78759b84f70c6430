package rtt

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"time"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// A segment is how measurements are kept durably: many in one stored value, so that a report of
// thousands costs one write. It holds the measurements a write folded (fresh) and, to let old
// segments go, current values of others restated (Restate): when every client has been restated
// since a segment was written, it holds nothing that is not newer elsewhere and is deleted.
//
// Encoding: 'S', version 1, uvarint edge count, each edge as uvarint length and bytes, uvarint
// fresh count, uvarint restated count, then each measurement: client kind byte (Net: 8 bytes of
// its key; Area: 16 address bytes and the prefix length; Place: latitude and longitude as
// float64 bits), uvarint edge index, float64 bits of ms, uvarint count, varint Unix nanoseconds,
// origin byte.

var errSegment = errors.New("not an RTT segment")

const segmentVersion = 1

// EncodeSegment encodes fresh and restated measurements as one segment.
func EncodeSegment(fresh, restated []Measurement) []byte {
	edges := map[string]uint64{}
	var names []string
	for _, ms := range [][]Measurement{fresh, restated} {
		for _, m := range ms {
			if _, ok := edges[m.Edge]; !ok {
				edges[m.Edge] = uint64(len(names))
				names = append(names, m.Edge)
			}
		}
	}
	b := make([]byte, 0, 16+(len(fresh)+len(restated))*32)
	b = append(b, 'S', segmentVersion)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	b = binary.AppendUvarint(b, uint64(len(fresh)))
	b = binary.AppendUvarint(b, uint64(len(restated)))
	for _, ms := range [][]Measurement{fresh, restated} {
		for _, m := range ms {
			b = appendClient(b, m.Client)
			b = binary.AppendUvarint(b, edges[m.Edge])
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Millis))
			b = binary.AppendUvarint(b, uint64(m.Count))
			b = binary.AppendVarint(b, m.Updated.UnixNano())
			b = append(b, byte(m.Origin))
		}
	}
	return b
}

func appendClient(b []byte, c Client) []byte {
	b = append(b, byte(c.Kind))
	switch c.Kind {
	case Net:
		b = binary.LittleEndian.AppendUint64(b, uint64(c.Net))
	case Area:
		a := c.Area.Addr().As16()
		b = append(append(b, a[:]...), byte(c.Area.Bits()))
		if c.Area.Addr().Is4() {
			b[len(b)-1] |= 0x80
		}
	case Place:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Point.Lat))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Point.Lon))
	}
	return b
}

// IsSegment reports whether v is a segment (and not a measurement stored alone, as before).
func IsSegment(v []byte) bool { return len(v) >= 2 && v[0] == 'S' && v[1] == segmentVersion }

// DecodeSegment decodes a segment; restated are the measurements restated in it.
func DecodeSegment(v []byte) (fresh, restated []Measurement, err error) {
	if !IsSegment(v) {
		return nil, nil, errSegment
	}
	d := decoder{b: v[2:]}
	names := make([]string, d.count(1<<16))
	for i := range names {
		names[i] = string(d.bytes(d.count(256)))
	}
	nf, nr := d.count(len(d.b)), d.count(len(d.b))
	all := make([]Measurement, 0, nf+nr)
	for d.err == nil && len(all) < nf+nr {
		c := d.client()
		e := d.count(len(names) - 1)
		if d.err != nil {
			break
		}
		m := Measurement{Client: c, Edge: names[e], Millis: math.Float64frombits(d.fixed64())}
		m.Count = uint32(d.count(math.MaxUint32))
		m.Updated = time.Unix(0, d.varint())
		m.Origin = Origin(d.byte())
		if !(m.Millis > 0 && m.Millis <= MaxMillis) || m.Origin < FromFile || m.Origin > FromProbe || m.Edge == "" {
			d.fail() // not what a write stores
		}
		all = append(all, m)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errSegment
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	return all[:nf], all[nf:], nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errSegment, nil }

func (d *decoder) count(max int) int {
	if d.err != nil {
		return 0
	}
	n, size := binary.Uvarint(d.b)
	if size <= 0 || max < 0 || n > uint64(max) {
		d.fail()
		return 0
	}
	d.b = d.b[size:]
	return int(n)
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	n, size := binary.Varint(d.b)
	if size <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[size:]
	return n
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil || n > len(d.b) {
		d.fail()
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) fixed64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) client() Client {
	switch k := ClientKind(d.byte()); k {
	case Net:
		n := NetKey(d.fixed64())
		if n&(v4Tag|v6Tag) == 0 || n&(v4Tag|v6Tag) == v4Tag|v6Tag || n.Is4() && n&^(v4Tag|1<<V4Bits-1) != 0 || !n.Is4() && n&^(v6Tag|1<<V6Bits-1) != 0 {
			d.fail()
		}
		return Client{Kind: Net, Net: n}
	case Area:
		a := d.bytes(16)
		bits := int(d.byte())
		if d.err != nil {
			return Client{}
		}
		addr := netip.AddrFrom16([16]byte(a))
		if bits&0x80 != 0 {
			addr, bits = addr.Unmap(), bits&^0x80
		}
		p := netip.PrefixFrom(addr, bits)
		if !p.IsValid() || p.Masked() != p || bits == 0 || bits >= KeyOf(addr).Bits() {
			d.fail()
		}
		return Client{Kind: Area, Area: p}
	case Place:
		p := geo.Point{Lat: math.Float64frombits(d.fixed64()), Lon: math.Float64frombits(d.fixed64())}
		if !p.Valid() {
			d.fail()
		}
		return Client{Kind: Place, Point: p}
	}
	d.fail()
	return Client{}
}
