package healthprobe

import (
	"strings"
	"testing"
)

func TestMachine(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		results    string // p = pass, f = fail
		want       string // state after each result: u = up, d = down
	}{
		{"first pass decides", 2, 3, "p", "u"},
		{"first fail decides", 2, 3, "f", "d"},
		{"fall after 3 failures", 2, 3, "pfff", "uuud"},
		{"a pass resets the run", 2, 3, "pffpfff", "uuuuuud"},
		{"rise after 2 passes", 2, 3, "fpp", "ddu"},
		{"flapping never moves", 2, 2, "pfpfpfpfpf", "uuuuuuuuuu"},
		{"flapping from down never moves", 2, 2, "fpfpfpfp", "dddddddd"},
		{"rise 1 fall 1 follows every result", 1, 1, "pfpf", "udud"},
	}
	for _, tc := range tests {
		var m machine
		var got strings.Builder
		for _, r := range tc.results {
			m.observe(r == 'p', tc.rise, tc.fall)
			got.WriteByte(m.state.String()[0])
		}
		if got.String() != tc.want {
			t.Errorf("%s: states %s, want %s", tc.name, got.String(), tc.want)
		}
	}
}

func TestEdgeState(t *testing.T) {
	U, D, X := Up, Down, Unknown
	tests := []struct {
		name     string
		states   []State
		rule     string
		override string
		want     State
	}{
		{"no checks", nil, "", "", U},
		{"all up", []State{U, U}, "all", "", U},
		{"all, one down", []State{U, D}, "", "", D},
		{"any, one up", []State{D, U}, "any", "", U},
		{"any, none up", []State{D, D}, "any", "", D},
		{"at least 2 of 3", []State{U, D, U}, "2", "", U},
		{"at least 2 of 3, one up", []State{U, D, D}, "2", "", D},
		{"unknown could still make it", []State{U, X}, "", "", X},
		{"unknown cannot save it", []State{D, X}, "", "", D},
		{"drained", []State{U, U}, "", "down", D},
		{"forced up", []State{D, D}, "", "up", U},
		{"auto", []State{D}, "", "auto", D},
		{"none, all up", []State{U, U}, "none", "", D},
		{"none, no checks", nil, "none", "", D},
		{"none, forced up", nil, "none", "up", U},
	}
	for _, tc := range tests {
		got, why := edgeState(tc.states, parseRule(tc.rule), tc.override)
		if got != tc.want || why == "" {
			t.Errorf("%s: %v (%q), want %v", tc.name, got, why, tc.want)
		}
	}
}
