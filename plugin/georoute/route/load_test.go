package route

import (
	"fmt"
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// loads is a Loads slice of tb's table with the given utilisations.
func loads(tb *fixture, by map[string]float64) []float64 {
	out := make([]float64, len(tb.Table.Slots))
	for id, l := range by {
		out[tb.Table.Edge(id).Index] = l
	}
	return out
}

// atlantic are clients from western Europe out over the Atlantic: fra1 is the nearest edge of
// all of them, and the further west, the less moving to iad1 costs them.
func atlantic() []Client {
	var cs []Client
	for i := range 12 {
		lon := 2 - float64(i)*3.5
		cs = append(cs, client(fmt.Sprintf("10.0.%d.1", i), 47, lon, 24))
	}
	return cs
}

// TestLoadShedding: above shed_at an edge sheds its clients that lose least by moving first;
// above full_at it takes none while another edge has room; below shed_at everything returns;
// a client's answer is the same from one query to the next.
func TestLoadShedding(t *testing.T) {
	tb := testTable(t, map[string]model.Pool{
		"web": {Policy: "latency", Edges: all4, Load: &model.Watermarks{ShedAt: 0.7, FullAt: 0.95}},
	})
	b := tb.Names.Get("web.example.net.")
	decide := func(c Client, l []float64, unreachable ...string) (string, *Trace) {
		var d Decision
		d.Trace = &Trace{}
		Decide(tb.Table, b, V4, &c, &Env{Loads: l, Unreachable: unreachable}, &d)
		return ids(&d), d.Trace
	}
	penalty := func(c Client) float64 {
		env := &Env{}
		f, _ := c.RTTTo(env, tb.Table.Edge("fra1"))
		i, _ := c.RTTTo(env, tb.Table.Edge("iad1"))
		return i - f
	}
	clients := atlantic()
	for _, c := range clients {
		if got, _ := decide(c, nil); got != "fra1" {
			t.Fatalf("%v unloaded: %s, want fra1 (the setting is wrong)", c.Addr, got)
		}
	}

	// fra1 at 90% with marks 70/95: a share of 0.8 sheds the clients that lose under 40 ms.
	at90 := loads(tb, map[string]float64{"fra1": 0.9})
	var shed, kept []float64
	for _, c := range clients {
		got, tr := decide(c, at90)
		for range 5 {
			if again, _ := decide(c, at90); again != got {
				t.Fatalf("%v: %s then %s: a client alternates between edges", c.Addr, got, again)
			}
		}
		switch got {
		case "iad1":
			shed = append(shed, penalty(c))
			ms := tr.Steps[0].Members
			if n := ms[len(ms)-1]; n.Name != "edge fra1" || n.Note != "shed" || n.Load == nil || *n.Load < 0.89 || ms[0].Name != "edge iad1" {
				t.Errorf("%v shed: trace %+v", c.Addr, tr.Steps[0].Members)
			}
		case "fra1":
			kept = append(kept, penalty(c))
		default:
			t.Errorf("%v: %s", c.Addr, got)
		}
	}
	if len(shed) == 0 || len(kept) == 0 {
		t.Fatalf("at 90%%: %d shed, %d kept: want some of each", len(shed), len(kept))
	}
	for _, s := range shed {
		for _, k := range kept {
			if s >= k {
				t.Errorf("a client losing %.1f ms was moved while one losing %.1f ms stayed", s, k)
			}
		}
		if s >= 0.8*model.DefaultPenaltyMillis {
			t.Errorf("a client losing %.1f ms moved at a share of 0.8 of %d ms", s, model.DefaultPenaltyMillis)
		}
	}
	t.Logf("fra1 at 90%%: %d of %d clients moved (penalties %v), %d stayed (%v)", len(shed), len(clients), shed, len(kept), kept)

	// More load, more shed; at the full mark nobody gets fra1; all full: fail open as before.
	prev := len(shed)
	at94 := loads(tb, map[string]float64{"fra1": 0.94})
	n := 0
	for _, c := range clients {
		if got, _ := decide(c, at94); got == "iad1" {
			n++
		}
	}
	if n < prev {
		t.Errorf("at 94%% %d moved, fewer than %d at 90%%", n, prev)
	}
	for _, c := range clients {
		if got, tr := decide(c, loads(tb, map[string]float64{"fra1": 0.96})); got != "iad1" || tr.Steps[0].Members[len(tr.Steps[0].Members)-1].Note != "full" {
			t.Errorf("fra1 full: %v gets %s (%+v)", c.Addr, got, tr.Steps[0].Members)
		}
		if got, _ := decide(c, loads(tb, map[string]float64{"fra1": 1, "iad1": 1, "sin1": 0.99, "syd1": 0.95})); got != "fra1" {
			t.Errorf("every edge full: %v gets %s, want fra1 as without loads", c.Addr, got)
		}
		if got, _ := decide(c, loads(tb, map[string]float64{"fra1": 0.7})); got != "fra1" {
			t.Errorf("fra1 at the low mark: %v gets %s", c.Addr, got)
		}
		// Both fra1 and iad1 loaded: the next in line takes the clients that lose least.
		if got, _ := decide(c, loads(tb, map[string]float64{"fra1": 0.96, "iad1": 0.96})); got == "fra1" || got == "iad1" {
			t.Errorf("fra1 and iad1 full: %v gets %s", c.Addr, got)
		}
	}

	// A network that cannot reach fra1 gets its next-best edge whatever fra1's health.
	c := clients[0]
	got, tr := decide(c, nil, "fra1")
	if got != "iad1" || !strings.Contains(tr.Steps[0].Members[len(tr.Steps[0].Members)-1].Note, "unreachable") {
		t.Errorf("fra1 unreachable: %s, trace %+v", got, tr.Steps[0].Members)
	}
	if got, _ := decide(c, nil, "fra1", "iad1", "sin1", "syd1"); got != "fra1" {
		t.Errorf("every edge unreachable: %s, want fail open (fra1)", got)
	}
}
