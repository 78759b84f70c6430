package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// batchBody is the shape of POST /v1/zones/{zone}/batch (the handler's body struct).
type batchBody struct {
	Put    map[string]model.Name `json:"put"`
	Delete []string              `json:"delete"`
}

// bodyTypes are the types the API decodes, by name, each a func returning a new target.
var bodyTypes = map[string]func() any{
	"edge":  func() any { return new(model.Edge) },
	"pool":  func() any { return new(model.Pool) },
	"name":  func() any { return new(model.Name) },
	"rtt":   func() any { return new([]RTTReport) },
	"batch": func() any { return new(batchBody) },
	"override": func() any {
		return new(struct {
			State string `json:"state"`
		})
	},
}

func decodeString(body string, v any) *Error {
	r := httptest.NewRequest("PUT", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return decode(r, v)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, typ, body string
		status          int
		code, field     string
		message         string // a part of the message
	}{
		// Names match exactly: another case is unknown, with the right spelling.
		{"upper case field", "edge", `{"ADDRESSES": ["192.0.2.1"]}`, 400, "unknown_field", "ADDRESSES", `unknown field "ADDRESSES": did you mean "addresses"?`},
		{"mixed case nested", "edge", `{"addresses": ["192.0.2.1"], "location": {"Lat": 1, "lon": 2}}`, 400, "unknown_field", "location.Lat", `did you mean "lat"?`},
		{"mixed case in map value", "batch", `{"put": {"www": {"Edge": "fra1"}}}`, 400, "unknown_field", `put["www"].Edge`, `did you mean "edge"?`},
		{"unknown field", "edge", `{"addresses": ["192.0.2.1"], "adresses": 1}`, 400, "unknown_field", "adresses", `unknown field "adresses"`},
		{"unknown nested field", "edge", `{"location": {"alt": 100}}`, 400, "unknown_field", "location.alt", `unknown field "alt"`},
		{"unknown field in array element", "name", `{"records": [{"type": "A", "value": "192.0.2.1", "class": "IN"}]}`, 400, "unknown_field", "records[0].class", ""},
		{"unknown field in check", "edge", `{"checks": [{"type": "tcp"}, {"type": "http", "expect": 200}]}`, 400, "unknown_field", "checks[1].expect", ""},
		{"unknown field in top-level array", "rtt", `[{"client": "192.0.2.1", "edge": "fra1", "rtt_ms": 1}, {"rtt": 2}]`, 400, "unknown_field", "[1].rtt", ""},
		{"unknown field in map value", "batch", `{"put": {"www": {"edge": "fra1", "colour": "red"}}}`, 400, "unknown_field", `put["www"].colour`, ""},
		{"unknown field in rule member", "pool", `{"policy": "geo", "rules": [{"default": true, "members": [{"edge": "a"}, {"edge": "b", "wieght": 1}]}]}`, 400, "unknown_field", "rules[0].members[1].wieght", ""},

		// Duplicate keys.
		{"duplicate field", "edge", `{"addresses": ["192.0.2.1"], "addresses": ["192.0.2.2"]}`, 400, "duplicate_field", "addresses", `"addresses"`},
		{"duplicate escaped", "edge", `{"addresses": ["192.0.2.1"], "addr\u0065sses": []}`, 400, "duplicate_field", "addresses", ""},
		{"duplicate nested", "edge", `{"location": {"lat": 1, "lon": 2, "lat": 3}}`, 400, "duplicate_field", "location.lat", ""},
		{"duplicate map key", "batch", `{"put": {"www": {"edge": "a"}, "www": {"edge": "b"}}}`, 400, "duplicate_field", `put["www"]`, ""},
		{"duplicate in map value", "batch", `{"put": {"www": {"edge": "a", "edge": "b"}}}`, 400, "duplicate_field", `put["www"].edge`, ""},
		{"duplicate in array element", "rtt", `[{"client": "a", "client": "b"}]`, 400, "duplicate_field", "[0].client", ""},
		{"duplicate in header map", "edge", `{"checks": [{"type": "http", "headers": {"X-A": "1", "X-A": "2"}}]}`, 400, "duplicate_field", `checks[0].headers["X-A"]`, ""},
		{"duplicate top level of batch", "batch", `{"delete": ["a"], "delete": ["b"]}`, 400, "duplicate_field", "delete", ""},

		// Wrong kinds, by the whole path.
		{"string for array", "edge", `{"addresses": "192.0.2.1"}`, 400, "invalid_field", "addresses", "wrong type: want an array, got string"},
		{"number in string array", "edge", `{"addresses": ["192.0.2.1", 7]}`, 400, "invalid_field", "addresses[1]", "wrong type: want a string, got number"},
		{"string for number", "edge", `{"weight": "heavy"}`, 400, "invalid_field", "weight", "wrong type: want a number, got string"},
		{"wrong type in record", "name", `{"records": [{"type": "A", "ttl": "60", "value": "192.0.2.1"}]}`, 400, "invalid_field", "records[0].ttl", "wrong type: want a number, got string"},
		{"wrong type in second record", "name", `{"records": [{"type": "A", "value": "192.0.2.1"}, {"type": 1}]}`, 400, "invalid_field", "records[1].type", "want a string, got number"},
		{"wrong type top-level element", "rtt", `[{}, {}, {}, {"rtt_ms": "fast"}]`, 400, "invalid_field", "[3].rtt_ms", "wrong type: want a number, got string"},
		{"object for top-level array", "rtt", `{"client": "192.0.2.1"}`, 400, "invalid_field", "", "wrong type: want an array, got object"},
		{"array for object", "edge", `[]`, 400, "invalid_field", "", "wrong type: want an object, got array"},
		{"number for object", "edge", `{"location": 5}`, 400, "invalid_field", "location", "wrong type: want an object, got number"},
		{"bool for string", "pool", `{"policy": true}`, 400, "invalid_field", "policy", "want a string, got bool"},
		{"string for bool", "pool", `{"policy": "weighted", "sticky": "yes"}`, 400, "invalid_field", "sticky", "want true or false, got string"},
		{"wrong type in map value", "batch", `{"put": {"www": {"edge": 1}}}`, 400, "invalid_field", `put["www"].edge`, "want a string, got number"},
		{"string for map value", "batch", `{"put": {"www": "fra1"}}`, 400, "invalid_field", `put["www"]`, "want an object, got string"},
		{"wrong type in string array", "batch", `{"delete": [2]}`, 400, "invalid_field", "delete[0]", "want a string, got number"},
		{"wrong type deep", "pool", `{"policy": "geo", "rules": [{"country": "DE", "members": [{"edge": "a"}]}, {"default": true, "members": [{"edge": "a"}, {"edge": "b"}, {"edge": 3}]}]}`, 400, "invalid_field", "rules[1].members[2].edge", ""},
		{"wrong type in asns", "pool", `{"policy": "asn", "rules": [{"asns": [64500, "x"]}]}`, 400, "invalid_field", "rules[0].asns[1]", ""},
		{"wrong type in header", "edge", `{"checks": [{"type": "http", "headers": {"X-A": 1}}]}`, 400, "invalid_field", `checks[0].headers["X-A"]`, "want a string, got number"},
		{"override", "override", `{"state": 1}`, 400, "invalid_field", "state", ""},

		// Numbers that do not fit.
		{"fraction for int", "edge", `{"weight": 1.5}`, 400, "invalid_field", "weight", "1.5 is not a whole number"},
		{"exponent for int", "pool", `{"answers": 1e2}`, 400, "invalid_field", "answers", "without a fraction or exponent"},
		{"negative uint", "pool", `{"ttl": -1}`, 400, "invalid_field", "ttl", "-1 is out of range (0 to 4294967295)"},
		{"uint32 overflow", "name", `{"records": [{"type": "A", "ttl": 99999999999, "value": "192.0.2.1"}]}`, 400, "invalid_field", "records[0].ttl", "out of range"},
		{"int overflow", "pool", `{"members": [{"edge": "a", "weight": 1}, {"edge": "b", "weight": 99999999999999999999}]}`, 400, "invalid_field", "members[1].weight", "out of range"},
		{"fraction in uint array", "pool", `{"rules": [{"asns": [1.5]}]}`, 400, "invalid_field", "rules[0].asns[0]", "not a whole number"},
		{"float overflow", "rtt", `[{"rtt_ms": 1e999}]`, 400, "invalid_field", "[0].rtt_ms", "out of range"},

		// Types with their own decoder judge their values; the error names the path.
		{"bad duration", "edge", `{"checks": [{"type": "tcp", "interval": "soon"}]}`, 400, "invalid_field", "checks[0].interval", `"soon" is not a duration`},
		{"bad duration second check", "edge", `{"checks": [{"interval": "2s", "timeout": 1}, {"timeout": true}]}`, 400, "invalid_field", "checks[1].timeout", "not a duration"},

		// The document as a whole.
		{"empty", "edge", ``, 400, "invalid_json", "", "the body is empty"},
		{"blank", "edge", " \n\t", 400, "invalid_json", "", "the body is empty"},
		{"syntax", "edge", `{"addresses" ["192.0.2.1"]}`, 400, "invalid_json", "", "the body is not JSON: invalid character '[' after object key (at byte 13)"},
		{"syntax nested", "edge", `{"location": {"lat": 1,}}`, 400, "invalid_json", "", "the body is not JSON"},
		{"truncated", "edge", `{"addresses": ["192.0.2.1"`, 400, "invalid_json", "", "the body ends in the middle of a JSON value"},
		{"truncated string", "edge", `{"addresses": ["192.0.`, 400, "invalid_json", "", "the body ends in the middle of a JSON value"},
		{"trailing data", "edge", `{"addresses": ["192.0.2.1"]} {}`, 400, "invalid_json", "", "trailing data after the JSON value"},
		{"trailing brace", "edge", `{"addresses": ["192.0.2.1"]}}`, 400, "invalid_json", "", "trailing data after the JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := decodeString(tc.body, bodyTypes[tc.typ]())
			if e == nil {
				t.Fatalf("decode(%s) accepted it, want %s at %q", tc.body, tc.code, tc.field)
			}
			if e.Status != tc.status || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
				t.Errorf("decode(%s) = %d %s %q %q, want %d %s %q %q", tc.body, e.Status, e.Code, e.Field, e.Message, tc.status, tc.code, tc.field, tc.message)
			}
		})
	}
}

