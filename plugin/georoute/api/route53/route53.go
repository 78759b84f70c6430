// Package route53 is Route 53's API (version 2013-04-01) over the appliance's zones, so that the
// aws CLI, the AWS SDKs and the tools built on them (Terraform, external-dns, cert-manager) work
// against it with only their endpoint changed: REST with XML bodies, signed with AWS Signature
// Version 4. Hosted zones are the appliance's zones; simple record sets are its static records.
// It speaks HTTP and leaves the state to a Backend, which the georoute plugin implements.
package route53

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api/sigv4"
	"github.com/georoute/appliance/plugin/georoute/model"
)

// Backend is the state behind the API. Changes are durable, and applied on this node, when they
// return; rev is the revision they committed at. Errors are *Error, *ChangeError (of
// ChangeRecordSets) or any other error (an internal failure).
type Backend interface {
	// Zones lists every zone served, in any order.
	Zones() []Zone
	Zone(origin string) (Zone, bool)
	// RecordSetCount is how many record sets the zone holds, its SOA and NS included.
	RecordSetCount(origin string) int
	// CreateZone creates a zone; it refuses one that exists.
	CreateZone(origin string, spec model.Zone) (rev int64, err error)
	// UpdateZone replaces what the creator of a zone said of it: comment, tags.
	UpdateZone(origin string, spec model.Zone) (rev int64, err error)
	DeleteZone(origin string) (rev int64, err error)
	// RecordSets returns at most limit record sets of the zone in Route 53's order (names
	// with their labels reversed, then types), from the first at or after name and typ ("": from
	// the first; ident: from that SetIdentifier within the name and type).
	RecordSets(origin, name, typ, ident string, limit int) ([]RecordSet, error)
	// ChangeRecordSets applies the changes as one change: all or nothing.
	ChangeRecordSets(origin string, changes []Change) (rev int64, err error)
	// Rev is the revision every live node has applied (this node's, alone): a change of a
	// later revision is PENDING.
	Rev() int64
	HealthCheckBackend
	CidrBackend
	// DNSSEC is the DNSSEC state of a zone (GetDNSSEC).
	DNSSEC(origin string) (DNSSEC, error)
}

// Zone is a hosted zone: one of the appliance's zones.
type Zone struct {
	Origin      string     // lower case, fully qualified
	Spec        model.Zone // what its creator said of it
	InFile      bool       // defined by a zone file: read-only here
	NameServers []string   // its NS at the apex, fully qualified
}

// RecordSet is the records of one type at one name: a simple record set, a routing record set
// (Set: its SetIdentifier and routing fields) or an alias (Alias).
type RecordSet struct {
	Name   string // lower case, fully qualified, in presentation format
	Type   string
	TTL    uint32
	Values []string // in presentation format
	// Set, for a routing record set, is its SetIdentifier and routing fields (its Type, TTL and
	// Values are the ones above).
	Set   *model.RecordSet
	Alias *model.Alias
}

// Ident is the record set's SetIdentifier, or "".
func (s RecordSet) Ident() string {
	switch {
	case s.Set != nil:
		return s.Set.SetIdentifier
	case s.Alias != nil:
		return s.Alias.SetIdentifier
	}
	return ""
}

// Change is one change of a batch: a simple record set created, deleted or upserted.
type Change struct {
	Action string // CREATE, DELETE or UPSERT
	RecordSet
}

// Verifier checks a request's signature over its body (sigv4.Verifier).
type Verifier interface {
	Verify(r *http.Request, body []byte) (*sigv4.Key, *sigv4.Error)
}

// Options tune the handler.
type Options struct {
	MaxBody int64 // bytes; 0: 1 MiB
	// Observe, when set, sees every request's operation, status and duration.
	Observe func(operation string, status int, took time.Duration)
	Now     func() time.Time // nil: time.Now
}

// DefaultMaxBody bounds a request body: Route 53's largest batches are far smaller.
const DefaultMaxBody = 1 << 20

type handler struct {
	b   Backend
	v   Verifier
	o   Options
	ids sync.Map // origin -> zone id
}

