package georoute

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/pkg/cache"
	"github.com/miekg/dns"
)

// The dnssec plugin signing georoute's answers, tested with miekg/dns verifying every RRSIG
// against the DNSKEY set the server publishes. dnssec_resolver_test.go has Unbound and delv.

// signingKeys writes a KSK and a ZSK (ECDSAP256SHA256) for zone into dir as dnssec-keygen names
// them, and returns their basenames for 'key file'.
func signingKeys(t testing.TB, dir, zone string) []string {
	t.Helper()
	var bases []string
	for _, flags := range []uint16{dns.ZONE | dns.SEP, dns.ZONE} {
		k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
			Flags: flags, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
		priv, err := k.Generate(256)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, keyName(k))
		if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv)), 0o600); err != nil {
			t.Fatal(err)
		}
		bases = append(bases, base)
	}
	return bases
}

// signedQuery is a query with DO, and ECS when from is set.
func signedQuery(name string, qtype uint16, from string) *dns.Msg {
	m := new(dns.Msg).SetQuestion(name, qtype)
	if from != "" {
		withECS(m, from, 24)
	} else {
		m.SetEdns0(1232, false)
	}
	m.IsEdns0().SetDo()
	return m
}

// verified checks that every RRset of section is covered by an RRSIG that verifies with keys
// (signed as signer) and returns the section without the RRSIGs.
func verified(t *testing.T, what string, section []dns.RR, keys []*dns.DNSKEY, signer string) []dns.RR {
	t.Helper()
	sets := map[[2]string][]dns.RR{}
	var sigs []*dns.RRSIG
	var data []dns.RR
	for _, rr := range section {
		if s, ok := rr.(*dns.RRSIG); ok {
			sigs = append(sigs, s)
			continue
		}
		k := [2]string{strings.ToLower(rr.Header().Name), dns.TypeToString[rr.Header().Rrtype]}
		sets[k] = append(sets[k], rr)
		data = append(data, rr)
	}
	for k, set := range sets {
		ok := false
		for _, s := range sigs {
			if strings.ToLower(s.Hdr.Name) != k[0] || dns.TypeToString[s.TypeCovered] != k[1] || s.SignerName != signer {
				continue
			}
			for _, key := range keys {
				if key.KeyTag() == s.KeyTag && s.Verify(key, set) == nil && s.ValidityPeriod(time.Now()) {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("%s: %s %s has no RRSIG by %s that verifies; section: %v", what, k[0], k[1], signer, section)
		}
	}
	return data
}

type signedServer struct {
	*r53
	keys []*dns.DNSKEY // the DNSKEY set of example.net as served
}

// startSigned starts the appliance (store, Route 53's API) with dnssec signing example.net,
// example.org and example.com (not yet a zone: created at run time by the tests).
func startSigned(t *testing.T) *signedServer {
	t.Helper()
	dir := t.TempDir()
	keys := signingKeys(t, dir, "example.net")
	s := &signedServer{r53: startRoute53With(t, dir, "dnssec example.net example.org example.com {\n key file "+strings.Join(keys, " ")+"\n}", "")}
	r := s.ask(signedQuery("example.net.", dns.TypeDNSKEY, ""))
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok {
			s.keys = append(s.keys, k)
		}
	}
	if len(s.keys) != 2 {
		t.Fatalf("DNSKEY example.net: %v", r)
	}
	verified(t, "DNSKEY example.net", r.Answer, s.keys, "example.net.")
	return s
}

func (s *signedServer) ask(m *dns.Msg) *dns.Msg {
	s.t.Helper()
	return exchange(s.t, "udp", s.dns, m)
}

func TestDNSSECSigned(t *testing.T) {
	s := startSigned(t)
	ksk := slices.IndexFunc(s.keys, func(k *dns.DNSKEY) bool { return k.Flags&dns.SEP != 0 })

	// Routed answers to clients on two continents: each its own edge, each set signed by the
	// ZSK, with the ECS scope the answer depended on.
	got := map[string]string{}
	for _, from := range []string{london, mtnView, london} {
		r := s.ask(signedQuery("www.example.net.", dns.TypeA, from))
		data := verified(t, "www from "+from, r.Answer, s.keys, "example.net.")
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(data) != 1 {
			t.Fatalf("www from %s: %v", from, r)
		}
		if e := replyECS(r); e == nil || e.SourceScope == 0 {
			t.Errorf("www from %s: ECS %v, want a scope", from, e)
		}
		if o := r.IsEdns0(); o == nil || !o.Do() {
			t.Errorf("www from %s: reply without DO", from)
		}
		if prev, ok := got[from]; ok && prev != data[0].(*dns.A).A.String() {
			t.Errorf("www from %s: %s, then %s", from, prev, data[0])
		}
		got[from] = data[0].(*dns.A).A.String()
	}
	if got[london] != "192.0.2.10" || got[mtnView] != "198.51.100.10" {
		t.Errorf("routed answers: %v, want fra1 for London and iad1 for Mountain View", got)
	}
	// A name asked in cases of its own (0x20) finds the signature of its answer set: one
	// signature however the name is written (ECDSA signs differently every time).
	sig := func(name string) string {
		r := s.ask(signedQuery(name, dns.TypeA, london))
		verified(t, name, r.Answer, s.keys, "example.net.")
		for _, rr := range r.Answer {
			if s, ok := rr.(*dns.RRSIG); ok {
				return s.Signature
			}
		}
		return ""
	}
	if a, b, c := sig("www.example.net."), sig("WwW.eXaMpLe.NeT."), sig("WWW.EXAMPLE.NET."); a == "" || a != b || a != c {
		t.Errorf("www from London in three cases: signatures %q, %q, %q, want one", a, b, c)
	}

	// Static answers, and a CNAME to a routed name: every set signed.
	for _, q := range []struct {
		name  string
		qtype uint16
		n     int
	}{{"static.example.net.", dns.TypeA, 1}, {"example.net.", dns.TypeNS, 2}, {"example.net.", dns.TypeMX, 1}, {"cn.example.net.", dns.TypeA, 2}, {"txt.example.net.", dns.TypeTXT, 1}} {
		r := s.ask(signedQuery(q.name, q.qtype, london))
		if data := verified(t, q.name, r.Answer, s.keys, "example.net."); len(data) != q.n || r.Rcode != dns.RcodeSuccess {
			t.Errorf("%s %s: %v", q.name, dns.TypeToString[q.qtype], r)
		}
	}

	// A name that does not exist and a type a name lacks: NSEC black lies, NOERROR, the SOA and
	// the NSEC signed; the NSEC denies the type asked.
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"nope.example.net.", dns.TypeA}, {"static.example.net.", dns.TypeAAAA}, {"v4only.example.net.", dns.TypeAAAA}, {"www.example.net.", dns.TypeMX}} {
		r := s.ask(signedQuery(q.name, q.qtype, london))
		ns := verified(t, q.name, r.Ns, s.keys, "example.net.")
		var nsec *dns.NSEC
		for _, rr := range ns {
			if n, ok := rr.(*dns.NSEC); ok {
				nsec = n
			}
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || nsec == nil || slices.Contains(nsec.TypeBitMap, q.qtype) || !strings.EqualFold(nsec.Hdr.Name, q.name) {
			t.Errorf("%s %s: want NODATA with an NSEC denying it, got %v", q.name, dns.TypeToString[q.qtype], r)
		}
	}

	// CDS and CDNSKEY at the apex: the KSK, for the parent (RFC 7344); signed.
	r := s.ask(signedQuery("example.net.", dns.TypeCDS, ""))
	data := verified(t, "CDS", r.Answer, s.keys, "example.net.")
	if want := s.keys[ksk].ToDS(dns.SHA256).ToCDS(); len(data) != 1 || !dns.IsDuplicate(data[0], want) {
		t.Errorf("CDS example.net: %v, want %v", data, want)
	}
	r = s.ask(signedQuery("example.net.", dns.TypeCDNSKEY, ""))
	data = verified(t, "CDNSKEY", r.Answer, s.keys, "example.net.")
	if want := s.keys[ksk].ToCDNSKEY(); len(data) != 1 || !dns.IsDuplicate(data[0], want) {
		t.Errorf("CDNSKEY example.net: %v, want %v", data, want)
	}

	// Without DO nothing is signed.
	plain := new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)
	if r := s.ask(withECS(plain, london, 24)); len(r.Answer) != 1 {
		t.Errorf("www without DO: %v", r)
	}
}

