package journal

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestSerialArithmetic(t *testing.T) {
	tests := []struct {
		a, b uint32
		less bool
	}{
		{1, 2, true},
		{2, 1, false},
		{7, 7, false},
		{0xffffffff, 0, true}, // wraps around
		{0xffffffff, 5, true},
		{5, 0xffffffff, false},
		{0, 1 << 31, false}, // exactly half way: undefined, not before
		{1 << 31, 0, false},
		{2026112201, 1760000000, false}, // a date serial is after today's Unix time
		{1760000000, 2026112201, true},
	}
	for _, tc := range tests {
		if got := Less(tc.a, tc.b); got != tc.less {
			t.Errorf("Less(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
	nexts := []struct{ cur, floor, want uint32 }{
		{1, 0, 2},
		{1, 2, 2},
		{1, 100, 100},                        // the zone file's serial went forward past ours
		{2026112205, 2026112201, 2026112206}, // ours is ahead of the file's: keep going
		{0xffffffff, 0, 0},                   // wraps
		{2026112201, 1760000000, 2026112202}, // the clock is behind a date serial: no effect
		{3, 1760000000, 1760000000},          // but it pulls a small serial forward
	}
	for _, tc := range nexts {
		if got := Next(tc.cur, tc.floor); got != tc.want {
			t.Errorf("Next(%d, %d) = %d, want %d", tc.cur, tc.floor, got, tc.want)
		}
	}
	if Max(5, 9) != 9 || Max(9, 5) != 9 || Max(0xfffffff0, 3) != 3 {
		t.Error("Max does not follow serial arithmetic")
	}
}

func rrs(t *testing.T, lines ...string) []dns.RR {
	t.Helper()
	var out []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rr)
	}
	return out
}

func text(rrs []dns.RR) string {
	var s []string
	for _, rr := range rrs {
		s = append(s, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return strings.Join(s, "; ")
}

func TestPending(t *testing.T) {
	a1 := "a.example.net. 60 IN A 192.0.2.1"
	a2 := "a.example.net. 60 IN A 192.0.2.2"
	a1ttl := "a.example.net. 30 IN A 192.0.2.1"
	txt := `b.example.net. 60 IN TXT "x"`
	type change struct{ old, new []string }
	tests := []struct {
		name     string
		changes  []change
		del, add string
	}{
		{"a name added", []change{{nil, []string{a1}}}, "", a1},
		{"a name deleted", []change{{[]string{a1}, nil}}, a1, ""},
		{"one record replaced, the other kept", []change{{[]string{a1, txt}, []string{a2, txt}}}, a1, a2},
		{"a TTL change deletes and adds", []change{{[]string{a1}, []string{a1ttl}}}, a1, a1ttl},
		{"added then deleted: nothing", []change{{nil, []string{a1}}, {[]string{a1}, nil}}, "", ""},
		{"deleted then added back: nothing", []change{{[]string{a1}, nil}, {nil, []string{a1}}}, "", ""},
		{"changed twice: first to last", []change{{[]string{a1}, []string{a2}}, {[]string{a2}, []string{a1ttl}}}, a1, a1ttl},
		{"no change", []change{{[]string{a1, txt}, []string{txt, a1}}}, "", ""},
	}
	for _, tc := range tests {
		p := NewPending()
		for _, c := range tc.changes {
			same := slices.Equal(slices.Sorted(slices.Values(c.old)), slices.Sorted(slices.Values(c.new)))
			if changed := p.Change(rrs(t, c.old...), rrs(t, c.new...)); changed == same {
				t.Errorf("%s: Change(%v, %v) reports changed %v", tc.name, c.old, c.new, changed)
			}
		}
		d := p.Diff(1, 2)
		if got := text(d.Del); got != strings.ReplaceAll(tc.del, "\t", " ") {
			t.Errorf("%s: deleted %q, want %q", tc.name, got, tc.del)
		}
		if got := text(d.Add); got != tc.add {
			t.Errorf("%s: added %q, want %q", tc.name, got, tc.add)
		}
		if p.Len() != len(d.Del)+len(d.Add) || d.From != 1 || d.To != 2 {
			t.Errorf("%s: Len %d, diff %d->%d", tc.name, p.Len(), d.From, d.To)
		}
	}
}

func diff(t *testing.T, from, to uint32, n int) Diff {
	var add []string
	for i := 0; i < n; i++ {
		add = append(add, "a.example.net. 60 IN A 192.0.2.1")
	}
	return Diff{From: from, To: to, Add: rrs(t, add...)}
}

func serials(ds []Diff) []uint32 {
	var out []uint32
	for _, d := range ds {
		out = append(out, d.From)
	}
	if len(ds) > 0 {
		out = append(out, ds[len(ds)-1].To)
	}
	return out
}

func TestJournal(t *testing.T) {
	j := New(3, 10)
	z := "example.net."
	if _, ok := j.Since(z, 1); ok {
		t.Fatal("an empty journal reaches back")
	}
	j.Append(z, diff(t, 1, 2, 1))
	j.Append(z, diff(t, 2, 3, 1))
	j.Append(z, diff(t, 3, 4, 1))
	check := func(what string, from uint32, ok bool, want ...uint32) {
		t.Helper()
		ds, got := j.Since(z, from)
		if got != ok || (ok && !equal(serials(ds), want)) {
			t.Errorf("%s: Since(%d) = %v %v, want %v %v", what, from, serials(ds), got, want, ok)
		}
	}
	check("from the start", 1, true, 1, 2, 3, 4)
	check("from the middle", 3, true, 3, 4)
	check("from a serial it never had", 7, false)
	held, _ := j.Since(z, 1)
	j.Append(z, diff(t, 4, 5, 1)) // over MaxDiffs: the oldest goes
	check("the oldest diff dropped", 1, false)
	check("the rest kept", 2, true, 2, 3, 4, 5)
	if !equal(serials(held), []uint32{1, 2, 3, 4}) {
		t.Errorf("a slice handed out changed under its reader: %v", serials(held))
	}
	j.Append(z, diff(t, 5, 6, 9)) // over MaxRecords: old ones go until it fits
	check("records bound", 3, false)
	check("records bound keeps what fits", 4, true, 4, 5, 6)
	if j.Records(z) != 10 {
		t.Errorf("Records = %d, want 10", j.Records(z))
	}
	j.Append(z, diff(t, 9, 10, 1)) // does not follow serial 6: starts again
	check("a gap starts the log again", 5, false)
	check("after a gap", 9, true, 9, 10)
	j.Append(z, diff(t, 10, 11, 11)) // too large for any log: the zone goes whole
	check("a diff too large empties the log", 10, false)
	j.Append(z, diff(t, 11, 12, 1))
	check("and the log starts at the next", 11, true, 11, 12)
	j.Reset(z)
	check("reset", 11, false)
	if j.Records(z) != 0 {
		t.Error("a reset zone holds records")
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
