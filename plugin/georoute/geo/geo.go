// Package geo holds the geometry the router needs: great-circle distance between two points on the
// Earth, the round-trip time a distance implies, and the continent a country lies on.
package geo

import "math"

// Point is a position on the Earth in degrees.
type Point struct {
	Lat, Lon float64
}

// Valid reports whether p lies within the ranges of latitude and longitude.
func (p Point) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180 &&
		!math.IsNaN(p.Lat) && !math.IsNaN(p.Lon)
}

// earthRadiusKm is the mean radius of the Earth (IUGG).
const earthRadiusKm = 6371.0088

// DistanceKm is the great-circle (haversine) distance between a and b in kilometres.
func DistanceKm(a, b Point) float64 {
	const rad = math.Pi / 180
	lat1, lat2 := a.Lat*rad, b.Lat*rad
	dLat := lat2 - lat1
	dLon := (b.Lon - a.Lon) * rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLon/2)
	h := s1*s1 + math.Cos(lat1)*math.Cos(lat2)*s2*s2
	if h > 1 {
		h = 1
	}
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}

// The distance model: a least-squares fit of public measured pings between cities, RTT ms ≈
// 25 + 17 × distance/1000 km. The fixed part is access networks and routing detours, the slope
// is fibre paths that are longer than great circles.
const (
	modelBaseMillis     = 25.0
	modelMillisPerKm    = 17.0 / 1000
	fibreMinMillisPerKm = 1.0 / 100 // light in fibre, there and back: 1 ms per 100 km
)

// ModelRTTMillis is the round-trip time the distance model predicts for km of great-circle distance.
func ModelRTTMillis(km float64) float64 { return modelBaseMillis + modelMillisPerKm*km }

// FibreMinRTTMillis is the least round-trip time physics allows over km: no estimate goes below it.
func FibreMinRTTMillis(km float64) float64 { return fibreMinMillisPerKm * km }
