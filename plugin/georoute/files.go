package georoute

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/georoute/appliance/plugin/georoute/config"
	"github.com/georoute/appliance/plugin/georoute/geoip"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/miekg/dns"
)

// files is what the files say: zones, the config file, RTT files and GeoIP databases. Read at
// start and again whenever one of them changes.
type files struct {
	zones   map[string]*file.Zone
	origins []string            // zone origins, sorted
	cuts    map[string]struct{} // delegation points below an apex
	negSOA  map[*file.Zone][]dns.RR
	geo     *geoip.DB
	cfg     *model.Config // decoded and normalized; validated merged with the API's objects
	csv     []rtt.Measurement
	stamps  map[string]stamp
	read    time.Time
}

// stamp is what changes when a file changes.
type stamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{size: -1}
	}
	return stamp{size: fi.Size(), mod: fi.ModTime()}
}

// changed reports whether any file changed since f was read.
func (f *files) changed() bool {
	for p, old := range f.stamps {
		if stampOf(p) != old {
			return true
		}
	}
	return false
}

// inputs are the files the Corefile names.
type inputs struct {
	zones  []string // zone files or folders of them
	config string
	geoip  []string
	asn    []string
}

// missingGeoIPHint tells a user where a GeoIP database comes from.
const missingGeoIPHint = "get DB-IP City Lite (CC BY 4.0) with scripts/fetch-geoip, or point 'geoip' at a MaxMind GeoIP2/GeoLite2 City .mmdb"

// readFiles reads every input. prev, when not nil, lends the GeoIP databases if they did not change.
func readFiles(in inputs, prev *files) (*files, error) {
	f := &files{zones: make(map[string]*file.Zone), cuts: make(map[string]struct{}), negSOA: make(map[*file.Zone][]dns.RR), stamps: make(map[string]stamp), read: time.Now()}
	zfs, err := zoneFiles(in.zones)
	if err != nil {
		return nil, err
	}
	for _, zf := range zfs {
		z, err := parseZone(zf.path, zf.origin)
		if err != nil {
			return nil, err
		}
		f.zones[zf.origin] = z
		f.negSOA[z] = negativeSOA(z)
		f.origins = append(f.origins, zf.origin)
		f.stamps[zf.path] = stampOf(zf.path)
		maps.Copy(f.cuts, delegations(z))
	}
	for _, p := range in.zones {
		f.stamps[p] = stampOf(p) // a folder's time changes when a zone file is added or removed
	}
	sort.Strings(f.origins)

	geoFiles := append(append([]string{}, in.geoip...), in.asn...)
	reuse := prev != nil && prev.geo != nil
	for _, p := range geoFiles {
		s := stampOf(p)
		f.stamps[p] = s
		reuse = reuse && prev.stamps[p] == s
	}
	switch {
	case len(geoFiles) == 0:
	case reuse:
		f.geo = prev.geo
	default:
		f.geo, err = geoip.Open(geoip.Options{City: in.geoip, ASN: in.asn})
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, geoip.ErrUnknownSchema) {
				return nil, fmt.Errorf("%v: %s", err, missingGeoIPHint)
			}
			return nil, fmt.Errorf("%v: the file is not a usable MaxMind DB; %s", err, missingGeoIPHint)
		}
	}

	f.cfg = &model.Config{}
	if in.config != "" {
		f.stamps[in.config] = stampOf(in.config)
		if f.cfg, err = config.Decode(in.config); err != nil {
			return nil, err
		}
	}
	for _, p := range f.cfg.RTT.Files {
		f.stamps[p] = stampOf(p)
		fh, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("rtt file: %v", err)
		}
		read, err := rtt.ReadCSV(fh, p, f.read)
		fh.Close()
		if err != nil {
			return nil, err
		}
		f.csv = append(f.csv, read...)
	}
	return f, nil
}

// locate places an address for the RTT matrix.
func (f *files) locate(a netip.Addr) rtt.Site {
	if f.geo == nil {
		return rtt.Site{}
	}
	r := f.geo.Lookup(a)
	site := rtt.Site{ASN: r.ASN}
	if r.Loc != nil {
		site.Point, site.HasPoint, site.CityID = r.Loc.Point, r.Loc.HasPoint, r.Loc.CityID
	}
	return site
}

