package route53

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Namespace is the XML namespace of Route 53's API version 2013-04-01.
const Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

// The documents, element for element as in AWS's API reference (the SDK's serializers and
// deserializers are the authority). Lists are wrapped in structs so that an empty list is sent
// as an empty element rather than left out.

type xHostedZone struct {
	ID                     string      `xml:"Id"`
	Name                   string      `xml:"Name"`
	CallerReference        string      `xml:"CallerReference"`
	Config                 xZoneConfig `xml:"Config"`
	ResourceRecordSetCount int         `xml:"ResourceRecordSetCount"`
}

type xZoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone bool   `xml:"PrivateZone"`
}

type xHostedZones struct {
	Items []xHostedZone `xml:"HostedZone"`
}

type xChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type xNameServers struct {
	Items []string `xml:"NameServer"`
}

type xDelegationSet struct {
	NameServers xNameServers `xml:"NameServers"`
}

type xResourceRecord struct {
	Value string `xml:"Value"`
}

type xResourceRecords struct {
	Items []xResourceRecord `xml:"ResourceRecord"`
}

// xRecordSet is a record set as this appliance answers it, in the order of AWS's shape.
type xRecordSet struct {
	Name                 string             `xml:"Name"`
	Type                 string             `xml:"Type"`
	SetIdentifier        string             `xml:"SetIdentifier,omitempty"`
	Weight               *int64             `xml:"Weight,omitempty"`
	Region               string             `xml:"Region,omitempty"`
	GeoLocation          *xGeoLocation      `xml:"GeoLocation,omitempty"`
	Failover             string             `xml:"Failover,omitempty"`
	MultiValueAnswer     *bool              `xml:"MultiValueAnswer,omitempty"`
	TTL                  *uint32            `xml:"TTL,omitempty"`
	ResourceRecords      *xResourceRecords  `xml:"ResourceRecords,omitempty"`
	AliasTarget          *xAliasTarget      `xml:"AliasTarget,omitempty"`
	HealthCheckID        string             `xml:"HealthCheckId,omitempty"`
	CidrRoutingConfig    *xCidrRouting      `xml:"CidrRoutingConfig,omitempty"`
	GeoProximityLocation *xGeoProximityInfo `xml:"GeoProximityLocation,omitempty"`
}

type xGeoLocation struct {
	ContinentCode   string `xml:"ContinentCode,omitempty"`
	CountryCode     string `xml:"CountryCode,omitempty"`
	SubdivisionCode string `xml:"SubdivisionCode,omitempty"`
}

type xAliasTarget struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xCidrRouting struct {
	CollectionID string `xml:"CollectionId"`
	LocationName string `xml:"LocationName"`
}

type xCoordinates struct {
	Latitude  string `xml:"Latitude"`
	Longitude string `xml:"Longitude"`
}

type xGeoProximityInfo struct {
	AWSRegion      string        `xml:"AWSRegion,omitempty"`
	LocalZoneGroup string        `xml:"LocalZoneGroup,omitempty"`
	Coordinates    *xCoordinates `xml:"Coordinates,omitempty"`
	Bias           *int          `xml:"Bias,omitempty"`
}

type xRecordSets struct {
	Items []xRecordSet `xml:"ResourceRecordSet"`
}

type xTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xTags struct {
	Items []xTag `xml:"Tag"`
}

type xTagSet struct {
	ResourceType string `xml:"ResourceType"`
	ResourceID   string `xml:"ResourceId"`
	Tags         xTags  `xml:"Tags"`
}

// present is an element whose content is not read, only noticed.
type present struct {
	Inner string `xml:",innerxml"`
}

// Requests.

type createHostedZoneRequest struct {
	XMLName          xml.Name `xml:"CreateHostedZoneRequest"`
	Name             string   `xml:"Name"`
	CallerReference  string   `xml:"CallerReference"`
	HostedZoneConfig *struct {
		Comment     string `xml:"Comment"`
		PrivateZone string `xml:"PrivateZone"`
	} `xml:"HostedZoneConfig"`
	DelegationSetID string   `xml:"DelegationSetId"`
	VPC             *present `xml:"VPC"`
}

type updateCommentRequest struct {
	XMLName xml.Name `xml:"UpdateHostedZoneCommentRequest"`
	Comment *string  `xml:"Comment"`
}