// TestDecodeValid: what decode accepts it decodes to exactly what encoding/json gives.
func TestDecodeValid(t *testing.T) {
	tests := []struct{ typ, body string }{
		{"edge", `{"addresses": ["192.0.2.10", "2001:db8::10"],
			"location": {"lat": 50.11, "lon": 8.68, "country": "DE", "continent": "EU"},
			"weight": 100,
			"checks": [{"type": "http", "url": "http://192.0.2.10:8080/healthz", "expect_status": ["200"],
				"interval": "2s", "timeout": 1, "rise": 2, "fall": 2, "headers": {"Host": "example.net"}}],
			"override": "down", "health_rule": "any"}`},
		{"edge", `{"addresses": ["192.0.2.1"], "weight": null, "location": null, "checks": [{"interval": null}]}`},
		{"edge", `{"addresses": ["192.0.2.1"], "weight": -0, "location": {"lat": -1.5e1, "lon": 0}}`},
		{"pool", `{"policy": "latency", "edges": ["fra1", "iad1", "sin1"], "answers": 1, "ttl": 30, "when_all_down": "all"}`},
		{"pool", `{"policy": "weighted", "members": [{"edge": "fra1", "weight": 3}, {"edge": "ams1", "weight": 0}], "sticky": true}`},
		{"pool", `{"policy": "geoproximity", "members": [{"edge": "fra1", "bias": -20}, {"pool": "x", "bias": 0}]}`},
		{"pool", `{"policy": "asn", "rules": [{"asns": [64500, 4294967295], "members": [{"edge": "a"}]}, {"default": true, "members": []}]}`},
		{"pool", `{"policy": "cidr", "rules": [{"prefixes": ["203.0.113.0/24", "2001:db8:1::/48"], "members": [{"edge": "fra1"}]}]}`},
		{"name", `{"pool": "web"}`},
		{"name", `{"edge": "fra1", "ttl": 4294967295}`},
		{"name", `{"records": [{"type": "TXT", "ttl": 300, "value": "\"hello\""}, {"type": "A", "ttl": 60, "value": "192.0.2.1"}]}`},
		{"name", `{"records": [{"type": "TXT", "value": "\u00e9t\u00e9 \ud83d\ude00"}]}`},
		{"name", `{}`},
		{"name", `null`},
		{"rtt", `[{"client": "203.0.113.0/24", "edge": "fra1", "rtt_ms": 23.5}, {"client": "198.51.100.7", "edge": "iad1", "rtt_ms": 88}]`},
		{"rtt", `[]`},
		{"rtt", `[null, {"rtt_ms": 1e-400}]`},
		{"batch", `{"put": {"www": {"pool": "web"}, "WWW": {"edge": "fra1"}, "": {}}, "delete": ["old", "older"]}`},
		{"batch", `{"put": {}, "delete": null}`},
		{"override", "\n {\"state\": \"down\"}\n\n"},
	}
	for _, tc := range tests {
		got, want := bodyTypes[tc.typ](), bodyTypes[tc.typ]()
		if err := json.Unmarshal([]byte(tc.body), want); err != nil {
			t.Fatalf("encoding/json rejects %s: %v", tc.body, err)
		}
		if e := decodeString(tc.body, got); e != nil {
			t.Errorf("decode(%s) = %s %q %q", tc.body, e.Code, e.Field, e.Message)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decode(%s) = %+v, encoding/json: %+v", tc.body, got, want)
		}
	}
}

