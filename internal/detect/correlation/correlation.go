// Package correlation evaluates Sigma correlation rules (event_count,
// value_count, temporal, temporal_ordered, value_sum, value_avg,
// value_percentile) over the matches of a compiled Sigma engine, in event
// time, grouped by the rules' group-by fields (with aliases), and chained
// when a correlation refers to another.
//
// State is bounded: at most Options.MaxGroups groups, and groups whose
// estimated memory is at most Options.MaxBytes (beyond either, the least
// recently updated group is evicted and counted), of at most
// MaxEntriesPerGroup entries each. It can be written to an io.Writer and read back so that it
// survives a restart.
//
// Time: event times are the senders' claims, so they are trusted only up
// to the wall clock plus MaxSkew; a later time is taken as the arrival
// time (and counted). There is no global clock: each group keeps its own,
// the newest event time it has seen, running on with the wall clock while
// the group is quiet. An event more than AllowedLateness behind its own
// group's clock is late; late events are kept apart for a while and still
// evaluated, never dropped for their time. So a sender lying about the
// time moves nothing but its own groups (and those only up to the wall
// clock), and a historical import (last month's export) or a backlog
// forms its own windows beside the live ones.
//
// Windows: a correlation whose condition can only become true as events
// arrive (gt/gte on counts, distinct values, rule sets, sums) fires as soon
// as the events of some timespan holding the new event satisfy it (the
// last timespan, up to the group's newest event, for an event in order);
// the contributing entries are then consumed, so the next alert needs new
// events. Other conditions (lt, lte, eq, ranges, averages, percentiles,
// temporal expressions with not) are decided when a window closes: a
// window starts at the oldest pending event of a group and closes once
// the group's clock passes its end plus AllowedLateness (Tick on a quiet
// stream; Flush to force every window ending before a time).
package correlation

import (
	"container/heap"
	"container/list"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/event"
)

// Options bound and tune the engine.
type Options struct {
	MaxGroups int // default 100000
	// MaxBytes bounds the state's estimated memory (0: only MaxGroups
	// bounds it). A group of one failed login from one address is about
	// half a KiB; a burst keeps up to MaxEventIDs ids and, counting
	// distinct values, each value.
	MaxBytes           int64
	MaxEntriesPerGroup int // default 10000
	// AllowedLateness is how far behind the newest event of its own group
	// an event may arrive and still be placed in that group's windows as
	// if on time (default 1 minute). Later events are kept apart as late
	// and still evaluated (see the package doc).
	AllowedLateness time.Duration
	// MaxSkew is how far ahead of the wall clock an event time is
	// believed (default event.DefaultMaxSkew): later times are taken as the arrival
	// time, so that a sender's clock cannot move any window.
	MaxSkew     time.Duration
	MaxEventIDs int // event ids kept per alert, default 100
	// Now is the wall clock: the arrival time of matches, the clock of
	// quiet groups, and the time of events that carry none (default
	// time.Now).
	Now func() time.Time
	// Bursts: a growing correlation that fired keeps counting the events
	// of its group and returns its alert again, marked Update, with its
	// true size (see burst.go). Off, each firing consumes its window and
	// the count starts again (as offline scans and regression counts
	// expect).
	Bursts bool
	// MaxBurst bounds how long one burst of a growing correlation is
	// reported as one alert (default 24h).
	MaxBurst time.Duration
	// BurstUpdatesOnTick: a burst that grew is reported once by the next
	// Tick or Flush, with its size then, instead of by every Observe that
	// grew it. A brute force of thousands of events per second otherwise
	// builds thousands of alerts that say the same thing but one more
	// event. Call Tick before saving the state (Snapshot), or the updates
	// since the last Tick are not reported.
	BurstUpdatesOnTick bool
	// Skip, when set, keeps a base-rule match out of one correlation
	// (a tuning exception for that correlation matches the event).
	Skip func(c *sigma.Correlation, ev *event.Event) bool
}

