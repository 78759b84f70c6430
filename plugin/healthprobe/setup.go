package healthprobe

import (
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	for i := 0; c.Next(); i++ {
		if i > 0 {
			return plugin.Error(pluginName, plugin.ErrOnce)
		}
		if args := c.RemainingArgs(); len(args) > 0 {
			return plugin.Error(pluginName, c.Errf("healthprobe takes no arguments: the checks are part of each edge in georoute's config"))
		}
		for c.NextBlock() {
			return plugin.Error(pluginName, c.Errf("unknown property '%s'", c.Val()))
		}
	}
	h := New()
	c.OnShutdown(func() error {
		h.Close()
		return nil
	})
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		h.Next = next
		return h
	})
	return nil
}
