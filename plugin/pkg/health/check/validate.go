package check

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/http/httpguts"
)

// Types are the check types, in the order messages list them.
var Types = []string{"icmp", "tcp", "http", "https", "dns"}

// Defaults are copied in by Normalize where a spec is silent. When the interval is not longer
// than Defaults.Timeout, an unset timeout becomes half the interval instead.
var Defaults = Spec{Interval: Duration(5 * time.Second), Timeout: Duration(2 * time.Second), Rise: 2, Fall: 3}

// HTTPDefaults are the defaults of http and https checks.
var HTTPDefaults = Spec{Method: http.MethodGet, ExpectStatus: []string{"200-399"}}

// DNSDefaults are the defaults of dns checks; DNSPort is added to a server given without one.
var DNSDefaults = Spec{QType: "A", ExpectRcode: "NOERROR", Transport: "udp"}

// DNSPort is the port of a dns check's server given as a bare host.
const DNSPort = "53"

// Bounds of a check's timing.
const (
	MinInterval = 100 * time.Millisecond
	MaxInterval = time.Hour
	MaxRiseFall = 10
)

// Normalize lower-cases the type and fills defaults in place: Defaults for every check, then
// those of its type. It also trims spaces around addresses and upper-cases method, qtype and
// expect_rcode, and adds DNSPort to a dns server given as a bare host.
func (s *Spec) Normalize() {
	s.Type = strings.ToLower(strings.TrimSpace(s.Type))
	if s.Interval == 0 {
		s.Interval = Defaults.Interval
	}
	if s.Timeout == 0 {
		s.Timeout = Defaults.Timeout
		if s.Interval > 0 && s.Timeout >= s.Interval {
			s.Timeout = s.Interval / 2
		}
	}
	if s.Rise == 0 {
		s.Rise = Defaults.Rise
	}
	if s.Fall == 0 {
		s.Fall = Defaults.Fall
	}
	s.Target = strings.TrimSpace(s.Target)
	s.Address = strings.TrimSpace(s.Address)
	s.URL = strings.TrimSpace(s.URL)
	s.Server = strings.TrimSpace(s.Server)
	switch s.Type {
	case "http", "https":
		s.Method = strings.ToUpper(strings.TrimSpace(s.Method))
		if s.Method == "" {
			s.Method = HTTPDefaults.Method
		}
		if len(s.ExpectStatus) == 0 {
			s.ExpectStatus = slices.Clone(HTTPDefaults.ExpectStatus)
		}
	case "dns":
		s.QName = strings.TrimSpace(s.QName)
		s.QType = strings.ToUpper(strings.TrimSpace(s.QType))
		if s.QType == "" {
			s.QType = DNSDefaults.QType
		}
		s.ExpectRcode = strings.ToUpper(strings.TrimSpace(s.ExpectRcode))
		if s.ExpectRcode == "" {
			s.ExpectRcode = DNSDefaults.ExpectRcode
		}
		s.Transport = strings.ToLower(strings.TrimSpace(s.Transport))
		if s.Transport == "" {
			s.Transport = DNSDefaults.Transport
		}
		s.Server = withPort(s.Server, DNSPort)
	}
}

// withPort adds port to a bare host or IP address (bracketing IPv6); anything else is left for
// Validate to judge.
func withPort(hostport, port string) string {
	if hostport == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return hostport
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")); err == nil {
		return net.JoinHostPort(a.String(), port)
	}
	if !strings.ContainsAny(hostport, ":[]") {
		return net.JoinHostPort(hostport, port)
	}
	return hostport
}

// FieldError is one problem with one field of a check; Field is relative to the check ("url",
// "expect_status[1]", "timeout").
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

type fieldErrors []*FieldError

