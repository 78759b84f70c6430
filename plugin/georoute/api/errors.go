package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// Error is an API error: an HTTP status and the JSON body {"error": {code, field, message}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errors a backend returns.
func NotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// Conflict is a change that the state forbids: an object in use, or one defined in the config file.
func Conflict(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a field that does not validate.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: model.CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unavailable is a failure of the store: nothing was applied.
func Unavailable(format string, args ...any) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: fmt.Sprintf(format, args...)}
}

// asError turns any error into an Error; field errors of the model are 400, or 409 for conflicts.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	fe, ok := model.AsFieldError(err)
	if !ok {
		return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
	}
	status := http.StatusBadRequest
	if fe.Code == model.CodeConflict {
		status = http.StatusConflict
	}
	return &Error{Status: status, Code: fe.Code, Field: fe.Field, Message: fe.Message}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

// decode reads one JSON value into v, strictly: unknown fields, wrong types, trailing data and
// bodies over the limit are errors that name what is wrong.
func decode(r *http.Request, v any) *Error {
	// JSON is what is read, whatever the type says: curl -d sends application/x-www-form-urlencoded.
	// Only a type that cannot be JSON is refused.
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "multipart/") || strings.HasPrefix(ct, "text/xml") || strings.HasPrefix(ct, "application/xml") {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: fmt.Sprintf("content type %q: send application/json", ct)}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON value")
	}
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body is empty: send a JSON value"}
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: fmt.Sprintf("the body is not JSON: %v (at byte %d)", syn, syn.Offset)}
	case errors.As(err, &typ):
		return &Error{Status: http.StatusBadRequest, Code: model.CodeInvalid, Field: typ.Field, Message: fmt.Sprintf("wrong type: want %s, got %s", jsonType(typ.Type.String()), typ.Value)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusBadRequest, Code: "unknown_field", Field: field, Message: fmt.Sprintf("unknown field %q", field)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body ends in the middle of a JSON value"}
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: err.Error()}
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "an object"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	}
	return goType
}
