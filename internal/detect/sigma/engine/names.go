package engine

import "math/bits"

// nameTable maps the event field names the rules and routes use to their
// slots. It replaces a map[string]int32 on the hot path (one lookup per
// field of every event): open addressing over a cheap hash of the name's
// length and its first, middle and last 8 bytes (names share long
// prefixes such as "winlog.event_data."), a hit confirmed by comparing
// the whole name. It is immutable once built.
type nameTable struct {
	slots []nameSlot
	mask  uint32
}

type nameSlot struct {
	name string
	slot int32
	used bool
}

func newNameTable(idx map[string]int32) nameTable {
	size := 1 << bits.Len(uint(2*len(idx)+1)) // load factor at most 1/2
	t := nameTable{slots: make([]nameSlot, size), mask: uint32(size - 1)}
	for name, s := range idx {
		i := nameHash(name) & t.mask
		for t.slots[i].used {
			i = (i + 1) & t.mask
		}
		t.slots[i] = nameSlot{name: name, slot: s, used: true}
	}
	return t
}

// get returns the slot of name.
func (t *nameTable) get(name string) (int32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	i := nameHash(name) & t.mask
	for {
		sl := &t.slots[i]
		if !sl.used {
			return 0, false
		}
		if sl.name == name {
			return sl.slot, true
		}
		i = (i + 1) & t.mask
	}
}

func load64(s string, i int) uint64 {
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

func nameHash(s string) uint32 {
	const k = 0x9E3779B97F4A7C15
	n := len(s)
	h := uint64(n) * k
	if n >= 8 {
		h = (h ^ load64(s, 0)) * k
		h = (h ^ load64(s, n/2-4)) * k
		h = (h ^ load64(s, n-8)) * k
	} else {
		for i := 0; i < n; i++ {
			h = (h ^ uint64(s[i])) * k
		}
	}
	return uint32(h >> 32)
}
