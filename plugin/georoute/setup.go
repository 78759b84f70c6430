package georoute

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/api/route53"
	"github.com/georoute/appliance/plugin/georoute/api/sigv4"
	"github.com/georoute/appliance/plugin/georoute/dnsupdate"
	"github.com/georoute/appliance/plugin/pkg/health"
	"github.com/miekg/dns"
)

func init() { plugin.Register(pluginName, setup) }

// defaultReload is how often the files are checked for changes.
const defaultReload = 2 * time.Second

func setup(c *caddy.Controller) error {
	g, every, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	if err := g.setupUpdate(c); err != nil {
		return plugin.Error(pluginName, err)
	}
	// Load now: a bad zone, config, database or store stops the server from starting.
	if err := g.open(); err != nil {
		if g.db != nil {
			g.db.Close()
		}
		return plugin.Error(pluginName, err)
	}
	stop := make(chan struct{})
	var once sync.Once
	bg := &background{}
	c.OnStartup(func() error {
		if p, ok := dnsserver.GetConfig(c).Handler("healthprobe").(health.Prober); ok {
			g.attach(p)
		}
		if every > 0 {
			go g.watch(every, stop)
		}
		if err := g.startBackground(bg); err != nil {
			return plugin.Error(pluginName, err)
		}
		return nil
	})
	// A Corefile reload starts a new instance before this one stops: the store file and the API
	// address must be free for it.
	c.OnRestart(func() error { return g.stopBackground(bg) })
	c.OnRestartFailed(func() error { return g.startBackground(bg) })
	c.OnShutdown(func() error {
		once.Do(func() { close(stop) })
		return g.stopBackground(bg)
	})
	g.setupTransfer(c)
	g.setupDNSSEC(c)
	useEntry(c, g) // the block's UDP queries to our zones run on workers (entry.go)
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
	apiConf := func() *apiConfig {
		if g.apiConf == nil {
			g.apiConf = &apiConfig{}
		}
		return g.apiConf
	}
	r53Conf := func() *route53Config {
		if g.r53Conf == nil {
			g.r53Conf = &route53Config{}
		}
		return g.r53Conf
	}
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
			case "nameservers":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, 0, c.Errf("nameservers takes the appliance's own name servers (ns1.example.net.), the NS of zones created at run time")
				}
				for _, a := range args {
					if _, ok := dns.IsDomainName(a); !ok {
						return nil, 0, c.Errf("nameservers: %q is not a domain name", a)
					}
					g.template.nameservers = append(g.template.nameservers, dns.Fqdn(strings.ToLower(a)))
				}
			case "hostmaster":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, 0, c.Errf("hostmaster takes one mailbox as a domain name (hostmaster.example.net.)")
				}
				if _, ok := dns.IsDomainName(args[0]); !ok {
					return nil, 0, c.Errf("hostmaster: %q is not a domain name", args[0])
				}
				g.template.hostmaster = dns.Fqdn(strings.ToLower(args[0]))
			case "fallthrough":
				g.Fall.SetZonesFromArgs(c.RemainingArgs())
			case "store", "store_prefix", "store_tls", "store_max_txn_ops", "store_max_changes", "store_node", "store_snapshot", "health_quorum", "vantage":
				if err := g.parseStore(c, prop, abs); err != nil {
					return nil, 0, err
				}
			case "api":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, 0, c.Errf("api takes one address (127.0.0.1:8053), got %d", len(args))
				}
				if _, _, err := net.SplitHostPort(args[0]); err != nil {
					return nil, 0, c.Errf("api %q is not host:port: %v", args[0], err)
				}
				apiConf().addr = args[0]
			case "api_token":
				args := c.RemainingArgs()
				if len(args) < 2 {
					return nil, 0, c.Errf("api_token takes env:VARIABLE SCOPE [ZONES...]")
				}
				name, ok := strings.CutPrefix(args[0], "env:")
				if !ok || name == "" {
					return nil, 0, c.Errf("api_token: name an environment variable as env:VARIABLE (tokens do not belong in a Corefile, and this one is not repeated here)")
				}
				scope, err := api.ParseScope(args[1])
				if err != nil {
					return nil, 0, c.Errf("api_token: %v", err)
				}
				t, err := tokenFromEnv(name, scope, args[2:])
				if err != nil {
					return nil, 0, c.Err(err.Error())
				}
				apiConf().tokens = append(apiConf().tokens, t)
			case "api_tokens":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, 0, c.Errf("api_tokens takes one file")
				}
				fh, err := os.Open(abs(args[0]))
				if err != nil {
					return nil, 0, c.Errf("api_tokens: %v", err)
				}
				ts, err := api.ReadTokens(fh, args[0])
				fh.Close()
				if err != nil {
					return nil, 0, c.Errf("api_tokens: %v", err)
				}
				apiConf().tokens = append(apiConf().tokens, ts...)
			case "api_tls":
				args := c.RemainingArgs()
				if len(args) != 2 {
					return nil, 0, c.Errf("api_tls takes CERT KEY")
				}
				apiConf().certFile, apiConf().keyFile = abs(args[0]), abs(args[1])
			case "api_max_body":
				args := c.RemainingArgs()
				n, err := strconv.ParseInt(strings.TrimSuffix(strings.ToUpper(strings.Join(args, "")), "B"), 10, 64)
				if len(args) != 1 || err != nil || n < 1024 {
					return nil, 0, c.Errf("api_max_body takes a number of bytes, at least 1024")
				}
				apiConf().maxBody = n
			case "route53":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, 0, c.Errf("route53 takes one address (127.0.0.1:8054), got %d", len(args))
				}
				if _, _, err := net.SplitHostPort(args[0]); err != nil {
					return nil, 0, c.Errf("route53 %q is not host:port: %v", args[0], err)
				}
				r53Conf().addr = args[0]
			case "route53_key":
				args := c.RemainingArgs()
				if len(args) < 2 {
					return nil, 0, c.Errf("route53_key takes env:ACCESS_KEY_VARIABLE env:SECRET_VARIABLE [ZONES...]")
				}
				k, err := route53KeyFromEnv(args[0], args[1], args[2:])
				if err != nil {
					return nil, 0, c.Err(err.Error())
				}
				r53Conf().keys = append(r53Conf().keys, k)
			case "route53_keys":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, 0, c.Errf("route53_keys takes one file")
				}
				fh, err := os.Open(abs(args[0]))
				if err != nil {
					return nil, 0, c.Errf("route53_keys: %v", err)
				}
				ks, err := route53.ReadKeys(fh, args[0])
				fh.Close()
				if err != nil {
					return nil, 0, c.Errf("route53_keys: %v", err)
				}
				r53Conf().keys = append(r53Conf().keys, ks...)
			case "update":
				key, gr, err := parseUpdate(c)
				if err != nil {
					return nil, 0, err
				}
				if g.updates == nil {
					g.updates = map[string][]dnsupdate.Grant{}
				}
				g.updates[key] = append(g.updates[key], gr)
			default:
				return nil, 0, c.Errf("unknown property '%s'", prop)
			}
		}
	}
	if err := g.checkStore(c); err != nil {
		return nil, 0, err
	}
	if len(in.zones) == 0 {
		return nil, 0, c.Err("georoute needs 'zones' (zone files or a folder of ORIGIN.zone files)")
	}
	if a := g.apiConf; a != nil {
		switch {
		case a.addr == "":
			return nil, 0, c.Err("api_token, api_tokens and api_tls need 'api ADDRESS'")
		case len(a.tokens) == 0:
			return nil, 0, c.Err("the API does not start without a token: add 'api_token env:GEOROUTE_API_TOKEN write' (and set it) or 'api_tokens FILE'")
		case g.storePath == "":
			return nil, 0, c.Err("the API needs 'store FILE': a write is acknowledged only once it is on disk")
		}
		if err := api.CheckTokens(a.tokens); err != nil {
			return nil, 0, c.Err(err.Error())
		}
	}
	if r := g.r53Conf; r != nil {
		switch {
		case r.addr == "":
			return nil, 0, c.Err("route53_key and route53_keys need 'route53 ADDRESS'")
		case len(r.keys) == 0:
			return nil, 0, c.Err("the Route 53 API does not start without a key: add 'route53_key env:GEOROUTE_AWS_ACCESS_KEY_ID env:GEOROUTE_AWS_SECRET_ACCESS_KEY' (and set them) or 'route53_keys FILE'")
		case g.storePath == "":
			return nil, 0, c.Err("the Route 53 API needs 'store FILE': a change is acknowledged only once it is on disk")
		}
		v, err := sigv4.NewVerifier(r.keys, route53Service, route53MaxSkew, nil)
		if err != nil {
			return nil, 0, c.Errf("route53 keys: %v", err)
		}
		r.verifier = v
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
		if st == nil || !st.files.changed() {
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
			log.Errorf("reload failed, still serving what was loaded at %s: %v", st.read.Format(time.RFC3339), err)
			continue
		}
		failed = nil
		nst := g.state.Load()
		log.Infof("reloaded: %d zones, %d edges, %d pools, %d names, %d measured networks",
			len(nst.zones), len(nst.table.Edges), len(nst.table.Pools), g.names.Len(), nst.matrix.Networks())
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