func (es *fieldErrors) add(field, format string, args ...any) {
	*es = append(*es, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// field is one type-specific field of Spec: its name, the types it belongs to, whether it is set.
type field struct {
	name  string
	types []string
	set   func(*Spec) bool
}

var (
	httpTypes = []string{"http", "https"}
	fields    = []field{
		{"target", []string{"icmp"}, func(s *Spec) bool { return s.Target != "" }},
		{"address", []string{"tcp"}, func(s *Spec) bool { return s.Address != "" }},
		{"url", httpTypes, func(s *Spec) bool { return s.URL != "" }},
		{"method", httpTypes, func(s *Spec) bool { return s.Method != "" }},
		{"expect_status", httpTypes, func(s *Spec) bool { return len(s.ExpectStatus) > 0 }},
		{"expect_body", httpTypes, func(s *Spec) bool { return s.ExpectBody != "" }},
		{"expect_body_regex", httpTypes, func(s *Spec) bool { return s.ExpectBodyRegex != "" }},
		{"headers", httpTypes, func(s *Spec) bool { return len(s.Headers) > 0 }},
		{"tls_skip_verify", []string{"https"}, func(s *Spec) bool { return s.TLSSkipVerify }},
		{"server_name", []string{"https"}, func(s *Spec) bool { return s.ServerName != "" }},
		{"server", []string{"dns"}, func(s *Spec) bool { return s.Server != "" }},
		{"qname", []string{"dns"}, func(s *Spec) bool { return s.QName != "" }},
		{"qtype", []string{"dns"}, func(s *Spec) bool { return s.QType != "" }},
		{"expect_rcode", []string{"dns"}, func(s *Spec) bool { return s.ExpectRcode != "" }},
		{"expect_answer", []string{"dns"}, func(s *Spec) bool { return s.ExpectAnswer != "" }},
		{"transport", []string{"dns"}, func(s *Spec) bool { return s.Transport != "" }},
	}
)

// article is "a" or "an" before a type's name as it is read aloud.
func article(typ string) string {
	if typ == "icmp" || strings.HasPrefix(typ, "http") {
		return "an"
	}
	return "a"
}

// Validate checks a normalized spec and returns every problem (nil when none). Host names are
// allowed in url, address, server and server_name: they are resolved at every probe, and a
// name that does not resolve fails the probe (reason "resolve"), not the config. An icmp target
// must be an IP address.
func (s *Spec) Validate() []*FieldError {
	var es fieldErrors
	known := slices.Contains(Types, s.Type)
	switch {
	case s.Type == "":
		es.add("type", "missing; a check's type is one of %s", strings.Join(Types, ", "))
	case !known:
		es.add("type", "unknown type %q; valid types are %s", s.Type, strings.Join(Types, ", "))
	}
	s.validateTiming(&es)
	if !known {
		return es
	}
	for _, f := range fields {
		if f.set(s) && !slices.Contains(f.types, s.Type) {
			es.add(f.name, "%s does not apply to %s %s check", f.name, article(s.Type), s.Type)
		}
	}
	switch s.Type {
	case "icmp":
		if s.Target != "" {
			if _, err := netip.ParseAddr(s.Target); err != nil {
				es.add("target", "%q is not an IP address (icmp pings an address, not a name)", s.Target)
			}
		}
	case "tcp":
		s.validateTCP(&es)
	case "http", "https":
		s.validateHTTP(&es)
	case "dns":
		s.validateDNS(&es)
	}
	return es
}

func (s *Spec) validateTiming(es *fieldErrors) {
	iv, to := s.Interval.D(), s.Timeout.D()
	intervalOK := false
	switch {
	case iv <= 0:
		es.add("interval", "interval %s must be positive", short(iv))
	case iv < MinInterval:
		es.add("interval", "interval %s is too short (at least %s)", short(iv), short(MinInterval))
	case iv > MaxInterval:
		es.add("interval", "interval %s is too long (at most %s)", short(iv), short(MaxInterval))
	default:
		intervalOK = true
	}
	switch {
	case to <= 0:
		es.add("timeout", "timeout %s must be positive", short(to))
	case intervalOK && to >= iv:
		es.add("timeout", "timeout %s must be shorter than interval %s", short(to), short(iv))
	}
	if s.Rise < 1 || s.Rise > MaxRiseFall {
		es.add("rise", "rise %d is not between 1 and %d", s.Rise, MaxRiseFall)
	}
	if s.Fall < 1 || s.Fall > MaxRiseFall {
		es.add("fall", "fall %d is not between 1 and %d", s.Fall, MaxRiseFall)
	}
}

func (s *Spec) validateTCP(es *fieldErrors) {
	if s.Address == "" {
		es.add("address", "a tcp check needs an address: host:port, or :port for the edge's first address")
		return
	}
	if _, ok := barePort(s.Address); ok {
		return
	}
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil {
		es.add("address", "%q is not host:port (write IPv6 addresses in brackets: [::1]:443)", s.Address)
		return
	}
	if host != "" && !validHost(host) {
		es.add("address", "%q: %q is not an IP address or host name", s.Address, host)
	}
	if _, ok := parsePort(port); !ok {
		es.add("address", "%q: port %q is not a number from 1 to 65535", s.Address, port)
	}
}

// barePort reads a tcp address given as "8080" or ":8080".
func barePort(address string) (uint16, bool) {
	p := strings.TrimPrefix(address, ":")
	if p == "" || strings.Trim(p, "0123456789") != "" {
		return 0, false
	}
	return parsePort(p)
}

func parsePort(s string) (uint16, bool) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint16(n), true
}

func (s *Spec) validateHTTP(es *fieldErrors) {
	switch u, err := url.Parse(s.URL); {
	case s.URL == "":
		es.add("url", "%s %s check needs a url (%s://host[:port]/path)", article(s.Type), s.Type, s.Type)
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		es.add("url", "%q does not parse: %v", s.URL, err)
	case u.Scheme != s.Type:
		es.add("url", "%s %s check needs %s %s:// url; %q is not one", article(s.Type), s.Type, article(s.Type), s.Type, s.URL)
	case u.Host == "":
		es.add("url", "%q has no host", s.URL)
	case !validHost(u.Hostname()):
		es.add("url", "%q: %q is not an IP address or host name", s.URL, u.Hostname())
	case u.Port() != "" && !validPort(u.Port()):
		es.add("url", "%q: port %q is not a number from 1 to 65535", s.URL, u.Port())
	}
	if !httpguts.ValidHeaderFieldName(s.Method) {
		es.add("method", "%q is not an HTTP method (a token such as GET or HEAD)", s.Method)
	}
	for i, e := range s.ExpectStatus {
		if _, err := parseStatus(e); err != nil {
			es.add(fmt.Sprintf("expect_status[%d]", i), "%v", err)
		}
	}
	if s.ExpectBodyRegex != "" {
		if _, err := regexp.Compile(s.ExpectBodyRegex); err != nil {
			es.add("expect_body_regex", "does not compile: %v", err)
		}
	}
	for _, name := range sortedKeys(s.Headers) {
		f, v := fmt.Sprintf("headers[%q]", name), s.Headers[name]
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			es.add(f, "%q is not a valid header name", name)
		case !httpguts.ValidHeaderFieldValue(v):
			es.add(f, "value %q is not a valid header value (no line breaks or control characters)", v)
		case http.CanonicalHeaderKey(name) == "Host" && !validHostPort(v):
			es.add(f, "Host %q is not host or host:port", v)
		}
	}
	if s.ServerName != "" && !validHost(s.ServerName) {
		es.add("server_name", "%q is not a host name", s.ServerName)
	}
}

