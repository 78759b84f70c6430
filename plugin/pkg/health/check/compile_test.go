package check

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var (
	edge4  = []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1")}
	edge6  = []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.2")}
	mapped = []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.3")}
)

func mustCompile(t *testing.T, s Spec, addrs []netip.Addr) *Compiled {
	t.Helper()
	c, err := Compile(s, addrs)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", s, err)
	}
	return c
}

func TestCompileICMP(t *testing.T) {
	tests := []struct {
		spec  Spec
		addrs []netip.Addr
		want  string
	}{
		{Spec{Type: "icmp"}, edge4, "127.0.0.2"},
		{Spec{Type: "icmp"}, edge6, "::1"},
		{Spec{Type: "icmp"}, mapped, "127.0.0.3"},
		{Spec{Type: "icmp", Target: "127.0.0.1"}, edge6, "127.0.0.1"},
		{Spec{Type: "icmp", Target: "::1"}, nil, "::1"},
	}
	for _, tc := range tests {
		c := mustCompile(t, tc.spec, tc.addrs)
		if c.Target.String() != tc.want {
			t.Errorf("%+v on %v: target %s, want %s", tc.spec, tc.addrs, c.Target, tc.want)
		}
		if c.Type != "icmp" || c.Interval != 5*time.Second || c.Timeout != 2*time.Second || c.Rise != 2 || c.Fall != 3 {
			t.Errorf("defaults not applied: %+v", c)
		}
	}
}

func TestCompileTCP(t *testing.T) {
	tests := []struct {
		address string
		addrs   []netip.Addr
		want    string
	}{
		{":8080", edge4, "127.0.0.2:8080"},
		{"8080", edge4, "127.0.0.2:8080"},
		{":8080", edge6, "[::1]:8080"},
		{"443", edge6, "[::1]:443"},
		{"443", mapped, "127.0.0.3:443"},
		{"127.0.0.1:22", edge6, "127.0.0.1:22"},
		{"[::1]:22", nil, "[::1]:22"},
		{"localhost:22", nil, "localhost:22"},
	}
	for _, tc := range tests {
		c := mustCompile(t, Spec{Type: "tcp", Address: tc.address}, tc.addrs)
		if c.Address != tc.want {
			t.Errorf("%q on %v: address %s, want %s", tc.address, tc.addrs, c.Address, tc.want)
		}
	}
}

func TestCompileNeedsEdgeAddress(t *testing.T) {
	for _, s := range []Spec{{Type: "icmp"}, {Type: "tcp", Address: ":80"}} {
		_, err := Compile(s, nil)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%+v: got %v, want a *FieldError", s, err)
		}
		want := map[string]string{
			"icmp": "target: no target given and the edge has no address",
			"tcp":  "address: a bare port needs the edge's address, and the edge has none",
		}[s.Type]
		if fe.Error() != want {
			t.Errorf("%+v: %q, want %q", s, fe.Error(), want)
		}
	}
}

func TestCompileHTTP(t *testing.T) {
	in := Spec{Type: "https", URL: "https://127.0.0.1:8443/health", Method: "post",
		ExpectStatus: []string{"200", "301-302"}, ExpectBody: "ok", ExpectBodyRegex: "^o+k",
		Headers:       map[string]string{"host": "localhost:8443", "x-probe": "1", "Accept": "text/plain"},
		TLSSkipVerify: true}
	c := mustCompile(t, in, edge4)
	if c.URL.String() != "https://127.0.0.1:8443/health" || c.Method != "POST" {
		t.Errorf("url %s method %s", c.URL, c.Method)
	}
	if !reflect.DeepEqual(c.Status, []StatusRange{{200, 200}, {301, 302}}) {
		t.Errorf("status %v", c.Status)
	}
	if c.Body != "ok" || c.BodyRegex == nil || !c.BodyRegex.MatchString("oook") {
		t.Errorf("body %q regex %v", c.Body, c.BodyRegex)
	}
	want := http.Header{"X-Probe": {"1"}, "Accept": {"text/plain"}}
	if !reflect.DeepEqual(c.Header, want) || c.Host != "localhost:8443" {
		t.Errorf("header %v host %q", c.Header, c.Host)
	}
	if !c.TLSSkipVerify || c.ServerName != "localhost" {
		t.Errorf("skip %v server name %q", c.TLSSkipVerify, c.ServerName)
	}
	if in.Method != "post" || len(in.ExpectStatus) != 2 || in.Headers["host"] != "localhost:8443" {
		t.Errorf("Compile changed its argument: %+v", in)
	}

	for _, tc := range []struct {
		spec Spec
		sni  string
	}{
		{Spec{Type: "https", URL: "https://127.0.0.1/"}, "127.0.0.1"},
		{Spec{Type: "https", URL: "https://[::1]:8443/"}, "::1"},
		{Spec{Type: "https", URL: "https://localhost/", Headers: map[string]string{"Host": "[::1]:8443"}}, "::1"},
		{Spec{Type: "https", URL: "https://127.0.0.1/", ServerName: "localhost", Headers: map[string]string{"Host": "other"}}, "localhost"},
	} {
		if c := mustCompile(t, tc.spec, nil); c.ServerName != tc.sni {
			t.Errorf("%+v: server name %q, want %q", tc.spec, c.ServerName, tc.sni)
		}
	}
	c = mustCompile(t, Spec{Type: "http", URL: "http://127.0.0.1/"}, nil)
	if c.Method != "GET" || !reflect.DeepEqual(c.Status, []StatusRange{{200, 399}}) || c.BodyRegex != nil || len(c.Header) != 0 || c.Host != "" {
		t.Errorf("http defaults: %+v", c)
	}
}

