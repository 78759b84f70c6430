// Package healthprobe is a CoreDNS plugin that probes edges and publishes their health for
// georoute to read.
package healthprobe

import (
	"context"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/miekg/dns"
)

const pluginName = "healthprobe"

func init() { plugin.Register(pluginName, setup) }

// HealthProbe is the plugin: a pass-through handler in the chain, so that georoute finds it.
type HealthProbe struct {
	Next plugin.Handler
}

func setup(c *caddy.Controller) error {
	for c.Next() {
		if len(c.RemainingArgs()) > 0 {
			return plugin.Error(pluginName, c.ArgErr())
		}
		for c.NextBlock() {
			return plugin.Error(pluginName, c.Errf("unknown property '%s'", c.Val()))
		}
	}
	h := &HealthProbe{}
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		h.Next = next
		return h
	})
	return nil
}

// ServeDNS implements the plugin.Handler interface: it passes every query on.
func (h *HealthProbe) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return plugin.NextOrFailure(pluginName, h.Next, ctx, w, r)
}

// Name implements the plugin.Handler interface.
func (h *HealthProbe) Name() string { return pluginName }
