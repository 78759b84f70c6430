package catalog

import (
	"fmt"

	"github.com/georoute/appliance/plugin/georoute/store"
)

// Apply applies a committed transaction to memory and publishes it: the names it deletes go
// first, then the new view (edges, pools, zones, overrides), then the names it binds, so that a
// query never finds a name whose edge or pool its view lacks. Its cost grows with the change,
// not with what is stored: names are changed in the shared index one by one, and a change of
// other objects compiles only the table of edges and pools.
//
// p is the plan this node prepared for the transaction, or nil when the transaction comes from
// the store's change stream (another node, or a replay): it is then decoded from ops and
// checked again against this node's state. ops of kinds the catalog does not hold (RTT) are
// skipped: the caller applies them.
//
// publish is called once the names that go away are gone and the new view is the catalog's, before
// new names are bound: the caller publishes what it keeps beside the catalog (its error is
// returned, but the change is applied: it is committed).
func (c *Catalog) Apply(rev int64, ops []store.Op, p *Plan, publish func(Delta) error) error {
	if p == nil {
		ch := &Change{replay: true}
		for _, so := range ops {
			k, ok := kindOf(so.Kind)
			if !ok {
				continue
			}
			op, err := opOf(k, so)
			if err != nil {
				return err
			}
			ch.Ops = append(ch.Ops, op)
		}
		var err error
		if p, err = c.Prepare(ch, nil); err != nil {
			return fmt.Errorf("revision %d does not apply to this node's state (revision %d): %v", rev, c.View().Rev, err)
		}
	}
	old := c.View()
	// A change may name a name more than once (a record set deleted, another put): its last op
	// is what it becomes.
	last := map[string]int{}
	for i, op := range p.Change.Ops {
		if op.Kind == NameKind {
			last[op.ID] = i
		}
	}
	for i, op := range p.Change.Ops {
		if op.Kind == NameKind && op.Delete && last[op.ID] == i {
			if b := p.cfg[i]; b != nil {
				c.names.Put(b) // the config file's binding of the name shows again
			} else {
				c.names.Delete(op.ID)
			}
		}
	}
	nv := p.view
	if nv == nil {
		v := *old
		nv = &v
	}
	nv.Rev = rev
	c.view.Store(nv)
	d := Delta{Old: old, New: nv}
	if p.view != nil {
		d = delta(old, nv)
	}
	var err error
	if publish != nil {
		err = publish(d)
	}
	for i, op := range p.Change.Ops {
		if op.Kind == NameKind && !op.Delete && last[op.ID] == i {
			c.names.Put(p.binds[i])
		}
	}
	return err
}
