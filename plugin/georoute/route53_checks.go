package georoute

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api/route53"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/recordsets"
	"github.com/georoute/appliance/plugin/pkg/health"
	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// Route 53's health checks and CIDR collections are catalog objects. A health check becomes
// the appliance's checks (healthCheckSpecs) twice over: on every edge made from a record set
// that names it, and on a target of its own that the prober runs for GetHealthCheckStatus
// (healthCheckTargets), whether record sets use it or not. A CIDR collection's locations are
// the prefixes of the cidr rules made from record sets (cidrBlocks).

// Route 53's health checkers give an endpoint 4 seconds to connect and 2 more to answer.
const (
	tcpCheckTimeout  = 4 * time.Second
	httpCheckTimeout = 6 * time.Second
)

// healthCheckSpecs maps a Route 53 health check onto the appliance's checks and the health
// rule that combines them (model.Edge.Checks and HealthRule); child finds the children of a
// CALCULATED one. Route 53's semantics: an HTTP(S) check passes on a 2xx or 3xx status (and,
// for *_STR_MATCH, the search string in the body), a TCP one when it connects; RequestInterval
// is the interval, FailureThreshold both the rise and the fall; Inverted inverts; a disabled
// health check is healthy (unhealthy if inverted) and probes nothing. A CALCULATED one is
// healthy when at least HealthThreshold of its children are: their checks with that rule,
// disabled children counted as they stand.
func healthCheckSpecs(hc model.HealthCheck, child func(id string) (model.HealthCheck, bool)) (checks []check.Spec, rule string) {
	if hc.Disabled {
		return constant(!hc.Inverted)
	}
	if hc.Type != model.HealthCheckCalculated {
		return []check.Spec{endpointSpec(hc)}, ""
	}
	need := hc.HealthThreshold
	for _, id := range hc.Children {
		c, ok := child(id)
		switch {
		case !ok || c.Disabled && c.Inverted:
			// never healthy: it counts for nothing
		case c.Disabled:
			need-- // always healthy
		default:
			checks = append(checks, endpointSpec(c))
		}
	}
	switch {
	case need <= 0:
		return constant(!hc.Inverted)
	case need > len(checks):
		return constant(hc.Inverted)
	case !hc.Inverted:
		return checks, strconv.Itoa(need)
	}
	// Fewer than need children up is more than len-need down: the children inverted, at least
	// len-need+1 of them up.
	for i := range checks {
		checks[i].Invert = !checks[i].Invert
	}
	return checks, strconv.Itoa(len(checks) - need + 1)
}

// constant is the checks of a health check that is always healthy, or never.
func constant(up bool) ([]check.Spec, string) {
	if up {
		return nil, ""
	}
	return nil, "none"
}

// endpointSpec is the check of a health check that probes an endpoint. Route 53 probes the
// health check's IPAddress (else its FullyQualifiedDomainName), not the record set's values,
// and sends the name as the Host header (with the port when it is not the type's own).
func endpointSpec(hc model.HealthCheck) check.Spec {
	s := check.Spec{
		Interval: check.Duration(time.Duration(hc.RequestInterval) * time.Second),
		Timeout:  check.Duration(httpCheckTimeout),
		Rise:     hc.FailureThreshold,
		Fall:     hc.FailureThreshold,
		Invert:   hc.Inverted,
	}
	host := hc.IPAddress
	if host == "" {
		host = hc.FQDN
	}
	hostPort := net.JoinHostPort(host, strconv.Itoa(hc.Port))
	if !hc.HTTP() {
		s.Type, s.Address, s.Timeout = "tcp", hostPort, check.Duration(tcpCheckTimeout)
		return s
	}
	s.Type = "http"
	if hc.HTTPS() {
		s.Type = "https"
		s.TLSSkipVerify = true // Route 53's checkers do not validate certificates
		switch {
		case hc.EnableSNI && hc.FQDN != "":
			s.ServerName = hc.FQDN
		case hc.IPAddress != "":
			s.ServerName = hc.IPAddress // an address: no SNI is sent
		}
	}
	path := hc.ResourcePath
	if path == "" {
		path = "/"
	}
	s.URL = s.Type + "://" + hostPort + path
	header := hc.FQDN
	if header == "" {
		header = hc.IPAddress
		if strings.Contains(header, ":") {
			header = "[" + header + "]"
		}
	}
	if defPort := map[bool]int{false: 80, true: 443}[hc.HTTPS()]; hc.Port != defPort {
		header = net.JoinHostPort(strings.Trim(header, "[]"), strconv.Itoa(hc.Port))
	}
	s.Headers = map[string]string{"Host": header}
	s.ExpectBody = hc.SearchString
	return s
}