// TestDecodeRequest: what decode judges of the request before the JSON.
func TestDecodeRequest(t *testing.T) {
	r := httptest.NewRequest("PUT", "/", strings.NewReader(`{"state": "up"}`))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if e := decode(r, new(map[string]string)); e == nil || e.Status != http.StatusUnsupportedMediaType || e.Code != "unsupported_media_type" {
		t.Errorf("multipart: %+v", e)
	}
	// curl -d sends a form type: the body is read as JSON anyway.
	r = httptest.NewRequest("PUT", "/", strings.NewReader(`{"state": "up"}`))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var body struct {
		State string `json:"state"`
	}
	if e := decode(r, &body); e != nil || body.State != "up" {
		t.Errorf("form type: %+v, %+v", e, body)
	}
	w := httptest.NewRecorder()
	r = httptest.NewRequest("PUT", "/", strings.NewReader(`{"addresses": ["`+strings.Repeat("1", 100)+`"]}`))
	r.Body = http.MaxBytesReader(w, r.Body, 64)
	if e := decode(r, new(model.Edge)); e == nil || e.Status != http.StatusRequestEntityTooLarge || e.Code != "too_large" || !strings.Contains(e.Message, "64 bytes") {
		t.Errorf("too large: %+v", e)
	}
}

type inner struct {
	A string `json:"a"`
	B int    `json:"b"`
	C int    // no tag: "C"
}

