package georoute

import (
	"context"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/coredns/coredns/request"
	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/miekg/dns"
)

// Explain answers name/qtype for client exactly as a DNS query would be answered, by the same
// code (query.resolve), and says how: where the client is, which binding answered, every pool
// evaluated with each member's health and score, the answer, its TTL and ECS scope.
func (b backend) Explain(name, qtype, client string) (any, error) {
	t, ok := dns.StringToType[strings.ToUpper(qtype)]
	if !ok {
		return nil, api.Invalid("type", "%q is not a record type", qtype)
	}
	fqdn := dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return nil, api.Invalid("name", "%q is not a domain name", name)
	}
	addr, err := clientAddr(client)
	if err != nil {
		return nil, err
	}
	g := b.g
	st := g.state.Load()
	m := new(dns.Msg).SetQuestion(fqdn, t)
	q := &query{g: g, st: st, ctx: context.Background(), req: request.Request{Req: m, W: &explainWriter{addr: addr}},
		qtype: t, client: st.clientOf(addr), trace: &route.Trace{}}
	var res result
	if st.zoneOf(fqdn) == "" {
		res.rcode = dns.RcodeRefused
	} else {
		res = q.resolve(fqdn, fqdn)
	}
	out := map[string]any{
		"name": fqdn, "type": dns.TypeToString[t], "client": addr.String(),
		"network":         rtt.KeyOf(addr).String(),
		"client_location": location(q.client),
		"rcode":           dns.RcodeToString[res.rcode],
		"answer":          rrStrings(res.answer),
		"authority":       rrStrings(res.ns),
		"ecs_scope":       q.scope,
		"steps":           q.trace.Steps,
	}
	if z := st.zoneOf(fqdn); z != "" {
		out["zone"] = z
	}
	var city uint64
	if q.client.Geo.Loc != nil {
		city = q.client.Geo.Loc.CityID
	}
	if why := g.reachLoad.view.Load().Explain(addr, q.client.Geo.ASN, city); len(why) > 0 {
		out["unreachable"] = why // the edges this client is answered as if they were down, and why
	}
	if q.bound != nil {
		out["binding"] = map[string]any{"name": q.bound.Name, "spec": q.bound.Spec(), "source": q.bound.Source.String()}
	}
	if len(res.answer) > 0 {
		out["ttl"] = res.answer[len(res.answer)-1].Header().Ttl
	}
	if res.referral {
		out["referral"] = true
	}
	return out, nil
}

// clientAddr reads the client of explain and the RTT view.
func clientAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, api.Invalid("client", "give ?client=ADDRESS: the answer depends on who asks")
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, api.Invalid("client", "%q is not an IP address", s)
	}
	return a.Unmap(), nil
}

func location(c route.Client) any {
	g := c.Geo
	out := map[string]any{"network_bits": g.Bits}
	if g.ASN != 0 {
		out["asn"] = g.ASN
	}
	if l := g.Loc; l != nil {
		out["country"], out["continent"], out["city"] = l.Country, l.Continent, l.City
		if l.Subdivision != "" || l.SubdivisionName != "" {
			out["subdivision"] = strings.TrimSpace(l.Subdivision + " " + l.SubdivisionName)
		}
		if l.HasPoint {
			out["lat"], out["lon"] = l.Point.Lat, l.Point.Lon
		}
	} else {
		out["found"] = false
	}
	return out
}

func rrStrings(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	return out
}

// explainWriter stands for the client of an explained query; nothing is written to it.
type explainWriter struct {
	dns.ResponseWriter
	addr netip.Addr
}

func (w *explainWriter) RemoteAddr() net.Addr {
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(w.addr, 0))
}
func (w *explainWriter) LocalAddr() net.Addr         { return &net.UDPAddr{} }
func (w *explainWriter) WriteMsg(*dns.Msg) error     { return nil }
func (w *explainWriter) Write(b []byte) (int, error) { return len(b), nil }

