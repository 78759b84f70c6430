package georoute

import (
	"slices"
	"strings"
	"time"

	"github.com/coredns/coredns/plugin/transfer"
	"github.com/georoute/appliance/plugin/georoute/journal"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
)

// Zone transfers follow every change of a zone's data, from wherever it comes:
//
//   - a name changed through the catalog (API, Route 53, UPDATE, another node): apply tells us
//     what the name's transferred records were and became (before, after), gathered per zone
//     into the diff that the journal keeps for IXFR once a transfer fixes the zone's serial;
//   - an edge, pool or health change: the transferred records of every routed name that uses
//     it change (checked when objects change, and every transferCheck for health), and the
//     zone is sent whole (AXFR) to a secondary that was behind;
//   - a file reload: the zones whose files (or the config file) changed likewise.
//
// The serial is the one queries are answered with (serial.go). What a secondary holds is the
// data of a serial fixed ("sealed") by a transfer: a change after it must move the serial, so
// when the serial has not moved since (a change the store does not number: health, files), it
// is moved here. Everything here runs under g.writeMu.

// Journal bounds: per zone, the diffs and records kept for IXFR.
const (
	journalDiffs   = 1000
	journalRecords = 100000
)

// transferCheck is how often health is checked for changes of transferred records, and how
// often NOTIFY is sent for zones whose serial moved (a debounce: at most one per zone per
// check).
var transferCheck = time.Second

// transfers is what zone transfers keep between transfers.
type transfers struct {
	xfer     *transfer.Transfer // nil without the transfer plugin: nothing is kept
	log      *journal.Journal
	sealed   map[string]uint32 // zone -> its serial when last transferred
	pending  map[string]*journal.Pending
	reset    map[string]bool     // zones changed in ways no diff says since sealed
	health   *healthSnap         // what routed names are transferred with
	answers  map[string]string   // unroutedAnswers with health, as of the last check
	files    *files              // the files as of the last check
	zoneSet  string              // the zones served, as of the last check
	aliases  map[string][]string // alias target -> the zones of the aliases to it
	notified map[string]uint32   // zone -> the serial last notified
	started  bool
}

func newTransfers() *transfers {
	return &transfers{log: journal.New(journalDiffs, journalRecords), sealed: map[string]uint32{}, pending: map[string]*journal.Pending{},
		reset: map[string]bool{}, notified: map[string]uint32{}}
}

// on reports whether zone transfers are served.
func (x *transfers) on() bool { return x != nil && x.xfer != nil && x.started }

// xfrNames is what one transaction changes of the names transfers hold: each name, its zone
// and its transferred records before the transaction.
type xfrNames struct {
	names   []string
	zones   []string
	old     [][]dns.RR
	objects bool // the transaction changes zones, edges, pools or overrides
	zoneSet bool
}

// beforeApply is called before a committed transaction is applied to memory.
func (g *GeoRoute) beforeApply(ops []store.Op) *xfrNames {
	x := g.xfr
	if !x.on() {
		return nil
	}
	st := g.state.Load()
	c := &xfrNames{}
	for _, op := range ops {
		switch op.Kind {
		case store.Names:
			name := store.KeyName(op.Key)
			zone := st.zoneOf(name)
			var old []dns.RR
			if b := g.names.Get(name); b != nil && zone != "" && !st.atOrBelowCut(name, zone) {
				old = g.transferRRs(st, b, x.health)
			}
			c.names, c.zones, c.old = append(c.names, name), append(c.zones, zone), append(c.old, old)
		case store.RTT:
		case store.Zones:
			c.objects, c.zoneSet = true, true
		default:
			c.objects = true
		}
	}
	return c
}

// afterApply is called once the transaction beforeApply saw is applied.
func (g *GeoRoute) afterApply(c *xfrNames) {
	x := g.xfr
	if c == nil || !x.on() {
		return
	}
	st := g.state.Load()
	if c.zoneSet {
		x.changeAll(g, st)
	}
	for i, name := range c.names {
		zone := st.zoneOf(name)
		var now []dns.RR
		if b := g.names.Get(name); b != nil && zone != "" && !st.atOrBelowCut(name, zone) {
			now = g.transferRRs(st, b, x.health)
		}
		if zone != c.zones[i] {
			x.changed(g, st, c.zones[i])
			x.changed(g, st, zone)
			continue
		}
		if zone == "" {
			continue
		}
		x.trackAliases(g, name, zone)
		x.nameChanged(g, st, zone, name, c.old[i], now)
	}
	if c.objects {
		answers := unroutedAnswers(st.table, x.health)
		x.routedChanged(g, st, changedKeys(x.answers, answers))
		x.answers = answers
	}
}

