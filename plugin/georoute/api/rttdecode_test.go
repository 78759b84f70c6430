package api

import (
	"reflect"
	"testing"
)

// TestDecodeReports: what the fast reading of RTT reports takes it reads as the checked decoding
// does; what it does not take the checked decoding reads (or refuses, naming why).
func TestDecodeReports(t *testing.T) {
	tests := []struct {
		body string
		fast bool
	}{
		{`[]`, true},
		{` [ ] `, true},
		{`[{"client":"192.0.2.0/24","edge":"fra1","rtt_ms":12.5}]`, true},
		{"[\n {\"rtt_ms\": 1e2, \"edge\": \"a\", \"client\": \"geo:1,2\"},\r\n\t{\"client\": \"::1\", \"edge\": \"b\", \"rtt_ms\": -0.5E-3}\n]\n", true},
		{`[{}]`, true},
		{`[{"client":"x"}]`, true},
		{`[{"client":"x","client":"y"}]`, false}, // duplicate key
		{`[{"Client":"x"}]`, false},              // another case
		{`[{"client":"x","port":1}]`, false},     // unknown field
		{`[{"client":"x\u0041"}]`, false},        // escape
		{`[{"client":"é"}]`, false},
		{`[{"client":1}]`, false},
		{`[{"rtt_ms":"1"}]`, false},
		{`[{"rtt_ms":01}]`, false},
		{`[{"rtt_ms":1.}]`, false},
		{`[{"rtt_ms":.5}]`, false},
		{`[{"rtt_ms":1e}]`, false},
		{`[{"rtt_ms":1e400}]`, false},
		{`[{"rtt_ms":null}]`, false},
		{`[{"client":"x"},]`, false},
		{`[{"client":"x"}] x`, false},
		{`[{"client":"x"}`, false},
		{`{"client":"x"}`, false},
		{``, false},
	}
	for _, tc := range tests {
		var fast []RTTReport
		got := decodeReports([]byte(tc.body), &fast)
		if got != tc.fast {
			t.Errorf("%q: fast %v, want %v", tc.body, got, tc.fast)
		}
		var checked []RTTReport
		err := decodeChecked([]byte(tc.body), &checked)
		if got && (err != nil || !reflect.DeepEqual(fast, checked) && len(fast)+len(checked) > 0) {
			t.Errorf("%q: fast %+v, checked %+v (%v)", tc.body, fast, checked, err)
		}
	}
}

// FuzzDecodeReports: whatever the fast reading takes, the checked decoding reads the same.
func FuzzDecodeReports(f *testing.F) {
	f.Add([]byte(`[{"client":"192.0.2.0/24","edge":"fra1","rtt_ms":12.5},{"edge":"x","rtt_ms":-1e-9}]`))
	f.Add([]byte(`[ {"rtt_ms": 0.0} ]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast []RTTReport
		if !decodeReports(body, &fast) {
			return
		}
		var checked []RTTReport
		if err := decodeChecked(body, &checked); err != nil || !reflect.DeepEqual(fast, checked) && len(fast)+len(checked) > 0 {
			t.Fatalf("%q: fast %+v, checked %+v (%v)", body, fast, checked, err)
		}
	})
}
