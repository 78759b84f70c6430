package georoute

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// transferServer is the appliance with zone transfers on (AXFR and IXFR with TSIG required,
// NOTIFY to notify), its API and DNS on one port for UDP and TCP.
type transferServer struct {
	*apiServer
	addr string
}

// startTransfer starts the appliance with config (testConfig when empty), healthprobe, the
// test keys of the UPDATE tests, and 'transfer { to * [notify] }'.
func startTransfer(t *testing.T, config, notify string) *transferServer {
	t.Helper()
	addr, api, cfg, corefile := transferCorefile(t, config, notify)
	startServer(t, corefile)
	return &transferServer{apiServer: &apiServer{t: t, base: "http://" + api, dns: addr, cfg: cfg}, addr: addr}
}

// transferCorefile is startTransfer's Corefile, its DNS and API addresses and config file.
func transferCorefile(t testing.TB, config, notify string) (addr, api, cfg, corefile string) {
	t.Helper()
	dir := t.TempDir()
	if config == "" {
		config = testConfig(t)
	}
	cfg = filepath.Join(dir, "georoute.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api = ln.Addr().String()
	ln.Close()
	addr = freeDNSPort(t)
	_, port, _ := net.SplitHostPort(addr)
	to := ""
	if notify != "" {
		to = "to " + notify
	}
	corefile = fmt.Sprintf(`.:%s {
		bind 127.0.0.1
		tsig {
			secret %s %s
			secret %s %s
			require AXFR IXFR
		}
		transfer {
			to *
			%s
		}
		healthprobe
		georoute {
			zones testdata/zones
			config %s
			store %s
			api %s
			api_token env:GEOROUTE_TEST_TOKEN write
			reload 0
		}
	}`, port, updateKey, updateSecret, otherKey, otherSecret, to, cfg, filepath.Join(dir, "georoute.db"), api)
	return addr, api, cfg, corefile
}

// xfr transfers zone from the server as a secondary does (TSIG with key and secret; none when
// key is ""): AXFR, or IXFR from serial when it is not 0.
func (s *transferServer) xfr(zone string, serial uint32, key, secret string) ([]dns.RR, error) {
	return transferIn(s.addr, zone, serial, key, secret)
}

// transferIn is xfr from the server at addr.
func transferIn(addr, zone string, serial uint32, key, secret string) ([]dns.RR, error) {
	m := new(dns.Msg)
	if serial == 0 {
		m.SetAxfr(zone)
	} else {
		m.SetIxfr(zone, serial, "ns1.example.net.", "hostmaster.example.net.")
	}
	tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	if key != "" {
		m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
		tr.TsigSecret = map[string]string{key: secret}
	}
	ch, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var out []dns.RR
	for env := range ch {
		if env.Error != nil {
			return out, env.Error
		}
		out = append(out, env.RR...)
	}
	return out, nil
}

func (s *transferServer) axfr(zone string) []dns.RR {
	s.t.Helper()
	rrs, err := s.xfr(zone, 0, updateKey, updateSecret)
	if err != nil {
		s.t.Fatalf("AXFR %s: %v", zone, err)
	}
	if len(rrs) < 2 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		s.t.Fatalf("AXFR %s does not start and end with the SOA: %d records", zone, len(rrs))
	}
	return rrs
}

