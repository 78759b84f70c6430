// Package api is the native HTTP API of the appliance (shared/API.md): edges, pools, names,
// batches, RTT reports, the RTT view and explain, as JSON, behind bearer tokens. It speaks HTTP
// and leaves the state to a Backend, which the georoute plugin implements.
package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api/console"
	"github.com/georoute/appliance/plugin/georoute/events"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/pkg/health"
	"github.com/miekg/dns"
	"golang.org/x/net/netutil"
)

// Backend is the state behind the API. Changes are durable when they return nil.
type Backend interface {
	Zones() []string
	Zone(zone string) (Zone, bool)
	PutZone(zone string, spec model.Zone) (created bool, err error)
	DeleteZone(zone string) error

	Edges() []Edge
	Edge(id string) (Edge, bool)
	PutEdge(id string, spec model.Edge) (created bool, err error)
	DeleteEdge(id string) error
	SetOverride(id, state string) error
	// SetLoad records edge id's load (0 to 1), current/max when the report said so, for ttl.
	SetLoad(id string, utilisation, current, max float64, ttl time.Duration) error

	Pools() []Pool
	Pool(id string) (Pool, bool)
	PutPool(id string, spec model.Pool) (created bool, err error)
	DeletePool(id string) error

	// Names lists the names of zone in order, from the first after `after`, at most limit; next
	// is the cursor of the following page: the last name of this one ("" at the end).
	// With q, only names that hold q (lower case) are listed.
	Names(zone, after, q string, limit int) (names []Name, next string, err error)
	Name(zone, name string) (Name, bool)
	PutName(zone, name string, spec model.Name) (created bool, err error)
	DeleteName(zone, name string) error
	Batch(zone string, put map[string]model.Name, del []string) error

	ReportRTT(reports []RTTReport) error
	RTT(client string) (any, error)
	Explain(name, qtype, client string) (any, error)
	// Status is what GET /v1/status shows: the store, the revision this node serves, its lag.
	Status() any
	// Routing is what each country's clients get now from pool (GET /v1/routing).
	Routing(pool, qtype string) (any, error)
	// Events is where GET /v1/events streams from; nil: the endpoint is not served.
	Events() *events.Bus
}

// Zone is a zone as the API shows it.
type Zone struct {
	Name string `json:"zone"`
	model.Zone
	Source      string   `json:"source"` // file or api
	Serial      uint32   `json:"serial"`
	Nameservers []string `json:"nameservers"`
}

// Edge is an edge as the API shows it.
type Edge struct {
	ID string `json:"id"`
	model.Edge
	Source string         `json:"source"` // config or api
	Health *health.Status `json:"health,omitempty"`
	// Nodes is what each node sharing the store sees of the edge, when another node has said;
	// Health's state is then theirs together (health_quorum).
	Nodes []NodeHealth `json:"nodes,omitempty"`
	// AnswersLastMinute counts the routed answers that named the edge first over the last 60 s
	// (the georoute_answers_total metric, summed over pools).
	AnswersLastMinute int64 `json:"answers_last_minute"`
	// ProbeRTTMillis is the latest round trip from this appliance to the edge a probe measured.
	ProbeRTTMillis *float64 `json:"probe_rtt_ms,omitempty"`
	// Load is the edge's latest load report while it holds.
	Load any `json:"load,omitempty"`
	// Avoided counts the client networks (and ASes, cities) that cannot reach the edge, from
	// failure reports: they are answered as if it were down.
	Avoided map[string]int `json:"avoided_by,omitempty"`
}

// NodeHealth is one node's verdict on an edge, from its own checks.
type NodeHealth struct {
	Node   string       `json:"node"`
	State  health.State `json:"state"`
	Reason string       `json:"reason,omitempty"`
	Since  time.Time    `json:"since,omitzero"`
}

// Pool is a pool as the API shows it.
type Pool struct {
	ID string `json:"id"`
	model.Pool
	Source string `json:"source"`
	UsedBy int    `json:"used_by"` // names bound to it
}

// Name is a name as the API shows it.
type Name struct {
	FQDN string `json:"name"`
	model.Name
	Source string `json:"source"`
}

// RTTReport is one measurement an edge observed of its clients, or of a client network that
// could not reach it.
type RTTReport struct {
	Client string  `json:"client"`
	Edge   string  `json:"edge"`
	Millis float64 `json:"rtt_ms,omitempty"`
	// Failed says the client network could not reach the edge; Loss is the share of probes it
	// lost over the reporter's window (from LossFails on, a failure; below, a success).
	Failed *bool    `json:"failed,omitempty"`
	Loss   *float64 `json:"loss,omitempty"`
	// Source names who reports (an SDK, a beacon, an edge): an AS or a city avoids an edge as a
	// whole only when failed networks of it are reported by enough distinct sources.
	Source string `json:"source,omitempty"`
}

