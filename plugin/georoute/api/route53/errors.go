package route53

import (
	"fmt"
	"net/http"
	"strings"
)

// Error is a Route 53 error: the HTTP status and the code and message of its ErrorResponse.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidInput is input that does not validate (400).
func InvalidInput(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "InvalidInput", format, args...)
}

// NoSuchHostedZone is a zone id or origin that is not served here (404).
func NoSuchHostedZone(format string, args ...any) *Error {
	return newError(http.StatusNotFound, "NoSuchHostedZone", format, args...)
}

// HostedZoneAlreadyExists refuses to create a zone again (409).
func HostedZoneAlreadyExists(format string, args ...any) *Error {
	return newError(http.StatusConflict, "HostedZoneAlreadyExists", format, args...)
}

// HostedZoneNotEmpty refuses to delete a zone that holds record sets besides its SOA and NS (400).
func HostedZoneNotEmpty() *Error {
	return newError(http.StatusBadRequest, "HostedZoneNotEmpty", "The hosted zone contains resource record sets in addition to the default NS and SOA resource record sets. Before you can delete the hosted zone, you must delete the additional resource record sets.")
}

// ConflictingDomainExists refuses a zone that would take names from the zone above it (400).
func ConflictingDomainExists(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "ConflictingDomainExists", format, args...)
}

// PriorRequestNotComplete asks the client to try again: what the change was checked against
// changed meanwhile (400, which the SDKs retry).
func PriorRequestNotComplete() *Error {
	return newError(http.StatusBadRequest, "PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request.")
}

// ServiceUnavailable is a failure of the store: nothing was applied (503).
func ServiceUnavailable(format string, args ...any) *Error {
	return newError(http.StatusServiceUnavailable, "ServiceUnavailable", format, args...)
}

// Reason says why a change of a batch was refused.
type Reason uint8

// The reasons.
const (
	// Exists: a CREATE of a record set that exists.
	Exists Reason = iota + 1
	// NotFound: a DELETE of a record set that does not exist.
	NotFound
	// Mismatch: a DELETE whose TTL or values are not the record set's.
	Mismatch
	// OutsideZone: the name is not in the zone (or in a zone below it).
	OutsideZone
	// InvalidRecord: a value, TTL or type that does not validate; Detail says which.
	InvalidRecord
	// Refused: the state forbids the change; Detail says why ("it is defined by ...").
	Refused
	// Stated: Detail is the whole message.
	Stated
)

// ChangeError is why the change at Index of a batch was refused: nothing of the batch applies.
// The handler words it as Route 53 does, with the change's action, name and type.
type ChangeError struct {
	Index  int
	Reason Reason
	Detail string
}

func (e *ChangeError) Error() string { return fmt.Sprintf("change %d: %s", e.Index, e.Detail) }

// BatchError is InvalidChangeBatch: every message says what is wrong with one change.
type BatchError struct {
	Messages []string
}

func (e *BatchError) Error() string { return "InvalidChangeBatch: " + strings.Join(e.Messages, "; ") }

// rrsetRef names a record set in messages as Route 53 does: [name='www.example.com.', type='A'].
func rrsetRef(name, typ string) string {
	return fmt.Sprintf("[name='%s', type='%s']", displayName(name), typ)
}

var verbs = map[string]string{"CREATE": "create", "DELETE": "delete", "UPSERT": "upsert"}

// message words e for the change c it refers to, in zone.
func (e *ChangeError) message(c Change, zone string) string {
	ref := rrsetRef(c.Name, c.Type)
	if id := c.Ident(); id != "" {
		ref = fmt.Sprintf("[name='%s', type='%s', set-identifier='%s']", displayName(c.Name), c.Type, id)
	}
	switch e.Reason {
	case Exists:
		return fmt.Sprintf("Tried to create resource record set %s but it already exists", ref)
	case NotFound:
		return fmt.Sprintf("Tried to delete resource record set %s but it was not found", ref)
	case Mismatch:
		return fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", ref)
	case OutsideZone:
		return fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", displayName(c.Name), displayName(zone))
	case Stated:
		return e.Detail
	case InvalidRecord:
		return fmt.Sprintf("Invalid Resource Record: %s %s", ref, e.Detail)
	}
	return fmt.Sprintf("Tried to %s resource record set %s but %s", verbs[c.Action], ref, e.Detail)
}
