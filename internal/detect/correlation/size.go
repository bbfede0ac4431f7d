package correlation

// The state's memory is estimated per group, from what a group, an entry
// and a kept string cost on the heap with their map, list and slice
// overheads (a heap profile of a brute-force flood: ~0.5 KiB per group of
// one entry). The estimate is kept up to date where a group grows (add)
// and where it ends; where entries are consumed or pruned it is updated
// at the group's next add, so it errs on the high side.
const (
	groupBytes  = 360 // group, its map and list entries, its key slice
	entryBytes  = 112 // entry (in its slice) and its one-id slice
	stringBytes = 16  // a string header beyond the slices counted above
	burstBytes  = 160 // openBurst and its refs
	valueBytes  = 64  // one distinct value of a value_count burst (map entry)
)

// sizeOf estimates the heap a group holds. Entries are counted at the
// capacity of their slice, their strings by the group's newest entry (the
// entries of one group carry values of one field and ids of one shape).
func sizeOf(g *group) int64 {
	n := groupBytes + 2*len(g.mapKey) + stringBytes*len(g.key)
	n += entryBytes * cap(g.entries)
	if k := len(g.entries); k > 0 {
		en := &g.entries[k-1]
		per := len(en.Val)
		for _, id := range en.IDs {
			per += len(id)
		}
		n += per * k
	}
	if b := g.burst; b != nil {
		n += burstBytes + len(b.refs)
		if len(b.ids) > 0 {
			n += cap(b.ids)*stringBytes + len(b.ids)*len(b.ids[0])
		}
		n += len(b.vals) * valueBytes
	}
	return int64(n)
}

// resize updates the estimate of one group's memory.
func (e *Engine) resize(g *group) {
	s := sizeOf(g)
	e.bytes += s - g.size
	g.size = s
}

// fit evicts the least recently active groups while the state is over
// MaxBytes, never the group just updated (keep).
func (e *Engine) fit(keep *group) {
	if e.opt.MaxBytes <= 0 {
		return
	}
	for e.bytes > e.opt.MaxBytes {
		el := e.lru.Back()
		if el == nil || el.Value.(*group) == keep {
			return
		}
		e.evictOldest()
	}
}