// nameChanged records that name in zone was transferred as old and is now transferred as now.
func (x *transfers) nameChanged(g *GeoRoute, st *state, zone, name string, old, now []dns.RR) {
	aliased := x.aliases[name]
	_, sealed := x.sealed[zone]
	if !sealed && len(aliased) == 0 || len(old) == 0 && len(now) == 0 {
		return // no secondary has the zone yet: its first transfer is whole
	}
	p := x.pending[zone]
	if !sealed || x.reset[zone] {
		p = journal.NewPending() // the zone goes whole: only whether it changed counts
	} else if p == nil {
		p = journal.NewPending()
		x.pending[zone] = p
	}
	if !p.Change(old, now) {
		return
	}
	switch {
	case !sealed:
	case p.Len() > journalRecords:
		x.changed(g, st, zone)
	default:
		x.moved(g, st, zone)
	}
	for _, z := range aliased {
		x.changed(g, st, z)
	}
}

// changed marks zone as changed in a way no diff says: a secondary behind gets it whole.
func (x *transfers) changed(g *GeoRoute, st *state, zone string) {
	if zone == "" || st.zones[zone] == nil {
		return
	}
	x.reset[zone] = true
	delete(x.pending, zone)
	x.moved(g, st, zone)
}

// changeAll marks every zone served as changed.
func (x *transfers) changeAll(g *GeoRoute, st *state) {
	for zone := range st.zones {
		x.changed(g, st, zone)
	}
}

// moved makes sure zone's serial is not the one a secondary may hold with other data: one a
// transfer fixed is moved forward.
func (x *transfers) moved(g *GeoRoute, st *state, zone string) {
	sealed, ok := x.sealed[zone]
	if !ok || g.servedSerial(st, zone) != sealed {
		return
	}
	g.bumpUnnumbered(st, zone)
}

// servedSerial is the serial zone is served with now.
func (g *GeoRoute) servedSerial(st *state, zone string) uint32 {
	z := st.zones[zone]
	if zs := g.serials.of(z); zs != nil {
		return zs.soa.Serial
	}
	return z.Apex.SOA.Serial
}

// servedSOA is the SOA zone is served with now.
func (g *GeoRoute) servedSOAOf(st *state, zone string) *dns.SOA {
	z := st.zones[zone]
	if zs := g.serials.of(z); zs != nil {
		return zs.soa
	}
	return z.Apex.SOA
}

// unnumberedEpoch is where the revisions counted for changes without a store start.
var unnumberedEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// bumpUnnumbered moves zone's serial for a change the store does not number (health, a file):
// it counts one revision more than the zone's latest change, at least the store's current one.
// The next commit that changes the zone then finds its revision taken and is moved once more
// (moved). Without a store, revisions are seconds since 2020, so that a restart, which starts
// from the clock (startTransfers), never serves a serial lower than before.
func (g *GeoRoute) bumpUnnumbered(st *state, zone string) {
	z := st.zones[zone]
	zs := g.serials.of(z)
	if zs == nil {
		return // signed offline: its serial is its own
	}
	rev := max(zs.rev+1, st.view.Rev)
	if g.db == nil {
		rev = max(rev, int64(time.Since(unnumberedEpoch)/time.Second))
	}
	g.serials.bump(z, rev)
}

