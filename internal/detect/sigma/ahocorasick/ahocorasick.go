// Package ahocorasick finds many byte patterns in one pass over a text,
// without allocating, in two ways:
//
//   - Matcher, an Aho-Corasick automaton compiled to a dense transition
//     table over byte classes (bytes no pattern uses share one class):
//     one table lookup per byte, and the end offset of each match;
//   - Anchors, which files each pattern under a 4-byte substring and
//     tests the text's 4-byte windows against a small bitmap: for large
//     pattern sets, whose automata do not fit in the cache (see
//     anchors.go).
package ahocorasick

// Matcher is an immutable automaton; it is safe for concurrent use.
type Matcher struct {
	classes [256]uint16
	nclass  int
	delta   []int32 // state*nclass + class -> state
	// next is delta for scanning: the next state's row offset
	// (state*nclass), negated (minus one) when the state has output.
	next []int32
	// next16 is used instead for tables over 256 KiB with fewer than 32768
	// states: the next state's id, with the top bit set when it has output.
	// Half the memory, so more of the table stays in cache.
	next16   []uint16
	outStart []int32 // patterns ending at state: outIDs[outStart[s]:outStart[s+1]]
	outIDs   []int32
	link     []int32 // next state on the suffix chain with output, or -1
	hasOut   []bool  // state or a suffix of it has output (build only)
	npat     int
}

// Build compiles the patterns. Pattern i is reported as i. Empty patterns
// are ignored.
func Build(patterns [][]byte) *Matcher {
	m := &Matcher{npat: len(patterns)}
	// Byte classes.
	used := [256]bool{}
	for _, p := range patterns {
		for _, c := range p {
			used[c] = true
		}
	}
	m.nclass = 1
	for c := 0; c < 256; c++ {
		if used[c] {
			m.classes[c] = uint16(m.nclass)
			m.nclass++
		}
	}
	// Trie with sparse edges.
	type node struct {
		next map[uint16]int32
		out  []int32
		fail int32
	}
	nodes := []node{{next: map[uint16]int32{}}}
	for id, p := range patterns {
		if len(p) == 0 {
			continue
		}
		s := int32(0)
		for _, c := range p {
			cl := m.classes[c]
			nx, ok := nodes[s].next[cl]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, node{next: map[uint16]int32{}})
				nodes[s].next[cl] = nx
			}
			s = nx
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	n := len(nodes)
	m.delta = make([]int32, n*m.nclass)
	m.link = make([]int32, n)
	m.hasOut = make([]bool, n)
	// BFS to fill failure links and the dense table.
	queue := make([]int32, 0, n)
	for cl := 0; cl < m.nclass; cl++ {
		if nx, ok := nodes[0].next[uint16(cl)]; ok {
			m.delta[cl] = nx
			nodes[nx].fail = 0
			queue = append(queue, nx)
		} else {
			m.delta[cl] = 0
		}
	}
	m.link[0] = -1
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		f := nodes[s].fail
		if len(nodes[f].out) > 0 {
			m.link[s] = f
		} else {
			m.link[s] = m.link[f]
		}
		for cl := 0; cl < m.nclass; cl++ {
			if nx, ok := nodes[s].next[uint16(cl)]; ok {
				nodes[nx].fail = m.delta[int(f)*m.nclass+cl]
				m.delta[int(s)*m.nclass+cl] = nx
				queue = append(queue, nx)
			} else {
				m.delta[int(s)*m.nclass+cl] = m.delta[int(f)*m.nclass+cl]
			}
		}
	}
	m.outStart = make([]int32, n+1)
	for s := 0; s < n; s++ {
		m.outStart[s] = int32(len(m.outIDs))
		m.outIDs = append(m.outIDs, nodes[s].out...)
	}
	m.outStart[n] = int32(len(m.outIDs))
	for s := 0; s < n; s++ {
		m.hasOut[s] = len(nodes[s].out) > 0 || m.link[s] >= 0
	}
	// Small tables stay in cache anyway: keep row offsets, which save a
	// multiplication per byte. Medium ones take half the memory.
	if n < 1<<15 && len(m.delta)*4 > 256<<10 {
		m.next16 = make([]uint16, len(m.delta))
		for i, t := range m.delta {
			v := uint16(t)
			if m.hasOut[t] {
				v |= 1 << 15
			}
			m.next16[i] = v
		}
	} else {
		m.next = make([]int32, len(m.delta))
		for i, t := range m.delta {
			v := t * int32(m.nclass)
			if m.hasOut[t] {
				v = -v - 1
			}
			m.next[i] = v
		}
	}
	m.delta = nil
	return m
}

// States returns the number of automaton states (a measure of its size).
func (m *Matcher) States() int { return len(m.link) }

// Scan calls fn with the id of every pattern occurrence in text (a pattern
// occurring several times is reported each time).
func (m *Matcher) Scan(text []byte, fn func(id int32)) {
	if m == nil || len(m.link) <= 1 {
		return
	}
	nc := int32(m.nclass)
	if m.next16 != nil {
		next, classes := m.next16, &m.classes
		st := int32(0)
		for _, c := range text {
			v := next[st*nc+int32(classes[c])]
			st = int32(v & (1<<15 - 1))
			if v < 1<<15 {
				continue
			}
			for t := st; t >= 0; t = m.link[t] {
				for _, id := range m.outIDs[m.outStart[t]:m.outStart[t+1]] {
					fn(id)
				}
			}
		}
		return
	}
	off := int32(0) // row offset of the current state
	next, classes := m.next, &m.classes
	for _, c := range text {
		v := next[off+int32(classes[c])]
		if v >= 0 {
			off = v
			continue
		}
		off = -v - 1
		for t := off / nc; t >= 0; t = m.link[t] {
			for _, id := range m.outIDs[m.outStart[t]:m.outStart[t+1]] {
				fn(id)
			}
		}
	}
}

// Find calls fn with the id and end offset (exclusive) of each pattern
// occurrence in text until fn returns true; it reports whether fn did.
func (m *Matcher) Find(text []byte, fn func(id int32, end int) bool) bool {
	if m == nil || len(m.link) <= 1 {
		return false
	}
	nc := int32(m.nclass)
	if m.next16 != nil {
		st := int32(0)
		for i, c := range text {
			v := m.next16[st*nc+int32(m.classes[c])]
			st = int32(v & (1<<15 - 1))
			if v < 1<<15 {
				continue
			}
			for t := st; t >= 0; t = m.link[t] {
				for _, id := range m.outIDs[m.outStart[t]:m.outStart[t+1]] {
					if fn(id, i+1) {
						return true
					}
				}
			}
		}
		return false
	}
	off := int32(0)
	for i, c := range text {
		v := m.next[off+int32(m.classes[c])]
		if v >= 0 {
			off = v
			continue
		}
		off = -v - 1
		for t := off / nc; t >= 0; t = m.link[t] {
			for _, id := range m.outIDs[m.outStart[t]:m.outStart[t+1]] {
				if fn(id, i+1) {
					return true
				}
			}
		}
	}
	return false
}
