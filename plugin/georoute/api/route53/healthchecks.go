package route53

import (
	"encoding/xml"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// HealthCheckBackend keeps Route 53's health checks. Ids are Route 53's: UUIDs, made here.
type HealthCheckBackend interface {
	// HealthChecks is every health check by id; read only.
	HealthChecks() map[string]model.HealthCheck
	// CreateHealthCheck creates a health check of version 1.
	CreateHealthCheck(id string, hc model.HealthCheck) (rev int64, err error)
	// UpdateHealthCheck replaces a health check with its next version (hc.Version), and the
	// checks of every edge it probes with it.
	UpdateHealthCheck(id string, hc model.HealthCheck) (rev int64, err error)
	DeleteHealthCheck(id string) (rev int64, err error)
	// HealthCheckStatus is what the appliance's health checkers observe of a health check now.
	HealthCheckStatus(id string) ([]Observation, error)
}

// Observation is what one health checker (a node of the appliance) last found.
type Observation struct {
	Region    string // the checker: this appliance's node
	IPAddress string // the address it probes from
	Status    string // "Success: HTTP Status Code 200, OK", "Failure: ..."
	Checked   time.Time
}

// Route 53's limits on health checks.
const (
	maxHealthChecks     = 1000 // Route 53's default quota is 200 a account
	maxHealthChecksPage = 1000
	defHealthChecksPage = 100
	healthCheckPrefix   = "/healthcheck/"
)

// NoSuchHealthCheck is a health check id that no health check has (404).
func NoSuchHealthCheck(id string) *Error {
	return newError(http.StatusNotFound, "NoSuchHealthCheck", "No health check exists with the specified ID %s", id)
}

// HealthCheckInUse refuses to delete a health check that record sets use (400).
func HealthCheckInUse(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "HealthCheckInUse", format, args...)
}

// HealthCheckVersionMismatch refuses an update written against another version (409).
func HealthCheckVersionMismatch(format string, args ...any) *Error {
	return newError(http.StatusConflict, "HealthCheckVersionMismatch", format, args...)
}

// Documents.

type xHealthCheckConfig struct {
	IPAddress                string `xml:"IPAddress,omitempty"`
	Port                     *int   `xml:"Port,omitempty"`
	Type                     string `xml:"Type"`
	ResourcePath             string `xml:"ResourcePath,omitempty"`
	FullyQualifiedDomainName string `xml:"FullyQualifiedDomainName,omitempty"`
	SearchString             string `xml:"SearchString,omitempty"`
	RequestInterval          *int   `xml:"RequestInterval,omitempty"`
	FailureThreshold         *int   `xml:"FailureThreshold,omitempty"`
	MeasureLatency           *bool  `xml:"MeasureLatency,omitempty"`
	Inverted                 bool   `xml:"Inverted"`
	Disabled                 bool   `xml:"Disabled"`
	HealthThreshold          *int   `xml:"HealthThreshold,omitempty"`
	ChildHealthChecks        *struct {
		Items []string `xml:"ChildHealthCheck"`
	} `xml:"ChildHealthChecks,omitempty"`
	EnableSNI *bool `xml:"EnableSNI,omitempty"`
}

type xHealthCheck struct {
	ID                 string `xml:"Id"`
	CallerReference    string `xml:"CallerReference"`
	HealthCheckConfig  xHealthCheckConfig
	HealthCheckVersion int64
}

// xHealthCheckConfigIn is a health check's configuration as a client sends it, with every
// field Route 53 knows, so that what this appliance does not take is refused, not dropped.
type xHealthCheckConfigIn struct {
	IPAddress                *string `xml:"IPAddress"`
	Port                     *int    `xml:"Port"`
	Type                     string  `xml:"Type"`
	ResourcePath             *string `xml:"ResourcePath"`
	FullyQualifiedDomainName *string `xml:"FullyQualifiedDomainName"`
	SearchString             *string `xml:"SearchString"`
	RequestInterval          *int    `xml:"RequestInterval"`
	FailureThreshold         *int    `xml:"FailureThreshold"`
	MeasureLatency           *bool   `xml:"MeasureLatency"`
	Inverted                 *bool   `xml:"Inverted"`
	Disabled                 *bool   `xml:"Disabled"`
	HealthThreshold          *int    `xml:"HealthThreshold"`
	ChildHealthChecks        *struct {
		Items []string `xml:"ChildHealthCheck"`
	} `xml:"ChildHealthChecks"`
	EnableSNI                    *bool    `xml:"EnableSNI"`
	Regions                      *present `xml:"Regions"`
	AlarmIdentifier              *present `xml:"AlarmIdentifier"`
	InsufficientDataHealthStatus *string  `xml:"InsufficientDataHealthStatus"`
	RoutingControlArn            *string  `xml:"RoutingControlArn"`
}

