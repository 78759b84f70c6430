// Package check is the health check of an edge as users write it (config file, API): its fields,
// defaults and validation, and its compiled form that the probers run. It has no CoreDNS types.
package check

import (
	"encoding/json"
	"fmt"
	"time"
)

// Spec is one health check of an edge.
type Spec struct {
	Type     string   `json:"type" mapstructure:"type"`
	Interval Duration `json:"interval,omitempty" mapstructure:"interval"`
	Timeout  Duration `json:"timeout,omitempty" mapstructure:"timeout"`
	Rise     int      `json:"rise,omitempty" mapstructure:"rise"`
	Fall     int      `json:"fall,omitempty" mapstructure:"fall"`

	// icmp: the address to ping (default: the edge's first address).
	Target string `json:"target,omitempty" mapstructure:"target"`
	// tcp: host:port to connect to (a bare port means the edge's first address).
	Address string `json:"address,omitempty" mapstructure:"address"`
	// http, https.
	URL             string            `json:"url,omitempty" mapstructure:"url"`
	Method          string            `json:"method,omitempty" mapstructure:"method"`
	ExpectStatus    []string          `json:"expect_status,omitempty" mapstructure:"expect_status"`
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
