package route

import (
	"strings"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
)

func TestUnrouted(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{
		"eu":    {Policy: "latency", Edges: []string{"fra1", "lhr1"}, TTL: 20},
		"us":    {Policy: "latency", Edges: []string{"iad1", "sfo1"}},
		"world": {Policy: "geo", Rules: []model.Rule{{Continent: "EU", Members: []model.Member{{Pool: "eu"}}}, {Country: "US", Members: []model.Member{{Pool: "us"}, {Edge: "fra1"}}}, {Default: true, Members: []model.Member{{Edge: "sin1"}}}}},
		"none":  {Policy: "latency", Edges: []string{"fra1", "lhr1"}, WhenAllDown: "none"},
		"serv":  {Policy: "latency", Edges: []string{"fra1", "lhr1"}, WhenAllDown: "servfail"},
	})
	down := func(ids ...string) health {
		h := health{}
		for _, id := range ids {
			h[id] = true
		}
		return h
	}
	tests := []struct {
		name string
		b    *Binding
		fam  Family
		h    Health
		want string
		ttl  uint32
	}{
		{"every edge of a pool, in its order", tb.Names.Get("eu.example.net."), V4, nil, "fra1 lhr1", 20},
		{"IPv6 only where edges have it", tb.Names.Get("eu.example.net."), V6, nil, "fra1", 20},
		{"a down edge is left out", tb.Names.Get("eu.example.net."), V4, down("fra1"), "lhr1", 20},
		{"all down: fails open", tb.Names.Get("eu.example.net."), V4, down("fra1", "lhr1"), "fra1 lhr1", 20},
		{"all down, when_all_down none", tb.Names.Get("none.example.net."), V4, down("fra1", "lhr1"), "", tb.DefaultTTL},
		{"all down, when_all_down servfail", tb.Names.Get("serv.example.net."), V4, down("fra1", "lhr1"), "", tb.DefaultTTL},
		{"every rule and nested pool, each edge once", tb.Names.Get("world.example.net."), V4, nil, "fra1 lhr1 iad1 sfo1 sin1", tb.DefaultTTL},
		{"nested and ruled, health applied", tb.Names.Get("world.example.net."), V4, down("fra1", "sfo1"), "lhr1 iad1 sin1", tb.DefaultTTL},
		{"a pinned name answers its edge", &Binding{Name: "pin.example.net.", Edge: "sin1", TTL: 5}, V4, down("sin1"), "sin1", 5},
		{"a pinned edge without the family", &Binding{Name: "pin.example.net.", Edge: "sin1", TTL: 5}, V6, nil, "", 5},
		{"a pool that went away", &Binding{Name: "gone.example.net.", Pool: "gone"}, V4, nil, "", tb.DefaultTTL},
	}
	for _, tc := range tests {
		edges, ttl := Unrouted(tb.Table, tc.b, tc.fam, tc.h)
		var got []string
		for _, e := range edges {
			got = append(got, e.ID)
		}
		if strings.Join(got, " ") != tc.want || ttl != tc.ttl {
			t.Errorf("%s: [%s] ttl %d; want [%s] ttl %d", tc.name, strings.Join(got, " "), ttl, tc.want, tc.ttl)
		}
	}
}

func TestUnroutedDrained(t *testing.T) {
	tb := policyTable(t, map[string]model.Pool{"eu": {Policy: "latency", Edges: []string{"fra1", "lhr1"}}})
	tb.Edge("fra1").Override = "down" // an operator's drain counts whatever the checks say
	edges, _ := Unrouted(tb.Table, tb.Names.Get("eu.example.net."), V4, nil)
	if len(edges) != 1 || edges[0].ID != "lhr1" {
		t.Errorf("drained fra1: got %v, want lhr1 alone", edges)
	}
}
