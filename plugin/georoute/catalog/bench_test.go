package catalog

import (
	"fmt"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// bigBase is a config of n edges and n/10 latency pools of 10 edges each.
func bigBase(n int) *Base {
	cfg := &model.Config{Edges: map[string]model.Edge{}, Pools: map[string]model.Pool{}}
	for i := 0; i < n; i++ {
		cfg.Edges[fmt.Sprintf("e%04d", i)] = model.Edge{Addresses: []string{fmt.Sprintf("192.0.%d.%d", i/250, i%250+1)}, Location: model.Location{Lat: ptr(float64(i%160) - 80), Lon: ptr(float64(i%360) - 180)}}
	}
	for p := 0; p < n/10; p++ {
		var edges []string
		for i := 0; i < 10; i++ {
			edges = append(edges, fmt.Sprintf("e%04d", p*10+i))
		}
		cfg.Pools[fmt.Sprintf("p%03d", p)] = model.Pool{Policy: "latency", Edges: edges}
	}
	cfg.Normalize()
	return &Base{Config: cfg, Zones: []string{"example.net."}}
}

// BenchmarkPrepareApply: what the committer spends (store aside) on one write of each kind,
// with 1,000 edges and 100 pools in the config.
func BenchmarkPrepareApply(b *testing.B) {
	for _, tc := range []struct {
		name   string
		change func(i int) *Change
	}{
		{"override", func(i int) *Change {
			return (&Change{}).SetOverride("e0001", [...]string{OverrideDown, OverrideAuto}[i%2])
		}},
		{"edge-address", func(i int) *Change {
			return (&Change{}).PutEdge("e0002", model.Edge{Addresses: []string{fmt.Sprintf("198.51.100.%d", i%200+1)}, Location: model.Location{Lat: ptr(1.0), Lon: ptr(2.0)}})
		}},
		{"pool", func(i int) *Change {
			return (&Change{}).PutPool("p001", model.Pool{Policy: "latency", Edges: []string{"e0010", "e0011"}, TTL: uint32(20 + i%2)})
		}},
		{"name", func(i int) *Change {
			return (&Change{}).PutName("example.net.", fmt.Sprintf("n%d.example.net.", i), model.Name{Edge: "e0003"}, "")
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := New(route.NewNames())
			if err := c.Start(bigBase(1000), NewObjects(), 0); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p, err := c.Prepare(tc.change(i), nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Apply(int64(i+1), p.Txn.Ops, p, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var _ = store.Names
