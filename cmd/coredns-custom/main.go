// Command coredns-custom is CoreDNS with the georoute and healthprobe plugins, and only the
// in-tree plugins our Corefiles and an authoritative operator's use (README: "Other plugins in the build").
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/acl"
	_ "github.com/coredns/coredns/plugin/any"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cancel"
	_ "github.com/coredns/coredns/plugin/chaos"
	_ "github.com/coredns/coredns/plugin/debug"
	_ "github.com/coredns/coredns/plugin/dnssec"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/multisocket"
	_ "github.com/coredns/coredns/plugin/nsid"
	_ "github.com/coredns/coredns/plugin/pprof"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/root"
	_ "github.com/coredns/coredns/plugin/shed"
	_ "github.com/coredns/coredns/plugin/transfer"
	_ "github.com/coredns/coredns/plugin/tsig"

	_ "github.com/georoute/appliance/plugin/georoute"
	_ "github.com/georoute/appliance/plugin/healthprobe"
)

// ours are our directives, in chain order: health is known before routing decides.
var ours = []string{"healthprobe", "georoute"}

func init() { dnsserver.Directives = splice(dnsserver.Directives, "file", ours) }

// splice returns directives with ours inserted just before the directive named before. The
// chain order comes from this list, never from the Corefile.
func splice(directives []string, before string, ours []string) []string {
	out := make([]string, 0, len(directives)+len(ours))
	for _, d := range directives {
		if d == before {
			out = append(out, ours...)
		}
		out = append(out, d)
	}
	if len(out) == len(directives) {
		panic("coredns-custom: directive " + before + " not found")
	}
	return out
}

func main() {
	coremain.Run()
}
