package check

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// decodeFile decodes the checks of a config file as georoute's config package does: viper reads
// the file, mapstructure decodes the raw section strictly.
func decodeFile(t *testing.T, name, body string) ([]Spec, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		t.Fatalf("%s does not parse: %v", name, err)
	}
	var specs []Spec
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &specs, ErrorUnused: true})
	if err != nil {
		t.Fatal(err)
	}
	return specs, dec.Decode(v.Get("checks"))
}

func TestExpectStatusDecode(t *testing.T) {
	tests := []struct {
		name string
		json string // the expect_status value, in JSON (also valid YAML)
		toml string // the same in TOML; "" when JSON and YAML say it
		want Statuses
	}{
		{"one number", `[200]`, "", Statuses{"200"}},
		{"numbers", `[200, 204]`, "", Statuses{"200", "204"}},
		{"strings", `["200", "301-302"]`, "", Statuses{"200", "301-302"}},
		{"both", `[204, "200-299"]`, "", Statuses{"204", "200-299"}},
		{"empty", `[]`, "", Statuses{}},
		// Decoding keeps what was written; Validate refuses what is not a status.
		{"a fraction", `[200.5]`, "", Statuses{"200.5"}},
		{"out of range", `[600]`, "", Statuses{"600"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Spec
			if err := json.Unmarshal([]byte(`{"type": "http", "url": "http://127.0.0.1/", "expect_status": `+tc.json+`}`), &s); err != nil {
				t.Fatalf("json: %v", err)
			}
			if !reflect.DeepEqual(s.ExpectStatus, tc.want) {
				t.Errorf("json: %q, want %q", s.ExpectStatus, tc.want)
			}
			toml := tc.toml
			if toml == "" {
				toml = tc.json
			}
			for name, body := range map[string]string{
				"yaml": "checks:\n  - {type: http, url: \"http://127.0.0.1/\", expect_status: " + tc.json + "}\n",
				"json": `{"checks": [{"type": "http", "url": "http://127.0.0.1/", "expect_status": ` + tc.json + `}]}`,
				"toml": "[[checks]]\ntype = \"http\"\nurl = \"http://127.0.0.1/\"\nexpect_status = " + toml + "\n",
			} {
				specs, err := decodeFile(t, "georoute."+name, body)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(specs) != 1 || !reflect.DeepEqual(specs[0].ExpectStatus, tc.want) {
					t.Errorf("%s: %+v, want expect_status %q", name, specs, tc.want)
				}
			}
		})
	}
}

func TestExpectStatusValidates(t *testing.T) {
	for _, tc := range []struct {
		in   Statuses
		want []StatusRange // nil: Validate refuses it
	}{
		{Statuses{"200"}, []StatusRange{{200, 200}}},
		{Statuses{"200", "204"}, []StatusRange{{200, 200}, {204, 204}}},
		{Statuses{"204", "200-299"}, []StatusRange{{204, 204}, {200, 299}}},
		{Statuses{"200.5"}, nil},
		{Statuses{"600"}, nil},
	} {
		c, err := Compile(Spec{Type: "http", URL: "http://127.0.0.1/", ExpectStatus: tc.in}, nil)
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%q: compiled, want an error", tc.in)
		case tc.want != nil && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.want != nil && !reflect.DeepEqual(c.Status, tc.want):
			t.Errorf("%q: %v, want %v", tc.in, c.Status, tc.want)
		}
	}
}

func TestExpectStatusDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		value string
		json  string // the error through encoding/json
		file  string // through viper and mapstructure (YAML)
	}{
		{`200`, "json: cannot unmarshal number into Go struct field Spec.expect_status of type []interface {}",
			`'[0].expect_status' wrong type: want a list such as [200] or ["200-299"], got 200`},
		{`"200"`, "json: cannot unmarshal string into Go struct field Spec.expect_status of type []interface {}",
			`'[0].expect_status' wrong type: want a list such as [200] or ["200-299"], got 200`},
		{`[200, true]`, "json: cannot unmarshal bool into Go struct field Spec.expect_status of type string",
			`'[0].expect_status' [1]: wrong type: want a status code (200) or range ("200-299"), got true`},
		{`[{a: 1}]`, "",
			`'[0].expect_status' [0]: wrong type: want a status code (200) or range ("200-299"), got map[a:1]`},
		{`[null]`, "json: cannot unmarshal null into Go struct field Spec.expect_status of type string", ""},
	} {
		if tc.json != "" {
			var s Spec
			err := json.Unmarshal([]byte(`{"expect_status": `+tc.value+`}`), &s)
			if err == nil || err.Error() != tc.json {
				t.Errorf("json %s: %v, want %q", tc.value, err, tc.json)
			}
		}
		if tc.file != "" {
			_, err := decodeFile(t, "georoute.yaml", "checks:\n  - {expect_status: "+tc.value+"}\n")
			if err == nil || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("yaml %s: %v, want %q", tc.value, err, tc.file)
			}
		}
	}
}
