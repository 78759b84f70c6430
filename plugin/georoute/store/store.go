// Package store keeps the objects written through the API durably: edges, pools, names and RTT
// measurements, as JSON values under string keys. Transactions are committed in groups, on disk
// (fsync) before Txns returns, each numbered by a revision; a transaction can be conditional on
// what it was validated against not having changed since a revision, and every committed one is
// replayed by the change stream. The embedded implementation is bbolt (Bolt); store/etcd keeps
// the same on an etcd cluster that several nodes share.
package store

import (
	"context"
	"errors"
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
	// Zones are zones created at run time.
	Zones Kind = "zones"
	// HealthChecks and CidrCollections are Route 53's health checks and CIDR collections.
	HealthChecks    Kind = "healthchecks"
	CidrCollections Kind = "cidrcollections"
	// Reach holds what failure reports made of (client network, edge) pairs, and Load the
	// edges' latest load reports: beside the catalog, like RTT.
	Reach Kind = "reach"
	Load  Kind = "load"
)

// Kinds lists every kind in load order: names refer to zones, edges and pools, and edges and
// pools to health checks and CIDR collections.
var Kinds = []Kind{Zones, HealthChecks, CidrCollections, Edges, Pools, Overrides, Names, RTT, Reach, Load}

// Op is one change: Value under Key, or Key deleted.
type Op struct {
	Kind   Kind
	Key    string
	Value  []byte
	Delete bool
}

// A revision numbers committed transactions: the store's revision grows by one with every
// transaction it commits, starting at 1; 0 is the revision of an empty store.

// Read is one thing a transaction's validation looked at: the object Kind/Key, or with Prefix,
// every object of Kind whose key starts with Key ("" with Prefix: the whole kind).
type Read struct {
	Kind   Kind
	Key    string
	Prefix bool
}

// Cond is what a transaction depends on: the state at revision Rev, plus the earlier txns of
// its Txns call (it was prepared on top of them). It commits only if no transaction committed
// after Rev, other than those, changed any of Reads, and none of those that did not commit would
// have. A zero Cond always holds.
type Cond struct {
	Rev   int64
	Reads []Read
}

// Txn is one transaction: its ops, applied all or nothing, if its Cond holds.
type Txn struct {
	Cond Cond
	Ops  []Op
}

// Result is what became of one Txn: its revision when committed, or ErrConflict. (Err is another
// error for an op the store cannot hold, such as an unknown kind.)
type Result struct {
	Rev int64
	Err error
}

// Event is one committed transaction as the change stream delivers it.
type Event struct {
	Rev int64
	Ops []Op
}

// WatchEvent is what Watch delivers: an Event, or the error that ends the stream.
type WatchEvent struct {
	Event
	Err error
}

var (
	ErrConflict  = errors.New("store: conflict: what the change was validated against has changed")
	ErrCompacted = errors.New("store: the change stream no longer holds that revision")
	// ErrUnknown is wrapped by an error of Txns after which some txns may have committed: the
	// change stream says which.
	ErrUnknown = errors.New("whether it committed is not known")
)

// Store is a durable key-value store of objects by kind.
type Store interface {
	// Load calls fn for every object of kind, in key order, until fn returns an error.
	Load(kind Kind, fn func(key string, value []byte) error) error
	// Scan calls fn for the objects of kind whose keys start with prefix, from the first key at
	// or after from, in key order, until fn returns false.
	Scan(kind Kind, prefix, from string, fn func(key string, value []byte) bool) error
	// Count is how many objects of kind there are.
	Count(kind Kind) (int, error)
	// Commit applies ops in one unconditional transaction, durable when it returns nil.
	Commit(ops []Op) error
	// Rev is the revision of the last committed transaction.
	Rev() (int64, error)
	// LoadAll calls fn for every object of every kind, kinds in Kinds order and keys in order,
	// from one consistent read, until fn returns an error. rev is the revision that read saw.
	LoadAll(fn func(kind Kind, key string, value []byte) error) (rev int64, err error)
	// Txns commits txns in order, durably, in one write where the store can. Each txn whose
	// Cond holds gets the next revision; one whose Cond does not hold changes nothing and gets
	// ErrConflict. A txn without ops commits nothing and gets the current revision. The error is
	// for the whole call: nothing was committed, or, wrapping ErrUnknown, it is not known whether
	// anything was (a store on the network that did not answer in time).
	Txns(txns []Txn) ([]Result, error)
	// Changes calls fn for every committed transaction with a revision after from, in order,
	// until fn returns an error. It is ErrCompacted if from is behind the store and the change
	// stream no longer holds revision from+1.
	Changes(from int64, fn func(Event) error) error
	// Watch sends what Changes(from) delivers, then every later commit as it happens, until ctx
	// is done or the store closes; then it closes the channel. An error (ErrCompacted, or one
	// reading the store) is sent as the last WatchEvent.
	Watch(ctx context.Context, from int64) <-chan WatchEvent
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
