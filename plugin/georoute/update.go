package georoute

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/tsig"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/dnsupdate"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/miekg/dns"
)

// DNS UPDATE (RFC 2136) is one more front door to the catalog: the *tsig* plugin verifies the
// message's signature, the key's grants say what it may change, package dnsupdate computes the
// RRsets the message changes from what the names hold now, and those become one catalog Change
// of record set ops, checked against the names as they were read (catalog.Check) and written
// through the committer: the API's validation, durability (NOERROR once on disk) and
// visibility. A change committed in between makes UPDATE read again.

// maxUpdateTries bounds how often an UPDATE is computed again when the names it read changed
// before its change committed.
const maxUpdateTries = 8

// updateReply is what an UPDATE is answered.
type updateReply struct {
	rcode  int
	reason string // why, when refused
	ede    uint16 // the Extended DNS Error code that says so (RFC 8914)
}

func refused(ede uint16, format string, args ...any) updateReply {
	return updateReply{rcode: dns.RcodeRefused, reason: fmt.Sprintf(format, args...), ede: ede}
}

// serveUpdate answers an UPDATE whose zone section names zone (lower case).
func (g *GeoRoute) serveUpdate(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, zone string) (int, error) {
	st := g.state.Load()
	if (st == nil || st.zoneOf(zone) == "") && g.Fall.Through(zone) {
		return plugin.NextOrFailure(pluginName, g.Next, ctx, w, r)
	}
	if len(g.updates) == 0 {
		return dns.RcodeNotImplemented, nil // no key may update: as if there were no UPDATE here
	}
	key, signed := tsig.ValidatedKeyName(ctx)
	rep := g.update(r, st, zone, key, signed)
	updatesTotal.WithLabelValues(dns.RcodeToString[rep.rcode]).Inc()
	if rep.reason != "" && signed {
		log.Infof("UPDATE of zone %s by key %s from %s: %s: %s", zone, key, w.RemoteAddr(), dns.RcodeToString[rep.rcode], rep.reason)
	}
	m := new(dns.Msg)
	m.SetRcode(r, rep.rcode)
	m.Authoritative = true
	if rep.reason != "" && r.IsEdns0() != nil {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(dns.DefaultMsgSize)
		o.Option = []dns.EDNS0{&dns.EDNS0_EDE{InfoCode: rep.ede, ExtraText: rep.reason}}
		m.Extra = append(m.Extra, o)
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// update applies UPDATE r to zone for the key that signed it.
func (g *GeoRoute) update(r *dns.Msg, st *state, zone, key string, signed bool) updateReply {
	switch {
	case st == nil || st.zoneOf(zone) != zone || r.Question[0].Qclass != dns.ClassINET:
		return updateReply{rcode: dns.RcodeNotAuth, reason: zone + " is not a zone served here", ede: dns.ExtendedErrorCodeNotAuthoritative}
	case !signed:
		return refused(dns.ExtendedErrorCodeProhibited, "an UPDATE must be signed with a TSIG key (RFC 8945) that the georoute block's 'update' names")
	}
	grants := g.updates[key]
	if !allows(grants, zone, "", 0) {
		return refused(dns.ExtendedErrorCodeProhibited, "key %s may not update zone %s", key, zone)
	}
	for _, rr := range r.Ns {
		name, t := strings.ToLower(rr.Header().Name), rr.Header().Rrtype
		// A deletion of the name (type ANY) is allowed to a key that may change some type
		// there: each type it deletes is checked below.
		if st.zoneOf(name) == zone && !allows(grants, zone, name, t) {
			return refused(dns.ExtendedErrorCodeProhibited, "key %s may not change the %s records of %s", key, typeName(t), name)
		}
	}
	for _, rr := range append(r.Answer[:len(r.Answer):len(r.Answer)], r.Ns...) {
		if name := strings.ToLower(rr.Header().Name); dns.IsSubDomain(zone, name) && st.zoneOf(name) != zone {
			return updateReply{rcode: dns.RcodeNotZone, reason: fmt.Sprintf("%s is in zone %s, not %s", name, st.zoneOf(name), zone)}
		}
	}
	for try := 1; ; try++ {
		z := newUpdateZone(st, g, zone)
		res := dnsupdate.Update(zone, r, z)
		if res.Rcode != dns.RcodeSuccess {
			return updateReply{rcode: res.Rcode, reason: res.Reason}
		}
		ch, rep := g.updateChange(z, grants, key, res)
		if rep.rcode != dns.RcodeSuccess || ch == nil {
			return rep
		}
		_, _, err := g.writeAt(ch)
		var ce *catalog.Error
		switch {
		case err == nil:
			return updateReply{rcode: dns.RcodeSuccess}
		case !errors.As(err, &ce):
			return updateReply{rcode: dns.RcodeServerFailure, reason: err.Error()}
		case ce.Code == catalog.CodeChanged && try < maxUpdateTries:
			st = g.state.Load()
			continue
		case ce.Kind == catalog.Unavailable, ce.Code == catalog.CodeChanged:
			return updateReply{rcode: dns.RcodeServerFailure, reason: ce.Message}
		}
		return refused(dns.ExtendedErrorCodeProhibited, "%s", ce.Message)
	}
}

// updateChange makes the RRsets res changes one catalog Change, checking each against what
// the key may change and what the zone's own data holds; nil when nothing changes.
func (g *GeoRoute) updateChange(z *updateZone, grants []dnsupdate.Grant, key string, res dnsupdate.Result) (*catalog.Change, updateReply) {
	if len(res.Sets) == 0 {
		return nil, updateReply{rcode: dns.RcodeSuccess}
	}
	ch := &catalog.Change{}
	for i, name := range res.Names {
		ch.AddCheck(z.origin, name, z.binding(name), fmt.Sprintf("check[%d]", i))
	}
	for i, s := range res.Sets {
		t := typeName(s.Type)
		switch {
		case !allows(grants, z.origin, s.Name, s.Type):
			return nil, refused(dns.ExtendedErrorCodeProhibited, "key %s may not change the %s records of %s", key, t, s.Name)
		case len(z.fileRRSet(s.Name, s.Type)) > 0 && z.inFile:
			return nil, refused(dns.ExtendedErrorCodeProhibited, "the zone file of %s holds the %s records of %s: change them there", z.origin, t, s.Name)
		case len(z.fileRRSet(s.Name, s.Type)) > 0:
			return nil, refused(dns.ExtendedErrorCodeProhibited, "the %s records of %s are made here: its SOA serial follows its changes, its NS are the 'nameservers' of the georoute block", t, s.Name)
		}
		if _, ok := model.StaticTypes[t]; !ok {
			return nil, refused(dns.ExtendedErrorCodeProhibited, "records of type %s cannot be kept here", t)
		}
		field := fmt.Sprintf("update[%d]", i)
		if len(s.RRs) == 0 {
			ch.DeleteRRSet(z.origin, s.Name, t, field)
			continue
		}
		records := make([]model.Record, len(s.RRs))
		for j, rr := range s.RRs {
			records[j] = model.Record{Type: t, TTL: rr.Header().Ttl, Value: strings.TrimPrefix(rr.String(), rr.Header().String())}
		}
		ch.PutRRSet(z.origin, s.Name, t, records, field)
	}
	return ch, updateReply{rcode: dns.RcodeSuccess}
}

// allows reports whether any of grants lets its key change the records of type t (ANY: of
// some type) at name in zone; with name "", whether it may change zone at all.
func allows(grants []dnsupdate.Grant, zone, name string, t uint16) bool {
	for _, gr := range grants {
		if name == "" && gr.AllowsZone(zone) || name != "" && gr.Allows(zone, name, t) {
			return true
		}
	}
	return false
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}
