// Package ahocorasick finds many byte patterns in one pass over a text,
// without allocating. It began as an Aho-Corasick automaton; a dense
// automaton over the literals of thousands of Sigma rules takes tens of
// megabytes and misses the cache, so what remains is Anchors (below),
// which keeps about a hundred bytes per pattern.
package ahocorasick

import (
	"encoding/binary"
	"math/bits"
)

// Anchors finds many byte patterns in a text like Matcher, but without an
// automaton: each pattern of four bytes or more is filed under one of its
// 4-byte substrings, its anchor, and the scan tests the 4 bytes at every
// offset of the text against a bitmap of hashed anchors (one bit per
// hash, a few KiB, so it stays in the L1 cache). Only where the bitmap
// says an anchor may start are the patterns filed under it compared with
// the text around it. Patterns of one to three bytes are found the same
// way through an exact bitmap of their first two bytes.
//
// A large automaton (tens of thousands of states over a hundred byte
// classes) takes megabytes and misses the cache on most bytes, and each
// step waits for the previous one; the bitmap tests of consecutive
// offsets are independent of each other. Each pattern's anchor is the
// 4-gram of it that the fewest patterns of the set contain: 4-grams that
// many patterns share (".exe", "\win") tend to be common in texts too.
//
// The work at an offset whose bitmap bit is set is bounded by the number
// of patterns filed under one anchor: at most 12 in the searchers of the
// full SigmaHQ rule set, whatever the text.
//
// An Anchors is immutable and safe for concurrent use.
type Anchors struct {
	pats [][]byte

	// Patterns of 4 bytes or more.
	bits4  []uint64  // bit hash4(anchor) is set for every anchor
	shift4 uint      // hash4 keeps the top 32-shift4 bits of the product
	long   hashTable // anchor -> patterns and the anchor's offset in them

	// Patterns of 1 to 3 bytes, filed under their first two bytes (a
	// 1-byte pattern under every pair it starts; the byte after the
	// text's last one counts as 0).
	bits2  []uint64  // 65536 bits, one per pair
	short  hashTable // pair -> patterns
	hasPat bool
}

// hashTable is an open-addressing hash table from a 32-bit key to a run of
// entries: ents[slot.start:slot.end]. An empty slot has end 0.
type hashTable struct {
	slots []anchorSlot
	mask  uint32
	shift uint
	ents  []anchorEnt
}

type anchorSlot struct {
	key        uint32
	start, end int32
}

func newHashTable(keys []uint32, ents map[uint32][]anchorEnt) hashTable {
	tb := max(bits.Len(uint(len(keys)*2-1)), 1)
	t := hashTable{slots: make([]anchorSlot, 1<<tb), mask: uint32(1<<tb - 1), shift: uint(32 - tb)}
	for _, k := range keys {
		s := (k * mulT) >> t.shift
		for t.slots[s].end != 0 {
			s = (s + 1) & t.mask
		}
		start := int32(len(t.ents))
		t.ents = append(t.ents, ents[k]...)
		t.slots[s] = anchorSlot{key: k, start: start, end: int32(len(t.ents))}
	}
	return t
}

// get returns the entries of key k.
func (t *hashTable) get(k uint32) []anchorEnt {
	if t.slots == nil {
		return nil
	}
	s := (k * mulT) >> t.shift
	for {
		sl := &t.slots[s]
		if sl.end == 0 {
			return nil
		}
		if sl.key == k {
			return t.ents[sl.start:sl.end]
		}
		s = (s + 1) & t.mask
	}
}

// anchorEnt is a pattern filed under an anchor found at offset off of it.
// head and tail hold its first and last 8 bytes (4 when shorter than 8),
// so that comparing a pattern of up to 16 bytes with the text takes two
// loads and two comparisons.
type anchorEnt struct {
	id         int32
	off        int32
	n          int32
	head, tail uint64
}

func newAnchorEnt(id int, off int, p []byte) anchorEnt {
	e := anchorEnt{id: int32(id), off: int32(off), n: int32(len(p))}
	switch {
	case len(p) >= 8:
		e.head = binary.LittleEndian.Uint64(p)
		e.tail = binary.LittleEndian.Uint64(p[len(p)-8:])
	case len(p) >= 4:
		e.head = uint64(binary.LittleEndian.Uint32(p))
		e.tail = uint64(binary.LittleEndian.Uint32(p[len(p)-4:]))
	}
	return e
}

// equal reports whether text[start:start+e.n] is e's pattern p, given
// that start >= 0 and start+e.n <= len(text).
func (e *anchorEnt) equal(text []byte, start int, p []byte) bool {
	n := int(e.n)
	switch {
	case n > 16:
		return string(text[start:start+n]) == string(p)
	case n >= 8:
		return binary.LittleEndian.Uint64(text[start:]) == e.head &&
			binary.LittleEndian.Uint64(text[start+n-8:]) == e.tail
	default:
		return uint64(binary.LittleEndian.Uint32(text[start:])) == e.head &&
			uint64(binary.LittleEndian.Uint32(text[start+n-4:])) == e.tail
	}
}

const (
	mul4  = 0x9E3779B1 // Fibonacci hashing
	mulT  = 0x85EBCA6B
	minB4 = 12
	maxB4 = 18
)

