package georoute

import (
	"testing"

	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/healthprobe"
	"github.com/georoute/appliance/plugin/pkg/health"
)

// quorumProber is a real prober of edges "checkless" (no checks: up) and "never" (rule none:
// down), and nothing else.
func quorumProber(t testing.TB) *healthprobe.HealthProbe {
	p := healthprobe.New()
	p.Track([]health.Target{{ID: "checkless"}, {ID: "never", Rule: "none"}})
	t.Cleanup(p.Close)
	return p
}

// TestQuorumView: an override wins, then the nodes' verdict, then this node's prober.
func TestQuorumView(t *testing.T) {
	q := &quorumView{local: quorumProber(t), up: map[string]bool{"checkless": false, "never": true}}
	for _, tc := range []struct {
		edge    route.Edge
		up      bool
		because string
	}{
		{route.Edge{ID: "checkless"}, false, "the nodes see it down, this node up"},
		{route.Edge{ID: "never"}, true, "the nodes see it up, this node down"},
		{route.Edge{ID: "checkless", Override: "up"}, true, "forced up"},
		{route.Edge{ID: "never", Override: "down"}, false, "drained"},
		{route.Edge{ID: "untracked"}, true, "no verdict: the prober's (it does not track it: up)"},
	} {
		if got := q.Up(&tc.edge); got != tc.up {
			t.Errorf("%+v: up %v, want %v (%s)", tc.edge, got, tc.up, tc.because)
		}
	}
	alone := &quorumView{local: quorumProber(t)}
	if alone.Up(&route.Edge{ID: "never"}) || !alone.Up(&route.Edge{ID: "checkless"}) {
		t.Error("without verdicts this node's prober decides")
	}
}

// BenchmarkQuorumViewUp is what the query path pays for each edge it asks about: a verdict's
// map lookup, or that and the prober's.
func BenchmarkQuorumViewUp(b *testing.B) {
	q := &quorumView{local: quorumProber(b), up: map[string]bool{"checkless": false}}
	decided, undecided := &route.Edge{ID: "checkless"}, &route.Edge{ID: "never"}
	b.ReportAllocs()
	for b.Loop() {
		q.Up(decided)
		q.Up(undecided)
	}
}
