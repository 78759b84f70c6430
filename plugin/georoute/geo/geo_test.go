package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDistanceKm(t *testing.T) {
	// Reference distances from the haversine formula with the mean Earth radius.
	tests := []struct {
		name   string
		a, b   Point
		wantKm float64
	}{
		{"same point", Point{50.11, 8.68}, Point{50.11, 8.68}, 0},
		{"Frankfurt-London", Point{50.1109, 8.6821}, Point{51.5074, -0.1278}, 636},
		{"Frankfurt-New York", Point{50.1109, 8.6821}, Point{40.7128, -74.0060}, 6204},
		{"London-Sydney", Point{51.5074, -0.1278}, Point{-33.8688, 151.2093}, 16994},
		{"antipodes", Point{0, 0}, Point{0, 180}, math.Pi * earthRadiusKm},
		{"across the date line", Point{0, 179.5}, Point{0, -179.5}, 111.2},
		{"pole to pole", Point{90, 0}, Point{-90, 0}, math.Pi * earthRadiusKm},
	}
	for _, tc := range tests {
		got := DistanceKm(tc.a, tc.b)
		if math.Abs(got-tc.wantKm) > 0.005*tc.wantKm+1 {
			t.Errorf("%s: DistanceKm = %.1f km, want %.1f km", tc.name, got, tc.wantKm)
		}
		if back := DistanceKm(tc.b, tc.a); math.Abs(back-got) > 1e-6 {
			t.Errorf("%s: distance is not symmetric: %.3f vs %.3f", tc.name, got, back)
		}
		if arc := ArcKm(tc.a.Vec(), tc.b.Vec()); math.Abs(arc-got) > 0.001 {
			t.Errorf("%s: ArcKm = %.4f km, DistanceKm %.4f km", tc.name, arc, got)
		}
	}
}

// ArcKm of precomputed vectors is DistanceKm, to the metre, anywhere on the Earth.
func TestArcKmIsDistanceKm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pt := func() Point { return Point{Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180} }
	for i := 0; i < 100000; i++ {
		a, b := pt(), pt()
		if i%10 == 0 { // close pairs too, where rounding weighs most
			b = Point{Lat: math.Max(-90, math.Min(90, a.Lat+r.Float64()*0.01)), Lon: a.Lon + r.Float64()*0.01}
		}
		want, got := DistanceKm(a, b), ArcKm(a.Vec(), b.Vec())
		if math.Abs(got-want) > 0.001 {
			t.Fatalf("%v to %v: ArcKm %.6f km, DistanceKm %.6f km", a, b, got, want)
		}
	}
}

func BenchmarkDistance(b *testing.B) {
	fra, syd := Point{50.11, 8.68}, Point{-33.87, 151.21}
	b.Run("DistanceKm", func(b *testing.B) {
		for b.Loop() {
			DistanceKm(fra, syd)
		}
	})
	va, vb := fra.Vec(), syd.Vec()
	b.Run("ArcKm", func(b *testing.B) {
		for b.Loop() {
			ArcKm(va, vb)
		}
	})
}

func TestModelRTT(t *testing.T) {
	if got := ModelRTTMillis(0); got != 25 {
		t.Errorf("ModelRTTMillis(0) = %v, want 25", got)
	}
	if got := ModelRTTMillis(6000); math.Abs(got-127) > 1e-9 {
		t.Errorf("ModelRTTMillis(6000) = %v, want 127", got)
	}
	// The model never predicts less than physics allows, at any distance on Earth.
	for km := 0.0; km <= 20040; km += 10 {
		if ModelRTTMillis(km) < FibreMinRTTMillis(km) {
			t.Fatalf("model %.1f ms below the fibre minimum %.1f ms at %.0f km", ModelRTTMillis(km), FibreMinRTTMillis(km), km)
		}
	}
}

func TestContinentOf(t *testing.T) {
	tests := map[string]string{
		"DE": Europe, "GB": Europe, "RU": Europe, "CY": Europe,
		"US": NorthAmerica, "MX": NorthAmerica, "PA": NorthAmerica, "JM": NorthAmerica,
		"BR": SouthAmerica, "AR": SouthAmerica,
		"JP": Asia, "IN": Asia, "TR": Asia, "GE": Asia, "SG": Asia,
		"AU": Oceania, "NZ": Oceania, "TL": Oceania,
		"ZA": Africa, "EG": Africa, "NG": Africa,
		"AQ": Antarctica,
		"":   "", "ZZ": "", "de": "",
	}
	for country, want := range tests {
		if got := ContinentOf(country); got != want {
			t.Errorf("ContinentOf(%q) = %q, want %q", country, got, want)
		}
	}
	// Every known country maps to one of the seven continents, and the table is complete enough
	// to cover the 249 ISO 3166-1 codes plus Kosovo.
	n := 0
	for c, cont := range continentOf {
		n++
		if len(c) != 2 || !IsContinent(cont) {
			t.Errorf("bad entry %q -> %q", c, cont)
		}
	}
	if n != 250 {
		t.Errorf("table has %d countries, want 250 (ISO 3166-1 plus XK)", n)
	}
}

func TestPointValid(t *testing.T) {
	for _, tc := range []struct {
		p    Point
		want bool
	}{
		{Point{0, 0}, true}, {Point{90, 180}, true}, {Point{-90, -180}, true},
		{Point{91, 0}, false}, {Point{0, 181}, false}, {Point{math.NaN(), 0}, false},
	} {
		if got := tc.p.Valid(); got != tc.want {
			t.Errorf("%v.Valid() = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestSubdivisionCode(t *testing.T) {
	for _, tc := range []struct{ country, name, want string }{
		{"US", "California", "CA"}, {"US", "new york", "NY"}, {"US", "District of Columbia", "DC"},
		{"CA", "Québec", "QC"}, {"CA", "Quebec", "QC"}, {"AU", "New South Wales", "NSW"},
		{"US", "Bavaria", ""}, {"DE", "Bavaria", ""}, {"", "", ""},
	} {
		if got := SubdivisionCode(tc.country, tc.name); got != tc.want {
			t.Errorf("SubdivisionCode(%q, %q) = %q, want %q", tc.country, tc.name, got, tc.want)
		}
	}
	if n := len(subdivisions["US"]); n != 51 {
		t.Errorf("%d US entries, want 50 states and DC", n)
	}
}
