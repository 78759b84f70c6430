package model

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// HealthCheck is a Route 53 health check as its client wrote it (CreateHealthCheck,
// UpdateHealthCheck): what it probes and how, kept as a catalog object under its id. Edges made
// from Route 53 record sets that name it are probed as it says (Edge.HealthCheck).
type HealthCheck struct {
	CallerReference string `json:"caller_reference"`
	// Version is 1 when the health check is created and grows by one with every update.
	Version int64  `json:"version"`
	Type    string `json:"type"` // HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP or CALCULATED
	// The endpoint: an address, a name, or both (then the address is probed and the name is
	// sent as the Host header and, with EnableSNI, in the TLS handshake).
	IPAddress        string `json:"ip_address,omitempty"`
	FQDN             string `json:"fqdn,omitempty"`
	Port             int    `json:"port,omitempty"`
	ResourcePath     string `json:"resource_path,omitempty"`
	SearchString     string `json:"search_string,omitempty"`
	RequestInterval  int    `json:"request_interval,omitempty"` // seconds: 10 or 30
	FailureThreshold int    `json:"failure_threshold,omitempty"`
	MeasureLatency   bool   `json:"measure_latency,omitempty"`
	Inverted         bool   `json:"inverted,omitempty"`
	Disabled         bool   `json:"disabled,omitempty"`
	EnableSNI        bool   `json:"enable_sni,omitempty"`
	// HealthThreshold and Children are those of a CALCULATED health check: it is healthy when
	// at least HealthThreshold of the health checks Children are.
	HealthThreshold int               `json:"health_threshold,omitempty"`
	Children        []string          `json:"children,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// Route 53's health check types this appliance probes, and its limits on a health check.
const (
	HealthCheckHTTP       = "HTTP"
	HealthCheckHTTPS      = "HTTPS"
	HealthCheckHTTPMatch  = "HTTP_STR_MATCH"
	HealthCheckHTTPSMatch = "HTTPS_STR_MATCH"
	HealthCheckTCP        = "TCP"
	HealthCheckCalculated = "CALCULATED"

	MaxHealthCheckChildren  = 256
	MaxResourcePath         = 255
	MaxSearchString         = 255
	MaxFailureThreshold     = 10
	DefaultRequestInterval  = 30
	DefaultFailureThreshold = 3
)

// HealthCheckTypes lists the types, in the order messages name them.
var HealthCheckTypes = []string{HealthCheckHTTP, HealthCheckHTTPS, HealthCheckHTTPMatch, HealthCheckHTTPSMatch, HealthCheckTCP, HealthCheckCalculated}

// HTTPS reports whether the health check speaks TLS.
func (hc *HealthCheck) HTTPS() bool {
	return hc.Type == HealthCheckHTTPS || hc.Type == HealthCheckHTTPSMatch
}

// HTTP reports whether the health check sends HTTP requests (over TLS or not).
func (hc *HealthCheck) HTTP() bool {
	return hc.Type == HealthCheckHTTP || hc.Type == HealthCheckHTTPMatch || hc.HTTPS()
}

// Normalize fills Route 53's defaults in place: the port of the type (80, 443), a request
// interval of 30 seconds, a failure threshold of 3, and a resource path that starts with '/'.
func (hc *HealthCheck) Normalize() {
	hc.Type = strings.ToUpper(strings.TrimSpace(hc.Type))
	hc.IPAddress = strings.TrimSpace(hc.IPAddress)
	hc.FQDN = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(hc.FQDN), "."))
	if a, err := netip.ParseAddr(hc.IPAddress); err == nil {
		hc.IPAddress = a.Unmap().String()
	}
	if hc.Type == HealthCheckCalculated {
		return
	}
	if hc.Port == 0 && hc.HTTP() {
		hc.Port = 80
		if hc.HTTPS() {
			hc.Port = 443
		}
	}
	if hc.RequestInterval == 0 {
		hc.RequestInterval = DefaultRequestInterval
	}
	if hc.FailureThreshold == 0 {
		hc.FailureThreshold = DefaultFailureThreshold
	}
	if hc.ResourcePath != "" && !strings.HasPrefix(hc.ResourcePath, "/") {
		hc.ResourcePath = "/" + hc.ResourcePath
	}
}

// Validate checks a normalized health check field by field, as Route 53 does; fields are named
// as Route 53's elements are. Children are checked against the other health checks by the
// catalog.
func (hc *HealthCheck) Validate() error {
	var es Errors
	switch {
	case hc.CallerReference == "" || len(hc.CallerReference) > 64:
		es.add(CodeInvalid, "CallerReference", "a caller reference has 1 to 64 characters")
	case hc.Version < 1:
		es.add(CodeInvalid, "HealthCheckVersion", "%d is not a version (1 or more)", hc.Version)
	}
	if !slices.Contains(HealthCheckTypes, hc.Type) {
		switch hc.Type {
		case "CLOUDWATCH_METRIC", "RECOVERY_CONTROL":
			es.add(CodeInvalid, "Type", "%s health checks are not supported by this appliance: it probes endpoints itself (%s)", hc.Type, strings.Join(HealthCheckTypes, ", "))
		default:
			es.add(CodeInvalid, "Type", "%q is not a health check type (%s)", hc.Type, strings.Join(HealthCheckTypes, ", "))
		}
		return es.Err()
	}
	if hc.Type == HealthCheckCalculated {
		hc.validateCalculated(&es)
		return es.Err()
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"HealthThreshold", hc.HealthThreshold != 0}, {"ChildHealthChecks", len(hc.Children) > 0}} {
		if f.set {
			es.add(CodeInvalid, f.name, "%s applies to CALCULATED health checks only", f.name)
		}
	}
	switch {
	case hc.IPAddress == "" && hc.FQDN == "":
		es.add(CodeMissing, "IPAddress", "a %s health check needs an IPAddress or a FullyQualifiedDomainName to probe", hc.Type)
	case hc.IPAddress != "" && !validAddress(hc.IPAddress):
		es.add(CodeInvalid, "IPAddress", "%q is not an IPv4 or IPv6 address", hc.IPAddress)
	}
	if hc.FQDN != "" {
		if _, ok := dns.IsDomainName(hc.FQDN); !ok || len(hc.FQDN) > 255 || strings.ContainsAny(hc.FQDN, " /\\:@*") {
			es.add(CodeInvalid, "FullyQualifiedDomainName", "%q is not a domain name", hc.FQDN)
		}
	}
	switch {
	case hc.Port == 0 && hc.Type == HealthCheckTCP:
		es.add(CodeMissing, "Port", "a TCP health check needs a Port")
	case hc.Port < 1 || hc.Port > 65535:
		es.add(CodeInvalid, "Port", "%d is not a port (1 to 65535)", hc.Port)
	}
	if hc.RequestInterval != 10 && hc.RequestInterval != 30 {
		es.add(CodeInvalid, "RequestInterval", "%d is not 10 or 30 (seconds)", hc.RequestInterval)
	}
	if hc.FailureThreshold < 1 || hc.FailureThreshold > MaxFailureThreshold {
		es.add(CodeInvalid, "FailureThreshold", "%d is not between 1 and %d", hc.FailureThreshold, MaxFailureThreshold)
	}
	match := hc.Type == HealthCheckHTTPMatch || hc.Type == HealthCheckHTTPSMatch
	switch {
	case hc.ResourcePath != "" && !hc.HTTP():
		es.add(CodeInvalid, "ResourcePath", "a TCP health check sends no request: ResourcePath does not apply")
	case len(hc.ResourcePath) > MaxResourcePath:
		es.add(CodeInvalid, "ResourcePath", "is longer than %d characters", MaxResourcePath)
	case strings.ContainsAny(hc.ResourcePath, " \t\r\n#"):
		es.add(CodeInvalid, "ResourcePath", "%q is not a path and query (no spaces or fragment)", hc.ResourcePath)
	}
	switch {
	case match && hc.SearchString == "":
		es.add(CodeMissing, "SearchString", "a %s health check needs a SearchString", hc.Type)
	case !match && hc.SearchString != "":
		es.add(CodeInvalid, "SearchString", "SearchString applies to HTTP_STR_MATCH and HTTPS_STR_MATCH health checks only")
	case len(hc.SearchString) > MaxSearchString:
		es.add(CodeInvalid, "SearchString", "is longer than %d characters", MaxSearchString)
	}
	return es.Err()
}

func (hc *HealthCheck) validateCalculated(es *Errors) {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"IPAddress", hc.IPAddress != ""}, {"FullyQualifiedDomainName", hc.FQDN != ""}, {"Port", hc.Port != 0},
		{"ResourcePath", hc.ResourcePath != ""}, {"SearchString", hc.SearchString != ""},
		{"RequestInterval", hc.RequestInterval != 0}, {"FailureThreshold", hc.FailureThreshold != 0},
		{"MeasureLatency", hc.MeasureLatency}, {"EnableSNI", hc.EnableSNI},
	} {
		if f.set {
			es.add(CodeInvalid, f.name, "a CALCULATED health check probes nothing itself: %s does not apply", f.name)
		}
	}
	if len(hc.Children) > MaxHealthCheckChildren {
		es.add(CodeInvalid, "ChildHealthChecks", "%d child health checks, at most %d", len(hc.Children), MaxHealthCheckChildren)
	}
	if hc.HealthThreshold < 0 || hc.HealthThreshold > MaxHealthCheckChildren {
		es.add(CodeInvalid, "HealthThreshold", "%d is not between 0 and %d", hc.HealthThreshold, MaxHealthCheckChildren)
	}
	seen := map[string]bool{}
	for i, id := range hc.Children {
		if seen[id] {
			es.add(CodeInvalid, fmt.Sprintf("ChildHealthChecks[%d]", i), "health check %s is listed twice", id)
		}
		seen[id] = true
	}
}

func validAddress(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// ValidHealthCheckID reports whether id may name a health check: Route 53's ids are UUIDs, and
// what the store keeps is at most 64 characters of letters, digits and '-'.
func ValidHealthCheckID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