// New returns the API's HTTP handler.
func New(b Backend, v Verifier, o Options) http.Handler {
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &handler{b: b, v: v, o: o}
}

// call is one request being answered.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	body      []byte
	key       *sigv4.Key
	params    []string // the path's {} segments, unescaped
	op        string
	requestID string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{w: w, r: r, requestID: newRequestID()}
	w.Header().Set("x-amzn-RequestId", c.requestID)
	rt := match(r, c)
	status := h.serve(c, rt)
	if h.o.Observe != nil {
		op := c.op
		if op == "" {
			op = "unknown"
		}
		h.o.Observe(op, status, time.Since(start))
	}
}

// serve authenticates c and runs rt, and returns the status sent.
func (h *handler) serve(c *call, rt *route) int {
	if c.r.ContentLength > h.o.MaxBody {
		return writeError(c.w, c.requestID, InvalidInput("The request body is larger than %d bytes", h.o.MaxBody))
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, h.o.MaxBody+1))
	switch {
	case err != nil:
		return writeError(c.w, c.requestID, InvalidInput("The request body could not be read: %v", err))
	case int64(len(body)) > h.o.MaxBody:
		return writeError(c.w, c.requestID, InvalidInput("The request body is larger than %d bytes", h.o.MaxBody))
	}
	c.body = body
	key, e := h.v.Verify(c.r, body)
	if e != nil {
		return writeError(c.w, c.requestID, &Error{Status: e.Status, Code: e.Code, Message: e.Message})
	}
	c.key = key
	switch {
	case rt == nil:
		return writeError(c.w, c.requestID, newError(http.StatusBadRequest, "InvalidAction", "%s %s is not an operation of the Route 53 API", c.r.Method, c.r.URL.Path))
	case rt.serve == nil:
		return writeError(c.w, c.requestID, newError(http.StatusBadRequest, "InvalidAction", "%s is not supported by this appliance yet", rt.op))
	}
	rec := &recorder{ResponseWriter: c.w, status: http.StatusOK}
	c.w = rec
	if err := rt.serve(h, c); err != nil {
		return writeError(rec.ResponseWriter, c.requestID, err)
	}
	return rec.status
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// newRequestID is a fresh request id, a random UUID as Route 53's are.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// A route is one operation: its method and path ("{}" for an id), and what serves it (nil: an
// operation of Route 53's that this appliance does not support yet).
type route struct {
	method string
	path   []string
	op     string
	serve  func(h *handler, c *call) error
}