// BuildAnchors prepares the patterns; pattern i is reported as i. Empty
// patterns are ignored.
func BuildAnchors(patterns [][]byte) *Anchors {
	a := &Anchors{pats: patterns}
	// How many patterns contain each 4-gram.
	count := map[uint32]int32{}
	for _, p := range patterns {
		seen := map[uint32]bool{}
		for i := 0; i+4 <= len(p); i++ {
			k := binary.LittleEndian.Uint32(p[i:])
			if !seen[k] {
				seen[k] = true
				count[k]++
			}
		}
	}
	byKey := map[uint32][]anchorEnt{}
	var keys []uint32
	byPair := map[uint32][]anchorEnt{}
	var pairs []uint32
	addPair := func(pair uint32, id int) {
		if byPair[pair] == nil {
			pairs = append(pairs, pair)
		}
		byPair[pair] = append(byPair[pair], anchorEnt{id: int32(id)})
	}
	for id, p := range patterns {
		switch {
		case len(p) == 0:
			continue
		case len(p) < 4:
			if len(p) == 1 {
				for c := 0; c < 256; c++ {
					addPair(uint32(p[0])|uint32(c)<<8, id)
				}
			} else {
				addPair(uint32(p[0])|uint32(p[1])<<8, id)
			}
		default:
			best, bestN := 0, int32(0)
			for i := 0; i+4 <= len(p); i++ {
				if n := count[binary.LittleEndian.Uint32(p[i:])]; i == 0 || n <= bestN {
					best, bestN = i, n
				}
			}
			k := binary.LittleEndian.Uint32(p[best:])
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], newAnchorEnt(id, best, p))
		}
		a.hasPat = true
	}
	if len(pairs) > 0 {
		a.bits2 = make([]uint64, 1<<16/64)
		for _, pair := range pairs {
			a.bits2[pair>>6] |= 1 << (pair & 63)
		}
		a.short = newHashTable(pairs, byPair)
	}
	if len(keys) > 0 {
		// Bitmap: about 16 bits per anchor, so that a text offset whose
		// 4 bytes are no anchor passes with a probability near 1/16.
		b := bits.Len(uint(len(keys)*16 - 1))
		b = min(max(b, minB4), maxB4)
		a.bits4 = make([]uint64, 1<<b/64)
		a.shift4 = uint(32 - b)
		for _, k := range keys {
			h := (k * mul4) >> a.shift4
			a.bits4[h>>6] |= 1 << (h & 63)
		}
		a.long = newHashTable(keys, byKey)
	}
	return a
}

// Empty reports whether there is no pattern to find.
func (a *Anchors) Empty() bool { return a == nil || !a.hasPat }

// Find calls fn with the id and end offset (exclusive) of every pattern
// occurrence in text (a pattern occurring several times is reported each
// time), in no particular order, until fn returns true; it reports
// whether fn did.
func (a *Anchors) Find(text []byte, fn func(id int32, end int) bool) bool {
	if a.Empty() {
		return false
	}
	if a.bits4 != nil && len(text) >= 4 && a.findLong(text, fn) {
		return true
	}
	if a.bits2 != nil {
		bm := a.bits2
		for i := range text {
			pair := uint32(text[i])
			if i+1 < len(text) {
				pair |= uint32(text[i+1]) << 8
			}
			if bm[pair>>6]&(1<<(pair&63)) == 0 {
				continue
			}
			for _, e := range a.short.get(pair) {
				// The pair matched: check the length and a third byte.
				p := a.pats[e.id]
				if i+len(p) <= len(text) && (len(p) < 3 || text[i+2] == p[2]) && fn(e.id, i+len(p)) {
					return true
				}
			}
		}
	}
	return false
}

// findLong tests the 4 bytes at every offset of text (len(text) >= 4)
// against the bitmap of anchors. One 8-byte load gives the 4-byte
// windows of four consecutive offsets; their four bitmap tests are
// independent and share one branch, which is rarely taken.
func (a *Anchors) findLong(text []byte, fn func(id int32, end int) bool) bool {
	bm := a.bits4
	m := uint32(len(bm) - 1)
	shift := a.shift4 & 31
	bit := func(k uint32) uint64 {
		h := (k * mul4) >> shift
		return bm[(h>>6)&m] >> (h & 63)
	}
	i := 0
	for ; i+8 <= len(text); i += 4 {
		w := binary.LittleEndian.Uint64(text[i:])
		k0, k1, k2, k3 := uint32(w), uint32(w>>8), uint32(w>>16), uint32(w>>24)
		if (bit(k0)|bit(k1)|bit(k2)|bit(k3))&1 == 0 {
			continue
		}
		for j, k := range [4]uint32{k0, k1, k2, k3} {
			if bit(k)&1 != 0 && a.verify(text, i+j, k, fn) {
				return true
			}
		}
	}
	for ; i+4 <= len(text); i++ {
		if k := binary.LittleEndian.Uint32(text[i:]); bit(k)&1 != 0 && a.verify(text, i, k, fn) {
			return true
		}
	}
	return false
}

// verify reports the patterns filed under anchor k that occur in text
// with their anchor at offset i, until fn returns true.
func (a *Anchors) verify(text []byte, i int, k uint32, fn func(id int32, end int) bool) bool {
	ents := a.long.get(k)
	for j := range ents {
		e := &ents[j]
		start := i - int(e.off)
		if end := start + int(e.n); start >= 0 && end <= len(text) && e.equal(text, start, a.pats[e.id]) && fn(e.id, end) {
			return true
		}
	}
	return false
}
