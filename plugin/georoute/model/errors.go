package model

import (
	"errors"
	"strings"
)

// Error codes, as the API reports them.
const (
	CodeInvalid   = "invalid_field"
	CodeMissing   = "missing_field"
	CodeUnknown   = "unknown_reference"
	CodeCycle     = "cycle"
	CodeConflict  = "conflict"
	CodeForbidden = "outside_zone"
)

// FieldError says what is wrong with one field. Field is a path such as "edges.fra1.addresses[1]".
type FieldError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Errors is every mistake found in one document, in the order found.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns es as an error, or nil when it is empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

func (es *Errors) add(code, field, format string, args ...any) {
	*es = append(*es, &FieldError{Code: code, Field: field, Message: sprintf(format, args...)})
}

// Fields lists the fields es names.
func (es Errors) Fields() []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Field
	}
	return out
}

// AsFieldError returns the (first) field error err holds.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	var es Errors
	switch {
	case errors.As(err, &es) && len(es) > 0:
		return es[0], true
	case errors.As(err, &fe):
		return fe, true
	}
	return nil, false
}

// Prefix points a field error of err at path in front of its field ("put[\"www\"]" + "edge"
// is put["www"].edge); other errors pass unchanged.
func Prefix(err error, path string) error {
	fe, ok := AsFieldError(err)
	if !ok || path == "" {
		return err
	}
	f := *fe
	switch {
	case f.Field == "":
		f.Field = path
	case strings.HasPrefix(f.Field, "["):
		f.Field = path + f.Field
	default:
		f.Field = path + "." + f.Field
	}
	return &f
}