// TestDNSSECRuntimeZones: a zone created at run time is signed when the dnssec directive names
// it (its DNSKEY at its apex, its negative answers denied under its own name, GetDNSSEC SIGNING
// with the DS to publish), and not signed when it does not.
func TestDNSSECRuntimeZones(t *testing.T) {
	s := startSigned(t)
	for _, name := range []string{"example.com", "example.info"} {
		if _, err := s.c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String("ref-" + name)}); err != nil {
			t.Fatal(err)
		}
	}
	zoneID := func(name string) *string {
		out, err := s.c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(name), MaxItems: aws.Int32(1)})
		if err != nil || *out.HostedZones[0].Name != name+"." {
			t.Fatalf("ListHostedZonesByName %s: %v %+v", name, err, out)
		}
		return out.HostedZones[0].Id
	}

	// example.com is signed with the same keys, under its own name.
	r := s.ask(signedQuery("example.com.", dns.TypeDNSKEY, ""))
	var keys []*dns.DNSKEY
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) != 2 || keys[0].PublicKey != s.keys[0].PublicKey {
		t.Fatalf("DNSKEY example.com: %v", r)
	}
	verified(t, "DNSKEY example.com", r.Answer, keys, "example.com.")
	for _, q := range []uint16{dns.TypeSOA, dns.TypeNS} {
		r := s.ask(signedQuery("example.com.", q, ""))
		if len(verified(t, "example.com "+dns.TypeToString[q], r.Answer, keys, "example.com.")) == 0 {
			t.Errorf("example.com %s: %v", dns.TypeToString[q], r)
		}
	}
	r = s.ask(signedQuery("nope.example.com.", dns.TypeA, ""))
	verified(t, "nope.example.com", r.Ns, keys, "example.com.")
	if r.Rcode != dns.RcodeSuccess || len(r.Ns) != 4 || r.Ns[0].Header().Name != "example.com." {
		t.Errorf("nope.example.com: want the SOA of example.com, an NSEC and their RRSIGs, got %v", r)
	}

	out, err := s.c.GetDNSSEC(ctx, &route53.GetDNSSECInput{HostedZoneId: zoneID("example.com")})
	if err != nil || *out.Status.ServeSignature != "SIGNING" || len(out.KeySigningKeys) != 1 {
		t.Fatalf("GetDNSSEC example.com: %v %+v", err, out)
	}
	ksk := keys[slices.IndexFunc(keys, func(k *dns.DNSKEY) bool { return k.Flags&dns.SEP != 0 })]
	ds := ksk.ToDS(dns.SHA256)
	k := out.KeySigningKeys[0]
	wantDS := fmt.Sprintf("%d 13 2 %s", ds.KeyTag, strings.ToUpper(ds.Digest))
	if *k.DSRecord != wantDS || *k.DNSKEYRecord != "257 3 13 "+ksk.PublicKey || k.Flag != 257 || int(k.KeyTag) != int(ds.KeyTag) ||
		*k.SigningAlgorithmMnemonic != "ECDSAP256SHA256" || k.SigningAlgorithmType != 13 || *k.DigestAlgorithmMnemonic != "SHA-256" || k.DigestAlgorithmType != 2 ||
		*k.DigestValue != strings.ToUpper(ds.Digest) || *k.Status != "ACTIVE" || *k.PublicKey != ksk.PublicKey {
		t.Errorf("GetDNSSEC example.com key: %+v, want DS %s", k, wantDS)
	}
	if out, err := s.c.GetDNSSEC(ctx, &route53.GetDNSSECInput{HostedZoneId: zoneID("example.net")}); err != nil || *out.Status.ServeSignature != "SIGNING" || len(out.KeySigningKeys) != 1 {
		t.Errorf("GetDNSSEC example.net: %v %+v", err, out)
	}

	// example.info is not in the dnssec directive: nothing signed, no DNSKEY, NOT_SIGNING.
	r = s.ask(signedQuery("example.info.", dns.TypeSOA, ""))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("example.info SOA: %v", r)
	}
	r = s.ask(signedQuery("example.info.", dns.TypeDNSKEY, ""))
	if len(r.Answer) != 0 || slices.ContainsFunc(r.Ns, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeRRSIG }) {
		t.Errorf("example.info DNSKEY: %v, want NODATA unsigned", r)
	}
	if out, err := s.c.GetDNSSEC(ctx, &route53.GetDNSSECInput{HostedZoneId: zoneID("example.info")}); err != nil || *out.Status.ServeSignature != "NOT_SIGNING" {
		t.Errorf("GetDNSSEC example.info: %v %+v", err, out)
	}
}