// LoadReport is an edge's load: a utilisation, or current and maximum (connections, say).
type LoadReport struct {
	Utilisation *float64 `json:"utilisation,omitempty"`
	Current     *float64 `json:"current,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	TTL         string   `json:"ttl,omitempty"` // how long it holds without another: Go duration, 1s to 10m (default 30s)
}

// Options tune the handler.
type Options struct {
	MaxBody int64 // bytes; 0: 4 MiB
	// Observe, when set, sees every request's route pattern, status and duration.
	Observe func(route string, status int, took time.Duration)
}

// MaxNamesPage bounds a page of names.
const MaxNamesPage = 1000

type handler struct {
	b       Backend
	auth    *Auth
	o       Options
	mux     *http.ServeMux
	console http.Handler
	streams atomic.Int32 // event streams open
}

// New returns the API's HTTP handler.
func New(b Backend, auth *Auth, o Options) http.Handler {
	if o.MaxBody == 0 {
		o.MaxBody = 4 << 20
	}
	h := &handler{b: b, auth: auth, o: o, mux: http.NewServeMux(), console: console.Handler()}
	objectRoutes[model.Edge, Edge]{"edge", b.Edges, b.Edge, b.PutEdge, b.DeleteEdge}.register(h)
	h.route("PUT /v1/edges/{id}/override", Write, h.putOverride)
	h.route("PUT /v1/edges/{id}/load", Write, h.putLoad)
	objectRoutes[model.Pool, Pool]{"pool", b.Pools, b.Pool, b.PutPool, b.DeletePool}.register(h)
	h.route("GET /v1/zones", Read, h.listZones)
	h.route("GET /v1/zones/{zone}", Read, h.getZone)
	h.route("PUT /v1/zones/{zone}", Write, h.putZone)
	h.route("DELETE /v1/zones/{zone}", Write, h.deleteZone)
	h.route("GET /v1/zones/{zone}/names", Read, h.listNames)
	h.route("GET /v1/zones/{zone}/names/{name}", Read, h.getName)
	h.route("PUT /v1/zones/{zone}/names/{name}", Write, h.putName)
	h.route("DELETE /v1/zones/{zone}/names/{name}", Write, h.deleteName)
	h.route("POST /v1/zones/{zone}/batch", Write, h.batch)
	h.route("POST /v1/rtt", Write, h.postRTT)
	h.route("GET /v1/rtt", Read, h.getRTT)
	h.route("GET /v1/explain", Read, h.explain)
	h.route("GET /v1/routing", Read, h.routing)
	h.route("GET /v1/events", Read, h.events)
	h.route("GET /v1/status", Read, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, h.b.Status())
		return nil
	})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{"GET", "PUT", "POST", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := h.mux.Handler(probe); pattern != "/" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allowed, " or "))})
			return
		}
		writeError(w, NotFound("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if console.Path(r.URL.Path) {
		// The console's page and assets need no token: the page asks for one.
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.console.ServeHTTP(rec, r)
		if h.o.Observe != nil {
			h.o.Observe("/ui/", rec.status, time.Since(start))
		}
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	// On a copy: the server looks at its own request's body to close the connection, rather than
	// wait for a body it has not asked for with 100 Continue. MaxBytesReader gets w itself, which
	// closes the connection past the limit.
	r = r.WithContext(r.Context())
	r.Body = http.MaxBytesReader(w, r.Body, h.o.MaxBody)
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	pattern := h.serve(rec, r)
	if h.o.Observe != nil {
		if pattern == "" || pattern == "/" {
			pattern = "other"
		}
		h.o.Observe(pattern, rec.status, time.Since(start))
	}
}

// serve answers r and returns the route pattern it took ("" when it took none).
func (h *handler) serve(w http.ResponseWriter, r *http.Request) string {
	// Before routing, so that no path is discoverable without a token, and before any read of
	// the body, so that a client waiting on Expect: 100-continue is turned away at once.
	tok, e := h.auth.token(r)
	if e != nil {
		challenge := `Bearer realm="georoute"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, e)
		return ""
	}
	// The mux would redirect an unclean path (/v1//edges, /v1/edges/../pools) with an HTML body.
	if p := r.URL.EscapedPath(); p != cleanPath(p) {
		writeError(w, NotFound("no such endpoint: %s %s (ask for %s)", r.Method, r.URL.Path, cleanPath(r.URL.Path)))
		return ""
	}
	r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
	h.mux.ServeHTTP(w, r)
	return r.Pattern
}