// healthCheckLookup returns the children of CALCULATED health checks from v, with next in
// place of health check id when next is not nil.
func healthCheckLookup(v *catalog.View, id string, next *model.HealthCheck) func(string) (model.HealthCheck, bool) {
	return func(cid string) (model.HealthCheck, bool) {
		if next != nil && cid == id {
			return *next, true
		}
		hc, ok := v.Stored.HealthChecks[cid]
		return hc, ok
	}
}

// healthCheckChecks is what an edge made from a record set with HealthCheckId id is probed
// with (recordsets.Lookup.HealthCheck): false when v has no such health check.
func (b *route53Backend) healthCheckChecks(v *catalog.View, id string) (checks []check.Spec, rule string, ok bool) {
	hc, ok := v.Stored.HealthChecks[id]
	if !ok {
		return nil, "", false
	}
	checks, rule = healthCheckSpecs(hc, healthCheckLookup(v, "", nil))
	return checks, rule, true
}

// cidrBlocks is the blocks of a location of a CIDR collection in v (recordsets.Lookup.Cidr):
// false when v has no such collection or the location has no blocks.
func (b *route53Backend) cidrBlocks(v *catalog.View, collectionID, location string) ([]string, bool) {
	cc, ok := v.Stored.CidrCollections[collectionID]
	if !ok {
		return nil, false
	}
	blocks, ok := cc.Locations[location]
	return slices.Clone(blocks), ok
}

// lookupIn is what record sets made in view v refer to (recordsets.Lookup): its health checks
// and CIDR collections.
func (b *route53Backend) lookupIn(v *catalog.View) recordsets.Lookup {
	return recordsets.Lookup{
		HealthCheck: func(id string) ([]check.Spec, string, bool) { return b.healthCheckChecks(v, id) },
		Cidr:        func(collection, location string) ([]string, bool) { return b.cidrBlocks(v, collection, location) },
	}
}

// healthCheckTarget is the prober's id of health check id's own target: not an edge id (those
// have no '/').
func healthCheckTarget(id string) string { return healthCheckTargetPrefix + id }

const healthCheckTargetPrefix = "route53/healthcheck/"

// healthCheckOf is the health check whose own target the prober's target is, false when it is
// an edge.
func healthCheckOf(target string) (string, bool) {
	return strings.CutPrefix(target, healthCheckTargetPrefix)
}

// healthCheckTargets is what the prober runs for the health checks of v themselves: one target
// each that probes an endpoint and is not disabled.
func healthCheckTargets(v *catalog.View) []health.Target {
	var out []health.Target
	for _, id := range slices.Sorted(maps.Keys(v.Stored.HealthChecks)) {
		hc := v.Stored.HealthChecks[id]
		if hc.Type == model.HealthCheckCalculated || hc.Disabled {
			continue
		}
		checks, rule := healthCheckSpecs(hc, nil)
		out = append(out, health.Target{ID: healthCheckTarget(id), Checks: checks, Rule: rule})
	}
	return out
}

// probeTargets is everything the prober runs for st: its edges and its health checks.
func probeTargets(st *state) []health.Target {
	return append(targets(st.table.Edges), healthCheckTargets(st.view)...)
}

// healthChecksChanged reports whether a change of the catalog changed its health checks.
func healthChecksChanged(d catalog.Delta) bool {
	return d.Old == nil || !reflect.DeepEqual(d.Old.Stored.HealthChecks, d.New.Stored.HealthChecks)
}

// Backend: health checks.

func (b *route53Backend) HealthChecks() map[string]model.HealthCheck {
	return b.g.cat.View().Stored.HealthChecks
}

func (b *route53Backend) CreateHealthCheck(id string, hc model.HealthCheck) (int64, error) {
	rev, _, err := b.g.writeAt((&catalog.Change{}).PutHealthCheck(id, hc))
	return rev, healthCheckError(err, id)
}

