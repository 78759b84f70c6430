package route53

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestNames(t *testing.T) {
	tests := []struct {
		in, kept, shown string
	}{
		{"www.example.com", "www.example.com.", "www.example.com."},
		{"WWW.Example.COM.", "www.example.com.", "www.example.com."},
		{`\052.example.com`, "*.example.com.", `\052.example.com.`},
		{"*.example.com.", "*.example.com.", `\052.example.com.`},
		{"_acme-challenge.example.com", "_acme-challenge.example.com.", "_acme-challenge.example.com."},
		{`0\05725.2.0.192.in-addr.arpa`, "0/25.2.0.192.in-addr.arpa.", `0\05725.2.0.192.in-addr.arpa.`},
		{`a\056b.example.com`, `a\.b.example.com.`, `a\056b.example.com.`},
		{`a\040b.example.com`, `a\ b.example.com.`, `a\040b.example.com.`},
		{`a\001b.example.com`, `a\001b.example.com.`, `a\001b.example.com.`},
		{".", ".", "."},
	}
	for _, tc := range tests {
		kept, err := canonicalName(tc.in)
		if err != nil || kept != tc.kept {
			t.Errorf("canonicalName(%q) = %q, %v; want %q", tc.in, kept, err, tc.kept)
			continue
		}
		if _, ok := dns.IsDomainName(kept); !ok {
			t.Errorf("%q is not a name miekg/dns reads", kept)
		}
		if shown := displayName(kept); shown != tc.shown {
			t.Errorf("displayName(%q) = %q, want %q", kept, shown, tc.shown)
		}
		if again, _ := canonicalName(displayName(kept)); again != kept {
			t.Errorf("%q does not read back: %q", tc.in, again)
		}
	}
	for _, bad := range []string{"", "a..b.example.com", ".example.com", `a\5.example.com`, `a\999.example.com`, `a\`, strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefghi.", 26) + "com"} {
		if got, err := canonicalName(bad); err == nil {
			t.Errorf("canonicalName(%q) = %q, want an error", bad, got)
		}
	}
}

func TestReversedKey(t *testing.T) {
	names := []string{"example.com.", "www.example.com.", "example.info.", "a-b.example.info.", "b.example.info.", "example.net."}
	for i := 1; i < len(names); i++ {
		if reversedKey(names[i-1]) >= reversedKey(names[i]) {
			t.Errorf("%s (%s) does not sort before %s (%s)", names[i-1], reversedKey(names[i-1]), names[i], reversedKey(names[i]))
		}
	}
}

func TestIDs(t *testing.T) {
	id := ZoneID("example.com.")
	if len(id) != 21 || id[0] != 'Z' || strings.ToUpper(id) != id || id != ZoneID("example.com.") || id == ZoneID("example.net.") {
		t.Errorf("ZoneID: %q", id)
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, rev := range []int64{1, 42, 1 << 40} {
		c := changeID(rev, at)
		for _, form := range []string{c, "/change/" + c, strings.ToLower(c)} {
			got, when, ok := parseChangeID(form)
			if !ok || got != rev || !when.Equal(at) {
				t.Errorf("parseChangeID(%q) = %d %v %v, want %d %v", form, got, when, ok, rev, at)
			}
		}
		last := "A"
		if c[len(c)-1] == 'A' {
			last = "B"
		}
		tampered := c[:len(c)-1] + last
		if _, _, ok := parseChangeID(tampered); ok {
			t.Errorf("%q passes for %q", tampered, c)
		}
	}
	for _, bad := range []string{"", "C", "C2682N5HXP0BZ4", "/change/" + strings.Repeat("A", 25), changeID(0, at)} {
		if _, _, ok := parseChangeID(bad); ok {
			t.Errorf("parseChangeID(%q) is ok", bad)
		}
	}
}

func TestCheckBatchLimits(t *testing.T) {
	values := func(n, size int) *xRecordSetIn {
		rs := &xRecordSetIn{Name: "big.example.com", Type: "TXT", TTL: new(int64)}
		*rs.TTL = 60
		rs.ResourceRecords = &struct {
			Items []struct {
				Value *string `xml:"Value"`
			} `xml:"ResourceRecord"`
		}{}
		for i := 0; i < n; i++ {
			v := `"` + strings.Repeat("x", size-2) + `"`
			rs.ResourceRecords.Items = append(rs.ResourceRecords.Items, struct {
				Value *string `xml:"Value"`
			}{&v})
		}
		return rs
	}
	tests := []struct {
		action string
		n, len int
		want   string
	}{
		{"CREATE", 1000, 10, ""},
		{"CREATE", 1001, 10, "records limit"},
		{"UPSERT", 500, 10, ""},
		{"UPSERT", 501, 10, "records limit"},
		{"CREATE", 128, 250, ""},
		{"CREATE", 129, 250, "characters limit"},
		{"UPSERT", 64, 250, ""},
		{"UPSERT", 65, 250, "characters limit"},
	}
	for _, tc := range tests {
		_, err := checkBatch("example.com.", []xChangeIn{{Action: tc.action, ResourceRecordSet: values(tc.n, tc.len)}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s of %d × %d: %v", tc.action, tc.n, tc.len, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s of %d × %d: %v, want %q", tc.action, tc.n, tc.len, err, tc.want)
		}
	}
}
