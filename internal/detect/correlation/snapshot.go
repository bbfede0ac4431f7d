package correlation

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// snapshotVersion is the format version written by Snapshot.
const snapshotVersion = 1

type snapFile struct {
	Version int         `json:"version"`
	MaxTime time.Time   `json:"max_time"`
	Groups  []snapGroup `json:"groups"`
}

type snapGroup struct {
	Rule    string      `json:"rule"`
	Key     []string    `json:"key"`
	Entries []snapEntry `json:"entries"`
}

type snapEntry struct {
	T   time.Time `json:"t"`
	Ref int       `json:"r"`
	Val string    `json:"v,omitempty"`
	IDs []string  `json:"ids,omitempty"`
}

// Snapshot writes the state (every group's pending entries) as JSON.
func (e *Engine) Snapshot(w io.Writer) error {
	e.mu.Lock()
	f := snapFile{Version: snapshotVersion, MaxTime: e.maxT}
	// Oldest first, so that Restore rebuilds the same recency order.
	for el := e.lru.Back(); el != nil; el = el.Prev() {
		g := el.Value.(*group)
		sg := snapGroup{Rule: g.cr.key, Key: g.key}
		for _, en := range g.entries {
			sg.Entries = append(sg.Entries, snapEntry{T: en.T, Ref: en.Ref, Val: en.Val, IDs: en.IDs})
		}
		f.Groups = append(f.Groups, sg)
	}
	e.mu.Unlock()
	if err := json.NewEncoder(w).Encode(&f); err != nil {
		return fmt.Errorf("correlation snapshot: %w", err)
	}
	return nil
}

// Restore replaces the state with a snapshot. Groups of correlations that
// no longer exist, or entries referring to rules the correlation no longer
// has, are skipped and counted in the returned number.
func (e *Engine) Restore(r io.Reader) (skipped int, err error) {
	var f snapFile
	dec := json.NewDecoder(io.LimitReader(r, 1<<30))
	if err := dec.Decode(&f); err != nil {
		return 0, fmt.Errorf("correlation snapshot: %w", err)
	}
	if f.Version != snapshotVersion {
		return 0, fmt.Errorf("correlation snapshot: version %d, want %d", f.Version, snapshotVersion)
	}
	byKey := map[string]*crule{}
	for _, cr := range e.rules {
		byKey[cr.key] = cr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.groups = map[string]*group{}
	e.lru.Init()
	e.closes = e.closes[:0]
	e.maxT = f.MaxTime
	for _, sg := range f.Groups {
		cr := byKey[sg.Rule]
		if cr == nil || len(sg.Key) != len(cr.c.GroupBy) {
			skipped++
			continue
		}
		if len(e.groups) >= e.opt.MaxGroups {
			e.evictOldest()
		}
		g := &group{cr: cr, key: sg.Key, mapKey: groupKey(cr, sg.Key), heapIdx: -1}
		for _, se := range sg.Entries {
			if se.Ref < 0 || se.Ref >= len(cr.c.Refs) {
				skipped++
				continue
			}
			g.entries = append(g.entries, entry{T: se.T, Ref: se.Ref, Val: se.Val, IDs: se.IDs})
		}
		if len(g.entries) == 0 {
			continue
		}
		if len(g.entries) > e.opt.MaxEntriesPerGroup {
			g.entries = g.entries[len(g.entries)-e.opt.MaxEntriesPerGroup:]
		}
		g.elem = e.lru.PushFront(g)
		e.groups[g.mapKey] = g
		if !cr.monotonic {
			e.schedule(g)
		}
	}
	return skipped, nil
}
