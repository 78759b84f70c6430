package catalog

import (
	"errors"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/georoute/appliance/plugin/georoute/store"
)

func TestChecks(t *testing.T) {
	f := newFixture(t, nil)
	const zone = "example.net."
	txt := []model.Record{{TTL: 60, Value: `"v=1"`}}
	f.must((&Change{}).PutRRSet(zone, "a.example.net.", "TXT", txt, ""))
	a := f.cat.Names().Get("a.example.net.")
	www := f.cat.Names().Get("www.example.net.") // the config file's
	put := func() *Change { return (&Change{}).PutRRSet(zone, "c.example.net.", "TXT", txt, "update[0]") }
	for _, tc := range []struct {
		name  string
		check Check
		err   string // the error's code, "" for none
	}{
		{"bound as read", Check{Zone: zone, Name: "a.example.net.", Binding: a}, ""},
		{"the config file's name as read", Check{Zone: zone, Name: "www.example.net.", Binding: www}, ""},
		{"unbound as read", Check{Zone: zone, Name: "b.example.net."}, ""},
		{"bound, read unbound", Check{Zone: zone, Name: "a.example.net.", Field: "check[0]"}, CodeChanged},
		{"unbound, read bound", Check{Zone: zone, Name: "b.example.net.", Binding: a}, CodeChanged},
		{"bound to another", Check{Zone: zone, Name: "www.example.net.", Binding: a}, CodeChanged},
		{"outside the zone", Check{Zone: zone, Name: "a.example.org."}, model.CodeForbidden},
	} {
		ch := put()
		ch.Checks = []Check{tc.check}
		before := f.state()
		_, err := f.commit(ch)
		var e *Error
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (!errors.As(err, &e) || e.Code != tc.err || e.Field != tc.check.Field):
			t.Errorf("%s: got %v, want code %s at %q", tc.name, err, tc.err, tc.check.Field)
		case tc.err != "":
			sameState(t, tc.name, before, f.state())
		case f.cat.Names().Get("c.example.net.") == nil:
			t.Errorf("%s: the change was not applied", tc.name)
		}
		if tc.err == "" {
			f.must((&Change{}).DeleteName(zone, "c.example.net.", ""))
		}
	}

	// A check reads its name in the store transaction: a change of it committed after the
	// revision the check was prepared at conflicts there.
	p, err := f.cat.Prepare(put().AddCheck(zone, "a.example.net.", a, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.must((&Change{}).DeleteName(zone, "a.example.net.", ""))
	res, err := f.db.Txns([]store.Txn{p.Txn})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, store.ErrConflict) {
		t.Errorf("a check of a name changed after it was prepared committed: %v", res[0].Err)
	}

	// Checked against the group's earlier changes.
	s := NewStage()
	if _, err := f.cat.Prepare((&Change{}).PutRRSet(zone, "d.example.net.", "TXT", txt, ""), s); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cat.Prepare(put().AddCheck(zone, "d.example.net.", nil, ""), s); !Is(err, Conflict) {
		t.Errorf("a check of a name an earlier change of the group binds: %v", err)
	}
}
