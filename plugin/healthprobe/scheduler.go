package healthprobe

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// runner runs one check on its own schedule: at most one probe in flight, first probe within a
// second of starting, then every interval at a random phase so checks spread evenly in time.
type runner struct {
	edge   *edgeRun
	index  int
	label  string // the check label of metrics: "0:http"
	c      *check.Compiled
	ctx    context.Context
	cancel context.CancelFunc

	// guarded by edge.mu
	m       machine
	last    Result
	lastAt  time.Time
	initial bool // part of the first Track: readiness waits for it
	seen    bool // has a result
}

func newRunner(er *edgeRun, i int, c *check.Compiled) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &runner{edge: er, index: i, label: strconv.Itoa(i) + ":" + c.Type, c: c, ctx: ctx, cancel: cancel}
}

// firstWithin bounds how long a new check waits for its first probe.
const firstWithin = time.Second

func (r *runner) run(h *HealthProbe) {
	interval := r.c.Interval
	start := time.Now()
	next := start.Add(rand.N(min(interval, firstWithin)))
	phase := rand.N(interval) // where in each interval later probes fall
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-timer.C:
		}
		lag := time.Since(next)
		scheduleLag.Observe(lag.Seconds())
		if h.onLag != nil {
			h.onLag(lag)
		}
		h.record(r, Probe(r.ctx, r.c))

		// The next slot on this check's phase that is still ahead: a probe that ran long skips
		// the slots it missed rather than bunching up.
		now := time.Now()
		next = start.Add(phase)
		if !next.After(now) {
			next = next.Add((now.Sub(next)/interval + 1) * interval)
		}
		timer.Reset(next.Sub(now))
	}
}
