package quorum

import (
	"maps"
	"testing"

	"github.com/georoute/appliance/plugin/pkg/health"
)

func TestDown(t *testing.T) {
	for _, tc := range []struct {
		name            string
		up, down, need  int
		isDown, decided bool
	}{
		{"nobody votes", 0, 0, 0, false, false},
		{"nobody votes, quorum 2", 0, 0, 2, false, false},
		{"one of three down: majority", 2, 1, 0, false, true},
		{"two of three down: majority", 1, 2, 0, true, true},
		{"three of three down", 0, 3, 0, true, true},
		{"a tie is up", 1, 1, 0, false, true},
		{"alone and down", 0, 1, 0, true, true},
		{"alone and up", 1, 0, 0, false, true},
		{"quorum 1: any node down drains", 4, 1, 1, true, true},
		{"quorum 2: one down of five", 4, 1, 2, false, true},
		{"quorum 2: two down of five", 3, 2, 2, true, true},
		{"quorum 3: two down of three", 1, 2, 3, false, true},
		{"quorum 3 but two vote, both down", 0, 2, 3, true, true},
		{"quorum 3 but two vote, one down", 1, 1, 3, false, true},
		{"quorum 2, one votes down", 0, 1, 2, true, true},
		{"majority of five: three down", 2, 3, 0, true, true},
		{"majority of four: two down", 2, 2, 0, false, true},
	} {
		isDown, decided := Down(tc.up, tc.down, tc.need)
		if isDown != tc.isDown || decided != tc.decided {
			t.Errorf("%s: Down(%d, %d, %d) = %v, %v; want %v, %v", tc.name, tc.up, tc.down, tc.need, isDown, decided, tc.isDown, tc.decided)
		}
	}
}

func TestBoard(t *testing.T) {
	b := NewBoard()
	if !b.Set("fra1", "n2", health.Down) || b.Set("fra1", "n2", health.Down) {
		t.Error("Set reports a change only when the vote changes")
	}
	if !b.Set("fra1", "n2", health.Up) {
		t.Error("a vote from down to up is a change")
	}
	b.Set("fra1", "n3", health.Down)
	b.Set("iad1", "n3", health.Down)
	if b.Set("sin1", "n2", health.Unknown) {
		t.Error("an unknown vote on a target without votes changes nothing")
	}

	local := map[string]health.State{"fra1": health.Down, "iad1": health.Up, "sin1": health.Down}
	for _, tc := range []struct {
		name  string
		local map[string]health.State
		need  int
		want  map[string]bool
	}{
		// fra1: n2 up, n3 down; iad1: n3 down. sin1 has no other votes: left to this node.
		{"majority with this node's votes", local, 0, map[string]bool{"fra1": false, "iad1": true}},
		{"majority, this node has no result yet", map[string]health.State{}, 0, map[string]bool{"fra1": true, "iad1": false}},
		{"quorum 1", local, 1, map[string]bool{"fra1": false, "iad1": false}},
		{"quorum 3", local, 3, map[string]bool{"fra1": true, "iad1": true}},
	} {
		got := b.Verdicts(func(target string) health.State { return tc.local[target] }, tc.need)
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: verdicts %v, want %v", tc.name, got, tc.want)
		}
	}

	if !b.Remove("iad1", "n3") || b.Remove("iad1", "n3") {
		t.Error("Remove reports whether there was a vote")
	}
	if _, ok := b.Verdicts(func(string) health.State { return health.Up }, 0)["iad1"]; ok {
		t.Error("a target without other nodes' votes has a verdict")
	}
	// fra1: n2 up alone now.
	if !b.Set("fra1", "n3", health.Unknown) || !maps.Equal(b.Verdicts(func(string) health.State { return health.Unknown }, 0), map[string]bool{"fra1": true}) {
		t.Error("an unknown vote removes the node's vote")
	}
	if !b.Reset() || b.Reset() || len(b.Verdicts(func(string) health.State { return health.Down }, 0)) != 0 {
		t.Error("Reset forgets every vote")
	}
}
