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

// Vec is a point as the unit vector from the Earth's centre to it. Computed once for a point that
// is measured against many (an edge, a client's location), it turns each distance into a
// subtraction, a square root and one arcsine (ArcKm) instead of the haversine's four calls.
type Vec struct{ X, Y, Z float64 }

// Vec returns p's unit vector.
func (p Point) Vec() Vec {
	const rad = math.Pi / 180
	sinLat, cosLat := math.Sincos(p.Lat * rad)
	sinLon, cosLon := math.Sincos(p.Lon * rad)
	return Vec{cosLat * cosLon, cosLat * sinLon, sinLat}
}

// ArcKm is the great-circle distance between the points of a and b in kilometres: DistanceKm
// of the points, from the chord between them (the chord is 2·sin(θ/2), the haversine's √h).
func ArcKm(a, b Vec) float64 {
	dx, dy, dz := a.X-b.X, a.Y-b.Y, a.Z-b.Z
	half := math.Sqrt(dx*dx+dy*dy+dz*dz) / 2
	if half > 1 {
		half = 1
	}
	return 2 * earthRadiusKm * math.Asin(half)
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
