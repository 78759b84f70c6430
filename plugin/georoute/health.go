package georoute

import (
	"net/netip"

	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/pkg/health"
)

// healthOf is a health.Source as the decision reads it.
type healthOf struct{ s health.Source }

func (h healthOf) Up(e *route.Edge) bool { return h.s.Up(e.ID) }

// noChecker is the health the API shows of an edge when nothing probes it.
var noChecker = health.Status{State: health.Up, Reason: "no health checker"}

// targets is what the prober needs to know of edges.
func targets(edges []*route.Edge) []health.Target {
	out := make([]health.Target, len(edges))
	for i, e := range edges {
		out[i] = health.Target{
			ID:       e.ID,
			Addrs:    append(append(make([]netip.Addr, 0, len(e.V4)+len(e.V6)), e.V4...), e.V6...),
			Checks:   e.Spec.Checks,
			Rule:     e.Spec.HealthRule,
			Override: e.Override,
		}
	}
	return out
}
