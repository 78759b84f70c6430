package georoute

import (
	"strings"
	"sync"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	transfersTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "transfers_total",
		Help:      "Zone transfers served, by kind: axfr, ixfr (from the journal), ixfr_as_axfr (the journal did not reach back), uptodate.",
	}, []string{"kind"})
	notifiesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "notifies_total",
		Help:      "NOTIFY rounds sent for zones whose serial moved, by result: ok, or error when a secondary did not acknowledge it.",
	}, []string{"result"})
)

// setupTransfer serves zone transfers when the server block has the *transfer* plugin: from
// its startup on, changes are tracked for IXFR and NOTIFY goes to its secondaries.
func (g *GeoRoute) setupTransfer(c *caddy.Controller) {
	stop := make(chan struct{})
	var once sync.Once
	c.OnStartup(func() error {
		t, ok := dnsserver.GetConfig(c).Handler("transfer").(*transfer.Transfer)
		if !ok {
			return nil
		}
		g.startTransfers(t)
		go g.notifyLoop(stop)
		return nil
	})
	c.OnShutdown(func() error {
		once.Do(func() { close(stop) })
		return nil
	})
}

// startTransfers starts tracking changes for transfers by t.
func (g *GeoRoute) startTransfers(t *transfer.Transfer) {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	x, st := g.xfr, g.state.Load()
	x.xfer = t
	if st == nil {
		return
	}
	if g.db == nil {
		// No store numbers the changes: the serials of zones changed without one count the
		// clock (bumpUnnumbered), so a restart starts there too.
		rev := int64(time.Since(unnumberedEpoch) / time.Second)
		g.serials.start.Store(rev)
		for _, z := range st.zones {
			g.serials.bump(z, rev)
		}
	}
	x.files, x.zoneSet = st.files, strings.Join(st.view.Zones, " ")
	x.health = g.snapHealth(st.table)
	x.answers = unroutedAnswers(st.table, x.health)
	x.scanAliases(g, st)
	x.started = true
}

// notifyLoop checks for changes no transaction makes (health, files) and sends NOTIFY for the
// zones whose serial moved, every transferCheck, until stop is closed: at once for every zone
// at start, then at most once a check per zone, however many changes came in between.
func (g *GeoRoute) notifyLoop(stop <-chan struct{}) {
	t := time.NewTicker(transferCheck)
	defer t.Stop()
	for {
		g.writeMu.Lock()
		g.checkTransfers()
		zones := g.xfr.toNotify(g, g.state.Load())
		g.writeMu.Unlock()
		for _, zone := range zones {
			if err := g.xfr.xfer.Notify(zone); err != nil {
				notifiesTotal.WithLabelValues("error").Inc()
				log.Warningf("NOTIFY for %s: %v", zone, err)
				continue
			}
			notifiesTotal.WithLabelValues("ok").Inc()
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// toNotify lists the zones whose serial moved since they were last notified. g.writeMu is held.
func (x *transfers) toNotify(g *GeoRoute, st *state) []string {
	if !x.on() || st == nil {
		return nil
	}
	var out []string
	for zone := range st.zones {
		s := g.servedSerial(st, zone)
		if old, ok := x.notified[zone]; !ok || old != s {
			x.notified[zone] = s
			out = append(out, zone)
		}
	}
	return out
}
