package healthprobe

import (
	"time"

	"github.com/georoute/appliance/plugin/pkg/health"
)

// Status implements health.Source: what the prober knows of edge id, for the API and explain;
// false when it does not track it.
func (h *HealthProbe) Status(id string) (health.Status, bool) {
	er, ok := h.table.Load().edges[id]
	if !ok {
		return health.Status{}, false
	}
	er.mu.Lock()
	defer er.mu.Unlock()
	st := health.Status{State: er.State(), Reason: er.reason, Since: er.since, Override: er.override}
	for _, r := range er.runners {
		cs := health.CheckStatus{Check: r.label, State: r.m.state}
		if r.seen {
			cs.OK, cs.Reason, cs.Detail, cs.At, cs.Duration = r.last.OK, r.last.Reason, r.last.Detail, r.lastAt, r.last.Duration.String()
			cs.HTTPStatus = r.last.HTTPStatus
		}
		st.Checks = append(st.Checks, cs)
	}
	return st, true
}

// ProbeRTT implements health.Source: the latest round trip from this appliance to edge id that
// a probe measured.
func (h *HealthProbe) ProbeRTT(id string) (time.Duration, time.Time, bool) {
	er, ok := h.table.Load().edges[id]
	if !ok {
		return 0, time.Time{}, false
	}
	er.mu.Lock()
	defer er.mu.Unlock()
	return er.rtt, er.rttAt, er.rtt > 0
}
