// Package health is the contract between the plugin that probes edges (healthprobe) and the one
// that answers with the healthy ones (georoute): what to probe, what was found, and the
// interfaces each side implements. It has no CoreDNS types.
package health

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// Target is what to probe for one edge. A prober does not modify it.
type Target struct {
	ID     string
	Addrs  []netip.Addr // IPv4 then IPv6: checks that need the edge's address take the first
	Checks []check.Spec
	// Rule combines the checks: "" or "all", "any", or "N" (at least N up), as validated by the
	// config.
	Rule string
	// Override is an operator's word: "up" (forced), "down" (drained), else the checks decide.
	Override string
}

// State of a check or an edge.
type State uint8

// The states. A check is Unknown until its first result.
const (
	Unknown State = iota
	Up
	Down
)

var stateNames = [...]string{"unknown", "up", "down"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// MarshalText writes s as "unknown", "up" or "down".
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("invalid state %d", s)
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText reads "unknown", "up" or "down".
func (s *State) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if string(b) == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("%q is not a health state (unknown, up, down)", b)
}

// Status is what is known of one edge's health, as the API shows it.
type Status struct {
	State    State         `json:"state"`
	Reason   string        `json:"reason"`         // "2 of 2 checks up", "drained", ...
	Since    time.Time     `json:"since,omitzero"` // when State last changed
	Override string        `json:"override,omitempty"`
	Checks   []CheckStatus `json:"checks,omitempty"`
}

// CheckStatus is the state of one check of an edge and its latest result.
type CheckStatus struct {
	Check  string `json:"check"` // its index and type: "0:http"
	State  State  `json:"state"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"` // why the latest probe failed: "refused", "status", ...
	Detail string `json:"detail,omitempty"` // one line for a human
	// HTTPStatus is the status code of the latest response of an http(s) check (0: none).
	HTTPStatus int       `json:"http_status,omitempty"`
	At         time.Time `json:"at,omitzero"` // of the latest result; zero before the first
	Duration   string    `json:"duration,omitempty"`
}

// Source is what the answering side reads of health.
type Source interface {
	// Up reports whether edge id is up. It is read on every routed query and must not block.
	// An edge the source does not track is up; one whose checks have no result yet is not.
	Up(id string) bool
	// Status is what the source knows of edge id; false when it does not track it.
	Status(id string) (Status, bool)
	// ProbeRTT is the latest round trip from this appliance to edge id that a probe measured.
	ProbeRTT(id string) (rtt time.Duration, at time.Time, ok bool)
}

// Tracker is told which edges to probe.
type Tracker interface {
	// Track makes targets the set of edges to probe: checks of new edges start, changed checks
	// restart, checks of edges that are gone stop; unchanged checks keep their state.
	Track(targets []Target)
}

// Notifier is a Source that says when health changes.
type Notifier interface {
	// OnChange makes fn be called whenever an edge's state changes, after Status shows it. fn
	// must not block: it runs on the prober's goroutines.
	OnChange(fn func())
}

// Prober probes the edges it tracks and publishes their health.
type Prober interface {
	Source
	Tracker
}
