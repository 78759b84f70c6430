// Package store keeps the objects written through the API durably: edges, pools, names and RTT
// measurements, as JSON values under string keys. A Commit is one transaction, on disk (fsync)
// before it returns. The embedded implementation is bbolt; an etcd one can stand behind the
// same interface.
package store

import (
	"slices"
	"strings"
)

// Kind is a kind of object.
type Kind string

// The kinds of object, in the order Load should read them (names refer to edges and pools).
const (
	Edges Kind = "edges"
	Pools Kind = "pools"
	Names Kind = "names"
	RTT   Kind = "rtt"
	// Overrides are operators' health overrides of edges, config-defined ones included.
	Overrides Kind = "overrides"
)

// Kinds lists every kind in load order.
var Kinds = []Kind{Edges, Pools, Overrides, Names, RTT}

// Op is one change: Value under Key, or Key deleted.
type Op struct {
	Kind   Kind
	Key    string
	Value  []byte
	Delete bool
}

// Store is a durable key-value store of objects by kind.
type Store interface {
	// Load calls fn for every object of kind, in key order, until fn returns an error.
	Load(kind Kind, fn func(key string, value []byte) error) error
	// Scan calls fn for the objects of kind whose keys start with prefix, from the first key at
	// or after from, in key order, until fn returns false.
	Scan(kind Kind, prefix, from string, fn func(key string, value []byte) bool) error
	// Count is how many objects of kind there are.
	Count(kind Kind) (int, error)
	// Commit applies ops in one transaction, durable when it returns nil.
	Commit(ops []Op) error
	// Close releases the store.
	Close() error
}

// NameKey is the key of a DNS name (lower case, fully qualified): its labels reversed, so that
// the names of a zone are one range of keys ("net.example.t.k3x9.").
func NameKey(name string) string {
	if name == "." {
		return "."
	}
	labels := splitLabels(strings.TrimSuffix(name, "."))
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "."
}

// KeyName is the inverse of NameKey.
func KeyName(key string) string { return NameKey(key) }

// splitLabels splits on dots that are not escaped.
func splitLabels(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '.':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
