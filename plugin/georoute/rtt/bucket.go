package rtt

import (
	"cmp"
	"slices"
	"sync/atomic"

	"github.com/georoute/appliance/plugin/georoute/geo"
)

// bucket is the measured sites of one AS, one city or one place. Of the sites that sit together
// only the first k (in client order) that measured an edge can be the edge's neighbours: those
// nearer or as near come first. So readers see, of the members, only union: the members that
// are among the first k measuring some slot, in client order. An estimate then costs the same
// for an AS of ten networks as for one of a hundred thousand.
type bucket struct {
	point    geo.Point // of a place
	members  []int32   // writer only: in client order
	added    []int32   // writer only: joined since the last settle
	measures []int32   // writer only, for large buckets: by slot, members measuring it
	union    atomic.Pointer[[]int32]
	dirty    bool
}

// countedFrom is the size from which a bucket counts its members by slot, so that settling it
// stops as soon as every slot has its k.
const countedFrom = 64

func (d *measured) clientOf(site int32) Client {
	info := d.info(site)
	if info.kind == Net {
		return Client{Kind: Net, Net: info.net}
	}
	return *d.labels.at(info.other)
}

func (d *measured) compareSites(a, b int32) int {
	ia, ib := d.info(a), d.info(b)
	if ia.kind == Net && ib.kind == Net {
		return cmp.Compare(ia.net, ib.net)
	}
	return d.clientOf(a).Compare(d.clientOf(b))
}

// settle drops the members gone, merges those added and computes union again.
func (b *bucket) settle(d *measured) {
	gone := func(s int32) bool { return d.sites.all()[s>>chunkBits].gone[s&(chunkSize-1)] }
	b.members = slices.DeleteFunc(b.members, gone)
	if len(b.added) > 0 {
		added := slices.DeleteFunc(b.added, gone)
		slices.SortFunc(added, d.compareSites)
		if len(b.members) == 0 {
			b.members = append(b.members, added...)
		} else {
			merged := make([]int32, 0, len(b.members)+len(added))
			i, j := 0, 0
			for i < len(b.members) && j < len(added) {
				if d.compareSites(b.members[i], added[j]) <= 0 {
					merged = append(merged, b.members[i])
					i++
				} else {
					merged = append(merged, added[j])
					j++
				}
			}
			merged = append(append(merged, b.members[i:]...), added[j:]...)
			b.members = merged
		}
		b.added = b.added[:0]
	}
	if b.measures == nil && len(b.members) >= countedFrom {
		b.measures = make([]int32, d.width)
		for _, s := range b.members {
			raw, _ := d.cells(s)
			for slot := range raw {
				if raw[slot].Load() != nan32 {
					b.measures[slot]++
				}
			}
		}
	}
	got := d.got
	clear(got)
	var union []int32
	k := int32(d.k)
	for _, s := range b.members {
		raw, _ := d.cells(s)
		take := false
		for slot := range raw {
			if got[slot] < k && raw[slot].Load() != nan32 {
				got[slot]++
				take = true
			}
		}
		if take {
			union = append(union, s)
		}
		if b.measures != nil && saturated(got, b.measures, k) {
			break
		}
	}
	b.union.Store(&union)
}

func saturated(got, measures []int32, k int32) bool {
	for slot, g := range got {
		if g < min(k, measures[slot]) {
			return false
		}
	}
	return true
}

// countSlot follows a site gaining (delta 1) or losing (-1) a measurement at slot in the counts of
// its buckets.
func (d *measured) countSlot(info *siteInfo, slot int, delta int32) {
	count := func(b uint32) {
		if b == noID {
			return
		}
		if bk := d.buckets.at(int32(b)); bk.measures != nil {
			bk.measures[slot] += delta
		}
	}
	if info.asn != 0 {
		count(d.asns.get(uint64(info.asn)))
	}
	if info.city != 0 {
		count(d.cities.get(info.city))
	}
	if info.group >= 0 {
		count(uint32(info.group))
	}
}

// unionOf is what readers see of bucket b.
func (d *measured) unionOf(b uint32) []int32 {
	if b == noID {
		return nil
	}
	if u := d.buckets.at(int32(b)).union.Load(); u != nil {
		return *u
	}
	return nil
}