// UpdateHealthCheck puts the next version of health check id with, in the same change, the
// edges it probes (directly, or as a child of a CALCULATED one) with their new checks. The
// change is computed from one view and refused if the edges changed after it.
func (b *route53Backend) UpdateHealthCheck(id string, hc model.HealthCheck) (int64, error) {
	v := b.g.cat.View()
	ch := (&catalog.Change{Since: v.Rev}).PutHealthCheck(id, hc)
	next := hc
	next.Normalize()
	lookup := healthCheckLookup(v, id, &next)
	seen := map[string]bool{}
	for _, user := range append([]string{id}, v.ParentsOf(id)...) {
		uhc, _ := lookup(user)
		checks, rule := healthCheckSpecs(uhc, lookup)
		for _, eid := range v.EdgesUsing(user) {
			e := v.Stored.Edges[eid]
			if seen[eid] || reflect.DeepEqual(e.Checks, checks) && e.HealthRule == rule {
				continue
			}
			seen[eid] = true
			e.Checks, e.HealthRule = checks, rule
			ch.PutEdge(eid, e)
		}
	}
	rev, _, err := b.g.writeAt(ch)
	return rev, healthCheckError(err, id)
}

func (b *route53Backend) DeleteHealthCheck(id string) (int64, error) {
	rev, _, err := b.g.writeAt((&catalog.Change{}).DeleteHealthCheck(id))
	return rev, healthCheckError(err, id)
}

// healthCheckError maps a catalog error of a health check change to Route 53's.
func healthCheckError(err error, id string) error {
	return objectErrors{
		inUse:   func(msg string) error { return route53.HealthCheckInUse("The health check %s is in use: %s", id, msg) },
		changed: func(string) error { return route53.PriorRequestNotComplete() },
		exists: func(msg string) error {
			return &route53.Error{Status: http.StatusConflict, Code: "HealthCheckAlreadyExists", Message: msg}
		},
		notFound: func() error { return route53.NoSuchHealthCheck(id) },
	}.of(err)
}

// objectErrors say which Route 53 error each catalog error of a change of one object is.
type objectErrors struct {
	inUse, changed, exists func(msg string) error
	notFound               func() error
}

func (m objectErrors) of(err error) error {
	var ce *catalog.Error
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Code == catalog.CodeInUse:
		return m.inUse(ce.Message)
	case ce.Code == catalog.CodeChanged:
		return m.changed(ce.Message)
	case ce.Code == catalog.CodeExists:
		return m.exists(ce.Message)
	case ce.Kind == catalog.NotFound:
		return m.notFound()
	case ce.Kind == catalog.Unavailable:
		return route53.ServiceUnavailable("%s", ce.Message)
	}
	return route53.InvalidInput("%s", ce.Error())
}

// HealthCheckStatus is what the prober of each live node last found of health check id, as
// Route 53 gives one observation of each of its checkers: this node's now, the others' as they
// last said (when its result changed, or within 30 s); none of a node before its first probe.
func (b *route53Backend) HealthCheckStatus(id string) ([]route53.Observation, error) {
	hc, ok := b.g.cat.View().Stored.HealthChecks[id]
	if !ok {
		return nil, route53.NoSuchHealthCheck(id)
	}
	node := b.g.nodeName()
	if hc.Disabled {
		status := "Success: The health check is disabled, so it is healthy"
		if hc.Inverted {
			status = "Failure: The health check is disabled and inverted, so it is unhealthy"
		}
		return []route53.Observation{{Region: node, Status: status, Checked: time.Now()}}, nil
	}
	if b.g.prober == nil {
		return nil, route53.ServiceUnavailable("Nothing probes health checks on this server: add healthprobe to its server block")
	}
	out := []route53.Observation{}
	if st, ok := b.g.prober.Status(healthCheckTarget(id)); ok && len(st.Checks) > 0 && !st.Checks[0].At.IsZero() {
		cs := st.Checks[0]
		out = append(out, route53.Observation{Region: node, IPAddress: sourceAddress(hc), Status: statusReport(hc, cs), Checked: cs.At})
	}
	for _, o := range b.g.storeHealth.shared.of(healthCheckTarget(id)) {
		if o.Check != nil && !o.Check.At.IsZero() {
			out = append(out, route53.Observation{Region: o.node, IPAddress: o.Addr, Status: statusReport(hc, *o.Check), Checked: o.Check.At})
		}
	}
	slices.SortFunc(out, func(a, b route53.Observation) int { return strings.Compare(a.Region, b.Region) })
	return out, nil
}