// routedChanged marks the zones whose routed names use the pools and edges in keys (keys of
// unroutedAnswers) as changed, and those with aliases to such names.
func (x *transfers) routedChanged(g *GeoRoute, st *state, keys map[string]bool) {
	if len(keys) == 0 {
		return
	}
	used := keys["ttl"]
	for k := range keys {
		kind, id, _ := strings.Cut(k, ":")
		if id != "" && g.names.Uses(kind, id) > 0 {
			used = true
		}
	}
	if !used {
		return
	}
	zones := map[string]bool{}
	g.names.Range(func(b *route.Binding) bool {
		if b.Routed() && (keys["pool:"+b.Pool] || keys["edge:"+b.Edge] || keys["ttl"]) {
			zones[st.zoneOf(b.Name)] = true
			for _, z := range x.aliases[b.Name] {
				zones[z] = true
			}
		}
		return true
	})
	for zone := range zones {
		x.changed(g, st, zone)
	}
}

// trackAliases keeps x.aliases up to date for name, a name of zone that changed.
func (x *transfers) trackAliases(g *GeoRoute, name, zone string) {
	b := g.names.Get(name)
	if b == nil || b.Extra == nil || len(b.Extra.Aliases) == 0 {
		return
	}
	for _, a := range b.Extra.Aliases {
		t := dns.CanonicalName(a.Target)
		if !slices.Contains(x.aliases[t], zone) {
			x.aliases[t] = append(x.aliases[t], zone)
		}
	}
}

// scanAliases finds every alias served.
func (x *transfers) scanAliases(g *GeoRoute, st *state) {
	x.aliases = map[string][]string{}
	g.names.Range(func(b *route.Binding) bool {
		if b.Extra != nil && len(b.Extra.Aliases) > 0 {
			x.trackAliases(g, b.Name, st.zoneOf(b.Name))
		}
		return true
	})
}

// check looks for changes of transferred records that no transaction made: health, and the
// files reloaded. g.writeMu is held.
func (g *GeoRoute) checkTransfers() {
	x, st := g.xfr, g.state.Load()
	if !x.on() || st == nil {
		return
	}
	if st.files != x.files {
		x.filesChanged(g, st)
		x.files = st.files
		x.scanAliases(g, st)
	}
	if set := strings.Join(st.view.Zones, " "); set != x.zoneSet {
		x.changeAll(g, st)
		x.zoneSet = set
	}
	h := g.snapHealth(st.table)
	answers := unroutedAnswers(st.table, h)
	x.routedChanged(g, st, changedKeys(x.answers, answers))
	x.health, x.answers = h, answers
}

// filesChanged marks the zones whose data the files reload changed: those whose zone file
// changed, every zone when the config file did (its names), and the zones made at run time
// when any zone file did (they take their SOA timers and NS from the first).
func (x *transfers) filesChanged(g *GeoRoute, st *state) {
	old := x.files
	if old == nil || g.in.config != "" && old.stamps[g.in.config] != st.files.stamps[g.in.config] {
		x.changeAll(g, st)
		return
	}
	anyFile := false
	for origin, z := range st.files.zones {
		oz := old.zones[origin]
		if oz == nil || oz.File() != z.File() || old.stamps[z.File()] != st.files.stamps[z.File()] {
			x.changed(g, st, origin)
			anyFile = true
		}
	}
	for origin := range old.zones {
		if st.files.zones[origin] == nil {
			anyFile = true
		}
	}
	if anyFile {
		for zone := range st.zones {
			if st.files.zones[zone] == nil {
				x.changed(g, st, zone)
			}
		}
	}
}

// seal fixes zone's serial for a transfer: the changes since the serial last fixed become the
// journal's diff between the two, and the serial is returned. g.writeMu is held.
func (x *transfers) seal(g *GeoRoute, st *state, zone string) uint32 {
	serial := g.servedSerial(st, zone)
	old, ok := x.sealed[zone]
	p := x.pending[zone]
	changed := x.reset[zone] || p != nil && p.Len() > 0
	if ok && serial == old && changed {
		g.bumpUnnumbered(st, zone) // changed under the serial (nothing moved it): move it now
		serial = g.servedSerial(st, zone)
	}
	switch {
	case !ok || x.reset[zone] || serial == old && changed:
		// No diff says what changed (or the serial cannot move: signed offline).
		x.log.Reset(zone)
	case serial != old:
		d := journal.Diff{From: old, To: serial}
		if p != nil {
			d = p.Diff(old, serial)
		}
		x.log.Append(zone, d)
	}
	x.sealed[zone] = serial
	delete(x.pending, zone)
	delete(x.reset, zone)
	return serial
}