type createHealthCheckRequest struct {
	XMLName           xml.Name              `xml:"CreateHealthCheckRequest"`
	CallerReference   string                `xml:"CallerReference"`
	HealthCheckConfig *xHealthCheckConfigIn `xml:"HealthCheckConfig"`
}

type updateHealthCheckRequest struct {
	XMLName            xml.Name `xml:"UpdateHealthCheckRequest"`
	HealthCheckVersion *int64   `xml:"HealthCheckVersion"`
	xHealthCheckConfigIn
	ResetElements []string `xml:"ResetElements>ResettableElementName"`
}

// unsupported refuses what the appliance cannot do as Route 53 would.
func (in *xHealthCheckConfigIn) unsupported() error {
	switch {
	case in.Regions != nil:
		return InvalidInput("Regions: this appliance probes health checks from its own nodes, not from Route 53's checker regions; leave Regions out")
	case in.AlarmIdentifier != nil || in.InsufficientDataHealthStatus != nil:
		return InvalidInput("CloudWatch alarms are not supported by this appliance: leave AlarmIdentifier and InsufficientDataHealthStatus out")
	case in.RoutingControlArn != nil:
		return InvalidInput("Route 53 Application Recovery Controller routing controls are not supported by this appliance")
	}
	// A zero given is refused, not taken for the default.
	for _, f := range []struct {
		name string
		v    *int
	}{{"Port", in.Port}, {"RequestInterval", in.RequestInterval}, {"FailureThreshold", in.FailureThreshold}} {
		if f.v != nil && *f.v < 1 {
			return InvalidInput("%s %d is out of range", f.name, *f.v)
		}
	}
	return nil
}

// apply sets the fields the client sent on hc.
func (in *xHealthCheckConfigIn) apply(hc *model.HealthCheck) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&hc.IPAddress, in.IPAddress)
	set(&hc.ResourcePath, in.ResourcePath)
	set(&hc.FQDN, in.FullyQualifiedDomainName)
	set(&hc.SearchString, in.SearchString)
	setInt(&hc.Port, in.Port)
	setInt(&hc.RequestInterval, in.RequestInterval)
	setInt(&hc.FailureThreshold, in.FailureThreshold)
	setInt(&hc.HealthThreshold, in.HealthThreshold)
	setBool(&hc.MeasureLatency, in.MeasureLatency)
	setBool(&hc.Inverted, in.Inverted)
	setBool(&hc.Disabled, in.Disabled)
	setBool(&hc.EnableSNI, in.EnableSNI)
	if in.ChildHealthChecks != nil {
		hc.Children = slices.Clone(in.ChildHealthChecks.Items)
		for i, id := range hc.Children {
			hc.Children[i] = strings.ToLower(strings.TrimSpace(bareID(id, healthCheckPrefix)))
		}
	}
}

func xHealthCheckOf(id string, hc model.HealthCheck) xHealthCheck {
	out := xHealthCheck{ID: id, CallerReference: hc.CallerReference, HealthCheckVersion: hc.Version}
	cfg := &out.HealthCheckConfig
	cfg.Type, cfg.Inverted, cfg.Disabled = hc.Type, hc.Inverted, hc.Disabled
	if hc.Type == model.HealthCheckCalculated {
		cfg.HealthThreshold = &hc.HealthThreshold
		cfg.ChildHealthChecks = &struct {
			Items []string `xml:"ChildHealthCheck"`
		}{Items: slices.Clone(hc.Children)}
		return out
	}
	cfg.IPAddress, cfg.ResourcePath, cfg.FullyQualifiedDomainName, cfg.SearchString = hc.IPAddress, hc.ResourcePath, hc.FQDN, hc.SearchString
	cfg.Port, cfg.RequestInterval, cfg.FailureThreshold = &hc.Port, &hc.RequestInterval, &hc.FailureThreshold
	cfg.MeasureLatency, cfg.EnableSNI = &hc.MeasureLatency, &hc.EnableSNI
	return out
}

// healthCheckID reads a health check id from a path, with or without its prefix.
func healthCheckID(raw string) string {
	return strings.ToLower(strings.TrimSpace(bareID(raw, healthCheckPrefix)))
}

