package dnsupdate

import (
	"slices"

	"github.com/miekg/dns"
)

// prescan checks the update section before anything is applied (RFC 2136 section 3.4.1.3).
func (u *update) prescan(rrs []dns.RR) (Result, bool) {
	for _, rr := range rrs {
		h := rr.Header()
		name, t := lower(h.Name), h.Rrtype
		if !u.inZone(name) {
			return fail(dns.RcodeNotZone, "update %s is outside zone %s", name, u.origin), false
		}
		bad := false
		switch h.Class {
		case dns.ClassINET:
			_, unknown := rr.(*dns.RFC3597)
			bad = meta(t) || unknown
		case dns.ClassANY:
			bad = h.Ttl != 0 || h.Rdlength != 0 || t != dns.TypeANY && meta(t)
		case dns.ClassNONE:
			bad = h.Ttl != 0 || meta(t)
		default:
			bad = true
		}
		if bad {
			return fail(dns.RcodeFormatError, "update %s %s %s is malformed (RFC 2136 section 3.4.1.3)", name, dns.ClassToString[h.Class], typeString(t)), false
		}
		u.read(name)
	}
	return Result{}, true
}

// apply applies one update RR, prescanned (RFC 2136 section 3.4.2).
func (u *update) apply(rr dns.RR) {
	h := rr.Header()
	name, t := lower(h.Name), h.Rrtype
	apex := name == u.origin
	switch h.Class {
	case dns.ClassINET:
		u.add(name, t, rr)
	case dns.ClassANY:
		if t == dns.TypeANY { // delete the name: at the apex, all but its SOA and NS
			for _, have := range u.types(name) {
				if !apex || have != dns.TypeSOA && have != dns.TypeNS {
					u.set(name, have, nil)
				}
			}
			return
		}
		if apex && (t == dns.TypeSOA || t == dns.TypeNS) {
			u.ignore("the deletion of the %s records of the apex %s", typeString(t), name)
			return
		}
		if len(u.rrset(name, t)) > 0 || slices.Contains(u.types(name), t) {
			u.set(name, t, nil)
		}
	case dns.ClassNONE:
		have := u.rrset(name, t)
		switch {
		case t == dns.TypeSOA:
			u.ignore("the deletion of the SOA of %s", name)
			return
		case apex && t == dns.TypeNS && len(have) <= 1:
			u.ignore("the deletion of the last NS record of the apex %s", name)
			return
		}
		for i, x := range have {
			if same(x, rr) {
				u.set(name, t, append(append([]dns.RR{}, have[:i]...), have[i+1:]...))
				return
			}
		}
	}
}

// add adds rr to its RRset, or replaces the record it repeats; the RRset takes its TTL
// (RFC 2181 section 5.2: the records of an RRset share one).
func (u *update) add(name string, t uint16, rr dns.RR) {
	types := u.types(name)
	switch {
	case t == dns.TypeSOA:
		soa, _ := rr.(*dns.SOA)
		have := u.rrset(name, t)
		cur, _ := first(have).(*dns.SOA)
		if name != u.origin || cur == nil || !newer(soa.Serial, cur.Serial) {
			u.ignore("the SOA of %s with serial %d, not newer than the zone's", name, soa.Serial)
			return
		}
	case t == dns.TypeCNAME && hasOther(types, dns.TypeCNAME):
		u.ignore("the CNAME at %s, which holds other records (RFC 2136 section 3.4.2.2)", name)
		return
	case t != dns.TypeCNAME && slices.Contains(types, dns.TypeCNAME):
		u.ignore("the %s record at %s, which holds a CNAME (RFC 2136 section 3.4.2.2)", typeString(t), name)
		return
	}
	add := dns.Copy(rr)
	add.Header().Name, add.Header().Class = name, dns.ClassINET
	var out []dns.RR
	if t != dns.TypeSOA && t != dns.TypeCNAME { // one of each: the new one replaces it
		for _, x := range u.rrset(name, t) {
			if !same(x, add) {
				x = dns.Copy(x)
				x.Header().Ttl = add.Header().Ttl
				out = append(out, x)
			}
		}
	}
	u.set(name, t, append(out, add))
}

func (u *update) ignore(format string, args ...any) {
	u.ignored = append(u.ignored, fail(0, format, args...).Reason)
}

func first(rrs []dns.RR) dns.RR {
	if len(rrs) == 0 {
		return nil
	}
	return rrs[0]
}

// hasOther reports whether ts holds a type other than t.
func hasOther(ts []uint16, t uint16) bool {
	for _, x := range ts {
		if x != t {
			return true
		}
	}
	return false
}

// newer reports whether serial a is after b in serial number arithmetic (RFC 1982).
func newer(a, b uint32) bool { return a != b && int32(a-b) > 0 }
