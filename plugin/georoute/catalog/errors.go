package catalog

import (
	"errors"
	"fmt"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// ErrorKind says what sort of refusal an error is; each front door maps it to its protocol
// (HTTP status, Route 53 error code, DNS rcode).
type ErrorKind uint8

// The kinds of error.
const (
	// Invalid: the change is wrong in itself or refers to what does not exist (HTTP 400).
	Invalid ErrorKind = iota + 1
	// NotFound: it changes or deletes an object that does not exist (404).
	NotFound
	// Conflict: the state forbids it: the object is in use, defined in a file, or changed
	// meanwhile (409).
	Conflict
	// Unavailable: the store could not commit it; nothing was applied (503).
	Unavailable
)

func (k ErrorKind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	}
	return "unknown"
}

// Codes of errors besides model's field codes (invalid_field, missing_field, unknown_reference,
// cycle, outside_zone).
const (
	CodeNotFound    = "not_found"
	CodeInConfig    = "in_config" // defined in the config or a zone file: change it there
	CodeInUse       = "in_use"
	CodeExists      = "exists"
	CodeChanged     = "conflict" // what the change was validated against changed: try again
	CodeUnavailable = "unavailable"
	CodeRouted      = "routed"         // a routed or pinned name has no records of its own to change
	CodeRRSetExists = "rrset_exists"   // a record set that must not exist does
	CodeNoRRSet     = "rrset_missing"  // a record set that must exist does not
	CodeRRSetDiffer = "rrset_mismatch" // a record set is not what the change expected
	CodeRefUsed     = "reference_used" // a zone's caller reference names another zone
)

// Error is why a change was refused. Nothing of a refused change is applied.
type Error struct {
	Kind    ErrorKind
	Code    string
	Field   string // path of the field at fault, as the change's front door named it ("" for the whole)
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func errorf(kind ErrorKind, code, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error: a catalog error as it is, a model field error as Invalid
// (Conflict for its conflict code) with its field under prefix, and any other error as
// Unavailable.
func AsError(err error, prefix string) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if fe, ok := model.AsFieldError(model.Prefix(err, prefix)); ok {
		kind := Invalid
		if fe.Code == model.CodeConflict {
			kind = Conflict
		}
		return &Error{Kind: kind, Code: fe.Code, Field: fe.Field, Message: fe.Message}
	}
	return &Error{Kind: Unavailable, Code: CodeUnavailable, Message: err.Error()}
}

// Is reports whether err is a catalog error of kind.
func Is(err error, kind ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}
