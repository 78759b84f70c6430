package georoute

import (
	"fmt"
	"slices"
	"time"

	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/georoute/appliance/plugin/georoute/catalog"
	"github.com/georoute/appliance/plugin/georoute/config"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/miekg/dns"
)

// baseOf is what the files give the catalog: the config, the zones' origins, and what the zone
// files hold at a name (Base.Static).
func (g *GeoRoute) baseOf(f *files) *catalog.Base {
	// What the zone files hold, by owner, read once: start-up asks it of every stored name.
	owners := map[string][]uint16{}
	for origin, z := range f.zones {
		owners[origin] = []uint16{dns.TypeSOA, dns.TypeNS}
		z.Tree.Walk(func(e *tree.Elem, rrs map[uint16][]dns.RR) error {
			types := owners[e.Name()]
			for t := range rrs {
				if !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
			slices.Sort(types)
			owners[e.Name()] = types
			return nil
		})
	}
	static := func(name string) (types []uint16, cut string) {
		if len(f.cuts) > 0 {
			for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
				suffix := name[off:]
				if _, ok := f.zones[suffix]; ok {
					break // the apex: no cut above it
				}
				if _, ok := f.cuts[suffix]; ok {
					cut = suffix // the highest cut is the one served
				}
			}
		}
		return owners[name], cut // shared: read only
	}
	return &catalog.Base{Config: f.cfg, ConfigPath: g.in.config, Zones: f.origins, Static: static}
}

// open loads everything at startup: the files, then the store in one read (zones, edges, pools
// and overrides first, then the names, bound against what the files and the store define
// together, then the RTT reports).
func (g *GeoRoute) open() error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	f, err := readFiles(g.in, nil)
	if err != nil {
		return err
	}
	base := g.baseOf(f)
	g.rtts.ReplaceFiles(f.csv)
	start := func(objs catalog.Objects, rev int64) error {
		if err := g.cat.Start(base, objs, rev); err != nil {
			return g.inConfig(err)
		}
		return g.publishView(catalog.Delta{New: g.cat.View(), Table: true, Edges: true, Zones: true}, f)
	}
	if g.storePath == "" {
		if err := start(catalog.NewObjects(), 0); err != nil {
			return err
		}
		g.compileMatrixNow()
		reloaded(true)
		return nil
	}
	db, err := g.openStore()
	if err != nil {
		return err
	}
	if err := g.loadStore(db, start); err != nil {
		db.Close()
		return err
	}
	g.db = db
	reloaded(true)
	return nil
}

// loadStore reads the store into the catalog (through start, once the objects names depend on
// are read) and the RTT store. A name whose edge or pool is gone (the config file changed while
// the server was down) is logged and not served; it stays in the store.
func (g *GeoRoute) loadStore(db store.Store, start func(catalog.Objects, int64) error) error {
	if n, err := db.Count(store.Names); err == nil && n > 0 {
		g.useNames(route.NewNamesSized(n + n/8))
	}
	rev, err := db.Rev()
	if err != nil {
		return err
	}
	objs, started, lost := catalog.NewObjects(), false, 0
	loaded, err := db.LoadAll(func(kind store.Kind, key string, v []byte) error {
		switch kind {
		case store.Names:
			if !started {
				if err := start(objs, rev); err != nil {
					return err
				}
				started = true
			}
			name := store.KeyName(key)
			spec, err := catalog.DecodeName(v)
			if err != nil {
				return fmt.Errorf("store: name %s: %v", name, err)
			}
			if err := g.cat.LoadName(name, spec); err != nil {
				if lost++; lost <= 10 {
					log.Errorf("name %s in the store is not served: %v", name, err)
				}
			}
		case store.RTT:
			if err := g.loadRTT(key, v); err != nil {
				return err
			}
		case store.Reach, store.Load:
			if err := g.applyReachLoad(store.Op{Kind: kind, Key: key, Value: v}); err != nil {
				return err
			}
		default:
			return catalog.LoadObject(&objs, kind, key, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if lost > 10 {
		log.Errorf("%d names in the store are not served", lost)
	}
	if !started {
		if err := start(objs, rev); err != nil {
			return err
		}
	}
	if loaded > rev {
		// Other nodes committed between the two reads (a shared store): what was loaded is the
		// state at loaded, one consistent read.
		if err := g.cat.Apply(loaded, nil, nil, func(d catalog.Delta) error { return g.publishView(d, nil) }); err != nil {
			return err
		}
	}
	appliedRevision.Set(float64(loaded))
	g.compileMatrixNow()
	g.publishReachLoad(time.Now()) // read after the names
	return nil
}

// Load reads the files again and publishes what they say with the store's objects laid over
// them. On error the previous state keeps serving.
func (g *GeoRoute) Load() error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	var prev *files
	if st := g.state.Load(); st != nil {
		prev = st.files
	}
	f, err := readFiles(g.in, prev)
	if err == nil && g.cat.View() == nil { // loaded without open, as tests do: no store
		g.rtts.ReplaceFiles(f.csv)
		if err = g.cat.Start(g.baseOf(f), catalog.NewObjects(), 0); err != nil {
			err = g.inConfig(err)
		} else if err = g.publishView(catalog.Delta{New: g.cat.View(), Table: true, Edges: true, Zones: true}, f); err == nil {
			g.compileMatrixNow()
		}
		reloaded(err == nil)
		return err
	}
	if err == nil {
		if err = g.cat.SetBase(g.baseOf(f), func(d catalog.Delta) error { return g.publishView(d, f) }); err != nil {
			err = g.inConfig(err)
		}
	}
	if err == nil {
		g.rtts.ReplaceFiles(f.csv)
		g.compileMatrixNow()
	}
	reloaded(err == nil)
	return err
}

// inConfig says which file a merged-config error is in.
func (g *GeoRoute) inConfig(err error) error {
	if g.in.config == "" {
		return err
	}
	return config.InFile(g.in.config, err)
}
