package check

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func sec(f float64) Duration { return Duration(f * float64(time.Second)) }

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Spec
		want Spec
	}{
		{"defaults", Spec{Type: " TCP ", Address: " :80 "},
			Spec{Type: "tcp", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, Address: ":80"}},
		{"kept", Spec{Type: "icmp", Interval: sec(10), Timeout: sec(1), Rise: 1, Fall: 5},
			Spec{Type: "icmp", Interval: sec(10), Timeout: sec(1), Rise: 1, Fall: 5}},
		{"short interval halves the default timeout", Spec{Type: "icmp", Interval: sec(1)},
			Spec{Type: "icmp", Interval: sec(1), Timeout: sec(0.5), Rise: 2, Fall: 3}},
		{"an explicit timeout is kept", Spec{Type: "icmp", Interval: sec(1), Timeout: sec(3)},
			Spec{Type: "icmp", Interval: sec(1), Timeout: sec(3), Rise: 2, Fall: 3}},
		{"negatives are left for Validate", Spec{Type: "icmp", Interval: sec(-1), Rise: -1},
			Spec{Type: "icmp", Interval: sec(-1), Timeout: sec(2), Rise: -1, Fall: 3}},
		{"http", Spec{Type: "HTTP", URL: "http://127.0.0.1/", Method: "head"},
			Spec{Type: "http", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, URL: "http://127.0.0.1/", Method: "HEAD", ExpectStatus: []string{"200-399"}}},
		{"https keeps its statuses", Spec{Type: "https", URL: "https://127.0.0.1/", ExpectStatus: []string{"204"}},
			Spec{Type: "https", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, URL: "https://127.0.0.1/", Method: "GET", ExpectStatus: []string{"204"}}},
		{"dns", Spec{Type: "dns", Server: "127.0.0.1", QName: "example.org", QType: "aaaa", ExpectRcode: "nxdomain", Transport: "TCP"},
			Spec{Type: "dns", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, Server: "127.0.0.1:53", QName: "example.org", QType: "AAAA", ExpectRcode: "NXDOMAIN", Transport: "tcp"}},
		{"dns defaults", Spec{Type: "dns", Server: "::1", QName: "example.org"},
			Spec{Type: "dns", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, Server: "[::1]:53", QName: "example.org", QType: "A", ExpectRcode: "NOERROR", Transport: "udp"}},
		{"dns bracketed", Spec{Type: "dns", Server: "[::1]", QName: "example.org"},
			Spec{Type: "dns", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, Server: "[::1]:53", QName: "example.org", QType: "A", ExpectRcode: "NOERROR", Transport: "udp"}},
		{"dns host name", Spec{Type: "dns", Server: "localhost", QName: "example.org"},
			Spec{Type: "dns", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, Server: "localhost:53", QName: "example.org", QType: "A", ExpectRcode: "NOERROR", Transport: "udp"}},
		{"dns with port", Spec{Type: "dns", Server: "127.0.0.1:5353", QName: "example.org"},
			Spec{Type: "dns", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, Server: "127.0.0.1:5353", QName: "example.org", QType: "A", ExpectRcode: "NOERROR", Transport: "udp"}},
		{"type defaults only for their type", Spec{Type: "tcp", Address: ":1"},
			Spec{Type: "tcp", Interval: sec(5), Timeout: sec(2), Rise: 2, Fall: 3, Address: ":1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.in
			s.Normalize()
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("got  %+v\nwant %+v", s, tc.want)
			}
			if es := s.Validate(); es != nil && tc.name != "negatives are left for Validate" && tc.name != "an explicit timeout is kept" {
				t.Errorf("normalized spec does not validate: %v", es)
			}
		})
	}
}

func TestNormalizeDoesNotShareDefaults(t *testing.T) {
	s := Spec{Type: "http", URL: "http://127.0.0.1/"}
	s.Normalize()
	s.ExpectStatus[0] = "500"
	if HTTPDefaults.ExpectStatus[0] != "200-399" {
		t.Fatalf("Normalize shares HTTPDefaults.ExpectStatus: now %v", HTTPDefaults.ExpectStatus)
	}
}

