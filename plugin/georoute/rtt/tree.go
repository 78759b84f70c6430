package rtt

import (
	"math"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// kdTree is a k-d tree over the places measured clients sit at, as unit vectors: the nearest
// places are found in time that grows with the log of their number, not with it. It is built
// whole and not changed; places that come later are searched one by one until the next build.
type kdTree struct {
	n    int       // it holds groups[:n]
	ids  []int32   // buckets, in tree order
	vecs []geo.Vec // their places
	axis []uint8   // by index of a node's median: the axis it splits
}

const leafSize = 8

// pendingMax is how many places may wait outside the tree before it is built again.
const pendingMax = 128

func coord(v geo.Vec, a uint8) float64 {
	switch a {
	case 0:
		return v.X
	case 1:
		return v.Y
	}
	return v.Z
}

func buildTree(d *measured, n int) *kdTree {
	t := &kdTree{n: n, ids: make([]int32, n), vecs: make([]geo.Vec, n), axis: make([]uint8, n)}
	for i := range n {
		g := *d.groups.at(int32(i))
		t.ids[i] = g
		t.vecs[i] = d.buckets.at(g).point.Vec()
	}
	t.build(0, n)
	return t
}

func (t *kdTree) build(lo, hi int) {
	if hi-lo <= leafSize {
		return
	}
	var minV, maxV [3]float64
	for a := range 3 {
		minV[a], maxV[a] = math.Inf(1), math.Inf(-1)
	}
	for _, v := range t.vecs[lo:hi] {
		for a := range uint8(3) {
			c := coord(v, a)
			minV[a], maxV[a] = math.Min(minV[a], c), math.Max(maxV[a], c)
		}
	}
	axis := uint8(0)
	for a := range uint8(3) {
		if maxV[a]-minV[a] > maxV[axis]-minV[axis] {
			axis = a
		}
	}
	mid := (lo + hi) / 2
	t.selectNth(lo, hi, mid, axis)
	t.axis[mid] = axis
	t.build(lo, mid)
	t.build(mid+1, hi)
}

// selectNth orders [lo, hi) so that index nth holds what sorting by axis would put there, the
// smaller before it and the larger after.
func (t *kdTree) selectNth(lo, hi, nth int, axis uint8) {
	for hi-lo > 1 {
		p := coord(t.vecs[(lo+hi)/2], axis)
		i, j := lo, hi-1
		for i <= j {
			for coord(t.vecs[i], axis) < p {
				i++
			}
			for coord(t.vecs[j], axis) > p {
				j--
			}
			if i <= j {
				t.swap(i, j)
				i++
				j--
			}
		}
		switch {
		case nth <= j:
			hi = j + 1
		case nth >= i:
			lo = i
		default:
			return
		}
	}
}

func (t *kdTree) swap(i, j int) {
	t.ids[i], t.ids[j] = t.ids[j], t.ids[i]
	t.vecs[i], t.vecs[j] = t.vecs[j], t.vecs[i]
}

// grow builds the tree again when enough places wait outside it: at once when wait, else in the
// background (the places it reads do not change).
func (d *measured) grow(wait bool) {
	n := int(d.groups.len())
	t := d.tree.Load()
	if n == t.n || (!wait && n-t.n < pendingMax) {
		return
	}
	if wait {
		d.tree.Store(buildTree(d, n))
		return
	}
	if !d.building.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer d.building.Store(false)
		nt := buildTree(d, n)
		for { // a build at once (Compile) may have stored a larger tree meanwhile
			cur := d.tree.Load()
			if cur.n >= n || d.tree.CompareAndSwap(cur, nt) {
				return
			}
		}
	}()
}

// earthChord converts kilometres along the surface into the chord of the unit sphere.
var earthKm = geo.ArcKm(geo.Vec{X: 1}, geo.Vec{X: -1}) / math.Pi

func chordOf(km float64) float64 {
	if km >= math.Pi*earthKm {
		return 2
	}
	return 2 * math.Sin(km/(2*earthKm))
}

func chord2(a, b geo.Vec) float64 {
	dx, dy, dz := a.X-b.X, a.Y-b.Y, a.Z-b.Z
	return dx*dx + dy*dy + dz*dz
}