// Extra is exported: encoding/json cannot allocate an embedded pointer to an unexported struct.
type Extra struct {
	B string `json:"b"`
	D bool   `json:"d"`
}

type tagged struct {
	X int `json:"C"`
}

type special struct {
	inner         // flattened: a, b (both at depth 1 with Extra's b: ambiguous, dropped), C
	*Extra        // flattened: d; b ambiguous
	Own    string `json:"own"`
	Skip   string `json:"-"`
	Dash   string `json:"-,"` //lint:ignore SA5008 encoding/json names this field "-": the decoder must too
	hidden string
	Count  int64                 `json:"count,string"`
	Addr   netip.Addr            `json:"addr"`
	ByNum  map[int8]string       `json:"by_num"`
	Pair   [2]int                `json:"pair"`
	Raw    json.RawMessage       `json:"raw"`
	Any    any                   `json:"any"`
	Nested map[string][]*inner   `json:"nested"`
	Prefix map[netip.Addr]string `json:"prefix"`
	Bytes  []byte                `json:"bytes"`
	Number json.Number           `json:"number"`
	Quoted json.Number           `json:"quoted"`
}

type shadow struct {
	inner
	tagged        // its tagged "C" wins over inner's untagged C at the same depth
	B      string `json:"B"` // depth 0: B, while inner's b stays b
}

