package georoute

import (
	"path/filepath"
	"sync"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
)

func init() { plugin.Register(pluginName, setup) }

// defaultReload is how often the files are checked for changes.
const defaultReload = 2 * time.Second

func setup(c *caddy.Controller) error {
	g, every, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// Load now: a bad zone, config or database stops the server from starting.
	if err := g.Load(); err != nil {
		return plugin.Error(pluginName, err)
	}
	stop := make(chan struct{})
	var once sync.Once
	c.OnStartup(func() error {
		if p, ok := dnsserver.GetConfig(c).Handler("healthprobe").(Prober); ok {
			g.attach(p)
		}
		if every > 0 {
			go g.watch(every, stop)
		}
		return nil
	})
	c.OnShutdown(func() error {
		once.Do(func() { close(stop) })
		return nil
	})
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		g.Next = next
		return g
	})
	return nil
}

func parse(c *caddy.Controller) (*GeoRoute, time.Duration, error) {
	var in inputs
	every := defaultReload
	g := newGeoRoute(in)
	root := dnsserver.GetConfig(c).Root
	abs := func(p string) string {
		if root != "" && !filepath.IsAbs(p) {
			return filepath.Join(root, p)
		}
		return p
	}
	for i := 0; c.Next(); i++ {
		if i > 0 {
			return nil, 0, plugin.ErrOnce
		}
		if args := c.RemainingArgs(); len(args) > 0 {
			return nil, 0, c.Errf("georoute takes no arguments, its settings go in its block: got %v", args)
		}
		for c.NextBlock() {
			switch prop := c.Val(); prop {
			case "zones", "geoip", "asn":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, 0, c.Errf("%s needs at least one file", prop)
				}
				for _, a := range args {
					switch prop {
					case "zones":
						in.zones = append(in.zones, abs(a))
					case "geoip":
						in.geoip = append(in.geoip, abs(a))
					case "asn":
						in.asn = append(in.asn, abs(a))
					}
				}
			case "config":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, 0, c.Errf("config takes one file, got %d", len(args))
				}
				in.config = abs(args[0])
			case "reload":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, 0, c.ArgErr()
				}
				d, err := time.ParseDuration(args[0])
				if err != nil || d < 0 {
					return nil, 0, c.Errf("reload %q is not a duration of 0 (off) or more", args[0])
				}
				if d > 0 && d < 100*time.Millisecond {
					return nil, 0, c.Errf("reload %s is too often; use 100ms or more, or 0 to turn it off", d)
				}
				every = d
			case "fallthrough":
				g.Fall.SetZonesFromArgs(c.RemainingArgs())
			default:
				return nil, 0, c.Errf("unknown property '%s'", prop)
			}
		}
	}
	if len(in.zones) == 0 {
		return nil, 0, c.Err("georoute needs 'zones' (zone files or a folder of ORIGIN.zone files)")
	}
	g.in = in
	return g, every, nil
}

// watch reloads the state when one of its files changes, until stop is closed. A change that
// does not load is logged once and the previous state keeps serving.
func (g *GeoRoute) watch(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	var failed map[string]stamp
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		st := g.state.Load()
		if st == nil || !st.changed() {
			continue
		}
		now := make(map[string]stamp, len(st.stamps))
		for p := range st.stamps {
			now[p] = stampOf(p)
		}
		if sameStamps(now, failed) {
			continue
		}
		if err := g.Load(); err != nil {
			failed = now
			log.Errorf("reload failed, still serving what was loaded at %s: %v", st.built.Format(time.RFC3339), err)
			continue
		}
		failed = nil
		nst := g.state.Load()
		log.Infof("reloaded: %d zones, %d edges, %d pools, %d names, %d measured networks",
			len(nst.zones), len(nst.table.Edges), len(nst.table.Pools), nst.table.Names.Len(), nst.matrix.Networks())
	}
}

func sameStamps(a, b map[string]stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