// statusReport words a probe's result as Route 53's checkers do.
func statusReport(hc model.HealthCheck, cs health.CheckStatus) string {
	code := fmt.Sprintf("HTTP Status Code %d, %s", cs.HTTPStatus, http.StatusText(cs.HTTPStatus))
	switch {
	case cs.OK && hc.HTTP():
		return "Success: " + code
	case cs.OK:
		return "Success: TCP connection established"
	}
	switch cs.Reason {
	case "status":
		return "Failure: " + code
	case "body":
		return "Failure: " + code + ", but the response body does not contain the SearchString"
	case "timeout":
		return "Failure: Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall."
	case "refused":
		return fmt.Sprintf("Failure: Connection refused. The endpoint is not accepting connections on port %d.", hc.Port)
	case "resolve":
		return "Failure: DNS resolution failed: " + cs.Detail
	case "tls":
		return "Failure: TLS handshake failed: " + cs.Detail
	}
	return "Failure: " + cs.Detail
}

// sourceAddress is the address this node probes hc's endpoint from (a UDP socket's local
// address toward it: no packet is sent), or "" when it has no route there.
func sourceAddress(hc model.HealthCheck) string {
	host := hc.IPAddress
	if host == "" {
		host = hc.FQDN
	}
	c, err := (&net.Dialer{Timeout: time.Second}).Dial("udp", net.JoinHostPort(host, strconv.Itoa(hc.Port)))
	if err != nil {
		return ""
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// Backend: CIDR collections.

func (b *route53Backend) CidrCollections() map[string]model.CidrCollection {
	return b.g.cat.View().Stored.CidrCollections
}

func (b *route53Backend) CreateCidrCollection(id string, cc model.CidrCollection) (int64, error) {
	rev, _, err := b.g.writeAt((&catalog.Change{}).PutCidrCollection(id, cc))
	return rev, cidrError(err, id, false)
}

// ChangeCidrCollection puts the next version of collection id with, in the same change, every
// pool that routes by its locations with their new blocks. A location in use left without
// blocks is Route 53's CidrBlockInUseException.
func (b *route53Backend) ChangeCidrCollection(id string, cc model.CidrCollection) (int64, error) {
	v := b.g.cat.View()
	ch := (&catalog.Change{Since: v.Rev}).PutCidrCollection(id, cc)
	for _, pid := range v.PoolsUsing(id) {
		pool := v.Stored.Pools[pid]
		pool.Rules = slices.Clone(pool.Rules)
		for i, r := range pool.Rules {
			if r.Default || r.Location == "" || r.Location == "*" {
				continue
			}
			blocks := cc.Locations[r.Location]
			if len(blocks) == 0 {
				return 0, route53.CidrBlockInUse("The change would leave location %s of CIDR collection %s without blocks, and record sets route by it (pool %s)", r.Location, id, pid)
			}
			pool.Rules[i].Prefixes = slices.Clone(blocks)
		}
		ch.PutPool(pid, pool)
	}
	rev, _, err := b.g.writeAt(ch)
	return rev, cidrError(err, id, false)
}

func (b *route53Backend) DeleteCidrCollection(id string) (int64, error) {
	rev, _, err := b.g.writeAt((&catalog.Change{}).DeleteCidrCollection(id))
	return rev, cidrError(err, id, true)
}

// cidrError maps a catalog error of a CIDR collection change to Route 53's: in use is the
// collection's when it is deleted, a location's blocks' when it is changed.
func cidrError(err error, id string, deleting bool) error {
	return objectErrors{
		inUse: func(msg string) error {
			if deleting {
				return route53.CidrCollectionInUse("%s", msg)
			}
			return route53.CidrBlockInUse("%s", msg)
		},
		changed: func(string) error {
			return &route53.Error{Status: http.StatusBadRequest, Code: "ConcurrentModification", Message: "The CIDR collection " + id + " was changed meanwhile: try again"}
		},
		exists: func(msg string) error {
			return &route53.Error{Status: http.StatusBadRequest, Code: "CidrCollectionAlreadyExistsException", Message: msg}
		},
		notFound: func() error { return route53.NoSuchCidrCollection(id) },
	}.of(err)
}
