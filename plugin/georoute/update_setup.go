package georoute

import (
	"fmt"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/georoute/appliance/plugin/georoute/dnsupdate"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/miekg/dns"
)

// parseUpdate reads 'update KEY [ZONES...] [{ names NAME...; types TYPE... }]', c at 'update'.
func parseUpdate(c *caddy.Controller) (string, dnsupdate.Grant, error) {
	var gr dnsupdate.Grant
	args := c.RemainingArgs()
	if len(args) == 0 {
		return "", gr, c.Errf("update takes KEY [ZONES...] [{ names NAME...  types TYPE... }]: the TSIG key's name, as the tsig plugin's 'secret' names it")
	}
	key := plugin.Name(args[0]).Normalize()
	if _, ok := dns.IsDomainName(key); !ok {
		return "", gr, c.Errf("update: %q is not a key name (a domain name)", args[0])
	}
	for _, z := range args[1:] {
		origin := plugin.Name(z).Normalize()
		if _, ok := dns.IsDomainName(origin); !ok {
			return "", gr, c.Errf("update %s: %q is not a zone", key, z)
		}
		gr.Zones = append(gr.Zones, origin)
	}
	if !c.NextArg() {
		return key, gr, nil
	}
	if c.Val() != "{" {
		return "", gr, c.Errf("update %s: unexpected %q", key, c.Val())
	}
	for {
		if !c.Next() {
			return "", gr, c.Errf("update %s: the block is not closed", key)
		}
		switch prop := c.Val(); prop {
		case "}":
			return key, gr, nil
		case "names":
			names := c.RemainingArgs()
			if len(names) == 0 {
				return "", gr, c.Errf("update %s: names takes NAME... (www, *.t, @, or www.example.net.)", key)
			}
			for _, n := range names {
				n = strings.ToLower(n)
				if _, ok := dns.IsDomainName(strings.TrimPrefix(n, "*.")); !ok && n != "*" && n != "@" {
					return "", gr, c.Errf("update %s: %q is not a name", key, n)
				}
				gr.Names = append(gr.Names, n)
			}
		case "types":
			types := c.RemainingArgs()
			if len(types) == 0 {
				return "", gr, c.Errf("update %s: types takes TYPE...", key)
			}
			for _, t := range types {
				qt, ok := model.StaticTypes[strings.ToUpper(t)]
				if !ok {
					return "", gr, c.Errf("update %s: %q is not a record type that can be changed here", key, t)
				}
				gr.Types = append(gr.Types, qt)
			}
		default:
			return "", gr, c.Errf("update %s: unknown property '%s'", key, prop)
		}
	}
}

// setupUpdate verifies hmac-md5 signatures for the tsig plugin when the server block has TSIG
// keys (tsigmd5.go: UPDATE's, and any signed request's), and readies the server block for
// UPDATE when the georoute block names keys: each must be one of the tsig plugin's secrets, and
// the server passes UPDATE on to the plugin chain (dnsserver.Config.AllowOpcode).
func (g *GeoRoute) setupUpdate(c *caddy.Controller) error {
	cfg := dnsserver.GetConfig(c)
	useMD5(cfg)
	if len(g.updates) == 0 {
		return nil
	}
	if g.storePath == "" {
		return fmt.Errorf("update needs 'store FILE': an UPDATE is answered NOERROR only once it is on disk")
	}
	for key := range g.updates {
		if _, ok := cfg.TsigSecret[key]; !ok {
			return fmt.Errorf("update %s: no such TSIG key in this server block: add it to the tsig plugin ('tsig { secret %s SECRET }')", key, key)
		}
	}
	cfg.AllowOpcode(dns.OpcodeUpdate)
	return nil
}