func (o Options) withDefaults() Options {
	if o.MaxGroups <= 0 {
		o.MaxGroups = 100000
	}
	if o.MaxEntriesPerGroup <= 0 {
		o.MaxEntriesPerGroup = 10000
	}
	if o.AllowedLateness <= 0 {
		o.AllowedLateness = time.Minute
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = event.DefaultMaxSkew
	}
	if o.MaxBurst <= 0 {
		o.MaxBurst = 24 * time.Hour
	}
	if o.MaxEventIDs <= 0 {
		o.MaxEventIDs = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Field is one group-by value.
type Field struct {
	Name  string
	Value string
}

// Alert is a correlation that fired.
type Alert struct {
	RuleID      string
	Name        string
	Title       string
	Level       string
	Status      string
	Description string
	Tags        []string
	Type        string
	GroupBy     []Field
	// EventIDs are the vigil.id of the contributing events (at most
	// Options.MaxEventIDs), oldest first.
	EventIDs []string
	First    time.Time
	Last     time.Time
	// Value is what the condition compared: the event count, the number
	// of distinct values or rules, or the sum, average or percentile.
	Value float64
	// Count is the number of contributing events.
	Count int
	// Update marks the alert of a burst that grew: it replaces the alert
	// with the same First (and group) reported before.
	Update bool
	// Standalone is false when the correlation only feeds another
	// correlation (which does not generate its referenced rules).
	Standalone bool
}

// Stats are the engine's counters.
type Stats struct {
	Groups    int
	Bytes     int64  // estimated memory of the state (see MaxBytes)
	Evictions uint64 // groups evicted because MaxGroups or MaxBytes was reached
	Dropped   uint64 // entries dropped because their group was full
	Late      uint64 // entries that arrived later than AllowedLateness behind their group (evaluated apart)
	Clamped   uint64 // event times beyond the wall clock plus MaxSkew, taken as the arrival time
	Alerts    uint64
}

type entry struct {
	T    time.Time // event time (clamped)
	A    time.Time // arrival (wall clock)
	Late bool      // arrived later than AllowedLateness behind its group
	Ref  int       // index in the correlation's Refs
	Val  string
	IDs  []string
}

type crule struct {
	c         *sigma.Correlation
	key       string
	monotonic bool
}

// group is one correlation's state for one group-by key. Its clock is its
// own: newest is the newest event time it has seen, seen the wall time of
// its last arrival; between arrivals the clock runs with the wall clock
// (newest + now - seen).
type group struct {
	cr      *crule
	key     []string
	entries []entry // in event-time order
	elem    *list.Element
	newest  time.Time
	seen    time.Time
	closeAt time.Time // event time the pending window ends (closing conditions)
	due     time.Time // wall time at which the group's clock passes closeAt + lateness
	heapIdx int
	mapKey  string
	burst   *openBurst // a growing correlation that fired and goes on
	size    int64      // estimated memory, as last resized
	// inChanged: the group is in Engine.changed (set once per interval
	// between snapshots, not a map write per match).
	inChanged bool
}

// Engine is the correlation state. It is safe for concurrent use (one
// mutex); feed it from one goroutine for deterministic results.
type Engine struct {
	mu     sync.Mutex
	opt    Options
	eng    *engine.Engine
	rules  []*crule
	byRef  map[string][]*crule // base rule or correlation key -> correlations referring to it
	groups map[string]*group
	lru    *list.List
	closes closeHeap // groups with a pending window of a closing condition, by due
	stats  Stats
	bytes  int64 // the groups' estimated memory (sum of their size)
	// The groups changed and removed since the last Snapshot or
	// SnapshotChanges (see SnapshotChanges).
	changed map[*group]struct{}
	gone    []goneGroup
	// scratch of Observe and add: a match's group key and event id
	keyBuf []string
	mkBuf  []byte
	idBuf  [1]string
	fieldC map[fieldKey][]string
	// With BurstUpdatesOnTick: the groups whose burst grew since the last
	// Tick, and the last updates of bursts that ended or were replaced
	// before it.
	grown []*group
	ended []Alert
}

// New prepares the correlations of a rule set; eng maps Sigma field names
// to event field names for each referenced rule.
func New(corrs []*sigma.Correlation, eng *engine.Engine, opt Options) *Engine {
	e := &Engine{opt: opt.withDefaults(), eng: eng, byRef: map[string][]*crule{}, groups: map[string]*group{},
		lru: list.New(), fieldC: map[fieldKey][]string{}, changed: map[*group]struct{}{}}
	for _, c := range corrs {
		cr := &crule{c: c, key: c.Key()}
		cr.monotonic = monotonic(c)
		e.rules = append(e.rules, cr)
		for _, ref := range c.Refs {
			k := ref.ID()
			if !containsRule(e.byRef[k], cr) {
				e.byRef[k] = append(e.byRef[k], cr)
			}
		}
	}
	return e
}

func containsRule(l []*crule, c *crule) bool {
	for _, x := range l {
		if x == c {
			return true
		}
	}
	return false
}

func monotonic(c *sigma.Correlation) bool {
	if c.Condition.Expr != nil {
		return !hasNot(c.Condition.Expr)
	}
	switch c.Type {
	case "event_count", "value_count", "temporal", "temporal_ordered", "value_sum":
	default:
		return false
	}
	for _, cmp := range c.Condition.Cmp {
		if cmp.Op != "gt" && cmp.Op != "gte" {
			return false
		}
	}
	return true
}

func hasNot(c *sigma.Cond) bool {
	if c.Op == sigma.CondNot {
		return true
	}
	for _, k := range c.Kids {
		if hasNot(k) {
			return true
		}
	}
	return false
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Groups, s.Bytes = len(e.groups), e.bytes
	return s
}

// Observe feeds one base-rule match and returns the correlation alerts it
// completes (including chained ones), plus those of windows whose groups'
// clocks have passed their end. It keeps no reference to the match or its
// event: the values it keeps are copied.
func (e *Engine) Observe(m *engine.Match) []Alert {
	if m == nil || m.Rule == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	crs := e.byRef[m.Rule.ID]
	if m.Rule.ID == "" {
		crs = e.byRef[m.Rule.Name]
	}
	now := e.opt.Now()
	t := m.Event.Time
	switch {
	case t.IsZero():
		t = now
	case t.After(now.Add(e.opt.MaxSkew)):
		// A clock ahead (or a lie): the event cannot have happened after
		// it arrived. Trusting it would move the group's clock.
		t = now
		e.stats.Clamped++
	}
	var out []Alert
	// The id and the values below stay in the event's memory until add
	// keeps them (copied): most matches of a brute force join a burst that
	// keeps its first ids only.
	id := m.Event.Value(event.FieldID)
	for _, cr := range crs {
		ref := refIndex(cr.c, m.Rule.ID, m.Rule.Name)
		if ref < 0 || (e.opt.Skip != nil && e.opt.Skip(cr.c, m.Event)) {
			continue
		}
		refName := cr.c.Refs[ref].Name
		// The key's values stay in the event's memory: add copies them
		// for a new group only.
		key := e.keyBuf[:0]
		for _, g := range cr.c.GroupBy {
			key = append(key, e.eventValue(m, aliasField(cr.c, g, refName, m.Rule.Name, m.Rule.ID), m.Event))
		}
		e.keyBuf = key
		val := ""
		if len(cr.c.Condition.Field) > 0 {
			val = e.eventValue(m, aliasField(cr.c, cr.c.Condition.Field[0], refName, m.Rule.Name, m.Rule.ID), m.Event)
		}
		var ids []string
		if id != "" {
			e.idBuf[0] = id
			ids = e.idBuf[:]
		}
		out = append(out, e.add(cr, key, entry{T: t, A: now, Ref: ref, Val: val, IDs: ids})...)
	}
	out = append(out, e.closeWindows(now, time.Time{})...)
	return out
}

// Tick closes the windows whose groups' clocks have passed their end plus
// AllowedLateness. Call it periodically on a live stream: a quiet group's
// clock runs on with the wall clock.
func (e *Engine) Tick() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(e.burstUpdates(), e.closeWindows(e.opt.Now(), time.Time{})...)
}

// Flush closes every window that ends before t, whatever its group's
// clock says (call it with a far-future time at the end of a file), and
// those Tick would close.
func (e *Engine) Flush(t time.Time) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(e.burstUpdates(), e.closeWindows(e.opt.Now(), t)...)
}

