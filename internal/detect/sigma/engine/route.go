package engine

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
)

// alias is a compiled pipeline.Alias.
type alias struct {
	before string // literal before '*' (or the whole From)
	after  string // literal after '*'; star false when no '*'
	star   bool
	to     string
}

func newAlias(a pipeline.Alias) alias {
	if i := strings.IndexByte(a.From, '*'); i >= 0 {
		return alias{before: a.From[:i], after: a.From[i+1:], star: true, to: a.To}
	}
	return alias{before: a.From, to: a.To}
}

// rewrite appends the aliased name of name to buf, or reports false.
func (a *alias) rewrite(buf []byte, name string) ([]byte, bool) {
	if !strings.HasPrefix(name, a.before) {
		return buf, false
	}
	rest := name[len(a.before):]
	if a.star {
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 {
			return buf, false
		}
		rest = rest[dot:]
		if !strings.HasPrefix(rest, a.after) {
			return buf, false
		}
		rest = rest[len(a.after):]
	}
	buf = append(buf[:0], a.to...)
	buf = append(buf, rest...)
	return buf, true
}

type routeEntry struct {
	ls      sigma.LogSource
	all     []int32 // rules accepting this entry
	ungated []int32 // of those, the ones the prefilter cannot rule out
	// pats are the prefilter literals of this entry's gated rules.
	pats []entryPat
}

// routeGroup holds the routes testing the same fields (with the same
// fields tested for mere presence).
type routeGroup struct {
	slots []int32
	star  []bool
	keys  map[string][]int32 // composite folded key -> entries
}

type routeTable struct {
	entries []routeEntry
	groups  []*routeGroup
	slots   map[int32]bool
	// slotList is slots, sorted: the fields whose values decide an
	// event's routing.
	slotList []int32
}

func (t *routeTable) build(e *Engine, routes []pipeline.Route) error {
	byShape := map[string]*routeGroup{}
	t.slots = map[int32]bool{}
	for _, r := range routes {
		conds := append([]pipeline.Cond(nil), r.When...)
		sort.Slice(conds, func(i, j int) bool { return conds[i].Field < conds[j].Field })
		shape := ""
		for _, c := range conds {
			star := len(c.Values) == 1 && c.Values[0] == "*"
			shape += c.Field + "\x00"
			if star {
				shape += "*\x00"
			} else {
				shape += "=\x00"
			}
		}
		g := byShape[shape]
		if g == nil {
			g = &routeGroup{keys: map[string][]int32{}}
			for _, c := range conds {
				s := e.slot(c.Field)
				t.slots[s] = true
				g.slots = append(g.slots, s)
				g.star = append(g.star, len(c.Values) == 1 && c.Values[0] == "*")
			}
			byShape[shape] = g
			t.groups = append(t.groups, g)
		}
		entry := int32(-1)
		for i := range t.entries {
			if t.entries[i].ls == r.LogSource {
				entry = int32(i)
			}
		}
		if entry < 0 {
			entry = int32(len(t.entries))
			t.entries = append(t.entries, routeEntry{ls: r.LogSource})
		}
		// Every combination of values.
		keys := []string{""}
		for i, c := range conds {
			if g.star[i] {
				for k := range keys {
					keys[k] += "\x00"
				}
				continue
			}
			var next []string
			for _, k := range keys {
				for _, v := range c.Values {
					next = append(next, k+fold(v)+"\x00")
				}
			}
			keys = next
			if len(keys) > 1<<16 {
				return fmt.Errorf("route for %s has too many value combinations", r.LogSource)
			}
		}
		for _, k := range keys {
			if !containsInt32(g.keys[k], entry) {
				g.keys[k] = append(g.keys[k], entry)
			}
		}
	}
	for s := range t.slots {
		t.slotList = append(t.slotList, s)
	}
	slices.Sort(t.slotList)
	return nil
}

func containsInt32(s []int32, x int32) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// assign records, for every rule, the route entries whose log source it
// accepts.
func (t *routeTable) assign(e *Engine) {
	for ri, r := range e.rules {
		ls := r.info.LogSource
		if ls.IsZero() {
			r.everyEvent = true
			continue
		}
		for ei := range t.entries {
			if ls.Covers(t.entries[ei].ls) {
				r.entries = append(r.entries, int32(ei))
				t.entries[ei].all = append(t.entries[ei].all, int32(ri))
			}
		}
	}
}

// route marks the entries an event belongs to.
func (t *routeTable) route(w *Worker) {
	w.entries = w.entries[:0]
	for _, g := range t.groups {
		key := w.keyBuf[:0]
		ok := true
		for i, s := range g.slots {
			if w.slotEpoch[s] != w.epoch {
				ok = false
				break
			}
			if !g.star[i] {
				key = append(key, w.foldedSlot(s)...)
			}
			key = append(key, 0)
		}
		w.keyBuf = key
		if !ok {
			continue
		}
		for _, ei := range g.keys[string(key)] {
			if w.entryEpoch[ei] != w.epoch {
				w.entryEpoch[ei] = w.epoch
				w.entries = append(w.entries, ei)
			}
		}
	}
}

// routeResult is the routing of an event: its route entries, the key of
// their combination and, once known, the combination's searchers.
type routeResult struct {
	entries  []int32
	comboKey []byte
	combo    *combo
}

// maxRouteCache bounds a worker's route cache (distinct combinations of
// route field values; a few dozen in practice).
const maxRouteCache = 1024

// routeEvent routes the event being matched. Events with the same route
// field values (channel, event id, provider...) are routed alike, so the
// result is cached by those values, raw: one map lookup instead of a
// lookup per route shape on folded values.
func (w *Worker) routeEvent() *routeResult {
	t := &w.e.routes
	key := w.routeKey[:0]
	for _, s := range t.slotList {
		if w.slotEpoch[s] != w.epoch {
			key = append(key, 0)
			continue
		}
		v := w.slotVal[s]
		key = binary.AppendUvarint(key, uint64(len(v))+1)
		key = append(key, v...)
	}
	w.routeKey = key
	if rr, ok := w.routeCache[string(key)]; ok {
		return rr
	}
	t.route(w)
	rr := &w.routeScratch
	if len(w.routeCache) < maxRouteCache {
		rr = &routeResult{}
		w.routeCache[string(key)] = rr
	}
	rr.entries = append(rr.entries[:0], w.entries...)
	rr.comboKey = rr.comboKey[:0]
	for _, ei := range w.entries {
		rr.comboKey = append(rr.comboKey, byte(ei), byte(ei>>8), byte(ei>>16))
	}
	rr.combo = nil
	return rr
}