func TestCompileDNS(t *testing.T) {
	c := mustCompile(t, Spec{Type: "dns", Server: "127.0.0.1", QName: "example.org", QType: "aaaa", ExpectRcode: "nxdomain", ExpectAnswer: "::1", Transport: "tcp"}, nil)
	if c.Server != "127.0.0.1:53" || c.QName != "example.org." || c.QType != dns.TypeAAAA || c.Rcode != dns.RcodeNameError ||
		c.Answer != "::1" || c.Transport != "tcp" {
		t.Errorf("%+v", c)
	}
	c = mustCompile(t, Spec{Type: "dns", Server: "[::1]:5353", QName: "example.org."}, nil)
	if c.Server != "[::1]:5353" || c.QType != dns.TypeA || c.Rcode != dns.RcodeSuccess || c.Transport != "udp" {
		t.Errorf("%+v", c)
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile(Spec{Type: "tcp"}, edge4)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "address" {
		t.Errorf("one mistake: got %v, want a *FieldError on address", err)
	}
	_, err = Compile(Spec{Type: "tcp", Rise: 99}, edge4)
	want := "rise: rise 99 is not between 1 and 10\naddress: a tcp check needs an address: host:port, or :port for the edge's first address"
	if err == nil || err.Error() != want {
		t.Errorf("two mistakes: got %v, want %q", err, want)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 2 {
		t.Errorf("two mistakes: %T does not unwrap to two errors", err)
	}
}

func TestCompileKey(t *testing.T) {
	base := Spec{Type: "http", URL: "http://127.0.0.1/health", Headers: map[string]string{"X-A": "1", "X-B": "2"}}
	key := func(s Spec, addrs []netip.Addr) string { return mustCompile(t, s, addrs).Key }
	k := key(base, edge4)

	same := []Spec{
		base,
		{Type: "HTTP", URL: " http://127.0.0.1/health", Method: "get", ExpectStatus: []string{"200-399"}, Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3,
			Headers: map[string]string{"X-B": "2", "X-A": "1"}},
	}
	for _, s := range same {
		if got := key(s, edge4); got != k {
			t.Errorf("%+v: key %s, want %s", s, got, k)
		}
	}
	if key(base, edge6) != k {
		t.Errorf("edge addresses an http check does not use changed its key")
	}
	changed := map[string]func(*Spec){
		"interval": func(s *Spec) { s.Interval = sec(10) },
		"timeout":  func(s *Spec) { s.Timeout = sec(1) },
		"rise":     func(s *Spec) { s.Rise = 3 },
		"fall":     func(s *Spec) { s.Fall = 1 },
		"url":      func(s *Spec) { s.URL = "http://127.0.0.1/healthz" },
		"method":   func(s *Spec) { s.Method = "HEAD" },
		"status":   func(s *Spec) { s.ExpectStatus = []string{"200"} },
		"body":     func(s *Spec) { s.ExpectBody = "ok" },
		"regex":    func(s *Spec) { s.ExpectBodyRegex = "ok" },
		"header":   func(s *Spec) { s.Headers = map[string]string{"X-A": "1", "X-B": "3"} },
		"host":     func(s *Spec) { s.Headers = map[string]string{"X-A": "1", "X-B": "2", "Host": "localhost"} },
	}
	seen := map[string]string{k: "base"}
	for name, f := range changed {
		s := base
		f(&s)
		got := key(s, edge4)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: same key as %s", name, prev)
		}
		seen[got] = name
	}

	bare := Spec{Type: "tcp", Address: ":80"}
	if key(bare, edge4) == key(bare, edge6) {
		t.Errorf("tcp bare port on different edge addresses: same key")
	}
	if key(bare, edge4) != key(Spec{Type: "tcp", Address: "127.0.0.2:80"}, nil) {
		t.Errorf("tcp :80 on 127.0.0.2 and 127.0.0.2:80: different keys")
	}
	icmp := Spec{Type: "icmp"}
	if key(icmp, edge4) == key(icmp, edge6) {
		t.Errorf("icmp on different edge addresses: same key")
	}
	d := Spec{Type: "dns", Server: "127.0.0.1", QName: "example.org"}
	d2 := Spec{Type: "dns", Server: "127.0.0.1:53", QName: "example.org.", QType: "a"}
	if key(d, nil) != key(d2, nil) {
		t.Errorf("equivalent dns specs: different keys")
	}
	d2.Transport = "tcp"
	if key(d, nil) == key(d2, nil) {
		t.Errorf("dns transport change: same key")
	}
	if https := (Spec{Type: "https", URL: "https://127.0.0.1/"}); key(https, nil) == key(Spec{Type: "https", URL: "https://127.0.0.1/", TLSSkipVerify: true}, nil) ||
		key(https, nil) == key(Spec{Type: "https", URL: "https://127.0.0.1/", ServerName: "localhost"}, nil) {
		t.Errorf("tls change: same key")
	}
}

func TestSpecJSON(t *testing.T) {
	var s Spec
	if err := json.Unmarshal([]byte(`{"type":"tcp","address":":80","interval":"10s","timeout":1.5}`), &s); err != nil {
		t.Fatal(err)
	}
	c := mustCompile(t, s, edge4)
	if c.Interval != 10*time.Second || c.Timeout != 1500*time.Millisecond || c.Address != "127.0.0.2:80" {
		t.Errorf("%+v", c)
	}
}