// Every operation of the API, as the SDK's serializers send them.
var routes = func() []route {
	var out []route
	add := func(method, path, op string, serve func(h *handler, c *call) error) {
		out = append(out, route{method: method, path: strings.Split(path, "/"), op: op, serve: serve})
	}
	add("POST", "hostedzone", "CreateHostedZone", (*handler).createHostedZone)
	add("GET", "hostedzone", "ListHostedZones", (*handler).listHostedZones)
	add("GET", "hostedzone/{}", "GetHostedZone", (*handler).getHostedZone)
	add("DELETE", "hostedzone/{}", "DeleteHostedZone", (*handler).deleteHostedZone)
	add("POST", "hostedzone/{}", "UpdateHostedZoneComment", (*handler).updateHostedZoneComment)
	add("GET", "hostedzonecount", "GetHostedZoneCount", (*handler).getHostedZoneCount)
	add("GET", "hostedzonesbyname", "ListHostedZonesByName", (*handler).listHostedZonesByName)
	add("POST", "hostedzone/{}/rrset", "ChangeResourceRecordSets", (*handler).changeRecordSets)
	add("GET", "hostedzone/{}/rrset", "ListResourceRecordSets", (*handler).listRecordSets)
	add("GET", "change/{}", "GetChange", (*handler).getChange)
	add("POST", "tags/{}/{}", "ChangeTagsForResource", (*handler).changeTags)
	add("GET", "tags/{}/{}", "ListTagsForResource", (*handler).listTags)
	add("POST", "tags/{}", "ListTagsForResources", (*handler).listTagsForResources)
	add("POST", "healthcheck", "CreateHealthCheck", (*handler).createHealthCheck)
	add("GET", "healthcheck", "ListHealthChecks", (*handler).listHealthChecks)
	add("GET", "healthcheck/{}", "GetHealthCheck", (*handler).getHealthCheck)
	add("POST", "healthcheck/{}", "UpdateHealthCheck", (*handler).updateHealthCheck)
	add("DELETE", "healthcheck/{}", "DeleteHealthCheck", (*handler).deleteHealthCheck)
	add("GET", "healthcheck/{}/status", "GetHealthCheckStatus", (*handler).getHealthCheckStatus)
	add("GET", "healthcheckcount", "GetHealthCheckCount", (*handler).getHealthCheckCount)
	add("POST", "cidrcollection", "CreateCidrCollection", (*handler).createCidrCollection)
	add("GET", "cidrcollection", "ListCidrCollections", (*handler).listCidrCollections)
	add("GET", "cidrcollection/{}", "ListCidrLocations", (*handler).listCidrLocations)
	add("GET", "cidrcollection/{}/cidrblocks", "ListCidrBlocks", (*handler).listCidrBlocks)
	add("POST", "cidrcollection/{}", "ChangeCidrCollection", (*handler).changeCidrCollection)
	add("DELETE", "cidrcollection/{}", "DeleteCidrCollection", (*handler).deleteCidrCollection)
	add("GET", "hostedzone/{}/dnssec", "GetDNSSEC", (*handler).getDNSSEC)
	for _, op := range []struct{ method, path, op string }{
		{"GET", "accountlimit/{}", "GetAccountLimit"},
		{"GET", "checkeripranges", "GetCheckerIpRanges"},
		{"POST", "delegationset", "CreateReusableDelegationSet"},
		{"GET", "delegationset", "ListReusableDelegationSets"},
		{"DELETE", "delegationset/{}", "DeleteReusableDelegationSet"},
		{"GET", "delegationset/{}", "GetReusableDelegationSet"},
		{"GET", "geolocation", "GetGeoLocation"},
		{"GET", "geolocations", "ListGeoLocations"},
		{"GET", "healthcheck/{}/lastfailurereason", "GetHealthCheckLastFailureReason"},
		{"POST", "hostedzone/{}/associatevpc", "AssociateVPCWithHostedZone"},
		{"POST", "hostedzone/{}/authorizevpcassociation", "CreateVPCAssociationAuthorization"},
		{"GET", "hostedzone/{}/authorizevpcassociation", "ListVPCAssociationAuthorizations"},
		{"POST", "hostedzone/{}/deauthorizevpcassociation", "DeleteVPCAssociationAuthorization"},
		{"POST", "hostedzone/{}/disable-dnssec", "DisableHostedZoneDNSSEC"},
		{"POST", "hostedzone/{}/disassociatevpc", "DisassociateVPCFromHostedZone"},
		{"POST", "hostedzone/{}/enable-dnssec", "EnableHostedZoneDNSSEC"},
		{"POST", "hostedzone/{}/features", "UpdateHostedZoneFeatures"},
		{"POST", "hostedzone/{}/rrsetprotection", "CreateResourceRecordSetProtections"},
		{"GET", "hostedzone/{}/rrsetprotection", "ListResourceRecordSetProtections"},
		{"POST", "hostedzone/{}/rrsetprotection/delete", "DeleteResourceRecordSetProtections"},
		{"GET", "hostedzonelimit/{}/{}", "GetHostedZoneLimit"},
		{"GET", "hostedzonesbyvpc", "ListHostedZonesByVPC"},
		{"POST", "keysigningkey", "CreateKeySigningKey"},
		{"DELETE", "keysigningkey/{}/{}", "DeleteKeySigningKey"},
		{"POST", "keysigningkey/{}/{}/activate", "ActivateKeySigningKey"},
		{"POST", "keysigningkey/{}/{}/deactivate", "DeactivateKeySigningKey"},
		{"POST", "queryloggingconfig", "CreateQueryLoggingConfig"},
		{"GET", "queryloggingconfig", "ListQueryLoggingConfigs"},
		{"DELETE", "queryloggingconfig/{}", "DeleteQueryLoggingConfig"},
		{"GET", "queryloggingconfig/{}", "GetQueryLoggingConfig"},
		{"GET", "reusabledelegationsetlimit/{}/{}", "GetReusableDelegationSetLimit"},
		{"GET", "testdnsanswer", "TestDNSAnswer"},
		{"GET", "trafficpolicies", "ListTrafficPolicies"},
		{"GET", "trafficpolicies/{}/versions", "ListTrafficPolicyVersions"},
		{"POST", "trafficpolicy", "CreateTrafficPolicy"},
		{"POST", "trafficpolicy/{}", "CreateTrafficPolicyVersion"},
		{"DELETE", "trafficpolicy/{}/{}", "DeleteTrafficPolicy"},
		{"GET", "trafficpolicy/{}/{}", "GetTrafficPolicy"},
		{"POST", "trafficpolicy/{}/{}", "UpdateTrafficPolicyComment"},
		{"POST", "trafficpolicyinstance", "CreateTrafficPolicyInstance"},
		{"DELETE", "trafficpolicyinstance/{}", "DeleteTrafficPolicyInstance"},
		{"GET", "trafficpolicyinstance/{}", "GetTrafficPolicyInstance"},
		{"POST", "trafficpolicyinstance/{}", "UpdateTrafficPolicyInstance"},
		{"GET", "trafficpolicyinstancecount", "GetTrafficPolicyInstanceCount"},
		{"GET", "trafficpolicyinstances", "ListTrafficPolicyInstances"},
		{"GET", "trafficpolicyinstances/hostedzone", "ListTrafficPolicyInstancesByHostedZone"},
		{"GET", "trafficpolicyinstances/trafficpolicy", "ListTrafficPolicyInstancesByPolicy"},
	} {
		add(op.method, op.path, op.op, nil)
	}
	return out
}()