// healthCheck finds the health check of a path parameter.
func (h *handler) healthCheck(raw string) (string, model.HealthCheck, error) {
	id := healthCheckID(raw)
	hc, ok := h.b.HealthChecks()[id]
	if !ok {
		return "", hc, NoSuchHealthCheck(id)
	}
	return id, hc, nil
}

// mayChangeAccount refuses a change of what belongs to no zone (health checks, CIDR
// collections) by a key limited to zones.
func (c *call) mayChangeAccount(resource string) error {
	if len(c.key.Zones) == 0 {
		return nil
	}
	return newError(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: route53:%s on resource: arn:aws:route53:::%s because the key may change only the zones %s",
		c.key.AccessKeyID, c.op, resource, strings.Join(c.key.Zones, " "))
}

// sameSettings reports whether two health checks probe alike (what CreateHealthCheck's
// idempotency compares): everything but version and tags.
func sameSettings(a, b model.HealthCheck) bool {
	a.Version, b.Version, a.Tags, b.Tags = 0, 0, nil, nil
	if len(a.Children) == 0 {
		a.Children = nil
	}
	if len(b.Children) == 0 {
		b.Children = nil
	}
	return reflect.DeepEqual(a, b)
}

func (h *handler) createHealthCheck(c *call) error {
	var req createHealthCheckRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	switch {
	case req.CallerReference == "" || len(req.CallerReference) > 64:
		return InvalidInput("CallerReference is required, 1 to 64 characters")
	case req.HealthCheckConfig == nil:
		return InvalidInput("HealthCheckConfig is required")
	case req.HealthCheckConfig.Type == "":
		return InvalidInput("HealthCheckConfig/Type is required")
	}
	if err := c.mayChangeAccount("healthcheck/*"); err != nil {
		return err
	}
	in := req.HealthCheckConfig
	if err := in.unsupported(); err != nil {
		return err
	}
	hc := model.HealthCheck{CallerReference: req.CallerReference, Version: 1, Type: in.Type}
	in.apply(&hc)
	hc.Normalize()
	if in.EnableSNI == nil && hc.HTTPS() {
		hc.EnableSNI = hc.FQDN != "" // Route 53's default for HTTPS: send the name it has
	}
	all := h.b.HealthChecks()
	for _, id := range slices.Sorted(maps.Keys(all)) {
		if old := all[id]; old.CallerReference == req.CallerReference {
			if !sameSettings(old, hc) {
				return newError(http.StatusConflict, "HealthCheckAlreadyExists", "A health check with caller reference %s exists (%s) with other settings", req.CallerReference, id)
			}
			return h.writeCreatedHealthCheck(c, id, old)
		}
	}
	if len(all) >= maxHealthChecks {
		return newError(http.StatusBadRequest, "TooManyHealthChecks", "This appliance keeps at most %d health checks; delete some first", maxHealthChecks)
	}
	id := newRequestID()
	if _, err := h.b.CreateHealthCheck(id, hc); err != nil {
		return err
	}
	created, ok := h.b.HealthChecks()[id]
	if !ok {
		return NoSuchHealthCheck(id) // deleted meanwhile
	}
	return h.writeCreatedHealthCheck(c, id, created)
}

func (h *handler) writeCreatedHealthCheck(c *call, id string, hc model.HealthCheck) error {
	c.w.Header().Set("Location", location(c.r, healthCheckPrefix+id))
	writeXML(c.w, http.StatusCreated, struct {
		XMLName     xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ CreateHealthCheckResponse"`
		HealthCheck xHealthCheck
	}{HealthCheck: xHealthCheckOf(id, hc)})
	return nil
}

func (h *handler) getHealthCheck(c *call) error {
	id, hc, err := h.healthCheck(c.params[0])
	if err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName     xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckResponse"`
		HealthCheck xHealthCheck
	}{HealthCheck: xHealthCheckOf(id, hc)})
	return nil
}

// resettable are the elements UpdateHealthCheck's ResetElements may name.
var resettable = map[string]func(*model.HealthCheck){
	"FullyQualifiedDomainName": func(hc *model.HealthCheck) { hc.FQDN = "" },
	"ResourcePath":             func(hc *model.HealthCheck) { hc.ResourcePath = "" },
	"ChildHealthChecks":        func(hc *model.HealthCheck) { hc.Children = nil },
	"Regions":                  func(*model.HealthCheck) {}, // probed from the appliance's nodes: none are kept
}