func refIndex(c *sigma.Correlation, id, name string) int {
	for i, r := range c.Refs {
		k := r.ID()
		if (id != "" && k == id) || (name != "" && (k == name || r.Name == name)) {
			return i
		}
	}
	return -1
}

func aliasField(c *sigma.Correlation, field, refName, name, id string) string {
	if m, ok := c.Aliases[field]; ok {
		for _, k := range []string{refName, name, id} {
			if f, ok := m[k]; ok && k != "" {
				return f
			}
		}
	}
	return field
}

// eventValue reads a Sigma field from a base-rule match's event through
// the engine's pipeline mapping for that rule.
// fieldKey names a rule's field, whose event fields eventValue caches.
type fieldKey struct{ id, name, field string }

func (e *Engine) eventValue(m *engine.Match, field string, ev *event.Event) string {
	ck := fieldKey{m.Rule.ID, m.Rule.Name, field} // no string built per match
	names, ok := e.fieldC[ck]
	if !ok {
		if e.eng != nil {
			names = e.eng.MapField(m.Rule, field)
		} else {
			names = []string{field}
		}
		names = append(names, field)
		names = append(names, addressFallbacks(names)...)
		e.fieldC[ck] = names
	}
	for _, n := range names {
		if v, ok := ev.Get(n); ok {
			return v
		}
	}
	return ""
}

