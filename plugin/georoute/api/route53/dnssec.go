package route53

import (
	"encoding/xml"
	"net/http"
)

// DNSSEC is a hosted zone's DNSSEC state as GetDNSSEC answers it: whether it is signed, and
// its key-signing keys.
type DNSSEC struct {
	// ServeSignature is SIGNING, NOT_SIGNING, DELETING, ACTION_NEEDED or INTERNAL_FAILURE.
	ServeSignature string
	StatusMessage  string
	KeySigningKeys []KeySigningKey
}

// KeySigningKey is one key-signing key of a signed zone, element for element as Route 53 sends it.
type KeySigningKey struct {
	Name                     string
	KmsArn                   string `xml:",omitempty"`
	Flag                     int
	SigningAlgorithmMnemonic string
	SigningAlgorithmType     int
	DigestAlgorithmMnemonic  string
	DigestAlgorithmType      int
	KeyTag                   int
	DigestValue              string
	PublicKey                string
	DSRecord                 string
	DNSKEYRecord             string
	Status                   string // ACTIVE, INACTIVE, ...
	StatusMessage            string `xml:",omitempty"`
	CreatedDate              string `xml:",omitempty"` // RFC 3339
	LastModifiedDate         string `xml:",omitempty"`
}

// NotSigning is the state of a zone that is not signed.
var NotSigning = DNSSEC{ServeSignature: "NOT_SIGNING"}

func (h *handler) getDNSSEC(c *call) error {
	z, err := h.zone(c.params[0])
	if err != nil {
		return err
	}
	st, err := h.b.DNSSEC(z.Origin)
	if err != nil {
		return err
	}
	out := struct {
		XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetDNSSECResponse"`
		Status  struct {
			ServeSignature string
			StatusMessage  string `xml:",omitempty"`
		}
		KeySigningKeys struct {
			Items []KeySigningKey `xml:"member"`
		}
	}{}
	out.Status.ServeSignature, out.Status.StatusMessage = st.ServeSignature, st.StatusMessage
	out.KeySigningKeys.Items = append([]KeySigningKey{}, st.KeySigningKeys...)
	writeXML(c.w, http.StatusOK, out)
	return nil
}
