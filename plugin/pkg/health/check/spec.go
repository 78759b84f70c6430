// Package check is the health check of an edge as users write it (config file, API): its fields,
// defaults and validation, and its compiled form that the probers run. It has no CoreDNS types.
package check

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
)

// Spec is one health check of an edge.
type Spec struct {
	Type     string   `json:"type" mapstructure:"type"`
	Interval Duration `json:"interval,omitempty" mapstructure:"interval"`
	Timeout  Duration `json:"timeout,omitempty" mapstructure:"timeout"`
	Rise     int      `json:"rise,omitempty" mapstructure:"rise"`
	Fall     int      `json:"fall,omitempty" mapstructure:"fall"`
	// Invert makes the check pass when its probe fails and fail when it passes (Route 53's
	// Inverted health check).
	Invert bool `json:"invert,omitempty" mapstructure:"invert"`

	// icmp: the address to ping (default: the edge's first address).
	Target string `json:"target,omitempty" mapstructure:"target"`
	// tcp: host:port to connect to (a bare port means the edge's first address).
	Address string `json:"address,omitempty" mapstructure:"address"`
	// http, https.
	URL             string            `json:"url,omitempty" mapstructure:"url"`
	Method          string            `json:"method,omitempty" mapstructure:"method"`
	ExpectStatus    Statuses          `json:"expect_status,omitempty" mapstructure:"expect_status"`
	ExpectBody      string            `json:"expect_body,omitempty" mapstructure:"expect_body"`
	ExpectBodyRegex string            `json:"expect_body_regex,omitempty" mapstructure:"expect_body_regex"`
	Headers         map[string]string `json:"headers,omitempty" mapstructure:"headers"`
	TLSSkipVerify   bool              `json:"tls_skip_verify,omitempty" mapstructure:"tls_skip_verify"`
	ServerName      string            `json:"server_name,omitempty" mapstructure:"server_name"`
	// dns.
	Server       string `json:"server,omitempty" mapstructure:"server"`
	QName        string `json:"qname,omitempty" mapstructure:"qname"`
	QType        string `json:"qtype,omitempty" mapstructure:"qtype"`
	ExpectRcode  string `json:"expect_rcode,omitempty" mapstructure:"expect_rcode"`
	ExpectAnswer string `json:"expect_answer,omitempty" mapstructure:"expect_answer"`
	Transport    string `json:"transport,omitempty" mapstructure:"transport"`
}

// Duration is a time.Duration written as "2s", "500ms" (a bare number is seconds).
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "2s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p, err := ParseDuration(v)
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseDuration reads a duration from a string ("1m30s") or a number of seconds.
func ParseDuration(v any) (Duration, error) {
	switch x := v.(type) {
	case string:
		t, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (write it like \"2s\" or \"500ms\")", x)
		}
		return Duration(t), nil
	case float64:
		return Duration(x * float64(time.Second)), nil
	case int:
		return Duration(time.Duration(x) * time.Second), nil
	case int64:
		return Duration(time.Duration(x) * time.Second), nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("%v is not a duration", v)
}

// Statuses are the HTTP statuses an http(s) check accepts, each a code or an inclusive range:
// written as numbers or strings, [200, 204] or ["200", "301-302"], and kept as strings.
// Validate checks each.
type Statuses []string

// UnmarshalJSON reads a list of numbers and strings.
func (st *Statuses) UnmarshalJSON(b []byte) error {
	var vs []any
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	out := make(Statuses, len(vs))
	for i, v := range vs {
		s, ok := statusText(v)
		if !ok {
			return &json.UnmarshalTypeError{Value: jsonKind(v), Type: reflect.TypeFor[string]()}
		}
		out[i] = s
	}
	*st = out
	return nil
}

// UnmarshalMapstructure reads a list of numbers and strings from the config file (mapstructure
// calls it).
func (st *Statuses) UnmarshalMapstructure(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return fmt.Errorf("wrong type: want a list such as [200] or [\"200-299\"], got %v", v)
	}
	out := make(Statuses, rv.Len())
	for i := range out {
		e := rv.Index(i).Interface()
		s, ok := statusText(e)
		if !ok {
			return fmt.Errorf("[%d]: wrong type: want a status code (200) or range (\"200-299\"), got %v", i, e)
		}
		out[i] = s
	}
	*st = out
	return nil
}

// statusText is a status code or range as Validate reads it: a string as it is, a number in
// decimal (a fraction stays, for Validate to refuse).
func statusText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return statusText(float64(x))
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), true
	}
	return "", false
}

// jsonKind names a decoded JSON value's kind as encoding/json's errors do.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
