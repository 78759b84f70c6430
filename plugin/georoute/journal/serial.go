// Package journal keeps what zone transfers need beyond a zone's data: SOA serials that only
// go forward (RFC 1982 serial arithmetic) and, per zone, a bounded log of the differences
// between consecutive serials, from which IXFR (RFC 1995) answers a secondary that is behind.
// It has no CoreDNS types and does no I/O; the caller serializes every call.
package journal

// Less reports whether serial a comes before serial b in RFC 1982 serial number arithmetic
// (a difference of exactly 2^31 is undefined there, and taken as not before).
func Less(a, b uint32) bool { return a != b && b-a < 1<<31 }

// Next is the serial that follows cur: cur+1, or floor when floor is after that. A zone's
// serial moves through Next on every change, so that it never goes back while floor (the zone
// file's own serial, or the clock) can pull it forward.
func Next(cur, floor uint32) uint32 {
	if n := cur + 1; Less(n, floor) {
		return floor
	}
	return cur + 1
}

// Max is the later of a and b.
func Max(a, b uint32) uint32 {
	if Less(a, b) {
		return b
	}
	return a
}
