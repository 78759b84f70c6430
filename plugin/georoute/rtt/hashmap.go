package rtt

import "sync/atomic"

// idMap maps non-zero uint64 keys to uint32 values for one writer and any number of readers
// that do not lock: open addressing with linear probing over atomic slots. A deleted key keeps
// its slot with the value noID until the table is rebuilt, which happens when used slots pass
// 5/8 of the table; readers of the old table see it as it was.
type idMap struct {
	t    atomic.Pointer[idTable]
	used int // slots holding a key, live or deleted (writer only)
	live int
}

type idTable struct {
	mask  uint64
	slots []idSlot
}

type idSlot struct {
	key atomic.Uint64
	val atomic.Uint32
}

const noID = ^uint32(0)

func newIDMap(n int) *idMap {
	m := &idMap{}
	m.t.Store(newIDTable(n))
	return m
}

func newIDTable(n int) *idTable {
	size := 16
	for size*5/8 < n+1 {
		size *= 2
	}
	return &idTable{mask: uint64(size - 1), slots: make([]idSlot, size)}
}

func mixKey(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

// get returns the value of key, noID when absent.
func (m *idMap) get(key uint64) uint32 {
	t := m.t.Load()
	for i := mixKey(key) & t.mask; ; i = (i + 1) & t.mask {
		switch t.slots[i].key.Load() {
		case key:
			return t.slots[i].val.Load()
		case 0:
			return noID
		}
	}
}

// set sets key's value (not noID). Writer only.
func (m *idMap) set(key uint64, val uint32) {
	t := m.t.Load()
	for i := mixKey(key) & t.mask; ; i = (i + 1) & t.mask {
		switch t.slots[i].key.Load() {
		case key:
			if t.slots[i].val.Load() == noID {
				m.live++
			}
			t.slots[i].val.Store(val)
			return
		case 0:
			t.slots[i].val.Store(val) // before the key: a reader that sees the key sees its value
			t.slots[i].key.Store(key)
			m.used++
			m.live++
			if m.used*8 > len(t.slots)*5 {
				m.rebuild()
			}
			return
		}
	}
}

// del removes key. Writer only.
func (m *idMap) del(key uint64) {
	t := m.t.Load()
	for i := mixKey(key) & t.mask; ; i = (i + 1) & t.mask {
		switch t.slots[i].key.Load() {
		case key:
			if t.slots[i].val.Load() != noID {
				t.slots[i].val.Store(noID)
				m.live--
			}
			return
		case 0:
			return
		}
	}
}

func (m *idMap) rebuild() {
	old := m.t.Load()
	t := newIDTable(m.live * 2)
	m.used = 0
	for i := range old.slots {
		s := &old.slots[i]
		if k, v := s.key.Load(), s.val.Load(); k != 0 && v != noID {
			for j := mixKey(k) & t.mask; ; j = (j + 1) & t.mask {
				if t.slots[j].key.Load() == 0 {
					t.slots[j].val.Store(v)
					t.slots[j].key.Store(k)
					m.used++
					break
				}
			}
		}
	}
	m.t.Store(t)
}
