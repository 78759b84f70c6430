package route53

import (
	"encoding/xml"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/miekg/dns"
)

// Route 53's limits on what a creator says of a zone.
const (
	maxCallerReference = 128
	maxComment         = 256
	maxZonesPage       = 100
)

func (h *handler) hostedZone(z Zone) xHostedZone {
	ref := z.Spec.CallerReference
	if z.InFile && ref == "" {
		ref = "zone-file:" + displayName(z.Origin) // a zone file's zone was created by no call
	}
	return xHostedZone{
		ID:                     zonePrefix + h.zoneID(z.Origin),
		Name:                   displayName(z.Origin),
		CallerReference:        ref,
		Config:                 xZoneConfig{Comment: z.Spec.Comment},
		ResourceRecordSetCount: h.b.RecordSetCount(z.Origin),
	}
}

func delegationSet(z Zone) xDelegationSet {
	d := xDelegationSet{NameServers: xNameServers{Items: []string{}}}
	for _, ns := range z.NameServers {
		d.NameServers.Items = append(d.NameServers.Items, strings.TrimSuffix(displayName(dns.CanonicalName(ns)), "."))
	}
	return d
}

// changeInfo is the ChangeInfo of a change committed at revision rev: INSYNC once every live
// node has applied it (Backend.Rev), as GetChange says; PENDING until then.
func (h *handler) changeInfo(rev int64, comment string) xChangeInfo {
	now := h.o.Now()
	return xChangeInfo{ID: changePrefix + changeID(rev, now), Status: changeStatus(h.b.Rev(), rev), SubmittedAt: timestamp(now), Comment: comment}
}

// changeStatus is Route 53's status of a change at revision rev when every live node has
// applied synced.
func changeStatus(synced, rev int64) string {
	if synced >= rev {
		return "INSYNC"
	}
	return "PENDING"
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// zoneName reads a zone's name as Route 53 takes it.
func zoneName(raw string) (string, error) {
	origin, err := canonicalName(strings.TrimSpace(raw))
	if err != nil {
		return "", newError(http.StatusBadRequest, "InvalidDomainName", "%s is not a valid domain name: %v", raw, err)
	}
	if _, ok := dns.IsDomainName(origin); !ok || origin == "." || strings.Contains(origin, "*") {
		return "", newError(http.StatusBadRequest, "InvalidDomainName", "%s is not a valid domain name for a hosted zone", raw)
	}
	return origin, nil
}

func (h *handler) createHostedZone(c *call) error {
	var req createHostedZoneRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	switch {
	case req.Name == "":
		return InvalidInput("Name is required")
	case req.CallerReference == "" || len(req.CallerReference) > maxCallerReference:
		return InvalidInput("CallerReference is required, at most %d characters", maxCallerReference)
	case req.VPC != nil:
		return InvalidInput("Private hosted zones (VPC) are not supported by this appliance")
	case req.DelegationSetID != "":
		return InvalidInput("Reusable delegation sets are not supported by this appliance: its zones are served by its own name servers")
	}
	spec := model.Zone{CallerReference: req.CallerReference}
	if cfg := req.HostedZoneConfig; cfg != nil {
		if p := strings.TrimSpace(cfg.PrivateZone); p != "" && p != "false" {
			return InvalidInput("Private hosted zones are not supported by this appliance")
		}
		if len(cfg.Comment) > maxComment {
			return InvalidInput("Comment is longer than %d characters", maxComment)
		}
		spec.Comment = cfg.Comment
	}
	origin, err := zoneName(req.Name)
	if err != nil {
		return err
	}
	if err := c.mayChange(origin, "hostedzone/"+h.zoneID(origin)); err != nil {
		return err
	}
	for _, z := range h.b.Zones() {
		switch {
		case z.Spec.CallerReference == req.CallerReference:
			return HostedZoneAlreadyExists("A hosted zone has already been created with the specified caller reference (%s, %s).", zonePrefix+h.zoneID(z.Origin), displayName(z.Origin))
		case z.Origin == origin:
			return HostedZoneAlreadyExists("The hosted zone %s already exists (%s).", displayName(origin), zonePrefix+h.zoneID(origin))
		}
	}
	rev, err := h.b.CreateZone(origin, spec)
	if err != nil {
		return err
	}
	z, ok := h.b.Zone(origin)
	if !ok {
		return NoSuchHostedZone("The hosted zone %s was deleted meanwhile", displayName(origin))
	}
	hz := h.hostedZone(z)
	c.w.Header().Set("Location", location(c.r, hz.ID))
	writeXML(c.w, http.StatusCreated, struct {
		XMLName       xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ CreateHostedZoneResponse"`
		HostedZone    xHostedZone
		ChangeInfo    xChangeInfo
		DelegationSet xDelegationSet
	}{HostedZone: hz, ChangeInfo: h.changeInfo(rev, ""), DelegationSet: delegationSet(z)})
	return nil
}

// location is the URL of a created zone, on the host the client asked.
func location(r *http.Request, id string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/2013-04-01" + id
}

func (h *handler) getHostedZone(c *call) error {
	z, err := h.zone(c.params[0])
	if err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName       xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHostedZoneResponse"`
		HostedZone    xHostedZone
		DelegationSet xDelegationSet
	}{HostedZone: h.hostedZone(z), DelegationSet: delegationSet(z)})
	return nil
}

