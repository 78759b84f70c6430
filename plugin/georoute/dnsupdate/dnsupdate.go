// Package dnsupdate is the logic of DNS UPDATE (RFC 2136) over a zone's data, wherever that is
// kept: the prerequisites of a message checked against the data (section 3.2), its update
// section prescanned (3.4.1) and applied (3.4.2), giving the RRsets that change. The caller
// checks who may change what (Grant), writes the change and answers. No CoreDNS types here.
package dnsupdate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Zone is what an update reads of its zone's data.
type Zone interface {
	// Types returns the types of the records name owns (none: the name is not in use).
	Types(name string) []uint16
	// RRSet returns the records of type t that name owns. A type that Types reports may have
	// none here: its records are not fixed (a routed name's addresses), so no prerequisite on
	// their values holds, and an update that deletes them is still a change of them.
	RRSet(name string, t uint16) []dns.RR
}

// Set is one RRset an update changes: its records afterwards.
type Set struct {
	Name string   // lower case, fully qualified
	Type uint16   //
	RRs  []dns.RR // class IN, one TTL; none: the RRset is deleted
}

// Result is what an update does.
type Result struct {
	Rcode  int
	Reason string // why the rcode is not NOERROR
	// Sets are the RRsets that change, in the order the update first changed them.
	Sets []Set
	// Names are the names whose data the result depends on, in the order first read: the
	// names of the prerequisites and of the updates.
	Names []string
	// Ignored says which update RRs were ignored, as RFC 2136 section 3.4.2 says, and why.
	Ignored []string
}

// MaxRecords bounds the RRs of a message's prerequisite and update sections together.
const MaxRecords = 1024

// Update applies the UPDATE m, for the zone origin (lower case, fully qualified; the caller has
// checked that m's zone section names it), to z. Nothing is written: the caller writes
// Result.Sets as one change, conditional on Result.Names being as z had them.
func Update(origin string, m *dns.Msg, z Zone) Result {
	if len(m.Question) != 1 || m.Question[0].Qtype != dns.TypeSOA {
		return fail(dns.RcodeFormatError, "the zone section must hold one question, of type SOA (RFC 2136 section 3.1.1)")
	}
	if len(m.Answer)+len(m.Ns) > MaxRecords {
		return fail(dns.RcodeRefused, "the update holds more than %d records", MaxRecords)
	}
	u := &update{origin: origin, z: z, overlay: map[key][]dns.RR{}}
	if res, ok := u.prerequisites(m.Answer); !ok {
		return res
	}
	if res, ok := u.prescan(m.Ns); !ok {
		return res
	}
	for _, rr := range m.Ns {
		u.apply(rr)
	}
	return Result{Rcode: dns.RcodeSuccess, Sets: u.sets(), Names: u.names, Ignored: u.ignored}
}

func fail(rcode int, format string, args ...any) Result {
	return Result{Rcode: rcode, Reason: fmt.Sprintf(format, args...)}
}

type key struct {
	name string
	t    uint16
}

// update is one message being applied: the zone's data with what the update did so far laid
// over it.
type update struct {
	origin  string
	z       Zone
	overlay map[key][]dns.RR // RRsets the update set (empty: deleted)
	order   []key            // overlay's keys, first set first
	names   []string
	seen    map[string]bool
	ignored []string
}

// read notes that the result depends on name.
func (u *update) read(name string) {
	if u.seen == nil {
		u.seen = map[string]bool{}
	}
	if !u.seen[name] {
		u.seen[name] = true
		u.names = append(u.names, name)
	}
}

// rrset is the RRset now, with the update's changes so far.
func (u *update) rrset(name string, t uint16) []dns.RR {
	if rrs, ok := u.overlay[key{name, t}]; ok {
		return rrs
	}
	return u.z.RRSet(name, t)
}

// types is the types name owns now.
func (u *update) types(name string) []uint16 {
	ts := slices.Clone(u.z.Types(name))
	for _, k := range u.order {
		if k.name != name {
			continue
		}
		has := slices.Contains(ts, k.t)
		switch {
		case len(u.overlay[k]) == 0 && has:
			ts = slices.DeleteFunc(ts, func(t uint16) bool { return t == k.t })
		case len(u.overlay[k]) > 0 && !has:
			ts = append(ts, k.t)
		}
	}
	return ts
}

func (u *update) set(name string, t uint16, rrs []dns.RR) {
	k := key{name, t}
	if _, ok := u.overlay[k]; !ok {
		u.order = append(u.order, k)
	}
	u.overlay[k] = rrs
}

// sets is what the update changed: the RRsets it set that differ from the zone's.
func (u *update) sets() []Set {
	var out []Set
	for _, k := range u.order {
		now, was := u.overlay[k], u.z.RRSet(k.name, k.t)
		// A type whose records are not fixed changes whenever the update set it.
		unfixed := len(was) == 0 && slices.Contains(u.z.Types(k.name), k.t)
		if !unfixed && sameSet(was, now, true) {
			continue
		}
		out = append(out, Set{Name: k.name, Type: k.t, RRs: now})
	}
	return out
}

// inZone reports whether name is at or below the zone's origin.
func (u *update) inZone(name string) bool {
	return dns.IsSubDomain(u.origin, name)
}

func lower(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// same reports whether a and b are the same record but for TTL, class and case of names.
func same(a, b dns.RR) bool {
	if a.Header().Rrtype != b.Header().Rrtype {
		return false
	}
	if a.Header().Class != b.Header().Class {
		b = dns.Copy(b)
		b.Header().Class = a.Header().Class
	}
	return dns.IsDuplicate(a, b)
}

// sameSet reports whether a and b hold the same records, and, with ttl, the same TTLs.
func sameSet(a, b []dns.RR, ttl bool) bool {
	if len(a) != len(b) {
		return false
	}
	contains := func(set []dns.RR, rr dns.RR) bool {
		return slices.ContainsFunc(set, func(x dns.RR) bool { return same(x, rr) && (!ttl || x.Header().Ttl == rr.Header().Ttl) })
	}
	for _, rr := range a {
		if !contains(b, rr) {
			return false
		}
	}
	for _, rr := range b {
		if !contains(a, rr) {
			return false
		}
	}
	return true
}
