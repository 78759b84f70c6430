package route53

import (
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// Route 53's limits on a batch and a page.
const (
	maxRecords     = 1000  // ResourceRecord elements a batch; an UPSERT's count twice
	maxValueChars  = 32000 // characters of every Value of a batch; an UPSERT's count twice
	maxValueLength = 4000  // characters of one Value
	maxTTL         = 2147483647
	maxRRSetsPage  = 300
)

// rrTypes are the record types Route 53 knows.
var rrTypes = map[string]bool{
	"A": true, "AAAA": true, "CAA": true, "CNAME": true, "DS": true, "HTTPS": true, "MX": true, "NAPTR": true,
	"NS": true, "PTR": true, "SOA": true, "SPF": true, "SRV": true, "SSHFP": true, "SVCB": true, "TLSA": true, "TXT": true,
}

func (h *handler) changeRecordSets(c *call) error {
	z, err := h.zone(c.params[0])
	if err != nil {
		return err
	}
	if err := c.mayChange(z.Origin, "hostedzone/"+h.zoneID(z.Origin)); err != nil {
		return err
	}
	var req changeRecordSetsRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	if req.ChangeBatch == nil || len(req.ChangeBatch.Changes) == 0 {
		return InvalidInput("The ChangeBatch must hold at least one Change")
	}
	if len(req.ChangeBatch.Comment) > maxComment {
		return InvalidInput("Comment is longer than %d characters", maxComment)
	}
	changes, err := checkBatch(z.Origin, req.ChangeBatch.Changes)
	if err != nil {
		return err
	}
	var msgs []string
	for _, c := range changes {
		if c.Alias == nil {
			continue
		}
		tz, err := h.zone(c.Alias.Zone)
		switch {
		case err != nil:
			msgs = append(msgs, fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but the alias target zone is not a hosted zone of this appliance (aliases to AWS resources are not served here)", displayName(c.Alias.Target), c.Type, bareID(c.Alias.Zone, zonePrefix)))
		case !inZone(c.Alias.Target, tz.Origin):
			msgs = append(msgs, fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but the alias target name does not lie within the target zone", displayName(c.Alias.Target), c.Type, bareID(c.Alias.Zone, zonePrefix)))
		case c.Alias.Target == c.Name:
			msgs = append(msgs, fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but an alias cannot target itself", displayName(c.Alias.Target), c.Type, bareID(c.Alias.Zone, zonePrefix)))
		default:
			c.Alias.Zone = tz.Origin
		}
	}
	if len(msgs) > 0 {
		return &BatchError{Messages: msgs}
	}
	rev, err := h.b.ChangeRecordSets(z.Origin, changes)
	if ce, ok := err.(*ChangeError); ok && ce.Index >= 0 && ce.Index < len(changes) {
		return &BatchError{Messages: []string{ce.message(changes[ce.Index], z.Origin)}}
	}
	if err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName    xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsResponse"`
		ChangeInfo xChangeInfo
	}{ChangeInfo: h.changeInfo(rev, req.ChangeBatch.Comment)})
	return nil
}

// checkBatch checks a batch as Route 53 does before it looks at the zone's record sets: malformed
// changes are InvalidInput, changes it would refuse are InvalidChangeBatch with every reason.
func checkBatch(origin string, in []xChangeIn) ([]Change, error) {
	var msgs []string
	records, chars := 0, 0
	out := make([]Change, 0, len(in))
	for i, ch := range in {
		rs := ch.ResourceRecordSet
		switch {
		case ch.Action != "CREATE" && ch.Action != "DELETE" && ch.Action != "UPSERT":
			return nil, InvalidInput("Changes[%d]: Action %q is not CREATE, DELETE or UPSERT", i, ch.Action)
		case rs == nil:
			return nil, InvalidInput("Changes[%d]: ResourceRecordSet is required", i)
		case rs.Name == "":
			return nil, InvalidInput("Changes[%d]: ResourceRecordSet.Name is required", i)
		case !rrTypes[rs.Type]:
			return nil, InvalidInput("Changes[%d]: Type %q is not a record type of Route 53", i, rs.Type)
		}
		name, err := canonicalName(rs.Name)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not valid: %v", rs.Name, err))
			continue
		}
		c := Change{Action: ch.Action, RecordSet: RecordSet{Name: name, Type: rs.Type}}
		refuse := func(format string, args ...any) {
			msgs = append(msgs, (&ChangeError{Reason: Refused, Detail: fmt.Sprintf(format, args...)}).message(c, origin))
		}
		set, err := routing(c, rs)
		if err != nil {
			return nil, err
		}
		c.Set = set
		if rs.AliasTarget != nil {
			if rs.TTL != nil || rs.ResourceRecords != nil {
				return nil, InvalidInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found both in Change with [Action=%s, Name=%s, Type=%s]", ch.Action, rs.Name, rs.Type)
			}
			at := rs.AliasTarget
			target, err := canonicalName(at.DNSName)
			if err != nil || at.HostedZoneID == "" {
				return nil, InvalidInput("Changes[%d]: AliasTarget needs a HostedZoneId and a valid DNSName", i)
			}
			c.Alias = &model.Alias{Type: rs.Type, Zone: at.HostedZoneID, Target: target, EvaluateTargetHealth: at.EvaluateTargetHealth}
			if set != nil {
				c.Alias.SetIdentifier, c.Set = set.SetIdentifier, nil
				refuse("alias record sets with a routing policy are not supported by this appliance: an alias is a simple record set here")
				continue
			}
			if !inZone(name, origin) {
				msgs = append(msgs, (&ChangeError{Reason: OutsideZone}).message(c, origin))
				continue
			}
			out = append(out, c)
			continue
		}
		if rs.TTL == nil || rs.ResourceRecords == nil || len(rs.ResourceRecords.Items) == 0 {
			return nil, InvalidInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found none in Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=null]", ch.Action, rs.Name, rs.Type)
		}
		if *rs.TTL < 0 || *rs.TTL > maxTTL {
			return nil, InvalidInput("Changes[%d]: TTL %d is not between 0 and %d", i, *rs.TTL, maxTTL)
		}
		c.TTL = uint32(*rs.TTL)
		weight := 1
		if ch.Action == "UPSERT" {
			weight = 2
		}
		for j, rr := range rs.ResourceRecords.Items {
			if rr.Value == nil || *rr.Value == "" {
				return nil, InvalidInput("Changes[%d]: ResourceRecords[%d] has no Value", i, j)
			}
			if len(*rr.Value) > maxValueLength {
				return nil, InvalidInput("Changes[%d]: ResourceRecords[%d]: a Value holds at most %d characters", i, j, maxValueLength)
			}
			c.Values = append(c.Values, *rr.Value)
			records += weight
			chars += weight * len(*rr.Value)
		}
		switch {
		case !inZone(name, origin):
			msgs = append(msgs, (&ChangeError{Reason: OutsideZone}).message(c, origin))
			continue
		case name == origin && (c.Type == "SOA" || c.Type == "NS"):
			refuse("the SOA and NS records at the apex are the appliance's own: they are not changed through this API")
			continue
		case c.TTL == 0:
			refuse("a TTL of 0 is not supported by this appliance")
			continue
		}
		if set != nil {
			set.Type, set.TTL, set.Values = c.Type, c.TTL, c.Values
		}
		out = append(out, c)
	}
	if records > maxRecords {
		msgs = append(msgs, fmt.Sprintf("Number of records limit of %d exceeded (%d, an UPSERT's counting twice).", maxRecords, records))
	}
	if chars > maxValueChars {
		msgs = append(msgs, fmt.Sprintf("Number of characters limit of %d exceeded (%d, an UPSERT's counting twice).", maxValueChars, chars))
	}
	if len(msgs) > 0 {
		return nil, &BatchError{Messages: msgs}
	}
	return out, nil
}

