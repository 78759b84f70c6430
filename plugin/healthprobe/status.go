package healthprobe

import "time"

// EdgeStatus is what the prober knows of one edge, for the API and explain.
type EdgeStatus struct {
	State    string        `json:"state"` // up, down, unknown
	Reason   string        `json:"reason"`
	Since    time.Time     `json:"since"`
	Override string        `json:"override,omitempty"`
	RTT      time.Duration `json:"-"` // the latest round trip from this appliance to the edge
	RTTAt    time.Time     `json:"-"`
	Checks   []CheckStatus `json:"checks,omitempty"`
}

// CheckStatus is the state of one check and its latest result.
type CheckStatus struct {
	Check    string    `json:"check"` // "0:http"
	State    string    `json:"state"`
	OK       bool      `json:"ok"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at,omitempty"`
	Duration string    `json:"duration,omitempty"`
}

// Status returns what the prober knows of edge id; false when it does not track it.
func (h *HealthProbe) Status(id string) (EdgeStatus, bool) {
	er, ok := h.table.Load().edges[id]
	if !ok {
		return EdgeStatus{}, false
	}
	er.mu.Lock()
	defer er.mu.Unlock()
	st := EdgeStatus{State: er.State().String(), Reason: er.reason, Since: er.since, Override: er.override, RTT: er.rtt, RTTAt: er.rttAt}
	for _, r := range er.runners {
		cs := CheckStatus{Check: r.label, State: r.m.state.String()}
		if r.seen {
			cs.OK, cs.Reason, cs.Detail, cs.At, cs.Duration = r.last.OK, r.last.Reason, r.last.Detail, r.lastAt, r.last.Duration.String()
		}
		st.Checks = append(st.Checks, cs)
	}
	return st, true
}

// EdgeStatus is Status for callers that show it without knowing its type (the API).
func (h *HealthProbe) EdgeStatus(id string) (any, bool) {
	s, ok := h.Status(id)
	return s, ok
}

// ProbeRTT is the latest round trip from this appliance to edge id that a probe measured.
func (h *HealthProbe) ProbeRTT(id string) (time.Duration, time.Time, bool) {
	er, ok := h.table.Load().edges[id]
	if !ok {
		return 0, time.Time{}, false
	}
	er.mu.Lock()
	defer er.mu.Unlock()
	return er.rtt, er.rttAt, er.rtt > 0
}
