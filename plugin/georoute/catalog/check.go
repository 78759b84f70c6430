package catalog

import (
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/route"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// Check is a condition on a name that changes nothing: the name is still bound to the binding a
// front door read (nil: still unbound) when the change is prepared, before any of its ops. DNS
// UPDATE computes its change from what it read of the names it names (its prerequisites and
// the records it adds to or deletes from), and checks each of them so: a change committed in
// between refuses it with CodeChanged, and UPDATE reads again.
type Check struct {
	Zone, Name string         // the zone the front door addressed, the name (lower case, fully qualified)
	Binding    *route.Binding // as read from Names (nil: the name was not bound)
	Field      string
}

// AddCheck adds a check of name in zone: it must still be bound to b (nil: unbound).
func (c *Change) AddCheck(zone, name string, b *route.Binding, field string) *Change {
	c.Checks = append(c.Checks, Check{Zone: zone, Name: name, Binding: b, Field: field})
	return c
}

// checkNames checks ch's checks against the names as they are before ch (published, or staged
// by s), and reads each in the store transaction so that a change from elsewhere conflicts too.
func (c *Catalog) checkNames(v *View, ch *Change, s *Stage, p *Plan) error {
	for _, k := range ch.Checks {
		if z := v.ZoneOf(k.Name); z != k.Zone || z == "" {
			return errorf(Invalid, model.CodeForbidden, k.Field, "%s is not inside zone %s", k.Name, k.Zone)
		}
		p.read(store.Names, store.NameKey(k.Name), false)
		if s.name(c, k.Name) != k.Binding {
			return errorf(Conflict, CodeChanged, k.Field, "%s changed meanwhile: read it again", k.Name)
		}
	}
	return nil
}