// addressFallbacks are the ECS <side>.address fields standing in for
// <side>.ip fields among names. ECS keeps a remote end as it was logged
// in .address and copies it to .ip only when it is an IP address; a host
// name (PAM's rhost=, sshd with UseDNS) goes to .domain. Without this, a
// correlation grouped by source.ip would count every remote host known
// only by name in one group with the empty address, and ten failures
// spread over ten hosts would look like a brute force from one.
func addressFallbacks(names []string) []string {
	var out []string
	for _, n := range names {
		side, ok := strings.CutSuffix(n, ".ip")
		if !ok {
			continue
		}
		switch side {
		case "source", "destination", "client", "server":
			out = append(out, side+".address")
		}
	}
	return out
}

func groupKey(cr *crule, key []string) string {
	return string(appendGroupKey(nil, cr, key))
}

func appendGroupKey(b []byte, cr *crule, key []string) []byte {
	b = append(b, cr.key...)
	b = append(b, 1)
	for i, k := range key {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, k...)
	}
	return b
}

func (e *Engine) add(cr *crule, key []string, en entry) []Alert {
	g := e.groupOf(cr, key)
	out := e.addTo(g, en)
	if g.elem != nil { // not removed
		e.resize(g)
		e.markChanged(g)
	}
	e.fit(g)
	return out
}

// groupOf returns the group of a key, made the most recently active; a
// new one when there is none.
func (e *Engine) groupOf(cr *crule, key []string) *group {
	// Looked up without allocating: most matches join a group that exists.
	e.mkBuf = appendGroupKey(e.mkBuf[:0], cr, key)
	if g := e.groups[string(e.mkBuf)]; g != nil {
		e.lru.MoveToFront(g.elem)
		return g
	}
	if len(e.groups) >= e.opt.MaxGroups {
		e.evictOldest()
	}
	mk := string(e.mkBuf)
	kept := make([]string, len(key)) // out of the event's memory
	for i := range key {
		kept[i] = strings.Clone(key[i])
	}
	g := &group{cr: cr, key: kept, mapKey: mk, heapIdx: -1}
	g.elem = e.lru.PushFront(g)
	e.groups[mk] = g
	return g
}