// xRecordSetIn is a record set as a client sends it, with every field Route 53 knows, so that
// what this appliance does not take is refused rather than dropped.
type xRecordSetIn struct {
	Name                    string             `xml:"Name"`
	Type                    string             `xml:"Type"`
	SetIdentifier           *string            `xml:"SetIdentifier"`
	Weight                  *int64             `xml:"Weight"`
	Region                  *string            `xml:"Region"`
	GeoLocation             *xGeoLocation      `xml:"GeoLocation"`
	GeoProximityLocation    *xGeoProximityInfo `xml:"GeoProximityLocation"`
	Failover                *string            `xml:"Failover"`
	MultiValueAnswer        *bool              `xml:"MultiValueAnswer"`
	CidrRoutingConfig       *xCidrRouting      `xml:"CidrRoutingConfig"`
	AliasTarget             *xAliasTarget      `xml:"AliasTarget"`
	HealthCheckID           *string            `xml:"HealthCheckId"`
	TrafficPolicyInstanceID *present           `xml:"TrafficPolicyInstanceId"`
	TTL                     *int64             `xml:"TTL"`
	ResourceRecords         *struct {
		Items []struct {
			Value *string `xml:"Value"`
		} `xml:"ResourceRecord"`
	} `xml:"ResourceRecords"`
}

type xChangeIn struct {
	Action            string        `xml:"Action"`
	ResourceRecordSet *xRecordSetIn `xml:"ResourceRecordSet"`
}

type changeRecordSetsRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch *struct {
		Comment string      `xml:"Comment"`
		Changes []xChangeIn `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type changeTagsRequest struct {
	XMLName       xml.Name `xml:"ChangeTagsForResourceRequest"`
	AddTags       []xTag   `xml:"AddTags>Tag"`
	RemoveTagKeys []string `xml:"RemoveTagKeys>Key"`
}

type listTagsRequest struct {
	XMLName     xml.Name `xml:"ListTagsForResourcesRequest"`
	ResourceIDs []string `xml:"ResourceIds>ResourceId"`
}

// malformed is a body that is not the XML document the operation takes (400), as Route 53 says it.
func malformed(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "MalformedInput", format, args...)
}

// decodeXML reads one document into v: it must be well formed, its root v's element, and
// nothing but white space or comments may follow it.
func decodeXML(body []byte, v any) *Error {
	d := xml.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return malformed("The request body is empty; it must be an XML document")
		}
		return malformed("The XML document is not valid: %v", err)
	}
	for {
		t, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return malformed("The XML document is not valid: %v", err)
		}
		switch t := t.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue
			}
		case xml.Comment, xml.ProcInst:
			continue
		}
		return malformed("The XML document is not valid: something follows its root element")
	}
}

// Responses.

type errorResponse struct {
	XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ErrorResponse"`
	Error   struct {
		Type     string   `xml:"Type"`
		Code     string   `xml:"Code"`
		Message  string   `xml:"Message"`
		Messages []string `xml:"Messages>Message,omitempty"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// writeXML sends v as the response document with status.
func writeXML(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(xml.Header)
		e := errorResponse{}
		e.Error.Type, e.Error.Code, e.Error.Message = "Receiver", "InternalFailure", "the response could not be encoded"
		xml.NewEncoder(&b).Encode(e)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// writeError sends err as Route 53 does: an ErrorResponse, a batch's errors as InvalidChangeBatch
// with every message in its Message, bracketed and separated by commas. (Route 53 once sent
// batch errors as an <InvalidChangeBatch> document of <Messages>, which the Go SDK still reads;
// it sends this form now, which every SDK and the aws CLI read.)
func writeError(w http.ResponseWriter, requestID string, err error) int {
	var e *Error
	var messages []string
	switch x := err.(type) {
	case *BatchError:
		// Route 53's InvalidChangeBatch: the reasons in Messages (what the SDKs' InvalidChangeBatch
		// error reads), and joined in Message (what botocore, and so the aws CLI, prints).
		e = newError(http.StatusBadRequest, "InvalidChangeBatch", "[%s]", strings.Join(x.Messages, ", "))
		messages = x.Messages
	case *Error:
		e = x
	default:
		e = newError(http.StatusInternalServerError, "InternalFailure", "%s", err.Error())
	}
	out := errorResponse{RequestID: requestID}
	out.Error.Type = "Sender"
	if e.Status >= 500 {
		out.Error.Type = "Receiver"
	}
	out.Error.Code, out.Error.Message, out.Error.Messages = e.Code, strings.TrimSpace(e.Message), messages
	writeXML(w, e.Status, out)
	return e.Status
}

// ErrorBody words an answer Go's HTTP server gives a broken request itself (api.Shaped) as
// Route 53's ErrorResponse: InvalidInput, Sender.
func ErrorBody(status int, message string) (string, []byte) {
	e := errorResponse{RequestID: newRequestID()}
	e.Error.Type, e.Error.Code, e.Error.Message = "Sender", "InvalidInput", message
	var b bytes.Buffer
	b.WriteString(xml.Header)
	xml.NewEncoder(&b).Encode(e)
	return "text/xml", b.Bytes()
}