// match finds r's route and fills c's operation and path parameters; nil when there is none.
func match(r *http.Request, c *call) *route {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/2013-04-01/")
	if !ok {
		return nil
	}
	rest = strings.TrimSuffix(rest, "/") // the API reference writes some paths with a trailing slash
	segs := strings.Split(rest, "/")
	for i := range routes {
		rt := &routes[i]
		if rt.method != r.Method {
			continue
		}
		if params, ok := rt.match(segs); ok {
			c.op, c.params = rt.op, params
			return rt
		}
	}
	return nil
}

// match reports whether the path's segments are rt's, and returns its parameters unescaped.
func (rt *route) match(segs []string) ([]string, bool) {
	if len(rt.path) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range rt.path {
		seg, err := url.PathUnescape(segs[i])
		switch {
		case err != nil, p != "{}" && p != seg, p == "{}" && seg == "":
			return nil, false
		case p == "{}":
			params = append(params, seg)
		}
	}
	return params, true
}

// zone finds the zone of a hosted zone id, with or without its "/hostedzone/" prefix.
func (h *handler) zone(id string) (Zone, error) {
	bare := strings.ToUpper(bareID(id, zonePrefix))
	for _, z := range h.b.Zones() {
		if h.zoneID(z.Origin) == bare {
			return z, nil
		}
	}
	return Zone{}, NoSuchHostedZone("No hosted zone found with ID: %s", bare)
}

// zoneID is ZoneID, remembered.
func (h *handler) zoneID(origin string) string {
	if id, ok := h.ids.Load(origin); ok {
		return id.(string)
	}
	id := ZoneID(origin)
	h.ids.Store(origin, id)
	return id
}

// mayChange refuses a change of zone origin by a key limited to other zones.
func (c *call) mayChange(origin, resource string) error {
	if len(c.key.Zones) == 0 || slices.Contains(c.key.Zones, origin) {
		return nil
	}
	return newError(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: route53:%s on resource: arn:aws:route53:::%s because the key may change only the zones %s",
		c.key.AccessKeyID, c.op, resource, strings.Join(c.key.Zones, " "))
}