// addTo adds an entry to its group and evaluates the group.
func (e *Engine) addTo(g *group, en entry) []Alert {
	cr := g.cr
	// Lateness is judged against this group's own newest event, never
	// against other groups: one sender's clock cannot make another's
	// events late.
	inOrder := !en.T.Before(g.newest)
	if !g.newest.IsZero() && en.T.Before(g.newest.Add(-e.opt.AllowedLateness)) {
		en.Late = true
		e.stats.Late++
	}
	if inOrder {
		g.newest = en.T
	}
	g.seen = en.A
	if cr.monotonic && e.opt.Bursts {
		if as, ok := e.joinBurst(g, en); ok {
			return as
		}
	}
	i := sort.Search(len(g.entries), func(i int) bool { return g.entries[i].T.After(en.T) })
	// Kept: copied out of the event's memory (a batch that would
	// otherwise stay alive with it) and out of Observe's scratch.
	en.Val = strings.Clone(en.Val)
	if len(en.IDs) > 0 {
		ids := make([]string, len(en.IDs))
		for j, id := range en.IDs {
			ids[j] = strings.Clone(id)
		}
		en.IDs = ids
	}
	g.entries = append(g.entries, entry{})
	copy(g.entries[i+1:], g.entries[i:])
	g.entries[i] = en
	if len(g.entries) > e.opt.MaxEntriesPerGroup {
		g.entries = g.entries[1:]
		e.stats.Dropped++
		if i == 0 {
			// The new entry was the oldest: it is the one dropped.
			return nil
		}
		i--
	}
	if !cr.monotonic {
		e.schedule(g)
		return nil
	}
	var out []Alert
	var a Alert
	var ok bool
	if inOrder {
		a, ok = e.evalLatest(g)
	} else {
		a, ok = e.evalAround(g, i)
	}
	if ok {
		out = append(out, a)
		out = append(out, e.chain(cr, a)...)
	}
	e.prune(g, en.A)
	if len(g.entries) == 0 && g.burst == nil {
		e.remove(g)
	}
	return out
}

// prune drops the entries of a group of a monotonic correlation that can
// no longer be in a window with an entry still to come: older than the
// group's newest event minus timespan and lateness, unless they arrived
// late within the last timespan plus lateness of wall time (late entries
// wait that long for the rest of their burst).
func (e *Engine) prune(g *group, now time.Time) {
	if len(g.entries) == 0 {
		return
	}
	keep := g.cr.c.Timespan + e.opt.AllowedLateness
	cut := g.newest.Add(-keep)
	if !g.entries[0].T.Before(cut) {
		return
	}
	held := now.Add(-keep)
	out := g.entries[:0]
	for _, en := range g.entries {
		if !en.T.Before(cut) || (en.Late && en.A.After(held)) {
			out = append(out, en)
		}
	}
	clear(g.entries[len(out):])
	g.entries = out
}

func (e *Engine) evictOldest() {
	el := e.lru.Back()
	if el == nil {
		return
	}
	e.remove(el.Value.(*group))
	e.stats.Evictions++
}

func (e *Engine) remove(g *group) {
	e.settle(g)
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
	if g.inChanged {
		delete(e.changed, g)
		g.inChanged = false
	}
	e.gone = append(e.gone, goneGroup{rule: g.cr.key, key: g.key})
}

// evalLatest checks the window of one timespan ending at the group's newest
// entry; on success the window's entries are consumed. For an entry that
// arrives in order it is enough: every window holding the new entry is
// inside this one, and the conditions evaluated here only grow with more
// entries.
func (e *Engine) evalLatest(g *group) (Alert, bool) {
	n := len(g.entries)
	if n == 0 {
		return Alert{}, false
	}
	return e.evalFrom(g, g.entries[n-1].T.Add(-g.cr.c.Timespan), n)
}

// evalFrom evaluates the window of entries [start, start+timespan] ending
// before index end; on success its entries are consumed.
func (e *Engine) evalFrom(g *group, start time.Time, end int) (Alert, bool) {
	i := sort.Search(end, func(i int) bool { return !g.entries[i].T.Before(start) })
	if g.cr.c.Type == "temporal_ordered" {
		// The sequence starts at the first entry of the first rule.
		for i < end && g.entries[i].Ref != 0 {
			i++
		}
	}
	if i >= end {
		return Alert{}, false
	}
	win := g.entries[i:end]
	v, ok := e.holds(g.cr, win)
	if !ok {
		return Alert{}, false
	}
	a := e.alert(g, win, v)
	if e.opt.Bursts {
		e.settle(g)
		g.burst = newBurst(g, win, e.opt.MaxEventIDs)
	}
	g.entries = append(g.entries[:i], g.entries[end:]...)
	return a, true
}

