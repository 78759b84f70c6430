package georoute

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/georoute/appliance/plugin/georoute/api/route53"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
)

// route53Backend is Route 53's API adapter over the catalog: hosted zones are the catalog's
// zones, simple record sets are the static records of its names (kept as RRSetKind ops, so that
// a batch is one Change) and, read-only, the zone files' records.
type route53Backend struct {
	g *GeoRoute

	mu       sync.Mutex
	fileSets map[*file.Zone][]route53.RecordSet // a zone's DNS data as record sets, in Route 53's order
}

var _ route53.Backend = (*route53Backend)(nil)

func newRoute53Backend(g *GeoRoute) *route53Backend {
	return &route53Backend{g: g, fileSets: map[*file.Zone][]route53.RecordSet{}}
}

func (b *route53Backend) zoneOf(st *state, origin string) (route53.Zone, bool) {
	served, inFile := st.view.Zone(origin)
	if !served {
		return route53.Zone{}, false
	}
	z := route53.Zone{Origin: origin, Spec: st.view.Stored.Zones[origin], InFile: inFile}
	if fz := st.zones[origin]; fz != nil {
		for _, rr := range fz.Apex.NS {
			z.NameServers = append(z.NameServers, rr.(*dns.NS).Ns)
		}
	}
	return z, true
}

func (b *route53Backend) Zones() []route53.Zone {
	st := b.g.state.Load()
	out := make([]route53.Zone, 0, len(st.view.Zones))
	for _, origin := range st.view.Zones {
		z, _ := b.zoneOf(st, origin)
		out = append(out, z)
	}
	return out
}

func (b *route53Backend) Zone(origin string) (route53.Zone, bool) {
	return b.zoneOf(b.g.state.Load(), origin)
}

func (b *route53Backend) Rev() int64 { return b.g.syncedRev() } // INSYNC: every live node has it

func (b *route53Backend) CreateZone(origin string, spec model.Zone) (int64, error) {
	ch := (&catalog.Change{}).PutZone(origin, spec)
	ch.Ops[0].IfAbsent = true // two creates of one zone: the second is refused, not an update
	rev, _, err := b.g.writeAt(ch)
	return rev, zoneError(err, origin, false)
}

func (b *route53Backend) UpdateZone(origin string, spec model.Zone) (int64, error) {
	ch := (&catalog.Change{}).PutZone(origin, spec)
	ch.Ops[0].IfPresent = true // deleted meanwhile: not created again
	rev, _, err := b.g.writeAt(ch)
	return rev, zoneError(err, origin, false)
}

func (b *route53Backend) DeleteZone(origin string) (int64, error) {
	rev, _, err := b.g.writeAt((&catalog.Change{}).DeleteZone(origin))
	return rev, zoneError(err, origin, true)
}

// zoneError maps a catalog error of a zone op to Route 53's.
func zoneError(err error, origin string, deleting bool) error {
	var ce *catalog.Error
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Code == catalog.CodeExists:
		return route53.HostedZoneAlreadyExists("The hosted zone %s already exists.", origin)
	case ce.Code == catalog.CodeRefUsed:
		return route53.HostedZoneAlreadyExists("A hosted zone has already been created with the specified caller reference: %s", ce.Message)
	case ce.Code == catalog.CodeInUse && deleting:
		return route53.HostedZoneNotEmpty()
	case ce.Code == catalog.CodeInUse:
		return route53.ConflictingDomainExists("%s", ce.Message)
	case ce.Code == catalog.CodeChanged:
		return route53.PriorRequestNotComplete()
	case ce.Kind == catalog.NotFound:
		return route53.NoSuchHostedZone("No hosted zone %s: %s", origin, ce.Message)
	case ce.Kind == catalog.Unavailable:
		return route53.ServiceUnavailable("%s", ce.Message)
	}
	return route53.InvalidInput("%s", ce.Message)
}

