package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/georoute/appliance/plugin/georoute/catalog"
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
	var ce *catalog.Error
	if errors.As(err, &ce) {
		return &Error{Status: statusOf[ce.Kind], Code: ce.Code, Field: ce.Field, Message: ce.Message}
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

// statusOf is the HTTP status of each kind of catalog error.
var statusOf = map[catalog.ErrorKind]int{
	catalog.Invalid:     http.StatusBadRequest,
	catalog.NotFound:    http.StatusNotFound,
	catalog.Conflict:    http.StatusConflict,
	catalog.Unavailable: http.StatusServiceUnavailable,
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