// maxAround bounds the windows tried for one out-of-order entry.
const maxAround = 64

// evalAround checks the windows holding the out-of-order entry at index i:
// those starting at each entry within one timespan before it (the windows
// that matter for conditions that only grow with entries). At most
// maxAround are tried, evenly spread, the entry's own first.
func (e *Engine) evalAround(g *group, i int) (Alert, bool) {
	ts := g.cr.c.Timespan
	t := g.entries[i].T
	lo := sort.Search(i, func(j int) bool { return !g.entries[j].T.Before(t.Add(-ts)) })
	step := max(1, (i-lo+1)/maxAround)
	for j := i; j >= lo; j -= step {
		start := g.entries[j].T
		end := sort.Search(len(g.entries), func(k int) bool { return g.entries[k].T.After(start.Add(ts)) })
		if a, ok := e.evalFrom(g, start, end); ok {
			return a, true
		}
	}
	return Alert{}, false
}

// schedule (re)computes when the pending window of a group of a closing
// condition ends, on the group's own clock.
func (e *Engine) schedule(g *group) {
	if len(g.entries) == 0 {
		e.remove(g)
		return
	}
	g.closeAt = g.entries[0].T.Add(g.cr.c.Timespan)
	g.due = g.seen.Add(g.closeAt.Add(e.opt.AllowedLateness).Sub(g.newest))
	if g.heapIdx >= 0 {
		heap.Fix(&e.closes, g.heapIdx)
	} else {
		heap.Push(&e.closes, g)
	}
}

// closeWindows decides the windows whose groups' clocks passed their end
// plus lateness at wall time now, and when force is set every window
// ending before force.
func (e *Engine) closeWindows(now, force time.Time) []Alert {
	var out []Alert
	var forced []*group
	if !force.IsZero() {
		for _, g := range e.closes {
			if g.closeAt.Before(force) {
				forced = append(forced, g)
			}
		}
	}
	closeOne := func(g *group) {
		end := g.closeAt
		j := 0
		for j < len(g.entries) && !g.entries[j].T.After(end) {
			j++
		}
		win := g.entries[:j]
		if v, ok := e.holds(g.cr, win); ok {
			a := e.alert(g, win, v)
			out = append(out, a)
			out = append(out, e.chain(g.cr, a)...)
		}
		g.entries = g.entries[j:]
		e.schedule(g)
		e.resize(g)
		e.markChanged(g)
	}
	for _, g := range forced {
		for g.heapIdx >= 0 && g.closeAt.Before(force) {
			closeOne(g)
		}
	}
	for e.closes.Len() > 0 {
		g := e.closes[0]
		if !g.due.Before(now) {
			break
		}
		closeOne(g)
	}
	return out
}

