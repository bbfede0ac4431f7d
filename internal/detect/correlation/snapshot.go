package correlation

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// snapshotVersion is the format version written by Snapshot. Version 1
// (one global max_time) is still read: its max_time is ignored.
const snapshotVersion = 2

type snapFile struct {
	Version int `json:"version"`
	// MaxTime is version 1's global clock, read and ignored.
	MaxTime time.Time   `json:"max_time,omitzero"`
	Groups  []snapGroup `json:"groups"`
}

type snapGroup struct {
	Rule    string      `json:"rule"`
	Key     []string    `json:"key"`
	Entries []snapEntry `json:"entries"`
	Burst   *snapBurst  `json:"burst,omitempty"`
	// Gone marks, in a list of changes, a group that no longer exists.
	Gone bool `json:"gone,omitempty"`
}

// goneGroup names a group removed since the last snapshot.
type goneGroup struct {
	rule string
	key  []string
}

// snapBurst is a burst going on (see burst).
type snapBurst struct {
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Count int       `json:"count"`
	Vals  []string  `json:"vals,omitempty"`
	Sum   float64   `json:"sum,omitempty"`
	Refs  []bool    `json:"refs,omitempty"`
	IDs   []string  `json:"ids,omitempty"`
}

type snapEntry struct {
	T    time.Time `json:"t"`
	Ref  int       `json:"r"`
	Val  string    `json:"v,omitempty"`
	IDs  []string  `json:"ids,omitempty"`
	Late bool      `json:"late,omitempty"`
}

// Snapshot writes the state (every group's pending entries) as JSON, in
// the format snapFile describes, one group at a time: under a brute-force
// flood the state is tens of MB, and a copy of it plus its whole encoding
// held in memory at every checkpoint was the process's peak. What it
// holds beyond the state is one group's encoding (w is expected to be
// buffered). The engine is locked while it writes, so that the snapshot is
// of one moment.
func (e *Engine) Snapshot(w io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.snapshot(w); err != nil {
		return fmt.Errorf("correlation snapshot: %w", err)
	}
	return nil
}

