package dnsupdate

import (
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Grant is what one key may change.
type Grant struct {
	// Zones it may change (origins, lower case, fully qualified); none: every zone served.
	Zones []string
	// Names it may change: a name, "*." and a name for every name below that one, or "*" for
	// every name. A name without a final dot is relative to the zone ("@" is its apex). None:
	// every name.
	Names []string
	// Types it may change; none: every type.
	Types []uint16
}

// AllowsZone reports whether the key may change names of zone.
func (g Grant) AllowsZone(zone string) bool {
	return len(g.Zones) == 0 || slices.Contains(g.Zones, zone)
}

// Allows reports whether the key may change the records of type t (dns.TypeANY: of every
// type g allows) at name in zone.
func (g Grant) Allows(zone, name string, t uint16) bool {
	if !g.AllowsZone(zone) || t != dns.TypeANY && len(g.Types) > 0 && !slices.Contains(g.Types, t) {
		return false
	}
	if len(g.Names) == 0 {
		return true
	}
	for _, p := range g.Names {
		if matches(p, zone, name) {
			return true
		}
	}
	return false
}

// matches reports whether pattern p, of a grant, covers name in zone.
func matches(p, zone, name string) bool {
	if p == "*" {
		return true
	}
	below, wild := strings.CutPrefix(p, "*.")
	abs := below
	switch {
	case below == "@":
		abs = zone
	case !strings.HasSuffix(below, "."):
		abs = below + "." + zone
	}
	if !wild {
		return name == abs
	}
	return name != abs && dns.IsSubDomain(abs, name)
}