// cleanPath is p as http.ServeMux cleans it: no "." or ".." segments, no "//".
func cleanPath(p string) string {
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

type tokenKey struct{}

// tokenOf is the token that serve authenticated r with.
func tokenOf(r *http.Request) *Token { return r.Context().Value(tokenKey{}).(*Token) }

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the connection's writer (flushes, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// route registers a handler that runs once the token allows scope (on the zone of the path).
func (h *handler) route(pattern string, scope Scope, f func(w http.ResponseWriter, r *http.Request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		zone := ""
		if z := r.PathValue("zone"); z != "" {
			zone = dns.CanonicalName(z)
		}
		if e := tokenOf(r).allows(scope, zone); e != nil {
			writeError(w, e)
			return
		}
		if err := f(w, r); err != nil {
			writeError(w, asError(err))
		}
	})
}

func (h *handler) zone(r *http.Request) (string, error) {
	z := dns.CanonicalName(r.PathValue("zone"))
	for _, served := range h.b.Zones() {
		if served == z {
			return z, nil
		}
	}
	return "", NotFound("zone %s is not served here", z)
}

// zoneOf is the served zone that holds name, the longest that ends it ("" when none does).
func (h *handler) zoneOf(name string) string {
	name = dns.CanonicalName(name)
	best := ""
	for _, z := range h.b.Zones() {
		if dns.IsSubDomain(z, name) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

// nameIn turns {name} into a fully qualified name in zone: "www" and "www.example.net" are the
// same name in example.net; "@" is the apex; a trailing dot means fully qualified.
func nameIn(raw, zone string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case n == "":
		return "", Invalid("name", "a name is needed")
	case n == "@":
		return zone, nil
	case strings.HasSuffix(n, "."):
	case n+"." == zone || strings.HasSuffix(n+".", "."+zone):
		n += "."
	default:
		n += "." + zone
		if zone == "." {
			n = strings.TrimSuffix(n, ".")
		}
	}
	if err := model.CheckName(n); err != nil {
		return "", Invalid("name", "%v", err)
	}
	if !(n == zone || strings.HasSuffix(n, "."+zone) || zone == ".") {
		return "", &Error{Status: http.StatusBadRequest, Code: model.CodeForbidden, Field: "name", Message: n + " is not inside zone " + zone}
	}
	return n, nil
}

func created(w http.ResponseWriter, isNew bool, v any) error {
	status := http.StatusOK
	if isNew {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
	return nil
}

// objectRoutes serves one kind of object by id (edges, pools): list, get, put, delete.
type objectRoutes[S, V any] struct {
	kind   string // "edge"
	list   func() []V
	get    func(id string) (V, bool)
	put    func(id string, spec S) (bool, error)
	delete func(id string) error
}

func (o objectRoutes[S, V]) register(h *handler) {
	h.route("GET /v1/"+o.kind+"s", Read, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]any{o.kind + "s": o.list()})
		return nil
	})
	h.route("GET /v1/"+o.kind+"s/{id}", Read, func(w http.ResponseWriter, r *http.Request) error {
		v, ok := o.get(strings.ToLower(r.PathValue("id")))
		if !ok {
			return NotFound("no %s %q", o.kind, r.PathValue("id"))
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	})
	h.route("PUT /v1/"+o.kind+"s/{id}", Write, func(w http.ResponseWriter, r *http.Request) error {
		var spec S
		if e := decode(r, &spec); e != nil {
			return e
		}
		id := strings.ToLower(r.PathValue("id"))
		isNew, err := o.put(id, spec)
		if err != nil {
			return err
		}
		v, _ := o.get(id)
		return created(w, isNew, v)
	})
	h.route("DELETE /v1/"+o.kind+"s/{id}", Write, func(w http.ResponseWriter, r *http.Request) error {
		if err := o.delete(strings.ToLower(r.PathValue("id"))); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (h *handler) putOverride(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		State string `json:"state"`
	}
	if e := decode(r, &body); e != nil {
		return e
	}
	switch body.State {
	case "up", "down", "auto":
	default:
		return Invalid("state", "%q is not up, down or auto", body.State)
	}
	id := strings.ToLower(r.PathValue("id"))
	if err := h.b.SetOverride(id, body.State); err != nil {
		return err
	}
	e, _ := h.b.Edge(id)
	writeJSON(w, http.StatusOK, e)
	return nil
}

// Bounds of a load report's TTL.
const (
	minLoadTTL = time.Second
	maxLoadTTL = 10 * time.Minute
)

func (h *handler) putLoad(w http.ResponseWriter, r *http.Request) error {
	var body LoadReport
	if e := decode(r, &body); e != nil {
		return e
	}
	var u, cur, mx float64
	switch {
	case body.Utilisation != nil && (body.Current != nil || body.Max != nil):
		return Invalid("utilisation", "give a utilisation or current and max, not both")
	case body.Utilisation != nil:
		if u = *body.Utilisation; !(u >= 0 && u <= 1) {
			return Invalid("utilisation", "%v is not a utilisation from 0 to 1", u)
		}
	case body.Current != nil && body.Max != nil:
		cur, mx = *body.Current, *body.Max
		if !(mx > 0 && mx <= 1e12) {
			return Invalid("max", "%v is not a capacity above 0", mx)
		}
		if !(cur >= 0 && cur <= 1e12) {
			return Invalid("current", "%v is not a count of 0 or more", cur)
		}
		u = min(1, cur/mx)
	case body.Current != nil:
		return Invalid("max", "give max beside current: the load is current/max")
	case body.Max != nil:
		return Invalid("current", "give current beside max: the load is current/max")
	default:
		return Invalid("utilisation", "give a utilisation (0 to 1) or current and max")
	}
	ttl := time.Duration(0)
	if body.TTL != "" {
		d, err := time.ParseDuration(body.TTL)
		if err != nil || d < minLoadTTL || d > maxLoadTTL {
			return Invalid("ttl", "%q is not a duration from %v to %v", body.TTL, minLoadTTL, maxLoadTTL)
		}
		ttl = d
	}
	id := strings.ToLower(r.PathValue("id"))
	if err := h.b.SetLoad(id, u, cur, mx, ttl); err != nil {
		return err
	}
	e, _ := h.b.Edge(id)
	writeJSON(w, http.StatusOK, e)
	return nil
}

// listZones lists the zones the token may see.
func (h *handler) listZones(w http.ResponseWriter, r *http.Request) error {
	tok := tokenOf(r)
	zones := []string{}
	for _, z := range h.b.Zones() {
		if tok.inZones(z) {
			zones = append(zones, z)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"zones": zones})
	return nil
}

func (h *handler) listNames(w http.ResponseWriter, r *http.Request) error {
	zone, err := h.zone(r)
	if err != nil {
		return err
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxNamesPage {
			return Invalid("limit", "%q is not a number from 1 to %d", s, MaxNamesPage)
		}
		limit = n
	}
	if r.URL.Query().Has("after") {
		return Invalid("after", "a page starts at ?cursor=NAME: the next of the page before")
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	if len(q) > 255 {
		return Invalid("q", "a search of %d bytes: a name has at most 255", len(q))
	}
	after := ""
	if c := r.URL.Query().Get("cursor"); c != "" {
		if after, err = nameIn(c, zone); err != nil {
			return Invalid("cursor", "%q is not a name of the zone", c)
		}
	}
	names, next, err := h.b.Names(zone, after, q, limit)
	if err != nil {
		return err
	}
	if names == nil {
		names = []Name{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"names": names, "next": next})
	return nil
}

func (h *handler) getZone(w http.ResponseWriter, r *http.Request) error {
	zone, err := h.zone(r)
	if err != nil {
		return err
	}
	z, _ := h.b.Zone(zone)
	writeJSON(w, http.StatusOK, z)
	return nil
}

// putZone creates a zone served with the appliance's own SOA and NS (or updates its comment).
func (h *handler) putZone(w http.ResponseWriter, r *http.Request) error {
	var spec model.Zone
	if r.ContentLength != 0 {
		if e := decode(r, &spec); e != nil {
			return e
		}
	}
	zone := dns.CanonicalName(r.PathValue("zone"))
	isNew, err := h.b.PutZone(zone, spec)
	if err != nil {
		return err
	}
	z, _ := h.b.Zone(zone)
	return created(w, isNew, z)
}

func (h *handler) deleteZone(w http.ResponseWriter, r *http.Request) error {
	if err := h.b.DeleteZone(dns.CanonicalName(r.PathValue("zone"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// zoneName reads the {zone} and {name} of a path.
func (h *handler) zoneName(r *http.Request) (zone, name string, err error) {
	if zone, err = h.zone(r); err != nil {
		return "", "", err
	}
	name, err = nameIn(r.PathValue("name"), zone)
	return zone, name, err
}

func (h *handler) getName(w http.ResponseWriter, r *http.Request) error {
	zone, name, err := h.zoneName(r)
	if err != nil {
		return err
	}
	n, ok := h.b.Name(zone, name)
	if !ok {
		return NotFound("no name %s", name)
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

func (h *handler) putName(w http.ResponseWriter, r *http.Request) error {
	zone, name, err := h.zoneName(r)
	if err != nil {
		return err
	}
	var spec model.Name
	if e := decode(r, &spec); e != nil {
		return e
	}
	isNew, err := h.b.PutName(zone, name, spec)
	if err != nil {
		return err
	}
	n, _ := h.b.Name(zone, name)
	return created(w, isNew, n)
}

func (h *handler) deleteName(w http.ResponseWriter, r *http.Request) error {
	zone, name, err := h.zoneName(r)
	if err != nil {
		return err
	}
	if err := h.b.DeleteName(zone, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// MaxBatch bounds the changes of one batch.
const MaxBatch = 10000

func (h *handler) batch(w http.ResponseWriter, r *http.Request) error {
	zone, err := h.zone(r)
	if err != nil {
		return err
	}
	var body struct {
		Put    map[string]model.Name `json:"put"`
		Delete []string              `json:"delete"`
	}
	if e := decode(r, &body); e != nil {
		return e
	}
	if n := len(body.Put) + len(body.Delete); n == 0 {
		return Invalid("", "a batch needs put or delete")
	} else if n > MaxBatch {
		return Invalid("", "%d changes: a batch holds at most %d", n, MaxBatch)
	}
	put := make(map[string]model.Name, len(body.Put))
	for raw, spec := range body.Put {
		name, err := nameIn(raw, zone)
		if err != nil {
			return model.Prefix(fieldOf(err), "put["+strconv.Quote(raw)+"]")
		}
		if _, dup := put[name]; dup {
			return Invalid("put["+strconv.Quote(raw)+"]", "%s is in the batch twice", name)
		}
		put[name] = spec
	}
	var del []string
	for i, raw := range body.Delete {
		name, err := nameIn(raw, zone)
		if err != nil {
			return model.Prefix(fieldOf(err), "delete["+strconv.Itoa(i)+"]")
		}
		if _, dup := put[name]; dup {
			return Invalid("delete["+strconv.Itoa(i)+"]", "%s is both put and deleted", name)
		}
		del = append(del, name)
	}
	if err := h.b.Batch(zone, put, del); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"put": len(put), "deleted": len(del)})
	return nil
}

// fieldOf turns an *Error of a path segment into a model.FieldError, so prefixed can nest it.
func fieldOf(err error) error {
	if e, ok := err.(*Error); ok {
		f := e.Field
		if f == "name" {
			f = ""
		}
		return &model.FieldError{Code: e.Code, Field: f, Message: e.Message}
	}
	return err
}

// MaxReports bounds one RTT report.
const MaxReports = 10000

func (h *handler) postRTT(w http.ResponseWriter, r *http.Request) error {
	var reports []RTTReport
	if e := decode(r, &reports); e != nil {
		return e
	}
	if len(reports) == 0 {
		return Invalid("", "send a list of measurements")
	}
	if len(reports) > MaxReports {
		return Invalid("", "%d measurements: a report holds at most %d", len(reports), MaxReports)
	}
	if err := h.b.ReportRTT(reports); err != nil {
		return err
	}
	// Durable, and in the RTT matrix at its next refresh (within a second), not at once.
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": len(reports), "applied": false})
	return nil
}

func (h *handler) getRTT(w http.ResponseWriter, r *http.Request) error {
	client := r.URL.Query().Get("client")
	if client == "" {
		return Invalid("client", "give ?client=ADDRESS")
	}
	v, err := h.b.RTT(client)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (h *handler) explain(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name, qtype, client := q.Get("name"), q.Get("type"), q.Get("client")
	if name == "" {
		return Invalid("name", "give ?name=NAME")
	}
	if qtype == "" {
		qtype = "A"
	}
	// A decision shows the name's binding: a zone-limited token explains only its zones' names.
	if tok := tokenOf(r); !tok.inZones(h.zoneOf(name)) {
		e := tok.outside()
		e.Field = "name"
		return e
	}
	v, err := h.b.Explain(name, qtype, client)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// DefaultMaxConns bounds the API's open connections: each holds a descriptor, idle ones until
// the server's idle timeout.
const DefaultMaxConns = 512

// Listen binds addr for the API alone, without SO_REUSEPORT: a second process on the port
// would take a share of the requests, and their tokens. A taken port is an error. At most
// maxConns connections are open at once; the next waits in the kernel's backlog.
func Listen(addr string, maxConns int) (net.Listener, error) {
	if maxConns < 1 {
		return nil, fmt.Errorf("%s: at most %d connections: it takes at least 1", addr, maxConns)
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s is taken: another process listens on it", addr)
	}
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, maxConns), nil
}