// edgeRTT is one edge in the RTT view.
type edgeRTT struct {
	Edge       string         `json:"edge"`
	RTTMillis  *float64       `json:"rtt_ms"` // the figure routing uses; null when nothing is known
	Source     string         `json:"source"`
	Measured   *measuredRTT   `json:"measured,omitempty"`
	Estimate   *float64       `json:"estimate_ms,omitempty"`
	Neighbours []neighbourRTT `json:"neighbours,omitempty"`
	Probe      *probeRTT      `json:"probe_from_this_appliance,omitempty"`
}

type measuredRTT struct {
	Millis  float64   `json:"rtt_ms"`
	Samples uint32    `json:"samples"`
	Updated time.Time `json:"updated"`
	Origin  string    `json:"origin"`
	// Applied says whether the RTT matrix that answers holds it yet: a report is folded in at
	// the matrix's next refresh, within a second of its 202.
	Applied bool `json:"applied"`
}

// neighbourRTT is one measured network behind an estimate (rtt.NeighbourInfo, in snake_case).
type neighbourRTT struct {
	Label      string  `json:"label"`
	DistanceKm float64 `json:"distance_km"` // 0 for the same AS or city
	Millis     float64 `json:"rtt_ms"`      // measured
	Residual   float64 `json:"residual_ms"` // measured minus the distance model
	Weight     float64 `json:"weight"`      // share of the correction, 0..1
}

type probeRTT struct {
	Millis float64   `json:"rtt_ms"`
	At     time.Time `json:"at"`
}

// RTT shows what the matrix holds for a client, edge by edge: its own network's measurement,
// the estimate and the measured networks behind it, and this appliance's own probe of the edge.
func (b backend) RTT(client string) (any, error) {
	addr, err := clientAddr(client)
	if err != nil {
		return nil, err
	}
	st := b.g.state.Load()
	c := st.clientOf(addr)
	key := rtt.KeyOf(addr)
	row := st.matrix.Row(key)
	details := st.matrix.Detail(key)
	var edges []edgeRTT
	for _, e := range st.table.Edges {
		v := edgeRTT{Edge: e.ID}
		if row != nil && !math.IsNaN(float64(st.matrix.Measured(row, e.Index))) {
			for _, d := range details {
				if d.Edge == e.ID {
					v.Measured = &measuredRTT{Millis: d.Millis, Samples: d.Count, Updated: d.Updated, Origin: d.Origin.String(), Applied: true}
				}
			}
		}
		// A report accepted since the matrix was compiled: durable, not yet in the answers.
		if m, ok := b.g.rtts.Get(rtt.Client{Kind: rtt.Net, Net: key}, e.ID); ok && (v.Measured == nil || m.Updated.After(st.matrixAt)) {
			v.Measured = &measuredRTT{Millis: m.Millis, Samples: m.Count, Updated: m.Updated, Origin: m.Origin.String(), Applied: !m.Updated.After(st.matrixAt)}
		}
		if est, _, near := st.matrix.Explain(c.Info(), e.Index); !math.IsNaN(est) {
			v.Estimate = &est
			for _, n := range near {
				v.Neighbours = append(v.Neighbours, neighbourRTT{Label: n.Label, DistanceKm: n.DistanceKm, Millis: n.Millis, Residual: n.Residual, Weight: n.Weight})
			}
		}
		ms, used := c.RTTTo(&route.Env{RTT: st.matrix}, e)
		if !math.IsInf(ms, 1) {
			v.RTTMillis = &ms
		}
		v.Source = used.String()
		if p := b.g.prober; p != nil {
			if d, at, ok := p.ProbeRTT(e.ID); ok {
				v.Probe = &probeRTT{Millis: float64(d.Microseconds()) / 1000, At: at}
			}
		}
		edges = append(edges, v)
	}
	slices.SortStableFunc(edges, func(a, b edgeRTT) int {
		switch {
		case a.RTTMillis == nil && b.RTTMillis == nil:
			return 0
		case a.RTTMillis == nil:
			return 1
		case b.RTTMillis == nil:
			return -1
		case *a.RTTMillis < *b.RTTMillis:
			return -1
		case *a.RTTMillis > *b.RTTMillis:
			return 1
		}
		return 0
	})
	return map[string]any{"client": addr.String(), "network": key.String(), "client_location": location(c), "edges": edges,
		"matrix_compiled_at": st.matrixAt}, nil
}
