package georoute

import (
	"os"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store/etcd"
)

// Each node of a shared store says it is live and which revision it applied (etcd.Store's
// presence, a key bound to a lease), and reads the others': the status page lists them, and
// Route 53's GetChange says INSYNC once every live node has applied the change.

// presenceEvery is how often a node reads the others' presence, and says what it applied when
// that changed; presenceRenew, how often it says so all the same.
const (
	presenceEvery = 250 * time.Millisecond
	presenceRenew = 3 * time.Second
)

// presence is what a store that keeps nodes' presence does.
type presence interface {
	Announce(name string, applied int64) error
	Nodes() ([]etcd.Node, error)
}

// nodeName is this node's name among those sharing the store (and as the checker of Route 53's
// health checks): store_node, else the host's.
func (g *GeoRoute) nodeName() string {
	if g.storeHealth.node != "" {
		return g.storeHealth.node
	}
	if name, _ := os.Hostname(); name != "" && !strings.Contains(name, "/") {
		return name
	}
	return "georoute"
}

// announce keeps this node's presence and reads the others' until stop is closed.
func (g *GeoRoute) announce(p presence, stop <-chan struct{}) {
	t := time.NewTicker(presenceEvery)
	defer t.Stop()
	name := g.nodeName()
	said, saidAt := int64(-1), time.Time{}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		applied := g.cat.View().Rev
		if applied != said || time.Since(saidAt) > presenceRenew {
			if err := p.Announce(name, applied); err != nil {
				continue // the probe says the store is unreachable
			}
			said, saidAt = applied, time.Now()
		}
		nodes, err := p.Nodes()
		if err != nil {
			continue
		}
		g.storeHealth.mu.Lock()
		g.storeHealth.nodes = nodes
		g.storeHealth.mu.Unlock()
	}
}

// syncedRev is the revision every live node has applied: this node's, with a store no other
// node shares.
func (g *GeoRoute) syncedRev() int64 {
	rev := g.cat.View().Rev
	if g.etcdConf == nil {
		return rev
	}
	name := g.nodeName()
	g.storeHealth.mu.Lock()
	defer g.storeHealth.mu.Unlock()
	for _, n := range g.storeHealth.nodes {
		if n.Name != name {
			rev = min(rev, n.Applied)
		}
	}
	return rev
}