func (e *Engine) snapshot(w io.Writer) error {
	e.dropEndedBursts(e.opt.Now())
	if _, err := fmt.Fprintf(w, `{"version":%d,"groups":[`, snapshotVersion); err != nil {
		return err
	}
	enc := groupEncoder{enc: json.NewEncoder(w)}
	// Oldest first, so that Restore rebuilds the same recency order.
	for el := e.lru.Back(); el != nil; el = el.Prev() {
		if el != e.lru.Back() {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if err := enc.encode(el.Value.(*group)); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "]}\n"); err != nil {
		return err
	}
	e.clearChanged()
	e.gone = nil
	return nil
}

// SnapshotChanges writes what changed since the last Snapshot or
// SnapshotChanges: one JSON object per line for each group changed (as it
// now stands) and each group removed (marked gone). Applied in order with
// RestoreChanges to the state Snapshot wrote, the changes rebuild the
// state as it is now; a checkpoint writes them instead of the whole
// state, whose groups mostly sit unchanged (addresses seen once) while a
// few brute forces go on.
func (e *Engine) SnapshotChanges(w io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dropEndedBursts(e.opt.Now())
	enc := groupEncoder{enc: json.NewEncoder(w)}
	for _, gg := range e.gone {
		if err := enc.enc.Encode(snapGroup{Rule: gg.rule, Key: gg.key, Entries: []snapEntry{}, Gone: true}); err != nil {
			return fmt.Errorf("correlation changes: %w", err)
		}
	}
	for g := range e.changed {
		if err := enc.encode(g); err != nil {
			return fmt.Errorf("correlation changes: %w", err)
		}
	}
	e.clearChanged()
	e.gone = nil
	return nil
}

// groupEncoder writes groups as snapGroup, reusing its buffers.
type groupEncoder struct {
	enc *json.Encoder
	sg  snapGroup // reused: its entries' backing array too
	sb  snapBurst
}

func (ge *groupEncoder) encode(g *group) error {
	sg, sb := &ge.sg, &ge.sb
	sg.Rule, sg.Key, sg.Entries, sg.Burst = g.cr.key, g.key, sg.Entries[:0], nil
	if b := g.burst; b != nil {
		*sb = snapBurst{First: b.first, Last: b.last, Count: b.count, Sum: b.sum, Refs: b.refs, IDs: b.ids, Vals: sb.Vals[:0]}
		for v := range b.vals {
			sb.Vals = append(sb.Vals, v)
		}
		sort.Strings(sb.Vals)
		sg.Burst = sb
	}
	for _, en := range g.entries {
		sg.Entries = append(sg.Entries, snapEntry{T: en.T, Ref: en.Ref, Val: en.Val, IDs: en.IDs, Late: en.Late})
	}
	return ge.enc.Encode(sg) // its newline is JSON whitespace
}

// Restore replaces the state with a snapshot. Groups of correlations that
// no longer exist, entries referring to rules the correlation no longer
// has, and entries dated beyond the wall clock plus MaxSkew (a clock that
// was wrong, or a future time saved by a version that trusted it) are
// skipped and counted in the returned number. Each group's clock restarts
// from its newest entry, at the time of the restore.
func (e *Engine) Restore(r io.Reader) (skipped int, err error) {
	var f snapFile
	dec := json.NewDecoder(io.LimitReader(r, 1<<30))
	if err := dec.Decode(&f); err != nil {
		return 0, fmt.Errorf("correlation snapshot: %w", err)
	}
	if f.Version != 1 && f.Version != snapshotVersion {
		return 0, fmt.Errorf("correlation snapshot: version %d, want 1 or %d", f.Version, snapshotVersion)
	}
	byKey := map[string]*crule{}
	for _, cr := range e.rules {
		byKey[cr.key] = cr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opt.Now()
	limit := now.Add(e.opt.MaxSkew)
	e.groups = map[string]*group{}
	e.bytes = 0
	e.lru.Init()
	e.closes = e.closes[:0]
	e.grown, e.ended = nil, nil
	for _, sg := range f.Groups {
		skipped += e.restoreGroup(&sg, byKey, now, limit)
	}
	e.clearChanged()
	e.gone = nil
	return skipped, nil
}

// restoreGroup adds one group of a snapshot (replacing the group of the
// same key) and returns how many of its entries it skipped.
func (e *Engine) restoreGroup(sg *snapGroup, byKey map[string]*crule, now, limit time.Time) (skipped int) {
	cr := byKey[sg.Rule]
	if cr == nil || len(sg.Key) != len(cr.c.GroupBy) {
		return 1
	}
	mk := groupKey(cr, sg.Key)
	if old := e.groups[mk]; old != nil {
		e.unlink(old)
	}
	if sg.Gone {
		return 0
	}
	if len(e.groups) >= e.opt.MaxGroups {
		e.evictOldest()
	}
	g := &group{cr: cr, key: sg.Key, mapKey: mk, heapIdx: -1, seen: now}
	for _, se := range sg.Entries {
		if se.Ref < 0 || se.Ref >= len(cr.c.Refs) || se.T.IsZero() || se.T.After(limit) {
			skipped++
			continue
		}
		g.entries = append(g.entries, entry{T: se.T, A: now, Late: se.Late, Ref: se.Ref, Val: se.Val, IDs: se.IDs})
		if se.T.After(g.newest) {
			g.newest = se.T
		}
	}
	if sb := sg.Burst; sb != nil && !sb.First.IsZero() && !sb.Last.After(limit) && (sb.Refs == nil || len(sb.Refs) == len(cr.c.Refs)) {
		b := &openBurst{first: sb.First, last: sb.Last, count: sb.Count, sum: sb.Sum, refs: sb.Refs, ids: sb.IDs}
		if b.refs == nil {
			b.refs = make([]bool, len(cr.c.Refs))
		}
		if cr.c.Type == "value_count" {
			b.vals = map[string]struct{}{}
			for _, v := range sb.Vals {
				b.vals[v] = struct{}{}
			}
		}
		g.burst = b
		if sb.Last.After(g.newest) {
			g.newest = sb.Last
		}
	}
	if len(g.entries) == 0 && g.burst == nil {
		return skipped
	}
	sort.SliceStable(g.entries, func(i, j int) bool { return g.entries[i].T.Before(g.entries[j].T) })
	if len(g.entries) > e.opt.MaxEntriesPerGroup {
		g.entries = g.entries[len(g.entries)-e.opt.MaxEntriesPerGroup:]
	}
	g.elem = e.lru.PushFront(g)
	e.groups[g.mapKey] = g
	if !cr.monotonic {
		e.schedule(g)
	}
	e.resize(g)
	e.fit(g)
	return skipped
}

// unlink takes a group out of the state as a restore replaces it (no
// alert, no eviction counted).
func (e *Engine) unlink(g *group) {
	if g.elem != nil {
		e.lru.Remove(g.elem)
		g.elem = nil
	}
	if g.heapIdx >= 0 {
		heap.Remove(&e.closes, g.heapIdx)
	}
	delete(e.groups, g.mapKey)
	e.bytes -= g.size
	g.size = 0
}

// RestoreChanges applies, in order, changes SnapshotChanges wrote since
// the snapshot Restore read (or since earlier changes applied). Like
// Restore it skips, and counts, what no longer fits the rules or the
// clock. Groups it updates become the most recently active.
func (e *Engine) RestoreChanges(r io.Reader) (skipped int, err error) {
	byKey := map[string]*crule{}
	for _, cr := range e.rules {
		byKey[cr.key] = cr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opt.Now()
	limit := now.Add(e.opt.MaxSkew)
	dec := json.NewDecoder(r)
	for {
		var sg snapGroup
		if err := dec.Decode(&sg); err == io.EOF {
			break
		} else if err != nil {
			return skipped, fmt.Errorf("correlation changes: %w", err)
		}
		skipped += e.restoreGroup(&sg, byKey, now, limit)
	}
	e.clearChanged()
	e.gone = nil
	return skipped, nil
}

// markChanged records that a group changed since the last snapshot.
func (e *Engine) markChanged(g *group) {
	if !g.inChanged {
		g.inChanged = true
		e.changed[g] = struct{}{}
	}
}

// clearChanged forgets the changes recorded: a snapshot holds them.
func (e *Engine) clearChanged() {
	for g := range e.changed {
		g.inChanged = false
	}
	clear(e.changed)
}
