package route53

import (
	"strconv"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// routing reads the SetIdentifier and routing fields of a record set as a client sent them:
// nil for a simple record set. The errors are InvalidInput, worded as Route 53 does.
func routing(c Change, rs *xRecordSetIn) (*model.RecordSet, error) {
	fields := routingFields(rs)
	id := ""
	if rs.SetIdentifier != nil {
		id = *rs.SetIdentifier
	}
	where := func() string {
		ident := "null"
		if rs.SetIdentifier != nil {
			ident = id
		}
		return "in Change with [Action=" + c.Action + ", Name=" + rs.Name + ", Type=" + rs.Type + ", SetIdentifier=" + ident + "]"
	}
	switch {
	case rs.TrafficPolicyInstanceID != nil:
		return nil, InvalidInput("Invalid request: TrafficPolicyInstanceId is not supported by this appliance %s", where())
	case rs.SetIdentifier == nil && len(fields) > 0:
		return nil, InvalidInput("Invalid request: Missing field 'SetIdentifier' %s (it goes with %s)", where(), strings.Join(fields, ", "))
	case rs.SetIdentifier != nil && len(fields) == 0:
		return nil, InvalidInput("Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none %s", where())
	case len(fields) > 1:
		return nil, InvalidInput("Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found more than one (%s) %s", strings.Join(fields, ", "), where())
	case rs.HealthCheckID != nil && rs.SetIdentifier == nil:
		return nil, InvalidInput("Invalid request: a HealthCheckId needs a routing policy (SetIdentifier and one routing field) %s", where())
	case rs.SetIdentifier == nil:
		return nil, nil
	case id == "" || len(id) > 128:
		return nil, InvalidInput("Invalid request: SetIdentifier has 1 to 128 characters %s", where())
	}
	s := &model.RecordSet{SetIdentifier: id, Weight: rs.Weight, MultiValue: rs.MultiValueAnswer}
	if rs.Region != nil {
		s.Region = *rs.Region
		if s.Region == "" {
			return nil, InvalidInput("Invalid request: Region is empty %s", where())
		}
	}
	if rs.Failover != nil {
		s.Failover = *rs.Failover
	}
	if rs.HealthCheckID != nil {
		s.HealthCheck = *rs.HealthCheckID
	}
	if g := rs.GeoLocation; g != nil {
		s.GeoLocation = &model.GeoLocation{Continent: g.ContinentCode, Country: g.CountryCode, Subdivision: g.SubdivisionCode}
	}
	if g := rs.GeoProximityLocation; g != nil {
		p := &model.GeoProximity{Region: g.AWSRegion, LocalZoneGroup: g.LocalZoneGroup, Bias: g.Bias}
		if c := g.Coordinates; c != nil {
			lat, err1 := strconv.ParseFloat(strings.TrimSpace(c.Latitude), 64)
			lon, err2 := strconv.ParseFloat(strings.TrimSpace(c.Longitude), 64)
			if err1 != nil || err2 != nil {
				return nil, InvalidInput("Invalid request: Coordinates %q, %q are not numbers %s", c.Latitude, c.Longitude, where())
			}
			p.Lat, p.Lon = &lat, &lon
		}
		s.GeoProximity = p
	}
	if r := rs.CidrRoutingConfig; r != nil {
		s.Cidr = &model.CidrRef{Collection: r.CollectionID, Location: r.LocationName}
	}
	return s, nil
}

// routingFields names the routing fields set in rs.
func routingFields(rs *xRecordSetIn) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Weight", rs.Weight != nil}, {"Region", rs.Region != nil}, {"GeoLocation", rs.GeoLocation != nil},
		{"GeoProximityLocation", rs.GeoProximityLocation != nil}, {"Failover", rs.Failover != nil},
		{"MultiValueAnswer", rs.MultiValueAnswer != nil}, {"CidrRoutingConfig", rs.CidrRoutingConfig != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// xSet writes a record set as Route 53 lists it.
func xSet(s RecordSet) xRecordSet {
	x := xRecordSet{Name: displayName(s.Name), Type: s.Type}
	if s.Alias != nil {
		x.SetIdentifier = s.Alias.SetIdentifier
		x.AliasTarget = &xAliasTarget{HostedZoneID: s.Alias.Zone, DNSName: displayName(s.Alias.Target), EvaluateTargetHealth: s.Alias.EvaluateTargetHealth}
		return x
	}
	ttl := s.TTL
	x.TTL = &ttl
	x.ResourceRecords = &xResourceRecords{}
	for _, v := range s.Values {
		x.ResourceRecords.Items = append(x.ResourceRecords.Items, xResourceRecord{Value: v})
	}
	r := s.Set
	if r == nil {
		return x
	}
	x.SetIdentifier, x.Weight, x.Region, x.Failover, x.MultiValueAnswer, x.HealthCheckID = r.SetIdentifier, r.Weight, r.Region, r.Failover, r.MultiValue, r.HealthCheck
	if g := r.GeoLocation; g != nil {
		x.GeoLocation = &xGeoLocation{ContinentCode: g.Continent, CountryCode: g.Country, SubdivisionCode: g.Subdivision}
	}
	if g := r.GeoProximity; g != nil {
		x.GeoProximityLocation = &xGeoProximityInfo{AWSRegion: g.Region, LocalZoneGroup: g.LocalZoneGroup, Bias: g.Bias}
		if g.Lat != nil && g.Lon != nil {
			x.GeoProximityLocation.Coordinates = &xCoordinates{Latitude: strconv.FormatFloat(*g.Lat, 'f', -1, 64), Longitude: strconv.FormatFloat(*g.Lon, 'f', -1, 64)}
		}
	}
	if c := r.Cidr; c != nil {
		x.CidrRoutingConfig = &xCidrRouting{CollectionID: c.Collection, LocationName: c.Location}
	}
	return x
}