func (h *handler) listRecordSets(c *call) error {
	z, err := h.zone(c.params[0])
	if err != nil {
		return err
	}
	limit, err := maxItems(c.r, maxRRSetsPage, maxRRSetsPage)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	rawName, typ, ident := q.Get("name"), q.Get("type"), q.Get("identifier")
	switch {
	case typ != "" && rawName == "":
		return InvalidInput("StartRecordType (type) needs StartRecordName (name) too")
	case ident != "" && typ == "":
		return InvalidInput("StartRecordIdentifier (identifier) needs StartRecordName and StartRecordType too")
	case typ != "" && !rrTypes[typ]:
		return InvalidInput("StartRecordType %q is not a record type of Route 53", typ)
	}
	name := ""
	if rawName != "" {
		if name, err = canonicalName(rawName); err != nil {
			return InvalidInput("StartRecordName %s is not valid: %v", rawName, err)
		}
	}
	sets, err := h.b.RecordSets(z.Origin, name, typ, ident, limit+1)
	if err != nil {
		return err
	}
	out := struct {
		XMLName            xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
		ResourceRecordSets xRecordSets
		IsTruncated        bool
		NextRecordName     string `xml:",omitempty"`
		NextRecordType     string `xml:",omitempty"`
		NextRecordIdent    string `xml:"NextRecordIdentifier,omitempty"`
		MaxItems           int
	}{ResourceRecordSets: xRecordSets{Items: []xRecordSet{}}, MaxItems: limit}
	for i, s := range sets {
		if i == limit {
			out.IsTruncated, out.NextRecordName, out.NextRecordType, out.NextRecordIdent = true, displayName(s.Name), s.Type, s.Ident()
			break
		}
		x := xSet(s)
		if x.AliasTarget != nil {
			x.AliasTarget.HostedZoneID = h.zoneID(s.Alias.Zone)
		}
		out.ResourceRecordSets.Items = append(out.ResourceRecordSets.Items, x)
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}
