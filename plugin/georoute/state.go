package georoute

import (
	"errors"
	"fmt"
	"io/fs"
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

// state is everything the query path reads, built from the files and published as a whole.
type state struct {
	zones    map[string]*file.Zone
	origins  []string            // zone origins, longest first
	cuts     map[string]struct{} // delegation points below an apex
	table    *route.Table
	matrix   *rtt.Matrix
	geo      *geoip.DB
	stamps   map[string]stamp
	built    time.Time
	counters *counterCache
}

// zoneOf returns the origin of the zone that holds name (lower case, fully qualified), or "".
// It walks name's labels from the left, so the first origin found is the longest.
func (s *state) zoneOf(name string) string {
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if _, ok := s.zones[name[off:]]; ok {
			return name[off:]
		}
	}
	if _, ok := s.zones["."]; ok {
		return "."
	}
	return ""
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

// inputs are the files a state is built from, as the Corefile names them.
type inputs struct {
	zones  []string // zone files or folders of them
	config string
	geoip  []string
	asn    []string
}

// missingGeoIPHint tells a user where a GeoIP database comes from.
const missingGeoIPHint = "get DB-IP City Lite (CC BY 4.0) with scripts/fetch-geoip, or point 'geoip' at a MaxMind GeoIP2/GeoLite2 City .mmdb"

// build reads every input and compiles a new state. prev, when not nil, lends what has not
// changed (the GeoIP databases) and the RTT store.
func build(in inputs, store *rtt.Store, prev *state) (*state, error) {
	st := &state{zones: make(map[string]*file.Zone), cuts: make(map[string]struct{}), stamps: make(map[string]stamp), built: time.Now()}

	files, err := zoneFiles(in.zones)
	if err != nil {
		return nil, err
	}
	for _, zf := range files {
		z, err := parseZone(zf.path, zf.origin)
		if err != nil {
			return nil, err
		}
		st.zones[zf.origin] = z
		st.origins = append(st.origins, zf.origin)
		st.stamps[zf.path] = stampOf(zf.path)
		for c := range delegations(z) {
			st.cuts[c] = struct{}{}
		}
	}
	for _, p := range in.zones {
		st.stamps[p] = stampOf(p) // a folder's time changes when a zone file is added or removed
	}
	sort.Slice(st.origins, func(i, j int) bool { return len(st.origins[i]) > len(st.origins[j]) })

	geoFiles := append(append([]string{}, in.geoip...), in.asn...)
	reuse := prev != nil && prev.geo != nil
	for _, p := range geoFiles {
		s := stampOf(p)
		st.stamps[p] = s
		reuse = reuse && prev.stamps[p] == s
	}
	switch {
	case len(geoFiles) == 0:
	case reuse:
		st.geo = prev.geo
	default:
		st.geo, err = geoip.Open(geoip.Options{City: in.geoip, ASN: in.asn})
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, geoip.ErrUnknownSchema) {
				return nil, fmt.Errorf("%v: %s", err, missingGeoIPHint)
			}
			return nil, fmt.Errorf("%v: the file is not a usable MaxMind DB; %s", err, missingGeoIPHint)
		}
	}

	cfg := &model.Config{}
	if in.config != "" {
		st.stamps[in.config] = stampOf(in.config)
		if cfg, err = config.Load(in.config); err != nil {
			return nil, err
		}
	}
	origins := append([]string{}, st.origins...)
	sort.Strings(origins)
	if st.table, err = route.Compile(cfg, origins); err != nil {
		if in.config != "" {
			return nil, fmt.Errorf("%s: %w", in.config, err)
		}
		return nil, err
	}

	var ms []rtt.Measurement
	for _, p := range cfg.RTT.Files {
		st.stamps[p] = stampOf(p)
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("rtt file: %v", err)
		}
		read, err := rtt.ReadCSV(f, p, st.built)
		f.Close()
		if err != nil {
			return nil, err
		}
		ms = append(ms, read...)
	}
	store.ReplaceFiles(ms)
	st.matrix = compileMatrix(st, store, cfg.RTT)
	return st, nil
}

// compileMatrix compiles the store against the state's edges, placing networks with its GeoIP.
func compileMatrix(st *state, store *rtt.Store, o model.RTT) *rtt.Matrix {
	all, _ := store.Snapshot()
	maxAge := o.MaxAge.D()
	if maxAge == 0 {
		maxAge = 24 * time.Hour
	}
	m, skipped := rtt.Compile(all, st.table.EdgeInfos(), st.locate, rtt.Options{MaxAge: maxAge, Neighbours: o.Neighbours})
	if skipped > 0 {
		log.Warningf("RTT matrix: %d measurements name edges that are not configured; they are kept but unused", skipped)
	}
	return m
}

// locate places an address for the RTT matrix.
func (s *state) locate(a netip.Addr) rtt.Site {
	if s.geo == nil {
		return rtt.Site{}
	}
	r := s.geo.Lookup(a)
	site := rtt.Site{ASN: r.ASN}
	if r.Loc != nil {
		site.Point, site.HasPoint, site.CityID = r.Loc.Point, r.Loc.HasPoint, r.Loc.CityID
	}
	return site
}

// changed reports whether any input of s changed since it was built.
func (s *state) changed() bool {
	for p, old := range s.stamps {
		if stampOf(p) != old {
			return true
		}
	}
	return false
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
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("zone file: %v", err)
	}
	defer f.Close()
	z, err := file.Parse(f, origin, path, 0)
	if err != nil {
		return nil, fmt.Errorf("zone %s: %v", strings.TrimSuffix(origin, "."), err)
	}
	z.Upstream = upstream{} // CNAME targets the file lacks: routed names and our other zones
	if len(z.Apex.NS) == 0 {
		return nil, fmt.Errorf("zone %s: file %s has no NS records at the apex", strings.TrimSuffix(origin, "."), path)
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