func (s *Spec) validateDNS(es *fieldErrors) {
	if s.Server == "" {
		es.add("server", "a dns check needs a server (host, or host:port; the port defaults to %s)", DNSPort)
	} else if host, port, err := net.SplitHostPort(s.Server); err != nil {
		es.add("server", "%q is not host or host:port (write IPv6 addresses in brackets: [::1]:53)", s.Server)
	} else {
		if !validHost(host) {
			es.add("server", "%q: %q is not an IP address or host name", s.Server, host)
		}
		if !validPort(port) {
			es.add("server", "%q: port %q is not a number from 1 to 65535", s.Server, port)
		}
	}
	if s.QName == "" {
		es.add("qname", "a dns check needs a qname, the name to query")
	} else if _, ok := dns.IsDomainName(s.QName); !ok {
		es.add("qname", "%q is not a domain name", s.QName)
	}
	if _, ok := dns.StringToType[s.QType]; !ok {
		es.add("qtype", "%q is not a DNS type (A, AAAA, CNAME, MX, NS, SOA, TXT, ...)", s.QType)
	}
	if _, ok := dns.StringToRcode[s.ExpectRcode]; !ok {
		es.add("expect_rcode", "%q is not an rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)", s.ExpectRcode)
	}
	if s.Transport != "udp" && s.Transport != "tcp" {
		es.add("transport", "%q is not udp or tcp", s.Transport)
	}
}

// parseStatus reads "200" or "200-299".
func parseStatus(s string) (StatusRange, error) {
	t := strings.TrimSpace(s)
	lo, hi, isRange := strings.Cut(t, "-")
	l, errL := parseCode(lo)
	h := l
	var errH error
	if isRange {
		h, errH = parseCode(hi)
	}
	switch {
	case errL != nil || errH != nil:
		return StatusRange{}, fmt.Errorf("%q is not a status code (NNN) or range (NNN-NNN)", s)
	case l < 100 || l > 599:
		return StatusRange{}, fmt.Errorf("%d is not an HTTP status (100-599)", l)
	case h < 100 || h > 599:
		return StatusRange{}, fmt.Errorf("%d is not an HTTP status (100-599)", h)
	case l > h:
		return StatusRange{}, fmt.Errorf("%q is an empty range: %d is above %d", s, l, h)
	}
	return StatusRange{Lo: l, Hi: h}, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 3 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("not three digits")
	}
	return strconv.Atoi(s)
}

func validPort(s string) bool {
	_, ok := parsePort(s)
	return ok
}

// validHost accepts an IP address or a host name: dot-separated labels of letters, digits,
// '-' and '_', at most 63 characters each and 253 in all, with an optional final dot.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// validHostPort accepts host or host:port, as a Host header carries them.
func validHostPort(s string) bool {
	if host, port, err := net.SplitHostPort(s); err == nil {
		return validHost(host) && validPort(port)
	}
	return validHost(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// short writes d without trailing zero units: "1h", "1m30s", "500ms".
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