// serial is the zone's SOA serial as a query answers it.
func (s *transferServer) serial(zone string) uint32 {
	s.t.Helper()
	r := s.exchange(zone, dns.TypeSOA)
	if len(r.Answer) != 1 {
		s.t.Fatalf("SOA of %s: %v", zone, r)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// rrsets groups records by owner and type, each set's records as text, sorted.
func rrsets(rrs []dns.RR) map[string][]string {
	out := map[string][]string{}
	for _, rr := range rrs {
		h := rr.Header()
		k := h.Name + " " + dns.TypeToString[h.Rrtype]
		out[k] = append(out[k], strings.ReplaceAll(rr.String(), "\t", " "))
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// TestTransferAXFR: a TSIG'd AXFR over TCP holds every record of the zone, as queries answer
// them (the listing external-dns's rfc2136 provider does with --rfc2136-axfr): the zone file's,
// the config's, and names set through the API; routed names as every healthy edge of their pool.
// An AXFR unsigned, signed with a wrong secret or an unknown key is refused.
func TestTransferAXFR(t *testing.T) {
	s := startTransfer(t, "", "")
	put := map[string]any{
		"api-txt":     map[string]any{"records": []map[string]any{{"type": "TXT", "ttl": 60, "value": `"set through the API"`}}},
		"api-a":       map[string]any{"records": []map[string]any{{"type": "A", "ttl": 120, "value": "192.0.2.200"}, {"type": "A", "ttl": 120, "value": "192.0.2.201"}}},
		"api-cname":   map[string]any{"records": []map[string]any{{"type": "CNAME", "ttl": 300, "value": "mail.example.net."}}},
		"tunnel.t":    map[string]any{"edge": "nrt1", "ttl": 15},
		"mx":          map[string]any{"records": []map[string]any{{"type": "MX", "ttl": 60, "value": "10 mail.example.net."}}},
		"_sip._udp":   map[string]any{"records": []map[string]any{{"type": "SRV", "ttl": 60, "value": "10 60 5060 mail.example.net."}}},
		"routed-here": map[string]any{"pool": "three"},
	}
	for i := range 40 {
		put[fmt.Sprintf("bulk%02d", i)] = map[string]any{"edge": "fra1"}
	}
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{"put": put}, 200, "", "")

	rrs := s.axfr("example.net.")
	soa := rrs[0].(*dns.SOA)
	if got := s.serial("example.net."); soa.Serial != got || rrs[len(rrs)-1].(*dns.SOA).Serial != got {
		t.Errorf("AXFR serial %d, queries answer %d", soa.Serial, got)
	}
	sets := rrsets(rrs[1 : len(rrs)-1])
	t.Logf("AXFR: %d records, %d sets, serial %d", len(rrs), len(sets), soa.Serial)
	for k, v := range sets {
		if len(slices.Compact(slices.Clone(v))) != len(v) {
			t.Errorf("%s transferred twice: %v", k, v)
		}
	}
	routed := map[string]bool{"example.net.": true, "www.example.net.": true, "three.example.net.": true, "v4only.example.net.": true,
		"*.t.example.net.": true, "k3x9.t.example.net.": true, "a.b.c.example.net.": true, "tunnel.t.example.net.": true, "routed-here.example.net.": true}
	for i := range 40 {
		routed[fmt.Sprintf("bulk%02d.example.net.", i)] = true
	}
	// Every record but routed addresses and what lies at or below the delegation is answered so.
	for k, want := range sets {
		name, typ, _ := strings.Cut(k, " ")
		qt := dns.StringToType[typ]
		if routed[name] && (qt == dns.TypeA || qt == dns.TypeAAAA) || strings.HasSuffix(name, "lab.example.net.") || strings.HasPrefix(name, "*") {
			continue
		}
		r := exchange(t, "tcp", s.addr, new(dns.Msg).SetQuestion(name, qt))
		var got []string
		for _, rr := range r.Answer {
			if rr.Header().Rrtype == qt {
				got = append(got, strings.ReplaceAll(rr.String(), "\t", " "))
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: AXFR holds %v, a query answers %v", k, want, got)
		}
	}
	// Routed names: every edge of their pool (none is checked: all are up) in the pool's TTL, a
	// pinned name its edge; and what lies at or below the delegation, which queries refer.
	web4 := []string{"192.0.2.10", "198.51.100.10", "203.0.113.10", "203.0.113.20", "203.0.113.21", "203.0.113.30"}
	web6 := []string{"2001:db8:5::1", "2001:db8:a::1", "2001:db8:e::1", "2001:db8:f::1"}
	want := map[string][]string{
		"www.example.net. A":         rrText("www.example.net. 30 IN A", web4...),
		"www.example.net. AAAA":      rrText("www.example.net. 30 IN AAAA", web6...),
		"example.net. A":             rrText("example.net. 30 IN A", web4...),
		"*.t.example.net. AAAA":      rrText("*.t.example.net. 30 IN AAAA", web6...),
		"three.example.net. A":       rrText("three.example.net. 20 IN A", web4...),
		"routed-here.example.net. A": rrText("routed-here.example.net. 20 IN A", web4...),
		"v4only.example.net. A":      rrText("v4only.example.net. 30 IN A", "203.0.113.10", "203.0.113.20"),
		"k3x9.t.example.net. A":      rrText("k3x9.t.example.net. 10 IN A", "203.0.113.20"),
		"tunnel.t.example.net. A":    rrText("tunnel.t.example.net. 15 IN A", "203.0.113.21"),
		"tunnel.t.example.net. AAAA": rrText("tunnel.t.example.net. 15 IN AAAA", "2001:db8:e::1"),
		"bulk07.example.net. A":      rrText("bulk07.example.net. 30 IN A", "192.0.2.10"),
		"lab.example.net. NS":        {"lab.example.net. 3600 IN NS ns.lab.example.net."},
		"ns.lab.example.net. A":      {"ns.lab.example.net. 3600 IN A 192.0.2.90"},
		"*.dev.example.net. A":       {"*.dev.example.net. 3600 IN A 192.0.2.81"},
		"api-a.example.net. A":       {"api-a.example.net. 120 IN A 192.0.2.200", "api-a.example.net. 120 IN A 192.0.2.201"},
		"www.example.net. TXT":       {`www.example.net. 3600 IN TXT "static beside routed"`},
	}
	for k, w := range want {
		if !slices.Equal(sets[k], w) {
			t.Errorf("%s: AXFR holds %v, want %v", k, sets[k], w)
		}
	}
	for _, k := range []string{"v4only.example.net. AAAA", "k3x9.t.example.net. AAAA", "example.net. SOA"} {
		if sets[k] != nil {
			t.Errorf("%s should not be in the AXFR: %v", k, sets[k])
		}
	}
	for name := range put {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(sets)), func(k string) bool { return strings.HasPrefix(k, name+".example.net. ") }) {
			t.Errorf("%s, set through the API, is not in the AXFR", name)
		}
	}
	if other := s.axfr("example.org."); len(other) != 4 { // SOA, NS, www A, SOA
		t.Errorf("AXFR of example.org: %v", other)
	}

	// Refused: unsigned, a wrong secret, a key the server does not know, a zone not served.
	r := exchange(t, "tcp", s.addr, new(dns.Msg).SetAxfr("example.net."))
	if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("unsigned AXFR: %s with %d records", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	for _, tc := range []struct {
		key, secret string
		tsigErr     uint16
	}{
		{updateKey, otherSecret, dns.RcodeBadSig},
		{"unknown.example.net.", updateSecret, dns.RcodeBadKey},
	} {
		m := new(dns.Msg).SetAxfr("example.net.")
		m.SetTsig(tc.key, dns.HmacSHA256, 300, time.Now().Unix())
		c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second, TsigSecret: map[string]string{tc.key: tc.secret}}
		r, _, _ := c.Exchange(m, s.addr)
		if r == nil || r.Rcode != dns.RcodeNotAuth || len(r.Answer) != 0 || r.IsTsig() == nil || r.IsTsig().Error != tc.tsigErr {
			t.Errorf("AXFR signed by %s with a wrong secret or key: %v", tc.key, r)
		}
		if rrs, err := s.xfr("example.net.", 0, tc.key, tc.secret); err == nil || len(rrs) != 0 {
			t.Errorf("dns.Transfer with key %s: %d records, %v", tc.key, len(rrs), err)
		}
	}
	if rrs, err := s.xfr("example.com.", 0, updateKey, updateSecret); err == nil || len(rrs) != 0 {
		t.Errorf("AXFR of a zone not served: %d records, %v", len(rrs), err)
	}
}

func rrText(prefix string, values ...string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = prefix + " " + v
	}
	sort.Strings(out)
	return out
}

// ixfr splits an IXFR answer into the records its diffs delete and add; false when the answer
// is the whole zone (AXFR style).
func ixfr(t *testing.T, rrs []dns.RR) (del, add []string, incremental bool) {
	t.Helper()
	if len(rrs) < 2 || rrs[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("not an IXFR answer: %v", rrs)
	}
	if rrs[1].Header().Rrtype != dns.TypeSOA {
		return nil, nil, false
	}
	adding := true // the first SOA, the one a diff starts from, begins its deletions
	for _, rr := range rrs[1 : len(rrs)-1] {
		if rr.Header().Rrtype == dns.TypeSOA {
			adding = !adding
			continue
		}
		text := strings.ReplaceAll(rr.String(), "\t", " ")
		if adding {
			add = append(add, text)
		} else {
			del = append(del, text)
		}
	}
	sort.Strings(del)
	sort.Strings(add)
	return del, add, true
}

// TestTransferIXFR: IXFR from a serial a transfer gave answers the changes since, from the
// journal; from the current serial the SOA alone; from a serial the journal does not reach, and
// after a change of an edge (every name routed to it changes), the whole zone.
func TestTransferIXFR(t *testing.T) {
	s := startTransfer(t, "", "")
	txt := func(v string) map[string]any {
		return map[string]any{"records": []map[string]any{{"type": "TXT", "ttl": 60, "value": `"` + v + `"`}}}
	}
	s.expect("PUT", "/v1/zones/example.net/names/keep", writeToken, txt("v1"), 201, "", "")
	s.expect("PUT", "/v1/zones/example.net/names/gone", writeToken, map[string]any{"records": []map[string]any{{"type": "A", "ttl": 60, "value": "192.0.2.210"}}}, 201, "", "")
	s1 := s.axfr("example.net.")[0].(*dns.SOA).Serial

	s.expect("PUT", "/v1/zones/example.net/names/keep", writeToken, txt("v2"), 200, "", "")
	s.expect("DELETE", "/v1/zones/example.net/names/gone", writeToken, nil, 204, "", "")
	s.expect("PUT", "/v1/zones/example.net/names/fresh", writeToken, map[string]any{"edge": "iad1", "ttl": 25}, 201, "", "")
	s2 := s.serial("example.net.")
	if !(s2 > s1) {
		t.Fatalf("serial %d after changes, %d before", s2, s1)
	}
	rrs, err := s.xfr("example.net.", s1, updateKey, updateSecret)
	if err != nil {
		t.Fatal(err)
	}
	del, add, incremental := ixfr(t, rrs)
	wantDel := []string{`gone.example.net. 60 IN A 192.0.2.210`, `keep.example.net. 60 IN TXT "v1"`}
	wantAdd := []string{`fresh.example.net. 25 IN A 198.51.100.10`, `fresh.example.net. 25 IN AAAA 2001:db8:a::1`, `keep.example.net. 60 IN TXT "v2"`}
	if !incremental || !slices.Equal(del, wantDel) || !slices.Equal(add, wantAdd) || rrs[0].(*dns.SOA).Serial != s2 || rrs[1].(*dns.SOA).Serial != s1 {
		t.Errorf("IXFR from %d: incremental %v, deletes %v, adds %v; want deletes %v, adds %v", s1, incremental, del, add, wantDel, wantAdd)
	}
	if rrs, err := s.xfr("example.net.", s2, updateKey, updateSecret); err != nil || len(rrs) != 1 || rrs[0].(*dns.SOA).Serial != s2 {
		t.Errorf("IXFR from the current serial: %v %v", rrs, err)
	}
	if rrs, err := s.xfr("example.net.", s1-7, updateKey, updateSecret); err != nil {
		t.Error(err)
	} else if _, _, incremental := ixfr(t, rrs); incremental || len(rrs) < 50 {
		t.Errorf("IXFR from a serial never transferred: %d records, incremental %v", len(rrs), incremental)
	}

	// Draining fra1 changes every name routed or pinned to it: the serial moves, IXFR sends the
	// whole zone, without fra1 in www's answer.
	s.expect("PUT", "/v1/edges/fra1/override", writeToken, map[string]any{"state": "down"}, 200, "", "")
	s3 := s.serial("example.net.")
	if !(s3 > s2) {
		t.Fatalf("serial %d after fra1 was drained, %d before", s3, s2)
	}
	rrs, err = s.xfr("example.net.", s2, updateKey, updateSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, incremental := ixfr(t, rrs); incremental {
		t.Errorf("IXFR across a drained edge is incremental")
	}
	if www := rrsets(rrs)["www.example.net. A"]; len(www) != 5 || slices.Contains(www, "www.example.net. 30 IN A 192.0.2.10") {
		t.Errorf("www after fra1 was drained: %v", www)
	}
	// And the journal goes on from there.
	s.expect("PUT", "/v1/zones/example.net/names/keep", writeToken, txt("v3"), 200, "", "")
	rrs, err = s.xfr("example.net.", s3, updateKey, updateSecret)
	if err != nil {
		t.Fatal(err)
	}
	if del, add, incremental := ixfr(t, rrs); !incremental || len(del) != 1 || len(add) != 1 || add[0] != `keep.example.net. 60 IN TXT "v3"` {
		t.Errorf("IXFR after the drain: %v %v %v", incremental, del, add)
	}
}