func (h *handler) updateHealthCheck(c *call) error {
	var req updateHealthCheckRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	if err := req.unsupported(); err != nil {
		return err
	}
	switch {
	case req.Type != "":
		return InvalidInput("The Type of a health check cannot be changed")
	case req.RequestInterval != nil:
		return InvalidInput("The RequestInterval of a health check cannot be changed")
	case req.MeasureLatency != nil:
		return InvalidInput("MeasureLatency cannot be changed")
	}
	id, hc, err := h.healthCheck(c.params[0])
	if err != nil {
		return err
	}
	if err := c.mayChangeAccount("healthcheck/" + id); err != nil {
		return err
	}
	if v := req.HealthCheckVersion; v != nil && *v != hc.Version {
		return HealthCheckVersionMismatch("The health check %s is at version %d, not %d: get it again and retry", id, hc.Version, *v)
	}
	next := hc
	next.Children = slices.Clone(hc.Children)
	for _, name := range req.ResetElements {
		reset, ok := resettable[name]
		if !ok {
			return InvalidInput("ResetElements: %q is not FullyQualifiedDomainName, Regions, ResourcePath or ChildHealthChecks", name)
		}
		reset(&next)
	}
	req.apply(&next)
	next.Version = hc.Version + 1
	if _, err := h.b.UpdateHealthCheck(id, next); err != nil {
		return err
	}
	updated, ok := h.b.HealthChecks()[id]
	if !ok {
		return NoSuchHealthCheck(id)
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName     xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ UpdateHealthCheckResponse"`
		HealthCheck xHealthCheck
	}{HealthCheck: xHealthCheckOf(id, updated)})
	return nil
}

func (h *handler) deleteHealthCheck(c *call) error {
	id, _, err := h.healthCheck(c.params[0])
	if err != nil {
		return err
	}
	if err := c.mayChangeAccount("healthcheck/" + id); err != nil {
		return err
	}
	if _, err := h.b.DeleteHealthCheck(id); err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ DeleteHealthCheckResponse"`
	}{})
	return nil
}

func (h *handler) listHealthChecks(c *call) error {
	limit, err := maxItems(c.r, defHealthChecksPage, maxHealthChecksPage)
	if err != nil {
		return err
	}
	all := h.b.HealthChecks()
	ids := slices.Sorted(maps.Keys(all))
	marker := c.r.URL.Query().Get("marker")
	start, _ := slices.BinarySearch(ids, healthCheckID(marker))
	out := struct {
		XMLName      xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHealthChecksResponse"`
		HealthChecks struct {
			Items []xHealthCheck `xml:"HealthCheck"`
		}
		Marker      string
		IsTruncated bool
		NextMarker  string `xml:",omitempty"`
		MaxItems    int
	}{Marker: marker, MaxItems: limit}
	out.HealthChecks.Items = []xHealthCheck{}
	for _, id := range ids[start:] {
		if len(out.HealthChecks.Items) == limit {
			out.IsTruncated, out.NextMarker = true, id
			break
		}
		out.HealthChecks.Items = append(out.HealthChecks.Items, xHealthCheckOf(id, all[id]))
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}

func (h *handler) getHealthCheckCount(c *call) error {
	writeXML(c.w, http.StatusOK, struct {
		XMLName          xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckCountResponse"`
		HealthCheckCount int
	}{HealthCheckCount: len(h.b.HealthChecks())})
	return nil
}

func (h *handler) getHealthCheckStatus(c *call) error {
	id, hc, err := h.healthCheck(c.params[0])
	if err != nil {
		return err
	}
	if hc.Type == model.HealthCheckCalculated {
		return InvalidInput("GetHealthCheckStatus does not give the status of a CALCULATED health check (%s): get those of its children", id)
	}
	obs, err := h.b.HealthCheckStatus(id)
	if err != nil {
		return err
	}
	type xObservation struct {
		Region       string
		IPAddress    string `xml:"IPAddress,omitempty"`
		StatusReport struct {
			Status      string
			CheckedTime string
		}
	}
	out := struct {
		XMLName                 xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckStatusResponse"`
		HealthCheckObservations struct {
			Items []xObservation `xml:"HealthCheckObservation"`
		}
	}{}
	out.HealthCheckObservations.Items = []xObservation{}
	for _, o := range obs {
		x := xObservation{Region: o.Region, IPAddress: o.IPAddress}
		x.StatusReport.Status, x.StatusReport.CheckedTime = o.Status, timestamp(o.Checked)
		out.HealthCheckObservations.Items = append(out.HealthCheckObservations.Items, x)
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}
