package healthprobe

import (
	"fmt"
	"strconv"

	"github.com/georoute/appliance/plugin/pkg/health"
)

// State of a check or an edge.
type State = health.State

// The states. A check is Unknown until its first result, which decides it directly; after that it
// changes only after rise passes in a row (to Up) or fall failures in a row (to Down).
const (
	Unknown = health.Unknown
	Up      = health.Up
	Down    = health.Down
)

// machine is the rise/fall state machine of one check.
type machine struct {
	state State
	run   int // results in a row that disagree with state
}

// observe folds one result in and reports whether the state changed.
func (m *machine) observe(ok bool, rise, fall int) bool {
	switch {
	case m.state == Unknown:
		m.state, m.run = Down, 0
		if ok {
			m.state = Up
		}
		return true
	case ok == (m.state == Up):
		m.run = 0
		return false
	}
	m.run++
	if (ok && m.run >= rise) || (!ok && m.run >= fall) {
		m.state, m.run = Down, 0
		if ok {
			m.state = Up
		}
		return true
	}
	return false
}

// rule says how many of an edge's checks must be up for the edge to be up.
type rule struct {
	any  bool
	none bool // down whatever the checks say
	min  int  // 0: all
}

func parseRule(s string) rule {
	switch s {
	case "", "all":
		return rule{}
	case "any":
		return rule{any: true}
	case "none":
		return rule{none: true}
	}
	n, _ := strconv.Atoi(s) // validated by the config
	return rule{min: n}
}

// edgeState combines an edge's check states under its rule and override, and says why.
func edgeState(states []State, r rule, override string) (State, string) {
	switch override {
	case "up":
		return Up, "forced up"
	case "down":
		return Down, "drained"
	}
	if r.none {
		return Down, "its health rule is none: down whatever its checks say"
	}
	if len(states) == 0 {
		return Up, "no checks"
	}
	up, unknown := 0, 0
	for _, s := range states {
		switch s {
		case Up:
			up++
		case Unknown:
			unknown++
		}
	}
	need := len(states)
	switch {
	case r.any:
		need = 1
	case r.min > 0:
		need = min(r.min, len(states))
	}
	if up >= need {
		return Up, fmt.Sprintf("%d of %d checks up", up, len(states))
	}
	if unknown > 0 && up+unknown >= need {
		return Unknown, fmt.Sprintf("%d of %d checks have no result yet", unknown, len(states))
	}
	return Down, fmt.Sprintf("%d of %d checks up, %d needed", up, len(states), need)
}