// holds evaluates the correlation condition over a window.
func (e *Engine) holds(cr *crule, win []entry) (float64, bool) {
	c := cr.c
	if len(win) == 0 {
		return 0, false
	}
	switch c.Type {
	case "event_count":
		v := float64(len(win))
		return v, c.Condition.Holds(v)
	case "value_count":
		seen := map[string]bool{}
		for _, en := range win {
			if en.Val != "" {
				seen[en.Val] = true
			}
		}
		v := float64(len(seen))
		return v, c.Condition.Holds(v)
	case "temporal", "temporal_ordered":
		seen := make([]bool, len(c.Refs))
		if c.Type == "temporal_ordered" {
			next := 0
			for _, en := range win {
				if next < len(c.Refs) && en.Ref == next {
					seen[next] = true
					next++
				}
			}
		} else {
			for _, en := range win {
				seen[en.Ref] = true
			}
		}
		n := 0
		for _, s := range seen {
			if s {
				n++
			}
		}
		if c.Condition.Expr != nil {
			return float64(n), evalExpr(c, c.Condition.Expr, seen)
		}
		if c.Type == "temporal_ordered" && n < len(c.Refs) && len(c.Condition.Cmp) == 1 && c.Condition.Cmp[0].Op == "gte" && int(c.Condition.Cmp[0].Value) >= len(c.Refs) {
			return float64(n), false
		}
		return float64(n), c.Condition.Holds(float64(n))
	case "value_sum", "value_avg", "value_percentile":
		var vals []float64
		for _, en := range win {
			if x, err := strconv.ParseFloat(strings.TrimSpace(en.Val), 64); err == nil {
				vals = append(vals, x)
			}
		}
		if len(vals) == 0 {
			return 0, false
		}
		var v float64
		switch c.Type {
		case "value_sum":
			for _, x := range vals {
				v += x
			}
		case "value_avg":
			for _, x := range vals {
				v += x
			}
			v /= float64(len(vals))
		case "value_percentile":
			sort.Float64s(vals)
			idx := len(vals) * c.Condition.Percentile / 100
			if idx >= len(vals) {
				idx = len(vals) - 1
			}
			v = vals[idx]
		}
		return v, c.Condition.Holds(v)
	}
	return 0, false
}

func evalExpr(c *sigma.Correlation, x *sigma.Cond, seen []bool) bool {
	switch x.Op {
	case sigma.CondRef:
		for i, r := range c.Refs {
			if r.Name == x.Name || r.ID() == x.Name {
				return seen[i]
			}
		}
		return false
	case sigma.CondNot:
		return !evalExpr(c, x.Kids[0], seen)
	case sigma.CondAnd:
		for _, k := range x.Kids {
			if !evalExpr(c, k, seen) {
				return false
			}
		}
		return true
	case sigma.CondOr:
		for _, k := range x.Kids {
			if evalExpr(c, k, seen) {
				return true
			}
		}
		return false
	}
	return false
}

func (e *Engine) alert(g *group, win []entry, v float64) Alert {
	c := g.cr.c
	a := Alert{RuleID: c.ID, Name: c.Name, Title: c.Title, Level: c.Level, Status: c.Status, Description: c.Description,
		Tags: c.Tags, Type: c.Type, Value: v, Standalone: c.Alert, First: win[0].T, Last: win[len(win)-1].T, Count: len(win)}
	for i, f := range c.GroupBy {
		a.GroupBy = append(a.GroupBy, Field{Name: f, Value: g.key[i]})
	}
	for _, en := range win {
		for _, id := range en.IDs {
			if len(a.EventIDs) < e.opt.MaxEventIDs {
				a.EventIDs = append(a.EventIDs, id)
			}
		}
	}
	e.stats.Alerts++
	return a
}

// chain feeds an alert of correlation cr to the correlations referring to it.
func (e *Engine) chain(cr *crule, a Alert) []Alert {
	var out []Alert
	for _, outer := range e.byRef[cr.key] {
		ref := refIndex(outer.c, cr.c.ID, cr.c.Name)
		if ref < 0 {
			continue
		}
		refName := outer.c.Refs[ref].Name
		key := make([]string, len(outer.c.GroupBy))
		for i, gname := range outer.c.GroupBy {
			f := aliasField(outer.c, gname, refName, cr.c.Name, cr.c.ID)
			for _, gv := range a.GroupBy {
				if gv.Name == f {
					key[i] = gv.Value
				}
			}
		}
		en := entry{T: a.Last, A: e.opt.Now(), Ref: ref, Val: strconv.FormatFloat(a.Value, 'f', -1, 64), IDs: a.EventIDs}
		out = append(out, e.add(outer, key, en)...)
	}
	return out
}

type closeHeap []*group

func (h closeHeap) Len() int           { return len(h) }
func (h closeHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h closeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *closeHeap) Push(x any) {
	g := x.(*group)
	g.heapIdx = len(*h)
	*h = append(*h, g)
}
func (h *closeHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	*h = old[:len(old)-1]
	g.heapIdx = -1
	return g
}
