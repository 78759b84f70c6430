package georoute

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/file"
	"github.com/miekg/dns"
)

// The *dnssec* plugin, ahead of georoute in the chain, signs the replies georoute writes: each
// RRset as it is, its signatures cached by the RRset's content (owner, TTL, data), so a routed
// answer is signed per answer set whichever client asked. What is georoute's own: knowing which
// of its zones dnssec signs and with which keys, to publish CDS and CDNSKEY at their apex and
// to tell Route 53's GetDNSSEC, and refusing to start when dnssec would sign a zone as a zone
// whose DNSKEY nobody serves.

// signing is what georoute knows of the server block's *dnssec* plugin.
type signing struct {
	probe plugin.Handler // dnssec, ending its chain at itself: nil without dnssec
	zones sync.Map       // origin -> *zoneKeys; dnssec's zones and keys are fixed for the server's life
}

// zoneKeys is how dnssec signs one zone of ours.
type zoneKeys struct {
	signer       string        // the zone dnssec signs the answers as: origin, a zone above it, or "" (unsigned)
	keys         []*dns.DNSKEY // origin's DNSKEY set, as dnssec serves it, when signer is origin
	sep          []*dns.DNSKEY // the keys a parent's DS points at: the KSKs beside ZSKs, else every key
	cds, cdnskey []dns.RR      // what the apex publishes for the parent (RFC 7344)
}

// setupDNSSEC finds the server block's *dnssec* plugin at startup and checks the zones served
// then against it: one it would sign under the name of a zone above it that is not served here
// would fail validation through its own delegation, so the server does not start.
func (g *GeoRoute) setupDNSSEC(c *caddy.Controller) {
	c.OnStartup(func() error {
		d, ok := dnsserver.GetConfig(c).Handler("dnssec").(dnssec.Dnssec)
		if !ok {
			return nil
		}
		g.signing.use(d)
		st := g.state.Load()
		if st == nil {
			return nil
		}
		for origin := range st.zones {
			if err := g.signing.check(st, origin); err != nil {
				return plugin.Error(pluginName, err)
			}
		}
		return nil
	})
}

// use makes d the signer: a copy of it answers DNSKEY queries for the probes, and ends there.
func (s *signing) use(d dnssec.Dnssec) {
	d.Next = plugin.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
		return dns.RcodeRefused, nil
	})
	s.probe = d
}

// check says what is wrong with how dnssec signs origin, if anything.
func (s *signing) check(st *state, origin string) error {
	k := s.of(origin)
	if k.signer == "" || k.signer == origin {
		return nil
	}
	if _, ours := st.zones[k.signer]; ours {
		return nil // signed as part of the zone above it, whose keys are served here
	}
	return fmt.Errorf("dnssec would sign zone %s as %s, a zone not served here: name the zones to sign in the dnssec directive (dnssec %s ... { key file ... })", origin, k.signer, origin)
}

// of returns how origin is signed, found on first use.
func (s *signing) of(origin string) *zoneKeys {
	if s.probe == nil {
		return &unsigned
	}
	if k, ok := s.zones.Load(origin); ok {
		return k.(*zoneKeys)
	}
	k := s.find(origin)
	s.zones.Store(origin, k)
	return k
}

var unsigned zoneKeys

// find asks dnssec for the DNSKEY set of origin and of each zone above it: the first it
// answers is the zone it signs origin's answers as.
func (s *signing) find(origin string) *zoneKeys {
	k := &zoneKeys{}
	for off, end := 0, false; !end; off, end = dns.NextLabel(origin, off) {
		if keys := s.dnskeys(origin[off:]); len(keys) > 0 {
			k.signer = origin[off:]
			if off == 0 {
				k.keys = keys
			}
			break
		}
	}
	if k.signer == "" {
		if keys := s.dnskeys("."); len(keys) > 0 {
			k.signer = "."
		}
	}
	k.sep = dsKeys(k.keys)
	for _, key := range k.sep {
		k.cds = append(k.cds, key.ToDS(dns.SHA256).ToCDS())
		k.cdnskey = append(k.cdnskey, key.ToCDNSKEY())
	}
	return k
}

// dnskeys is the DNSKEY set dnssec answers for zone, if it signs zone.
func (s *signing) dnskeys(zone string) []*dns.DNSKEY {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeDNSKEY)
	w := &probeWriter{}
	s.probe.ServeDNS(context.Background(), w, m)
	if w.msg == nil {
		return nil
	}
	var keys []*dns.DNSKEY
	for _, rr := range w.msg.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// dsKeys are the keys a DS at the parent points at, as dnssec uses them: with both KSKs (SEP
// flag) and ZSKs it signs the DNSKEY set with the KSKs only; otherwise every key signs
// everything (a CSK).
func dsKeys(keys []*dns.DNSKEY) []*dns.DNSKEY {
	var ksk, zsk []*dns.DNSKEY
	for _, k := range keys {
		if k.Flags&dns.ZONE == 0 {
			continue
		}
		if k.Flags&dns.SEP != 0 {
			ksk = append(ksk, k)
		} else {
			zsk = append(zsk, k)
		}
	}
	if len(ksk) > 0 && len(zsk) > 0 {
		return ksk
	}
	return append(ksk, zsk...)
}

// apexKeys answers CDS and CDNSKEY at the apex of a zone dnssec signs, unless the zone file
// has its own; dnssec signs the answer as any other.
func (q *query) apexKeys(z *file.Zone, origin, owner string) (result, bool) {
	if e, ok := z.Tree.Search(origin); ok && len(e.Type(q.qtype)) > 0 {
		return result{}, false
	}
	k := q.g.signing.of(origin)
	rrs := k.cds
	if q.qtype == dns.TypeCDNSKEY {
		rrs = k.cdnskey
	}
	if len(rrs) == 0 {
		return result{}, false
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
		out[i].Header().Name = owner
	}
	return result{answer: out}, true
}

// probeWriter keeps the reply of a probe.
type probeWriter struct{ msg *dns.Msg }

func (w *probeWriter) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *probeWriter) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
}
func (w *probeWriter) WriteMsg(m *dns.Msg) error   { w.msg = m; return nil }
func (w *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *probeWriter) Close() error                { return nil }
func (w *probeWriter) TsigStatus() error           { return nil }
func (w *probeWriter) TsigTimersOnly(bool)         {}
func (w *probeWriter) Hijack()                     {}

// keyName is a key as dnssec-keygen names its files: Kexample.net.+013+12345.
func keyName(k *dns.DNSKEY) string {
	return fmt.Sprintf("K%s+%03d+%05d", strings.ToLower(k.Hdr.Name), k.Algorithm, k.KeyTag())
}
