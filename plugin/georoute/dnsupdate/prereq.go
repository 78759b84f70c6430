package dnsupdate

import (
	"slices"
	"strconv"

	"github.com/miekg/dns"
)

// prerequisites checks the prerequisite section against the zone as it is (RFC 2136 section
// 3.2): ok is false, with the result to answer, when one does not hold.
func (u *update) prerequisites(rrs []dns.RR) (Result, bool) {
	var valued []key // RRsets that must exist with exactly these values (section 3.2.3)
	values := map[key][]dns.RR{}
	for _, rr := range rrs {
		h := rr.Header()
		name, t := lower(h.Name), h.Rrtype
		switch {
		case h.Ttl != 0:
			return fail(dns.RcodeFormatError, "prerequisite %s has TTL %d, not 0 (RFC 2136 section 3.2.1)", name, h.Ttl), false
		case !u.inZone(name):
			return fail(dns.RcodeNotZone, "prerequisite %s is outside zone %s", name, u.origin), false
		}
		u.read(name)
		switch h.Class {
		case dns.ClassANY, dns.ClassNONE:
			if h.Rdlength != 0 || t != dns.TypeANY && meta(t) {
				return fail(dns.RcodeFormatError, "prerequisite %s %s of class %s has data or a meta type (RFC 2136 section 3.2.1)", name, typeString(t), dns.ClassToString[h.Class]), false
			}
			inUse := len(u.z.Types(name)) > 0
			has := slices.Contains(u.z.Types(name), t)
			switch {
			case h.Class == dns.ClassANY && t == dns.TypeANY && !inUse:
				return fail(dns.RcodeNameError, "prerequisite failed: %s is not in use", name), false
			case h.Class == dns.ClassANY && t != dns.TypeANY && !has:
				return fail(dns.RcodeNXRrset, "prerequisite failed: %s has no %s records", name, typeString(t)), false
			case h.Class == dns.ClassNONE && t == dns.TypeANY && inUse:
				return fail(dns.RcodeYXDomain, "prerequisite failed: %s is in use", name), false
			case h.Class == dns.ClassNONE && t != dns.TypeANY && has:
				return fail(dns.RcodeYXRrset, "prerequisite failed: %s has %s records", name, typeString(t)), false
			}
		case dns.ClassINET:
			if meta(t) {
				return fail(dns.RcodeFormatError, "prerequisite %s of meta type %s (RFC 2136 section 3.2.3)", name, typeString(t)), false
			}
			k := key{name, t}
			if _, ok := values[k]; !ok {
				valued = append(valued, k)
			}
			values[k] = append(values[k], rr)
		default:
			return fail(dns.RcodeFormatError, "prerequisite %s of class %s (RFC 2136 section 3.2.5)", name, dns.ClassToString[h.Class]), false
		}
	}
	for _, k := range valued {
		if have := u.z.RRSet(k.name, k.t); !sameSet(have, dedup(values[k]), false) {
			return fail(dns.RcodeNXRrset, "prerequisite failed: the %s records of %s are not exactly those given", typeString(k.t), k.name), false
		}
	}
	return Result{}, true
}

// dedup drops records given twice.
func dedup(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if !slices.ContainsFunc(out, func(x dns.RR) bool { return same(x, rr) }) {
			out = append(out, rr)
		}
	}
	return out
}

// meta reports whether t is a QTYPE or meta type (RFC 6895 section 3.1), which no zone holds.
func meta(t uint16) bool {
	return t == dns.TypeNone || t == dns.TypeOPT || t >= 128 && t <= 255
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}
