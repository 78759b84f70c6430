package georoute

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/coredns/coredns/plugin/file"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/miekg/dns"
)

// state is everything the query path reads, published as a whole: the files, the catalog's
// view (edges, pools, zones) with its table, the zones' DNS data and the RTT matrix. Names are
// not in it: they live in the catalog's index, shared from state to state.
type state struct {
	*files
	view     *catalog.View
	table    *route.Table
	zones    map[string]*file.Zone // the zone files' and those created at run time
	negSOA   map[*file.Zone][]dns.RR
	matrix   *rtt.Matrix
	rttGen   uint64    // the RTT store's generation the matrix was compiled from
	matrixAt time.Time // when: a measurement updated since is not in it yet
	counters *counterCache
}

// zoneOf returns the origin of the zone that holds name (lower case, fully qualified), or "".
// It walks name's labels from the left, so the first origin found is the longest.
func (st *state) zoneOf(name string) string {
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if _, ok := st.zones[name[off:]]; ok {
			return name[off:]
		}
	}
	if _, ok := st.zones["."]; ok {
		return "."
	}
	return ""
}

// zoneTemplate is what a zone created at run time starts with: the appliance's own name servers
// and SOA. Unset parts come from the first zone file.
type zoneTemplate struct {
	nameservers []string
	hostmaster  string
}

// zoneData is the DNS data of every zone v serves: a zone file's as read, a zone created at run
// time's from the template. prev lends the zones it already built.
func zoneData(f *files, v *catalog.View, t zoneTemplate, prev *state) (map[string]*file.Zone, map[*file.Zone][]dns.RR, error) {
	zones := maps.Clone(f.zones)
	neg := maps.Clone(f.negSOA)
	for _, origin := range v.Zones {
		if _, ok := zones[origin]; ok {
			continue
		}
		var z *file.Zone
		if prev != nil && prev.files == f {
			z = prev.zones[origin]
		}
		if z == nil {
			var err error
			if z, err = templateZone(origin, f, t); err != nil {
				return nil, nil, err
			}
		}
		zones[origin] = z
		neg[z] = negativeSOA(z)
	}
	return zones, neg, nil
}

// templateZone builds the SOA and NS of a zone created at run time.
func templateZone(origin string, f *files, t zoneTemplate) (*file.Zone, error) {
	ns, mbox := t.nameservers, t.hostmaster
	soa := &dns.SOA{Refresh: 7200, Retry: 3600, Expire: 1209600, Minttl: 300, Hdr: dns.RR_Header{Ttl: 3600}}
	if len(f.origins) > 0 {
		first := f.zones[f.origins[0]]
		if s := first.Apex.SOA; s != nil {
			soa.Refresh, soa.Retry, soa.Expire, soa.Minttl, soa.Hdr.Ttl = s.Refresh, s.Retry, s.Expire, s.Minttl, s.Hdr.Ttl
			if mbox == "" {
				mbox = s.Mbox
			}
		}
		if len(ns) == 0 {
			for _, rr := range first.Apex.NS {
				ns = append(ns, rr.(*dns.NS).Ns)
			}
		}
	}
	if len(ns) == 0 {
		return nil, fmt.Errorf("zone %s: no name servers to put in it: set 'nameservers' in the georoute block", origin)
	}
	if mbox == "" {
		mbox = "hostmaster." + origin
	}
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n@ %d IN SOA %s %s %d %d %d %d %d\n", origin, soa.Hdr.Ttl, ns[0], dns.Fqdn(mbox),
		uint32(time.Now().Unix()), soa.Refresh, soa.Retry, soa.Expire, soa.Minttl)
	for _, n := range ns {
		fmt.Fprintf(&b, "@ %d IN NS %s\n", soa.Hdr.Ttl, dns.Fqdn(n))
	}
	z, err := file.Parse(strings.NewReader(b.String()), origin, "zone template", 0)
	if err != nil {
		return nil, fmt.Errorf("zone %s: %v", origin, err)
	}
	z.Upstream = upstream{}
	return z, nil
}