func (h *handler) deleteHostedZone(c *call) error {
	z, err := h.zone(c.params[0])
	if err != nil {
		return err
	}
	if err := c.mayChange(z.Origin, "hostedzone/"+h.zoneID(z.Origin)); err != nil {
		return err
	}
	if z.InFile {
		return InvalidInput("The hosted zone %s is defined by a zone file of the appliance; remove the file to delete it", displayName(z.Origin))
	}
	rev, err := h.b.DeleteZone(z.Origin)
	if err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName    xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ DeleteHostedZoneResponse"`
		ChangeInfo xChangeInfo
	}{ChangeInfo: h.changeInfo(rev, "")})
	return nil
}

// updatable returns the zone of id for a change of what its creator said of it.
func (h *handler) updatable(c *call, id string) (Zone, error) {
	z, err := h.zone(id)
	if err != nil {
		return Zone{}, err
	}
	if err := c.mayChange(z.Origin, "hostedzone/"+h.zoneID(z.Origin)); err != nil {
		return Zone{}, err
	}
	if z.InFile {
		return Zone{}, InvalidInput("The hosted zone %s is defined by a zone file of the appliance; its comment and tags cannot be changed", displayName(z.Origin))
	}
	return z, nil
}

func (h *handler) updateHostedZoneComment(c *call) error {
	var req updateCommentRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	comment := ""
	if req.Comment != nil {
		comment = *req.Comment
	}
	if len(comment) > maxComment {
		return InvalidInput("Comment is longer than %d characters", maxComment)
	}
	z, err := h.updatable(c, c.params[0])
	if err != nil {
		return err
	}
	spec := z.Spec
	spec.Comment = comment
	if _, err := h.b.UpdateZone(z.Origin, spec); err != nil {
		return err
	}
	if z, err = h.zone(c.params[0]); err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName    xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ UpdateHostedZoneCommentResponse"`
		HostedZone xHostedZone
	}{HostedZone: h.hostedZone(z)})
	return nil
}

func (h *handler) getHostedZoneCount(c *call) error {
	writeXML(c.w, http.StatusOK, struct {
		XMLName         xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHostedZoneCountResponse"`
		HostedZoneCount int
	}{HostedZoneCount: len(h.b.Zones())})
	return nil
}

// maxItems reads the maxitems parameter: def when absent, at most max.
func maxItems(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("maxitems")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, InvalidInput("maxitems %q is not a positive number", s)
	}
	return min(n, max), nil
}