// ChangeRecordSets makes the batch one catalog Change: simple record sets of names without
// routing record sets are record set ops (CREATE must find no record set, DELETE exactly the one
// it names, UPSERT replaces whatever is there); names with routing record sets or aliases are
// changed as a whole (route53_sets.go), conditional on being as read: if another write changed
// one meanwhile, the batch is made again from what it holds now.
func (b *route53Backend) ChangeRecordSets(origin string, changes []route53.Change) (int64, error) {
	for attempt := 0; ; attempt++ {
		read := b.g.cat.View().Rev
		ch, err := b.batch(origin, changes)
		if err != nil {
			return 0, err
		}
		rev, _, err := b.g.writeAt(ch)
		var ce *catalog.Error
		if errors.As(err, &ce) && ce.Code == catalog.CodeChanged && attempt < maxBatchAttempts {
			// Another write changed a name first: each round one of the writers racing for a
			// name wins, so read again once this node has applied what won.
			for deadline := time.Now().Add(50 * time.Millisecond); b.g.cat.View().Rev == read && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		return rev, changeError(err)
	}
}

// maxBatchAttempts bounds how often a batch is made again because names it reads changed.
const maxBatchAttempts = 64

func (b *route53Backend) batch(origin string, changes []route53.Change) (*catalog.Change, error) {
	st := b.g.state.Load()
	_, inFile := st.view.Zone(origin)
	ch := &catalog.Change{}
	whole := b.wholeNames(changes)
	for i, c := range changes {
		if inFile {
			if why := fileConflict(st, st.zones[origin], origin, c); why != "" {
				return nil, &route53.ChangeError{Index: i, Reason: route53.Refused, Detail: why}
			}
		}
		if e := whole[c.Name]; e != nil {
			if err := e.apply(i, c, origin); err != nil {
				return nil, err
			}
			continue
		}
		records := make([]model.Record, len(c.Values))
		for j, v := range c.Values {
			records[j] = model.Record{Type: c.Type, TTL: c.TTL, Value: absolute(c.Name, c.Type, v)}
		}
		field := "changes[" + strconv.Itoa(i) + "]"
		switch c.Action {
		case "CREATE":
			ch.PutRRSet(origin, c.Name, c.Type, records, field)
			ch.Ops[len(ch.Ops)-1].IfAbsent = true
		case "UPSERT":
			ch.PutRRSet(origin, c.Name, c.Type, records, field)
		case "DELETE":
			ch.DeleteRRSet(origin, c.Name, c.Type, field)
			ch.Ops[len(ch.Ops)-1].IfEquals = records
		}
	}
	if len(whole) > 0 {
		l := b.setLookup(st.view)
		names := slices.Collect(maps.Keys(whole))
		slices.Sort(names)
		for _, name := range names {
			if err := whole[name].ops(ch, st.view, origin, l); err != nil {
				return nil, err
			}
		}
	}
	return ch, nil
}

// absolute writes a value with the names it holds fully qualified: Route 53 reads
// "mail.example.com" in a value as absolute, where a zone file (and the native API) reads it
// relative to the zone.
func absolute(name, typ, value string) string {
	switch typ {
	case "CNAME", "MX", "NS", "PTR", "SRV", "HTTPS", "SVCB":
	default:
		return value
	}
	rr, err := dns.NewRR(name + " 300 IN " + typ + " " + value)
	if err != nil || rr == nil {
		return value // the catalog says what is wrong with it
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

// fileConflict says why the zone file of origin (z) forbids change c, or "".
func fileConflict(st *state, z *file.Zone, origin string, c route53.Change) string {
	for off, end := 0, false; !end; off, end = dns.NextLabel(c.Name, off) {
		if _, cut := st.cuts[c.Name[off:]]; cut && !(off == 0 && c.Type == "NS") {
			return "it is at or below " + c.Name[off:] + ", which the zone file delegates: it would not be answered"
		}
	}
	e, ok := z.Tree.Search(c.Name)
	if !ok {
		return ""
	}
	t := dns.StringToType[c.Type]
	switch {
	case len(e.Type(t)) > 0:
		return "it is defined by the zone file of " + origin + ": change it there"
	case len(e.Type(dns.TypeCNAME)) > 0:
		return "the zone file of " + origin + " holds a CNAME at the name, which must be its only record"
	case t == dns.TypeCNAME && !e.Empty():
		return "the zone file of " + origin + " holds other records at the name, and a CNAME must be its only record"
	}
	return ""
}

// changeError maps a catalog error of a batch to the change it is about.
func changeError(err error) error {
	var ce *catalog.Error
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Code == catalog.CodeChanged:
		return route53.PriorRequestNotComplete()
	case ce.Kind == catalog.Unavailable:
		return route53.ServiceUnavailable("%s", ce.Message)
	}
	i, ok := changeIndex(ce.Field)
	if !ok {
		return route53.InvalidInput("%s", ce.Error())
	}
	e := &route53.ChangeError{Index: i, Reason: route53.Refused, Detail: ce.Message}
	switch {
	case ce.Code == catalog.CodeRRSetExists:
		e.Reason = route53.Exists
	case ce.Code == catalog.CodeNoRRSet:
		e.Reason = route53.NotFound
	case ce.Code == catalog.CodeRRSetDiffer:
		e.Reason = route53.Mismatch
	case ce.Code == model.CodeForbidden:
		e.Reason = route53.OutsideZone
	case ce.Kind == catalog.Invalid:
		e.Reason = route53.InvalidRecord
	}
	return e
}

// changeIndex reads the index of the change a field path starts with: changes[3].records[0] is 3.
func changeIndex(field string) (int, bool) {
	rest, ok := strings.CutPrefix(field, "changes[")
	if !ok {
		return 0, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, false
	}
	i, err := strconv.Atoi(rest[:end])
	return i, err == nil
}

// rrsetKey orders record sets as Route 53 does: names with their labels reversed, then types,
// then set identifiers.
func rrsetKey(s route53.RecordSet) string {
	return store.NameKey(s.Name) + " " + s.Type + " " + s.Ident()
}

func compareSets(a, b route53.RecordSet) int {
	return cmp.Or(strings.Compare(store.NameKey(a.Name), store.NameKey(b.Name)), strings.Compare(a.Type, b.Type),
		strings.Compare(a.Ident(), b.Ident()))
}

// zoneSets returns the record sets of z's DNS data (a zone file's, or the SOA and NS of a zone
// created at run time), sorted; the signatures of a signed zone are left out, as Route 53 does.
func (b *route53Backend) zoneSets(z *file.Zone) []route53.RecordSet {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sets, ok := b.fileSets[z]; ok {
		return sets
	}
	var sets []route53.RecordSet
	add := func(rrs []dns.RR) {
		if len(rrs) == 0 {
			return
		}
		s := route53.RecordSet{Name: strings.ToLower(rrs[0].Header().Name), Type: dns.TypeToString[rrs[0].Header().Rrtype], TTL: rrs[0].Header().Ttl}
		for _, rr := range rrs {
			s.Values = append(s.Values, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		sets = append(sets, s)
	}
	if z.Apex.SOA != nil {
		add([]dns.RR{z.Apex.SOA})
	}
	add(z.Apex.NS)
	z.Tree.Walk(func(_ *tree.Elem, rrs map[uint16][]dns.RR) error {
		for t, set := range rrs {
			switch t {
			case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
				continue
			}
			add(set)
		}
		return nil
	})
	slices.SortFunc(sets, compareSets)
	if len(b.fileSets) > 4*len(b.g.state.Load().zones)+16 {
		clear(b.fileSets) // zones read again by a reload: forget the old ones
	}
	b.fileSets[z] = sets
	return sets
}

// bindingSets returns a name's binding as record sets: its routing record sets and aliases as
// written, its static records, and the addresses of the edge a pinned name follows. A name
// bound to a pool through the native API answers each client by its decision: it has no one
// record set to list, so only its other records are.
func bindingSets(t *route.Table, bd *route.Binding) []route53.RecordSet {
	var out []route53.RecordSet
	switch {
	case bd.Extra != nil:
		return extraSets(bd)
	case bd.Pool != "":
		for _, rrs := range bd.Records {
			out = append(out, recordSetOf(bd.Name, rrs))
		}
		slices.SortFunc(out, compareSets)
		return out
	case bd.Edge != "":
		e := t.Edge(bd.Edge)
		if e == nil {
			return nil
		}
		for _, f := range []struct {
			typ  string
			fam  route.Family
			addr int
		}{{"A", route.V4, len(e.V4)}, {"AAAA", route.V6, len(e.V6)}} {
			if f.addr == 0 {
				continue
			}
			s := route53.RecordSet{Name: bd.Name, Type: f.typ, TTL: t.TTLOf(bd)}
			for _, a := range e.Addrs(f.fam) {
				s.Values = append(s.Values, a.String())
			}
			out = append(out, s)
		}
	}
	for _, rrs := range bd.Records {
		out = append(out, recordSetOf(bd.Name, rrs))
	}
	slices.SortFunc(out, compareSets)
	return out
}

// recordSetOf is one type's records of a name as a simple record set.
func recordSetOf(name string, rrs []dns.RR) route53.RecordSet {
	s := route53.RecordSet{Name: name, Type: dns.TypeToString[rrs[0].Header().Rrtype], TTL: rrs[0].Header().Ttl}
	for _, rr := range rrs {
		s.Values = append(s.Values, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	return s
}

// names calls fn with the binding of every name of zone origin in key order (labels reversed),
// from the first at or after from: the store's and the config file's, merged, until fn returns
// false.
func (b *route53Backend) names(st *state, origin, from string, fn func(*route.Binding) bool) error {
	prefix := store.NameKey(origin)
	if origin == "." {
		prefix = ""
	}
	start := ""
	if from != "" {
		start = store.NameKey(from)
	}
	var cfgKeys []string
	for name := range st.view.Base.Config.Names {
		if k := store.NameKey(name); strings.HasPrefix(k, prefix) && k >= start {
			cfgKeys = append(cfgKeys, k)
		}
	}
	slices.Sort(cfgKeys)
	visit := func(k string) bool {
		name := store.KeyName(k)
		if st.view.ZoneOf(name) != origin {
			return true // a name of a zone below this one
		}
		if bd := b.g.names.Get(name); bd != nil {
			return fn(bd)
		}
		return true
	}
	more := true
	if db := b.g.db; db != nil {
		err := db.Scan(store.Names, prefix, start, func(k string, _ []byte) bool {
			for len(cfgKeys) > 0 && cfgKeys[0] < k {
				if more = visit(cfgKeys[0]); !more {
					return false
				}
				cfgKeys = cfgKeys[1:]
			}
			if len(cfgKeys) > 0 && cfgKeys[0] == k {
				cfgKeys = cfgKeys[1:] // the store's binding of the name is the one served
			}
			more = visit(k)
			return more
		})
		if err != nil {
			return err
		}
	}
	for _, k := range cfgKeys {
		if !more || !visit(k) {
			break
		}
	}
	return nil
}

// RecordSets merges the zone data's record sets with the names' (a name's records answer before
// the zone file's of the same type, so they are the ones listed).
func (b *route53Backend) RecordSets(origin, name, typ, ident string, limit int) ([]route53.RecordSet, error) {
	st := b.g.state.Load()
	from := route53.RecordSet{Name: name, Type: typ}
	if ident != "" {
		from.Set = &model.RecordSet{SetIdentifier: ident}
	}
	atOrAfter := func(s route53.RecordSet) bool { return name == "" || compareSets(s, from) >= 0 }
	var bound []route53.RecordSet
	err := b.names(st, origin, name, func(bd *route.Binding) bool {
		for _, s := range bindingSets(st.table, bd) {
			if atOrAfter(s) {
				bound = append(bound, s)
			}
		}
		return len(bound) < limit
	})
	if err != nil {
		return nil, err
	}
	var fromFile []route53.RecordSet
	if z := st.zones[origin]; z != nil {
		sets := b.zoneSets(z)
		i := 0
		if name != "" {
			i, _ = slices.BinarySearchFunc(sets, from, compareSets)
		}
		for _, s := range sets[i:] {
			if len(fromFile) == limit {
				break
			}
			if st.zoneOf(s.Name) == origin {
				fromFile = append(fromFile, s)
			}
		}
	}
	out := make([]route53.RecordSet, 0, min(limit, len(bound)+len(fromFile)))
	for len(out) < limit && (len(bound) > 0 || len(fromFile) > 0) {
		switch {
		case len(fromFile) == 0:
			out, bound = append(out, bound[0]), bound[1:]
		case len(bound) == 0:
			out, fromFile = append(out, fromFile[0]), fromFile[1:]
		default:
			switch c := compareSets(bound[0], fromFile[0]); {
			case c < 0:
				out, bound = append(out, bound[0]), bound[1:]
			case c > 0:
				out, fromFile = append(out, fromFile[0]), fromFile[1:]
			default:
				out, bound, fromFile = append(out, bound[0]), bound[1:], fromFile[1:]
			}
		}
	}
	return out, nil
}

// RecordSetCount counts the zone's record sets: its DNS data's and its names'.
func (b *route53Backend) RecordSetCount(origin string) int {
	st := b.g.state.Load()
	seen := map[string]bool{}
	if z := st.zones[origin]; z != nil {
		for _, s := range b.zoneSets(z) {
			if st.zoneOf(s.Name) == origin {
				seen[rrsetKey(s)] = true
			}
		}
	}
	n := len(seen)
	b.names(st, origin, "", func(bd *route.Binding) bool {
		for _, s := range bindingSets(st.table, bd) {
			if !seen[rrsetKey(s)] {
				n++
			}
		}
		return true
	})
	return n
}