// TestDecodeTypes: the checker follows encoding/json over the shapes it supports.
func TestDecodeTypes(t *testing.T) {
	_ = special{}.hidden
	valid := []string{
		`{"a": "x", "C": 1, "d": true, "own": "o", "-": "dash", "count": "12"}`,
		`{"addr": "2001:db8::1", "by_num": {"-128": "a", "127": "b"}, "pair": [1, 2, 3, {"x": [1]}]}`,
		`{"raw": {"anything": [1, "x", {"y": null}]}, "any": {"k": [true, {"k": 1}]}}`,
		`{"nested": {"n": [{"a": "x"}, null]}, "prefix": {"192.0.2.1": "x"}, "bytes": "aGVsbG8="}`,
		`{"addr": null, "count": null}`,
		`{"number": 1.5e300, "quoted": "-0.5"}`,
	}
	for _, body := range valid {
		var got, want special
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("encoding/json rejects %s: %v", body, err)
		}
		if e := decodeString(body, &got); e != nil {
			t.Errorf("decode(%s) = %s %q %q", body, e.Code, e.Field, e.Message)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("decode(%s) = %+v, encoding/json: %+v", body, got, want)
		}
	}
	invalid := []struct{ body, code, field, message string }{
		{`{"b": 1}`, "unknown_field", "b", ""}, // ambiguous between inner and Extra
		{`{"c": 1}`, "unknown_field", "c", `did you mean "C"?`},
		{`{"Skip": "x"}`, "unknown_field", "Skip", ""},
		{`{"hidden": "x"}`, "unknown_field", "hidden", ""},
		{`{"count": 12}`, "invalid_field", "count", "string"},
		{`{"count": "x"}`, "invalid_field", "count", ""},
		{`{"addr": "nope"}`, "invalid_field", "addr", ""},
		{`{"addr": 1}`, "invalid_field", "addr", "want a string, got number"},
		{`{"by_num": {"128": "x"}}`, "invalid_field", `by_num["128"]`, "not an integer from -128 to 127"},
		{`{"pair": [1, "x"]}`, "invalid_field", "pair[1]", ""},
		{`{"pair": [1, 2, {"a": 1, "a": 2}]}`, "duplicate_field", `pair[2]["a"]`, ""},
		{`{"any": {"k": [{"x": 1, "x": 2}]}}`, "duplicate_field", `any["k"][0]["x"]`, ""},
		{`{"nested": {"n": [null, {"a": 1}]}}`, "invalid_field", `nested["n"][1].a`, ""},
		{`{"nested": {"n": [{"A": "x"}]}}`, "unknown_field", `nested["n"][0].A`, `did you mean "a"?`},
		{`{"prefix": {"x": "y"}}`, "invalid_field", `prefix["x"]`, ""},
		{`{"bytes": "!"}`, "invalid_field", "bytes", "base64"},
		{`{"quoted": "0x10"}`, "invalid_field", "quoted", "not a number"},
		{`{"quoted": "1 2"}`, "invalid_field", "quoted", "not a number"},
		{`{"number": true}`, "invalid_field", "number", "got bool"},
		{`{"any": ` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`, "invalid_json", "", "deeper"},
	}
	for _, tc := range invalid {
		e := decodeString(tc.body, new(special))
		if e == nil || e.Status != 400 || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
			t.Errorf("decode(%.80s) = %+v, want %s %q %q", tc.body, e, tc.code, tc.field, tc.message)
		}
	}
	// A tagged field wins over an untagged one of its depth; names differing in case are two.
	var s, want shadow
	body := `{"a": "x", "b": 2, "B": "top", "C": 3}`
	if e := decodeString(body, &s); e != nil {
		t.Fatal(e)
	}
	json.Unmarshal([]byte(body), &want)
	if !reflect.DeepEqual(s, want) || s.B != "top" || s.inner.B != 2 || s.X != 3 || s.inner.C != 0 {
		t.Errorf("shadow = %+v, want %+v", s, want)
	}
	if e := decodeString(`{"c": 1}`, new(shadow)); e == nil || e.Code != "unknown_field" || !strings.Contains(e.Message, `did you mean "C"?`) {
		t.Errorf("c: %+v", e)
	}
	// The API's Edge view embeds model.Edge.
	var edge Edge
	if e := decodeString(`{"id": "fra1", "addresses": ["192.0.2.1"], "source": "api"}`, &edge); e != nil || edge.ID != "fra1" || edge.Addresses[0] != "192.0.2.1" {
		t.Errorf("embedded: %+v %+v", e, edge)
	}
	if e := decodeString(`{"id": "fra1", "Addresses": []}`, &edge); e == nil || e.Field != "Addresses" || !strings.Contains(e.Message, `did you mean "addresses"?`) {
		t.Errorf("embedded case: %+v", e)
	}
}

// FuzzDecode: decode never panics, and what it accepts encoding/json accepts, with the same result.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"addresses": ["192.0.2.10"], "location": {"lat": 50.11, "lon": 8.68}, "weight": 100, "checks": [{"type": "http", "interval": "2s", "timeout": 1, "headers": {"a": "b"}}]}`,
		`{"policy": "geo", "rules": [{"country": "DE", "asns": [1], "members": [{"edge": "fra1", "weight": 1, "bias": -3}]}], "answers": 1, "ttl": 30, "sticky": false}`,
		`{"records": [{"type": "A", "ttl": 60, "value": "192.0.2.1"}], "edge": "x", "pool": "y"}`,
		`[{"client": "203.0.113.0/24", "edge": "fra1", "rtt_ms": 23.5}]`,
		`{"put": {"www": {"edge": "fra1"}}, "delete": ["a"]}`,
		`{"ADDRESSES": [], "addresses": [], "addresses": []}`,
		`{"checks": [{"interval": {"x": [1, 2]}}]}`,
		`{"ttl": 1e400, "answers": -1.5}`,
		`[[[[{"a":`, `null`, `"x"`, `{} x`, ``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	names := []string{"edge", "pool", "name", "rtt", "batch", "override"}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, name := range names {
			got := bodyTypes[name]()
			if e := decodeBytes(body, got); e != nil {
				if e.Status != http.StatusBadRequest || e.Code == "" || e.Message == "" {
					t.Fatalf("%s: decode(%q) = %+v", name, body, e)
				}
				continue
			}
			want := bodyTypes[name]()
			if err := json.Unmarshal(body, want); err != nil {
				t.Fatalf("%s: decode accepts %q, encoding/json does not: %v", name, body, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: decode(%q) = %+v, encoding/json: %+v", name, body, got, want)
			}
		}
	})
}