func (h *handler) listHostedZones(c *call) error {
	limit, err := maxItems(c.r, maxZonesPage, maxZonesPage)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	if q.Get("delegationsetid") != "" {
		return InvalidInput("Reusable delegation sets are not supported by this appliance")
	}
	if t := q.Get("hostedzonetype"); t != "" && t != "PrivateHostedZone" {
		return InvalidInput("hostedzonetype %q is not PrivateHostedZone", t)
	}
	zones := h.b.Zones()
	if q.Get("hostedzonetype") != "" {
		zones = nil // every zone here is public
	}
	byID := map[string]Zone{}
	for _, z := range zones {
		byID[h.zoneID(z.Origin)] = z
	}
	ids := slices.Sorted(maps.Keys(byID))
	marker := q.Get("marker")
	start, _ := slices.BinarySearch(ids, strings.ToUpper(bareID(marker, zonePrefix)))
	if marker == "" {
		start = 0
	}
	out := struct {
		XMLName     xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesResponse"`
		HostedZones xHostedZones
		Marker      string
		IsTruncated bool
		NextMarker  string `xml:",omitempty"`
		MaxItems    int
	}{HostedZones: xHostedZones{Items: []xHostedZone{}}, Marker: marker, MaxItems: limit}
	for _, id := range ids[start:] {
		if len(out.HostedZones.Items) == limit {
			out.IsTruncated, out.NextMarker = true, id
			break
		}
		out.HostedZones.Items = append(out.HostedZones.Items, h.hostedZone(byID[id]))
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}

func (h *handler) listHostedZonesByName(c *call) error {
	limit, err := maxItems(c.r, maxZonesPage, maxZonesPage)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	dnsName, zoneID := q.Get("dnsname"), q.Get("hostedzoneid")
	if zoneID != "" && dnsName == "" {
		return InvalidInput("hostedzoneid needs dnsname too")
	}
	type entry struct {
		key, id string
		z       Zone
	}
	var zones []entry
	for _, z := range h.b.Zones() {
		zones = append(zones, entry{reversedKey(displayName(z.Origin)), h.zoneID(z.Origin), z})
	}
	slices.SortFunc(zones, func(a, b entry) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	start := 0
	if dnsName != "" {
		origin, err := zoneName(dnsName)
		if err != nil {
			return err
		}
		key, id := reversedKey(displayName(origin)), strings.ToUpper(bareID(zoneID, zonePrefix))
		start = len(zones)
		for i, e := range zones {
			if e.key > key || (e.key == key && e.id >= id) {
				start = i
				break
			}
		}
	}
	out := struct {
		XMLName          xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesByNameResponse"`
		HostedZones      xHostedZones
		DNSName          string `xml:",omitempty"`
		HostedZoneID     string `xml:"HostedZoneId,omitempty"`
		IsTruncated      bool
		NextDNSName      string `xml:",omitempty"`
		NextHostedZoneID string `xml:"NextHostedZoneId,omitempty"`
		MaxItems         int
	}{HostedZones: xHostedZones{Items: []xHostedZone{}}, DNSName: dnsName, HostedZoneID: zoneID, MaxItems: limit}
	for _, e := range zones[start:] {
		if len(out.HostedZones.Items) == limit {
			out.IsTruncated, out.NextDNSName, out.NextHostedZoneID = true, displayName(e.z.Origin), e.id // bare, as Route 53 sends markers
			break
		}
		out.HostedZones.Items = append(out.HostedZones.Items, h.hostedZone(e.z))
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}

func (h *handler) getChange(c *call) error {
	rev, at, ok := parseChangeID(c.params[0])
	if !ok {
		return newError(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: %s", bareID(c.params[0], changePrefix))
	}
	info := xChangeInfo{ID: changePrefix + strings.ToUpper(bareID(c.params[0], changePrefix)), Status: changeStatus(h.b.Rev(), rev), SubmittedAt: timestamp(at)}
	writeXML(c.w, http.StatusOK, struct {
		XMLName    xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetChangeResponse"`
		ChangeInfo xChangeInfo
	}{ChangeInfo: info})
	return nil
}
