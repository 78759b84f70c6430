package check

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
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
)

// Compiled is a validated spec ready to run. It is never changed after Compile, so probes may
// share it.
type Compiled struct {
	Spec              Spec // normalized
	Type              string
	Interval, Timeout time.Duration
	Rise, Fall        int
	Invert            bool

	// icmp
	Target netip.Addr

	// tcp
	Address string // host:port

	// http(s)
	URL           *url.URL
	Method        string
	Status        []StatusRange // inclusive ranges
	Body          string
	BodyRegex     *regexp.Regexp
	Header        http.Header // without Host
	Host          string      // from a "Host" header, if given
	TLSSkipVerify bool
	ServerName    string // SNI and the name verified; default the Host header's host, else the URL's

	// dns
	Server    string // host:port
	QName     string // fully qualified
	QType     uint16
	Rcode     int
	Answer    string // substring expected in some answer RR's presentation text, "" = any
	Transport string // "udp" or "tcp"

	// Key identifies the check's behaviour: equal specs with equal edge addresses give equal
	// keys, any change to what the check does a different one.
	Key string
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// Contains reports whether code is in r.
func (r StatusRange) Contains(code int) bool { return code >= r.Lo && code <= r.Hi }

func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
}

// Compile validates and compiles s for an edge with the given addresses: an icmp check without
// a target pings the edge's first address, and a tcp address given as a bare port (":8080" or
// "8080") is the edge's first address with that port. s itself is not changed. The error is a
// *FieldError, or several joined with errors.Join.
func Compile(s Spec, edgeAddrs []netip.Addr) (*Compiled, error) {
	s.ExpectStatus = slices.Clone(s.ExpectStatus)
	s.Headers = maps.Clone(s.Headers)
	s.Normalize()
	if es := s.Validate(); len(es) > 0 {
		return nil, joinErrors(es)
	}
	c := &Compiled{
		Spec:     s,
		Type:     s.Type,
		Interval: s.Interval.D(),
		Timeout:  s.Timeout.D(),
		Rise:     s.Rise,
		Fall:     s.Fall,
		Invert:   s.Invert,
	}
	var first netip.Addr
	if len(edgeAddrs) > 0 {
		first = edgeAddrs[0].Unmap()
	}
	switch s.Type {
	case "icmp":
		if s.Target == "" {
			if !first.IsValid() {
				return nil, &FieldError{Field: "target", Message: "no target given and the edge has no address"}
			}
			c.Target = first
		} else {
			c.Target = netip.MustParseAddr(s.Target).Unmap()
		}
	case "tcp":
		c.Address = s.Address
		if port, ok := barePort(s.Address); ok {
			if !first.IsValid() {
				return nil, &FieldError{Field: "address", Message: "a bare port needs the edge's address, and the edge has none"}
			}
			c.Address = netip.AddrPortFrom(first, port).String()
		}
	case "http", "https":
		c.compileHTTP()
	case "dns":
		c.Server = s.Server
		c.QName = dns.Fqdn(s.QName)
		c.QType = dns.StringToType[s.QType]
		c.Rcode = dns.StringToRcode[s.ExpectRcode]
		c.Answer = s.ExpectAnswer
		c.Transport = s.Transport
	}
	c.Key = c.key()
	return c, nil
}

// compileHTTP fills the http(s) fields of a validated spec.
func (c *Compiled) compileHTTP() {
	s := &c.Spec
	c.URL, _ = url.Parse(s.URL)
	c.Method = s.Method
	for _, e := range s.ExpectStatus {
		r, _ := parseStatus(e)
		c.Status = append(c.Status, r)
	}
	c.Body = s.ExpectBody
	if s.ExpectBodyRegex != "" {
		c.BodyRegex = regexp.MustCompile(s.ExpectBodyRegex)
	}
	c.Header = make(http.Header, len(s.Headers))
	for _, name := range sortedKeys(s.Headers) {
		if http.CanonicalHeaderKey(name) == "Host" {
			c.Host = s.Headers[name]
			continue
		}
		c.Header.Add(name, s.Headers[name])
	}
	c.TLSSkipVerify = s.TLSSkipVerify
	switch {
	case s.ServerName != "":
		c.ServerName = s.ServerName
	case c.Host != "":
		c.ServerName = hostOf(c.Host)
	default:
		c.ServerName = c.URL.Hostname()
	}
}

// hostOf strips the port and brackets from a Host header value.
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// key hashes every field that decides what the check does, after defaults and edge addresses
// are applied: "200-399" written out or left to the default, or "example.org" with or without
// its final dot, give the same key.
func (c *Compiled) key() string {
	var regex, u string
	if c.BodyRegex != nil {
		regex = c.BodyRegex.String()
	}
	if c.URL != nil {
		u = c.URL.String()
	}
	b, _ := json.Marshal([]any{
		c.Type, c.Interval, c.Timeout, c.Rise, c.Fall, c.Invert,
		c.Target, c.Address,
		u, c.Method, c.Status, c.Body, regex, c.Header, c.Host, c.TLSSkipVerify, c.ServerName,
		c.Server, c.QName, c.QType, c.Rcode, c.Answer, c.Transport,
	})
	sum := sha256.Sum256(b)
	return c.Type + ":" + hex.EncodeToString(sum[:16])
}

func joinErrors(es []*FieldError) error {
	if len(es) == 1 {
		return es[0]
	}
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errors.Join(errs...)
}
