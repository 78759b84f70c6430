package health

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestStateText(t *testing.T) {
	for s, want := range map[State]string{Unknown: "unknown", Up: "up", Down: "down"} {
		b, err := s.MarshalText()
		if err != nil || string(b) != want || s.String() != want {
			t.Errorf("%d: %q %v, String %q; want %q", s, b, err, s, want)
		}
		var back State
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%q reads back as %v, %v", b, back, err)
		}
	}
	if _, err := State(7).MarshalText(); err == nil {
		t.Error("an invalid state marshals")
	}
	var s State
	if err := s.UnmarshalText([]byte("sideways")); err == nil {
		t.Error("an unknown state name reads")
	}
}

func TestStatusJSON(t *testing.T) {
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		st   Status
		want string
	}{
		{Status{State: Up, Reason: "no health checker"}, `{"state":"up","reason":"no health checker"}`},
		{Status{State: Down, Reason: "drained", Since: since, Override: "down"},
			`{"state":"down","reason":"drained","since":"2025-01-02T03:04:05Z","override":"down"}`},
		{Status{State: Down, Reason: "0 of 2 checks up, 2 needed", Since: since, Checks: []CheckStatus{
			{Check: "0:http", State: Down, Reason: "refused", Detail: "connection refused", At: since, Duration: "1ms"},
			{Check: "1:tcp", State: Unknown},
		}}, `{"state":"down","reason":"0 of 2 checks up, 2 needed","since":"2025-01-02T03:04:05Z","checks":[` +
			`{"check":"0:http","state":"down","ok":false,"reason":"refused","detail":"connection refused","at":"2025-01-02T03:04:05Z","duration":"1ms"},` +
			`{"check":"1:tcp","state":"unknown","ok":false}]}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.st)
		if err != nil || string(b) != tc.want {
			t.Errorf("%+v:\n got  %s %v\n want %s", tc.st, b, err, tc.want)
			continue
		}
		var back Status
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tc.st) {
			t.Errorf("%s reads back as %+v, %v", b, back, err)
		}
	}
}