func TestValidate(t *testing.T) {
	tcp := func(f func(*Spec)) Spec {
		s := Spec{Type: "tcp", Address: "127.0.0.1:80"}
		f(&s)
		return s
	}
	http := func(f func(*Spec)) Spec {
		s := Spec{Type: "http", URL: "http://127.0.0.1/health"}
		f(&s)
		return s
	}
	dns := func(f func(*Spec)) Spec {
		s := Spec{Type: "dns", Server: "127.0.0.1", QName: "example.org"}
		f(&s)
		return s
	}
	tests := []struct {
		name string
		spec Spec
		want []string // "field: message", in order
	}{
		{"missing type", Spec{}, []string{"type: missing; a check's type is one of icmp, tcp, http, https, dns"}},
		{"unknown type", Spec{Type: "ftp", URL: "ftp://127.0.0.1/"}, []string{`type: unknown type "ftp"; valid types are icmp, tcp, http, https, dns`}},
		{"negative interval", tcp(func(s *Spec) { s.Interval = sec(-1) }), []string{"interval: interval -1s must be positive"}},
		{"interval too short", tcp(func(s *Spec) { s.Interval, s.Timeout = sec(0.05), sec(0.01) }), []string{"interval: interval 50ms is too short (at least 100ms)"}},
		{"interval too long", tcp(func(s *Spec) { s.Interval = sec(7200) }), []string{"interval: interval 2h is too long (at most 1h)"}},
		{"negative timeout", tcp(func(s *Spec) { s.Timeout = sec(-2) }), []string{"timeout: timeout -2s must be positive"}},
		{"timeout equal to interval", tcp(func(s *Spec) { s.Interval, s.Timeout = sec(5), sec(5) }), []string{"timeout: timeout 5s must be shorter than interval 5s"}},
		{"timeout above interval", tcp(func(s *Spec) { s.Interval, s.Timeout = sec(1), sec(1.5) }), []string{"timeout: timeout 1.5s must be shorter than interval 1s"}},
		{"rise low", tcp(func(s *Spec) { s.Rise = -1 }), []string{"rise: rise -1 is not between 1 and 10"}},
		{"rise high", tcp(func(s *Spec) { s.Rise = 11 }), []string{"rise: rise 11 is not between 1 and 10"}},
		{"fall low", tcp(func(s *Spec) { s.Fall = -3 }), []string{"fall: fall -3 is not between 1 and 10"}},
		{"fall high", tcp(func(s *Spec) { s.Fall = 12 }), []string{"fall: fall 12 is not between 1 and 10"}},

		{"icmp target a name", Spec{Type: "icmp", Target: "localhost"}, []string{`target: "localhost" is not an IP address (icmp pings an address, not a name)`}},

		{"tcp address missing", tcp(func(s *Spec) { s.Address = "" }), []string{"address: a tcp check needs an address: host:port, or :port for the edge's first address"}},
		{"tcp address no port", tcp(func(s *Spec) { s.Address = "127.0.0.1" }), []string{`address: "127.0.0.1" is not host:port (write IPv6 addresses in brackets: [::1]:443)`}},
		{"tcp address bare ipv6", tcp(func(s *Spec) { s.Address = "::1:80" }), []string{`address: "::1:80" is not host:port (write IPv6 addresses in brackets: [::1]:443)`}},
		{"tcp port zero", tcp(func(s *Spec) { s.Address = "127.0.0.1:0" }), []string{`address: "127.0.0.1:0": port "0" is not a number from 1 to 65535`}},
		{"tcp port large", tcp(func(s *Spec) { s.Address = "127.0.0.1:65536" }), []string{`address: "127.0.0.1:65536": port "65536" is not a number from 1 to 65535`}},
		{"tcp port name", tcp(func(s *Spec) { s.Address = "localhost:http" }), []string{`address: "localhost:http": port "http" is not a number from 1 to 65535`}},
		{"tcp bare port large", tcp(func(s *Spec) { s.Address = ":70000" }), []string{`address: ":70000": port "70000" is not a number from 1 to 65535`}},
		{"tcp bad host", tcp(func(s *Spec) { s.Address = "bad host:80" }), []string{`address: "bad host:80": "bad host" is not an IP address or host name`}},

		{"url missing", http(func(s *Spec) { s.URL = "" }), []string{"url: an http check needs a url (http://host[:port]/path)"}},
		{"url unparsable", http(func(s *Spec) { s.URL = "http://[::1/" }), []string{`url: "http://[::1/" does not parse: missing ']' in host`}},
		{"url wrong scheme for http", http(func(s *Spec) { s.URL = "https://127.0.0.1/" }), []string{`url: an http check needs an http:// url; "https://127.0.0.1/" is not one`}},
		{"url wrong scheme for https", Spec{Type: "https", URL: "http://127.0.0.1/"}, []string{`url: an https check needs an https:// url; "http://127.0.0.1/" is not one`}},
		{"url without scheme", http(func(s *Spec) { s.URL = "127.0.0.1/health" }), []string{`url: an http check needs an http:// url; "127.0.0.1/health" is not one`}},
		{"url no host", http(func(s *Spec) { s.URL = "http:///health" }), []string{`url: "http:///health" has no host`}},
		{"url bad port", http(func(s *Spec) { s.URL = "http://127.0.0.1:99999/" }), []string{`url: "http://127.0.0.1:99999/": port "99999" is not a number from 1 to 65535`}},
		{"url bad host", http(func(s *Spec) { s.URL = "http://a..b/" }), []string{`url: "http://a..b/": "a..b" is not an IP address or host name`}},
		{"method not a token", http(func(s *Spec) { s.Method = "GET IT" }), []string{`method: "GET IT" is not an HTTP method (a token such as GET or HEAD)`}},
		{"status not a code", http(func(s *Spec) { s.ExpectStatus = []string{"200", "2xx"} }), []string{`expect_status[1]: "2xx" is not a status code (NNN) or range (NNN-NNN)`}},
		{"status out of range", http(func(s *Spec) { s.ExpectStatus = []string{"600"} }), []string{"expect_status[0]: 600 is not an HTTP status (100-599)"}},
		{"status range out of range", http(func(s *Spec) { s.ExpectStatus = []string{"200-700"} }), []string{"expect_status[0]: 700 is not an HTTP status (100-599)"}},
		{"status range reversed", http(func(s *Spec) { s.ExpectStatus = []string{"299-200"} }), []string{`expect_status[0]: "299-200" is an empty range: 299 is above 200`}},
		{"status half range", http(func(s *Spec) { s.ExpectStatus = []string{"200-"} }), []string{`expect_status[0]: "200-" is not a status code (NNN) or range (NNN-NNN)`}},
		{"regex does not compile", http(func(s *Spec) { s.ExpectBodyRegex = "(ok" }), []string{"expect_body_regex: does not compile: error parsing regexp: missing closing ): `(ok`"}},
		{"header name", http(func(s *Spec) { s.Headers = map[string]string{"X Bad": "1", "X-Good": "2"} }), []string{`headers["X Bad"]: "X Bad" is not a valid header name`}},
		{"header value", http(func(s *Spec) { s.Headers = map[string]string{"X-A": "1\r\nX-B: 2"} }), []string{`headers["X-A"]: value "1\r\nX-B: 2" is not a valid header value (no line breaks or control characters)`}},
		{"host header", http(func(s *Spec) { s.Headers = map[string]string{"host": "a b"} }), []string{`headers["host"]: Host "a b" is not host or host:port`}},
		{"server_name", Spec{Type: "https", URL: "https://127.0.0.1/", ServerName: "a/b"}, []string{`server_name: "a/b" is not a host name`}},

		{"dns server missing", dns(func(s *Spec) { s.Server = "" }), []string{"server: a dns check needs a server (host, or host:port; the port defaults to 53)"}},
		{"dns server bad", dns(func(s *Spec) { s.Server = "127.0.0.1:53:53" }), []string{`server: "127.0.0.1:53:53" is not host or host:port (write IPv6 addresses in brackets: [::1]:53)`}},
		{"dns server port", dns(func(s *Spec) { s.Server = "127.0.0.1:0" }), []string{`server: "127.0.0.1:0": port "0" is not a number from 1 to 65535`}},
		{"dns server host", dns(func(s *Spec) { s.Server = "bad_host!:53" }), []string{`server: "bad_host!:53": "bad_host!" is not an IP address or host name`}},
		{"qname missing", dns(func(s *Spec) { s.QName = "" }), []string{"qname: a dns check needs a qname, the name to query"}},
		{"qname not a name", dns(func(s *Spec) { s.QName = "a..b" }), []string{`qname: "a..b" is not a domain name`}},
		{"qtype unknown", dns(func(s *Spec) { s.QType = "AAAAA" }), []string{`qtype: "AAAAA" is not a DNS type (A, AAAA, CNAME, MX, NS, SOA, TXT, ...)`}},
		{"rcode unknown", dns(func(s *Spec) { s.ExpectRcode = "FINE" }), []string{`expect_rcode: "FINE" is not an rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)`}},
		{"transport", dns(func(s *Spec) { s.Transport = "tls" }), []string{`transport: "tls" is not udp or tcp`}},

		{"url on tcp", tcp(func(s *Spec) { s.URL = "http://127.0.0.1/" }), []string{"url: url does not apply to a tcp check"}},
		{"address on icmp", Spec{Type: "icmp", Address: ":80"}, []string{"address: address does not apply to an icmp check"}},
		{"target on dns", dns(func(s *Spec) { s.Target = "127.0.0.1" }), []string{"target: target does not apply to a dns check"}},
		{"tls_skip_verify on http", http(func(s *Spec) { s.TLSSkipVerify = true }), []string{"tls_skip_verify: tls_skip_verify does not apply to an http check"}},
		{"server_name on http", http(func(s *Spec) { s.ServerName = "localhost" }), []string{"server_name: server_name does not apply to an http check"}},
		{"dns fields on http", http(func(s *Spec) { s.QName, s.Transport = "example.org", "udp" }), []string{
			"qname: qname does not apply to an http check", "transport: transport does not apply to an http check"}},
		{"http fields on dns", dns(func(s *Spec) {
			s.ExpectStatus, s.ExpectBody, s.ExpectBodyRegex, s.Headers = []string{"200"}, "ok", "ok", map[string]string{"A": "b"}
		}), []string{
			"expect_status: expect_status does not apply to a dns check", "expect_body: expect_body does not apply to a dns check",
			"expect_body_regex: expect_body_regex does not apply to a dns check", "headers: headers does not apply to a dns check"}},
		{"several at once", Spec{Type: "http", Interval: sec(1), Timeout: sec(1), Rise: 20, URL: "ftp://127.0.0.1/", ExpectStatus: []string{"99"}}, []string{
			"timeout: timeout 1s must be shorter than interval 1s",
			"rise: rise 20 is not between 1 and 10",
			`url: an http check needs an http:// url; "ftp://127.0.0.1/" is not one`,
			`expect_status[0]: "99" is not a status code (NNN) or range (NNN-NNN)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Normalize()
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	specs := []Spec{
		{Type: "icmp"},
		{Type: "icmp", Target: "::1"},
		{Type: "tcp", Address: "8080"},
		{Type: "tcp", Address: ":8080"},
		{Type: "tcp", Address: "[::1]:8080"},
		{Type: "tcp", Address: "localhost:8080"},
		{Type: "http", URL: "http://localhost:8080/health?x=1", Method: "HEAD", ExpectStatus: []string{"200", " 301-302 "},
			ExpectBody: "ok", ExpectBodyRegex: `^ok\b`, Headers: map[string]string{"Host": "localhost:8080", "X-Probe": "1"}},
		{Type: "https", URL: "https://[::1]/", TLSSkipVerify: true, ServerName: "localhost"},
		{Type: "dns", Server: "localhost", QName: ".", QType: "SOA", ExpectRcode: "REFUSED", ExpectAnswer: "ns1", Transport: "tcp"},
		{Type: "tcp", Address: "127.0.0.1:1", Interval: sec(0.1), Timeout: sec(0.099), Rise: 10, Fall: 10},
		{Type: "tcp", Address: "127.0.0.1:1", Interval: sec(3600)},
	}
	for _, s := range specs {
		s.Normalize()
		if es := s.Validate(); es != nil {
			t.Errorf("%+v: %v", s, es)
		}
	}
}

func TestFieldErrorWithoutField(t *testing.T) {
	if got := (&FieldError{Message: "x"}).Error(); got != "x" {
		t.Errorf("got %q", got)
	}
}