// compileMatrix compiles the RTT store against the table's edges, placing networks with f's GeoIP.
func compileMatrix(f *files, t *route.Table, store *rtt.Store) *rtt.Matrix {
	m, skipped := rtt.CompileStore(store, t.EdgeInfos(), f.locate, rtt.Options{MaxAge: rttMaxAge(f), Neighbours: f.cfg.RTT.Neighbours, EstimateEvery: estimateEvery})
	if skipped > 0 {
		log.Debugf("RTT matrix: %d measurements name edges that are not configured; they are kept but unused", skipped)
	}
	return m
}

type zoneFile struct{ path, origin string }

// zoneFiles finds the zone files among paths: a file named ORIGIN.zone (or db.ORIGIN), or every
// such file in a folder.
func zoneFiles(paths []string) ([]zoneFile, error) {
	var out []zoneFile
	seen := map[string]string{}
	add := func(path string, explicit bool) error {
		origin, ok := originOf(filepath.Base(path))
		if !ok {
			if explicit {
				return fmt.Errorf("zone file %s: cannot tell its origin from its name; name it ORIGIN.zone (example.net.zone)", path)
			}
			return nil
		}
		if _, ok := dns.IsDomainName(origin); !ok {
			return fmt.Errorf("zone file %s: %q is not a domain name", path, origin)
		}
		if other, dup := seen[origin]; dup {
			return fmt.Errorf("zone %s has two files: %s and %s", origin, other, path)
		}
		seen[origin] = path
		out = append(out, zoneFile{path, origin})
		return nil
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("zones: %v", err)
		}
		if !fi.IsDir() {
			if err := add(p, true); err != nil {
				return nil, err
			}
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("zones: %v", err)
		}
		n := len(out)
		for _, e := range entries {
			if e.Type().IsRegular() {
				if err := add(filepath.Join(p, e.Name()), false); err != nil {
					return nil, err
				}
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("zones: no zone files (ORIGIN.zone) in %s", p)
		}
	}
	return out, nil
}

func originOf(base string) (string, bool) {
	if o, ok := strings.CutSuffix(base, ".zone"); ok && o != "" {
		return dns.CanonicalName(o), true
	}
	if o, ok := strings.CutPrefix(base, "db."); ok && o != "" {
		return dns.CanonicalName(o), true
	}
	return "", false
}

// parseZone reads one zone file with CoreDNS's own zone parser.
func parseZone(path, origin string) (*file.Zone, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("zone file: %v", err)
	}
	defer fh.Close()
	z, err := file.Parse(fh, origin, path, 0)
	if err != nil {
		return nil, fmt.Errorf("zone %s: %v", strings.TrimSuffix(origin, "."), err)
	}
	z.Upstream = upstream{} // CNAME targets the file lacks: routed names and our other zones
	if len(z.Apex.NS) == 0 {
		return nil, fmt.Errorf("zone %s: file %s has no NS records at the apex", strings.TrimSuffix(origin, "."), path)
	}
	// The parser takes some values that do not pack (a DS digest that is not hex): a reply
	// holding one could not be sent at all. Every record is packed once here.
	buf := make([]byte, dns.MaxMsgSize)
	bad := z.Tree.Walk(func(_ *tree.Elem, rrs map[uint16][]dns.RR) error {
		for _, set := range rrs {
			for _, rr := range set {
				if _, err := dns.PackRR(rr, buf, 0, nil, false); err != nil {
					return fmt.Errorf("zone %s: file %s: %s does not pack, so no reply holding it could be sent: %v", strings.TrimSuffix(origin, "."), path, rr, err)
				}
			}
		}
		return nil
	})
	if bad != nil {
		return nil, bad
	}
	return z, nil
}

// delegations returns the names below the apex of z that hold NS records: zone cuts.
func delegations(z *file.Zone) map[string]struct{} {
	cuts := map[string]struct{}{}
	z.Tree.Walk(func(e *tree.Elem, rrs map[uint16][]dns.RR) error {
		if len(rrs[dns.TypeNS]) > 0 {
			cuts[e.Name()] = struct{}{}
		}
		return nil
	})
	return cuts
}
