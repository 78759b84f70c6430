package georoute

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/coredns/caddy"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/etcd"
	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// The store is a bbolt file (store FILE) or an etcd cluster that several nodes share:
//
//	store etcd://HOST:PORT[,HOST:PORT...]
//	store_prefix /georoute/prod/
//	store_tls CERT KEY CA
//	store_max_txn_ops 1024
//	store_max_changes 100000
//	store_node n1
//	store_snapshot var/snapshot.db
//	health_quorum 2
//
// The store_ lines but store itself, and health_quorum, are for an etcd store only.

const etcdScheme = "etcd://"

// parseStore parses the store's lines of the Corefile block; abs makes a file name absolute.
func (g *GeoRoute) parseStore(c *caddy.Controller, prop string, abs func(string) string) error {
	args := c.RemainingArgs()
	etcdConf := func() *etcd.Options {
		if g.etcdConf == nil {
			g.etcdConf = &etcd.Options{}
		}
		return g.etcdConf
	}
	switch prop {
	case "store":
		if len(args) != 1 {
			return c.Errf("store takes one file, or etcd://HOST:PORT[,HOST:PORT...], got %d arguments", len(args))
		}
		list, ok := strings.CutPrefix(args[0], etcdScheme)
		if !ok {
			g.storePath = abs(args[0])
			return nil
		}
		var endpoints []string
		for _, ep := range strings.Split(list, ",") {
			if _, port, err := net.SplitHostPort(ep); err != nil || port == "" {
				return c.Errf("store %s: %q is not HOST:PORT", args[0], ep)
			}
			endpoints = append(endpoints, ep)
		}
		g.storePath = args[0]
		etcdConf().Endpoints = endpoints
	case "store_prefix":
		if len(args) != 1 || !strings.HasPrefix(args[0], "/") || !strings.HasSuffix(args[0], "/") {
			return c.Errf("store_prefix takes one key prefix that starts and ends with / (/georoute/prod/)")
		}
		etcdConf().Prefix = args[0]
	case "store_tls":
		if len(args) != 3 {
			return c.Errf("store_tls takes CERT KEY CA: the client certificate and key etcd knows this node by, and the CA of etcd's certificates")
		}
		info := transport.TLSInfo{CertFile: abs(args[0]), KeyFile: abs(args[1]), TrustedCAFile: abs(args[2])}
		cfg, err := info.ClientConfig()
		if err != nil {
			return c.Errf("store_tls: %v", err)
		}
		etcdConf().TLS = cfg
	case "store_node":
		if len(args) != 1 || strings.Contains(args[0], "/") {
			return c.Errf("store_node takes this node's name among those sharing the store (default: the host's)")
		}
		etcdConf()
		g.storeHealth.node = args[0]
	case "store_max_changes":
		n, err := strconv.Atoi(strings.Join(args, " "))
		if len(args) != 1 || err != nil || n < 1 {
			return c.Errf("store_max_changes takes how many revisions the change log keeps, 1 or more")
		}
		etcdConf().MaxChanges = n
	case "store_snapshot":
		if len(args) != 1 {
			return c.Errf("store_snapshot takes the file this node keeps the last state it read from etcd in")
		}
		etcdConf()
		g.storeHealth.snapshot = abs(args[0])
	case "health_quorum":
		n, err := strconv.Atoi(strings.Join(args, " "))
		if len(args) != 1 || err != nil || n < 1 {
			return c.Errf("health_quorum takes how many nodes must see an edge down for it to count as down, 1 or more (default: more than half of those with a verdict)")
		}
		etcdConf()
		g.storeHealth.shared.need = n
	case "vantage":
		// The client networks this node's probes stand for (its region's): an edge its own
		// probes find down is avoided for them, though the nodes together find it up.
		if len(args) == 0 {
			return c.Errf("vantage takes the client prefixes this node's probes stand for (vantage 81.2.0.0/16 2a02:c7f::/32)")
		}
		for _, a := range args {
			p, err := netip.ParsePrefix(a)
			if err != nil || p != p.Masked() || p.Bits() == 0 {
				return c.Errf("vantage: %q is not a network prefix (203.0.113.0/24), nor the whole address space", a)
			}
			g.vantage = append(g.vantage, p)
		}
		etcdConf()
	case "store_max_txn_ops":
		n, err := strconv.Atoi(strings.Join(args, " "))
		if len(args) != 1 || err != nil || n < 8 {
			return c.Errf("store_max_txn_ops takes etcd's --max-txn-ops, a number of 8 or more")
		}
		etcdConf().MaxTxnOps = n
	}
	return nil
}

// checkStore checks the store's lines against each other once the block is read.
func (g *GeoRoute) checkStore(c *caddy.Controller) error {
	if g.etcdConf != nil && len(g.etcdConf.Endpoints) == 0 {
		return c.Err("store_prefix, store_tls, store_max_txn_ops, store_max_changes, store_node, store_snapshot, health_quorum and vantage are for 'store etcd://HOST:PORT'")
	}
	return nil
}

// openStore opens the store the Corefile names.
func (g *GeoRoute) openStore() (store.Store, error) {
	if g.etcdConf == nil {
		return store.OpenBolt(g.storePath)
	}
	s, err := etcd.Open(*g.etcdConf)
	if err != nil {
		return nil, err
	}
	if _, err := s.Rev(); err != nil {
		if g.cat.View() != nil {
			// Opened again after a failed Corefile reload: the node serves what it has, as when
			// cut off, and catches up when etcd answers.
			g.storeHealth.failed(err)
			return s, nil
		}
		if g.storeHealth.snapshot != "" {
			db, serr := g.startFromSnapshot(s, err)
			if serr != nil {
				s.Close()
			}
			return db, serr
		}
		s.Close()
		return nil, fmt.Errorf("%v: a node starts once it has read the store, and etcd does not answer", err)
	}
	return s, nil
}
