package reach

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/rtt"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func netOf(s string) rtt.NetKey { return rtt.KeyOf(netip.MustParseAddr(s)) }

// TestObserve: the state machine, report by report (F: failed, o: fine).
func TestObserve(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rule       Rule
		reports    string
		wantFailed string // Failed after each report
		wantIdle   bool
	}{
		{"one failure is not enough", Rule{}, "F", "-", false},
		{"two in a row", Rule{}, "FF", "-X", false},
		{"a success between resets the count", Rule{}, "FoF", "---", false},
		{"back after rise successes", Rule{}, "FFoo", "-XX-", true},
		{"a failure among the successes starts rise again", Rule{}, "FFoFoo", "-XXXX-", true},
		{"fall 3 rise 1", Rule{Fall: 3, Rise: 1}, "FFFo", "--X-", true},
		{"successes alone change nothing", Rule{}, "ooo", "---", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Pair{Net: netOf("203.0.113.9"), Edge: "fra1"}
			got := ""
			for i, c := range tc.reports {
				p.Observe(c == 'F', "", t0.Add(time.Duration(i)*time.Second), tc.rule)
				got += map[bool]string{true: "X", false: "-"}[p.Failed]
			}
			if got != tc.wantFailed || p.Idle() != tc.wantIdle {
				t.Errorf("after %s: failed %s idle %v, want %s idle %v", tc.reports, got, p.Idle(), tc.wantFailed, tc.wantIdle)
			}
		})
	}
}

func failed(net, edge string, asn uint32, city uint64, source string) Pair {
	p := Pair{Net: netOf(net), Edge: edge, ASN: asn, City: city}
	p.Observe(true, source, t0, Rule{})
	p.Observe(true, source, t0.Add(time.Second), Rule{})
	return p
}

// TestView: a network avoids the edge it failed for; an AS or a city as a whole only once
// enough distinct sources agree; nobody else.
func TestView(t *testing.T) {
	pairs := []Pair{
		failed("192.0.2.1", "sin1", 64502, 0, ""), // expired (see below)
		failed("198.51.100.1", "fra1", 64500, 0, "sdk"),
		failed("198.51.101.1", "fra1", 64500, 0, "beacon"),
		failed("198.51.102.1", "fra1", 64500, 7, ""),   // three sources of AS64500 (one the edge): the AS avoids fra1
		failed("203.0.113.1", "iad1", 64501, 9, "sdk"), // two networks of AS64501, one source:
		failed("203.0.114.1", "iad1", 64501, 9, "sdk"), // only they avoid iad1
		failed("100.70.0.1", "syd1", 64510, 11, "a"),   // city 11: three sources, one AS:
		failed("100.70.1.1", "syd1", 64510, 11, "b"),   // the AS avoids syd1,
		failed("100.70.2.1", "syd1", 64510, 11, "c"),   // not the city
		failed("100.80.0.1", "gru1", 64520, 12, "a"),   // city 12: three sources, two ASes:
		failed("100.80.1.1", "gru1", 64520, 12, "b"),   // the city avoids gru1
		failed("100.81.0.1", "gru1", 64521, 12, "c"),
		{Net: netOf("100.64.0.1"), Edge: "fra1", Fails: 1}, // one failure: not yet
	}
	pairs[0].Updated = t0.Add(-time.Hour)
	v := Build(pairs, nil, Rule{}, t0.Add(2*time.Second))
	for _, tc := range []struct {
		net  string
		asn  uint32
		city uint64
		want string
	}{
		{"198.51.100.9", 64500, 0, "fra1"},
		{"198.51.200.9", 64500, 0, "fra1"}, // another network of the AS
		{"198.51.200.9", 64999, 7, ""},     // the city has one failed network: no
		{"203.0.113.200", 64501, 9, "iad1"},
		{"203.0.115.1", 64501, 9, ""}, // same AS and city, one source only: no
		{"192.0.2.9", 64502, 0, ""},   // expired
		{"100.64.0.9", 0, 0, ""},
		{"8.8.8.8", 15169, 0, ""},
		{"100.70.9.1", 64510, 11, "syd1"}, // the AS
		{"100.70.9.1", 64599, 11, ""},     // another AS of the city: one ISP's trouble is its own
		{"100.80.9.1", 64599, 12, "gru1"}, // a city whose trouble spans two ASes
	} {
		got := strings.Join(v.Avoids(netip.MustParseAddr(tc.net), tc.asn, tc.city, nil), ",")
		if got != tc.want {
			t.Errorf("%s AS%d city %d avoids %q, want %q (%+v)", tc.net, tc.asn, tc.city, got, tc.want, v.Explain(netip.MustParseAddr(tc.net), tc.asn, tc.city))
		}
	}
	ws := v.Explain(netip.MustParseAddr("198.51.100.9"), 64500, 0)
	if len(ws) != 2 || ws[0].Scope != "network" || ws[1].Scope != "as" || ws[1].Key != "AS64500" || ws[1].Sources != 3 || ws[1].Reports != 6 {
		t.Errorf("explain: %+v", ws)
	}
	counts := v.Avoiding()
	if counts["fra1"] != [4]int{3, 1, 0, 0} || counts["iad1"] != [4]int{2, 0, 0, 0} || counts["gru1"] != [4]int{3, 0, 1, 0} || counts["syd1"] != [4]int{3, 1, 0, 0} {
		t.Errorf("avoiding: %v", counts)
	}
	if !Build(nil, nil, Rule{}, t0).Empty() || !(*View)(nil).Empty() {
		t.Error("an empty view is not empty")
	}
	if got := testing.AllocsPerRun(100, func() { v.Avoids(netip.MustParseAddr("8.8.8.8"), 15169, 0, nil) }); got != 0 {
		t.Errorf("Avoids of a client that avoids nothing: %v allocs", got)
	}
	buf := make([]string, 0, 4)
	if got := slices.Clone(v.Avoids(netip.MustParseAddr("198.51.100.9"), 64500, 7, buf)); !slices.Equal(got, []string{"fra1"}) {
		t.Errorf("network, AS and city all say fra1: %v, want it once", got)
	}
}

// TestVantage: a node whose own probes find an edge down makes the networks it stands for
// avoid it, and only those.
func TestVantage(t *testing.T) {
	v := Build(nil, []Vantage{{Prefix: netip.MustParsePrefix("81.2.0.0/16"), Edge: "lhr1", Node: "n2", Since: t0}}, Rule{}, t0)
	if got := v.Avoids(netip.MustParseAddr("81.2.69.1"), 0, 0, nil); !slices.Equal(got, []string{"lhr1"}) {
		t.Errorf("inside n2's vantage: %v", got)
	}
	if got := v.Avoids(netip.MustParseAddr("81.3.0.1"), 0, 0, nil); len(got) != 0 {
		t.Errorf("outside: %v", got)
	}
	if ws := v.Explain(netip.MustParseAddr("81.2.69.1"), 0, 0); len(ws) != 1 || ws[0].Scope != "vantage" || ws[0].Key != "n2 81.2.0.0/16" {
		t.Errorf("explain: %+v", ws)
	}
	if c := v.Avoiding()["lhr1"]; c != [4]int{0, 0, 0, 1} {
		t.Errorf("avoiding: %v", c)
	}
}
