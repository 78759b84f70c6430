package model

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// CidrCollection is a Route 53 CIDR collection: named locations, each a set of CIDR blocks,
// that the rules of cidr pools made from Route 53 record sets take their prefixes from
// (Pool.CidrCollection, Rule.Location).
type CidrCollection struct {
	Name            string `json:"name"`
	CallerReference string `json:"caller_reference"`
	// Version is 1 when the collection is created and grows by one with every change.
	Version int64 `json:"version"`
	// Locations maps a location's name to its blocks, each in canonical form and sorted.
	Locations map[string][]string `json:"locations,omitempty"`
}

// Route 53's limits on CIDR collections.
const (
	MaxCidrCollectionName = 64
	MaxCidrLocationName   = 16
	MaxCidrBlocks         = 1000 // blocks of one collection
	MaxCidrV4Bits         = 24   // the longest IPv4 block: ECS scopes go no finer
	MaxCidrV6Bits         = 48
)

// CidrBlock reads a CIDR block as Route 53 takes it: an IPv4 block of /1 to /24 or an IPv6 one
// of /1 to /48 (every address is the default location "*"), with no bits set past its length. It returns the block in canonical form.
func CidrBlock(s string) (string, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%q is not a CIDR block (192.0.2.0/24, 2001:db8::/48)", s)
	}
	longest := MaxCidrV6Bits
	if p.Addr().Is4() {
		longest = MaxCidrV4Bits
	}
	switch {
	case p.Addr().Is4In6() || p.Addr().Zone() != "":
		return "", fmt.Errorf("%q is not a CIDR block (192.0.2.0/24, 2001:db8::/48)", s)
	case p.Bits() == 0:
		return "", fmt.Errorf("%s is every address: route them by the default location \"*\" instead", s)
	case p.Bits() > longest:
		return "", fmt.Errorf("%s is longer than /%d, the longest block of its family", s, longest)
	case p.Masked() != p:
		return "", fmt.Errorf("%s has bits set past its length: the block is %s", s, p.Masked())
	}
	return p.String(), nil
}

// ValidCidrName reports whether s may name a collection or a location (at most max
// characters): letters, digits, '_' and '-', as Route 53 takes them.
func ValidCidrName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Blocks is how many blocks the collection holds.
func (c *CidrCollection) Blocks() int {
	n := 0
	for _, bs := range c.Locations {
		n += len(bs)
	}
	return n
}

// Normalize writes every block in canonical form, sorted and once, and drops empty locations.
func (c *CidrCollection) Normalize() {
	locs := make(map[string][]string, len(c.Locations))
	for name, blocks := range c.Locations {
		out := make([]string, 0, len(blocks))
		for _, b := range blocks {
			if cb, err := CidrBlock(b); err == nil {
				b = cb
			}
			out = append(out, b)
		}
		slices.Sort(out)
		out = slices.Compact(out)
		if len(out) > 0 {
			locs[name] = out
		}
	}
	c.Locations = locs
}

// Validate checks a normalized collection: its name, its locations' names, its blocks, and that
// no block is in two locations (a client's address would match both).
func (c *CidrCollection) Validate() error {
	var es Errors
	if !ValidCidrName(c.Name, MaxCidrCollectionName) {
		es.add(CodeInvalid, "Name", "%q is not a collection name: 1 to %d letters, digits, '_' or '-'", c.Name, MaxCidrCollectionName)
	}
	if c.CallerReference == "" || len(c.CallerReference) > 64 {
		es.add(CodeInvalid, "CallerReference", "a caller reference has 1 to 64 characters")
	}
	if c.Version < 1 {
		es.add(CodeInvalid, "CollectionVersion", "%d is not a version (1 or more)", c.Version)
	}
	if n := c.Blocks(); n > MaxCidrBlocks {
		es.add(CodeInvalid, "Changes", "the collection would hold %d CIDR blocks; it holds at most %d", n, MaxCidrBlocks)
	}
	where := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(c.Locations)) {
		if !ValidCidrName(name, MaxCidrLocationName) {
			es.add(CodeInvalid, "LocationName", "%q is not a location name: 1 to %d letters, digits, '_' or '-'", name, MaxCidrLocationName)
		}
		for _, b := range c.Locations[name] {
			if _, err := CidrBlock(b); err != nil {
				es.add(CodeInvalid, "CidrList", "location %s: %v", name, err)
				continue
			}
			if other, ok := where[b]; ok {
				es.add(CodeInvalid, "CidrList", "%s is in locations %s and %s: a block belongs to one location", b, other, name)
			}
			where[b] = name
		}
	}
	return es.Err()
}