// TestDNSSECSignerNotServed: dnssec for example.net in front of a zone below it, when
// example.net is not served here, would sign eu.example.net's answers as example.net, which no
// resolver can validate through eu.example.net's delegation: the server does not start and says
// what to write.
func TestDNSSECSignerNotServed(t *testing.T) {
	dir := t.TempDir()
	keys := signingKeys(t, dir, "example.net")
	zone := "$ORIGIN eu.example.net.\n@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n"
	if err := os.WriteFile(filepath.Join(dir, "eu.example.net.zone"), []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	corefile := fmt.Sprintf(".:0 {\n bind 127.0.0.1\n dnssec example.net {\n  key file %s\n }\n georoute {\n  zones %s\n  reload 0\n }\n}", strings.Join(keys, " "), dir)
	serverMu.Lock()
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	serverMu.Unlock()
	if err == nil {
		inst.Stop()
		inst.ShutdownCallbacks()
		t.Fatal("started with dnssec signing eu.example.net as example.net")
	}
	if !strings.Contains(err.Error(), "dnssec would sign zone eu.example.net. as example.net., a zone not served here") || !strings.Contains(err.Error(), "(dnssec eu.example.net. ...") {
		t.Errorf("error: %v", err)
	}
}

// TestDNSSECSharedZoneData: dnssec appends its RRSIGs to the sections georoute hands it; those
// must not be the zone's own slices, which every query shares (a race, and another query's
// signatures in the zone's spare capacity).
func TestDNSSECSharedZoneData(t *testing.T) {
	dir := t.TempDir()
	zone := "$ORIGIN example.net.\n@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\nthree IN A 192.0.2.1\nthree IN A 192.0.2.2\nthree IN A 192.0.2.3\n"
	if err := os.WriteFile(filepath.Join(dir, "example.net.zone"), []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	g := newGeoRoute(inputs{zones: []string{dir}})
	if err := g.Load(); err != nil {
		t.Fatal(err)
	}
	var keys []*dnssec.DNSKEY
	for _, base := range signingKeys(t, dir, "example.net") {
		k, err := dnssec.ParseKeyFile(base+".key", base+".private")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	d := dnssec.New([]string{"example.net."}, keys, true, g, cache.New[[]dns.RR](100))
	r, _ := askVia(t, d, london, signedQuery("three.example.net.", dns.TypeA, ""))
	if len(r.Answer) != 4 {
		t.Fatalf("three.example.net: %v", r)
	}
	e, _ := g.state.Load().zones["example.net."].Tree.Search("three.example.net.")
	stored := e.Type(dns.TypeA)
	for _, rr := range stored[:cap(stored)] {
		if rr != nil && rr.Header().Rrtype != dns.TypeA {
			t.Errorf("the zone's A set of three.example.net has %v in its spare capacity", rr)
		}
	}
}

// askVia sends m through handler h as client ip.
func askVia(t testing.TB, h interface {
	ServeDNS(context.Context, dns.ResponseWriter, *dns.Msg) (int, error)
}, ip string, m *dns.Msg) (*dns.Msg, int) {
	t.Helper()
	w := &captureWriter{remote: &net.UDPAddr{IP: net.ParseIP(ip), Port: 40212}}
	rcode, err := h.ServeDNS(context.Background(), w, m)
	if err != nil {
		t.Fatal(err)
	}
	return w.msg, rcode
}

type captureWriter struct {
	probeWriter
	remote net.Addr
}

func (w *captureWriter) RemoteAddr() net.Addr { return w.remote }
