package engine

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Worker holds the per-goroutine scratch state of matching. A Worker must
// not be used by two goroutines at once.
type Worker struct {
	e          *Engine
	epoch      uint32
	ev         *event.Event
	lastRouted int

	slotEpoch []uint32
	slotVal   []string
	foldEpoch []uint32
	foldOff   []int32
	foldLen   []int32
	arena     []byte

	// keyword search over every field: folded values by field index
	kwEpoch uint32
	kwOff   []int32
	kwLen   []int32

	entryEpoch []uint32
	entries    []int32
	ruleEpoch  []uint32
	// gates accumulates, per rule, the scanned clauses of its gate found
	// in the event (valid when epoch is the event's).
	gates     []gateState
	cands     []int32
	keyBuf    []byte
	nameBuf   []byte
	spaceBuf  []byte
	scanSlots []int32 // present slots that have prefilter literals
	fieldSlot []int32 // by event field index: its slot, or -1
	curRefs   [][]gateRef
	combo     *combo // of the last event
	// routeCache holds the routing of the events seen, by the values of
	// their route fields (routeKey); routeScratch serves when it is full.
	routeCache   map[string]*routeResult
	routeKey     []byte
	routeScratch routeResult

	hitFn   func(id int32, end int) bool
	kwHitFn func(id int32, end int) bool
	match   Match

	nEvents, nEval, nSkip, nMatch uint64
	pending                       int
}

// NewWorker returns scratch state for one goroutine.
func (e *Engine) NewWorker() *Worker {
	w := &Worker{
		e:          e,
		slotEpoch:  make([]uint32, len(e.fieldNames)),
		slotVal:    make([]string, len(e.fieldNames)),
		foldEpoch:  make([]uint32, len(e.fieldNames)),
		foldOff:    make([]int32, len(e.fieldNames)),
		foldLen:    make([]int32, len(e.fieldNames)),
		entryEpoch: make([]uint32, len(e.routes.entries)),
		ruleEpoch:  make([]uint32, len(e.rules)),
		gates:      make([]gateState, len(e.rules)),
		arena:      make([]byte, 0, 4096),
		routeCache: map[string]*routeResult{},
	}
	w.hitFn = w.onHit
	w.kwHitFn = w.onKwHit
	return w
}

func (w *Worker) nextEpoch() {
	w.epoch++
	if w.epoch == 0 {
		clear(w.slotEpoch)
		clear(w.foldEpoch)
		clear(w.entryEpoch)
		clear(w.ruleEpoch)
		clear(w.gates)
		w.epoch = 1
	}
	w.kwEpoch = 0
	w.arena = w.arena[:0]
}

// Flush adds this worker's counts to the engine's Stats.
func (w *Worker) Flush() {
	e := w.e
	e.counter[0].Add(w.nEvents)
	e.counter[1].Add(w.nEval)
	e.counter[2].Add(w.nSkip)
	e.counter[3].Add(w.nMatch)
	w.nEvents, w.nEval, w.nSkip, w.nMatch, w.pending = 0, 0, 0, 0, 0
}

// Routed is the number of rules the event of the last Match was routed
// to (its log source is theirs), whether they matched or not: 0 means no
// rule could see it.
func (w *Worker) Routed() int { return w.lastRouted }

// Match evaluates ev and calls fn for every matching rule, in rule order.
// The *Match passed to fn is reused: copy what you keep. It returns the
// number of matches. When nothing matches it allocates nothing.
func (w *Worker) Match(ev *event.Event, fn func(*Match)) int {
	e := w.e
	w.nextEpoch()
	w.ev = ev
	w.scanSlots = w.scanSlots[:0]
	if cap(w.fieldSlot) < len(ev.Fields) {
		w.fieldSlot = make([]int32, len(ev.Fields), 2*len(ev.Fields))
	}
	w.fieldSlot = w.fieldSlot[:len(ev.Fields)]
	// Index the fields the rules and routes use.
	for i := range ev.Fields {
		f := &ev.Fields[i]
		w.fieldSlot[i] = -1
		s, ok := e.names.get(f.Name)
		if !ok {
			if s, ok = w.lookupSlow(f.Name); !ok {
				continue
			}
		}
		w.fieldSlot[i] = s
		if w.slotEpoch[s] != w.epoch {
			w.slotEpoch[s] = w.epoch
			w.slotVal[s] = f.Value
			if e.slotPats[s] {
				w.scanSlots = append(w.scanSlots, s)
			}
		}
	}
	rr := w.routeEvent()
	w.cands = w.cands[:0]
	routed := 0
	if len(rr.entries) > 0 {
		if e.opts.DisablePrefilter {
			for _, ei := range rr.entries {
				for _, ri := range e.routes.entries[ei].all {
					w.addCand(ri)
				}
			}
			routed = len(w.cands)
		} else {
			// Searchers of this combination of log sources.
			c := rr.combo
			if c == nil {
				c = e.comboFor(rr.comboKey, rr.entries)
				rr.combo = c
			}
			w.combo = c
			w.cands = append(w.cands, c.ungated...)
			for _, s := range w.scanSlots {
				if fs := c.field[s]; fs != nil {
					v := w.foldedSlot(s)
					if fs.ac != nil {
						w.curRefs = fs.refs
						fs.ac.Find(v, w.hitFn)
					}
					if fs.hex != nil {
						w.scanHex(v, fs.hex)
					}
				}
			}
			if c.kw != nil {
				w.curRefs = c.kw.refs
				w.scanKeywords(c)
			}
			routed = c.routed
		}
	}
	slices.Sort(w.cands)
	n, evals := 0, 0
	for _, ri := range w.cands {
		r := e.rules[ri]
		if r.checks != nil && !w.passChecks(r) {
			continue
		}
		evals++
		if w.eval(r, r.root) {
			n++
			w.match = Match{Rule: r.info, Event: ev}
			fn(&w.match)
		}
	}
	w.lastRouted = routed
	w.nEvents++
	w.nMatch += uint64(n)
	w.nEval += uint64(evals)
	if routed > evals {
		w.nSkip += uint64(routed - evals)
	}
	if w.nEvents >= 256 {
		w.Flush()
	}
	w.ev = nil
	return n
}

// lookupSlow finds the slot of an event field name through the aliases
// and, as the Sigma specification asks for field names with spaces, with
// its spaces removed ("Threat Name" is ThreatName).
func (w *Worker) lookupSlow(name string) (int32, bool) {
	e := w.e
	for ai := range e.aliases {
		var hit bool
		w.nameBuf, hit = e.aliases[ai].rewrite(w.nameBuf, name)
		if hit {
			if s, ok := e.fieldIdx[string(w.nameBuf)]; ok {
				return s, true
			}
		}
	}
	if strings.IndexByte(name, ' ') < 0 {
		return 0, false
	}
	w.spaceBuf = w.spaceBuf[:0]
	for i := 0; i < len(name); i++ {
		if name[i] != ' ' {
			w.spaceBuf = append(w.spaceBuf, name[i])
		}
	}
	if s, ok := e.fieldIdx[string(w.spaceBuf)]; ok {
		return s, true
	}
	for ai := range e.aliases {
		var hit bool
		w.nameBuf, hit = e.aliases[ai].rewrite(w.nameBuf, string(w.spaceBuf))
		if hit {
			if s, ok := e.fieldIdx[string(w.nameBuf)]; ok {
				return s, true
			}
		}
	}
	return 0, false
}

func (w *Worker) addCand(ri int32) {
	if w.ruleEpoch[ri] != w.epoch {
		w.ruleEpoch[ri] = w.epoch
		w.cands = append(w.cands, ri)
	}
}

// scanHex looks up the first hexTokenLen digits of every run of hex digits
// in v (a run starts at the start of v or after a non-hex byte).
func (w *Worker) scanHex(v []byte, set map[string][]gateRef) {
	for i := 0; i < len(v); {
		if !isHex(v[i]) {
			i++
			continue
		}
		j := i
		for j < len(v) && isHex(v[j]) {
			j++
		}
		if j-i >= hexTokenLen {
			if refs, ok := set[string(v[i:i+hexTokenLen])]; ok {
				w.activate(refs)
			}
		}
		i = j
	}
}

// onHit handles a prefilter hit: pattern id in w.curRefs. It never stops
// the search.
func (w *Worker) onHit(id int32, _ int) bool {
	w.activate(w.curRefs[id])
	return false
}

// gateState is the part of a rule's scanned clauses an event contains.
type gateState struct {
	epoch uint32
	bits  uint8
}

// activate records literals found in the event: each reference adds
// clauses to its rule's gate, and a rule whose scanned clauses are all
// covered becomes a candidate. (The combination's searchers hold only
// rules routed to the event.)
func (w *Worker) activate(refs []gateRef) {
	for _, ref := range refs {
		g := &w.gates[ref.rule]
		if g.epoch != w.epoch {
			g.epoch, g.bits = w.epoch, 0
		}
		if g.bits == ref.full {
			continue
		}
		g.bits |= ref.bits
		if g.bits == ref.full {
			w.cands = append(w.cands, ref.rule)
		}
	}
}

// passChecks reports whether, for each check clause of r, one check
// passes on the event.
func (w *Worker) passChecks(r *crule) bool {
	for _, clause := range r.checks {
		ok := false
		for i := range clause {
			c := &clause[i]
			if w.slotEpoch[c.slot] != w.epoch {
				continue
			}
			v := w.foldedSlot(c.slot)
			switch c.anchor {
			case anyAnchor:
				ok = bytes.Contains(v, c.text)
			case prefixAnchor:
				ok = bytes.HasPrefix(v, c.text)
			case suffixAnchor:
				ok = bytes.HasSuffix(v, c.text)
			default:
				ok = bytes.Equal(v, c.text)
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (w *Worker) onKwHit(id int32, end int) bool { return w.onHit(id, end) }

// scanKeywords searches the keyword fields for the keyword literals,
// except the values the searchers of their fields have covered.
func (w *Worker) scanKeywords(c *combo) {
	e, ac := w.e, c.kw.ac
	if e.kwAll {
		for i := range w.ev.Fields {
			if s := w.fieldSlot[i]; s >= 0 && c.kwCovered[s] && w.slotVal[s] == w.ev.Fields[i].Value {
				continue
			}
			ac.Find(w.foldedField(i), w.kwHitFn)
		}
		return
	}
	for _, s := range e.kwSlots {
		if w.slotEpoch[s] == w.epoch && !c.kwCovered[s] {
			ac.Find(w.foldedSlot(s), w.kwHitFn)
		}
	}
}

func (w *Worker) foldedSlot(s int32) []byte {
	if w.foldEpoch[s] != w.epoch {
		off := len(w.arena)
		w.arena = appendFold(w.arena, w.slotVal[s])
		w.foldEpoch[s] = w.epoch
		w.foldOff[s] = int32(off)
		w.foldLen[s] = int32(len(w.arena) - off)
	}
	return w.arena[w.foldOff[s] : w.foldOff[s]+w.foldLen[s]]
}

func (w *Worker) foldedField(i int) []byte {
	if w.kwEpoch != w.epoch {
		w.kwEpoch = w.epoch
		n := len(w.ev.Fields)
		if cap(w.kwOff) < n {
			w.kwOff = make([]int32, n)
			w.kwLen = make([]int32, n)
		}
		w.kwOff = w.kwOff[:n]
		w.kwLen = w.kwLen[:n]
		for j := range w.kwOff {
			w.kwOff[j] = -1
		}
	}
	if w.kwOff[i] < 0 {
		// A field the rules index was folded (or will be) for its slot.
		if i < len(w.fieldSlot) {
			if s := w.fieldSlot[i]; s >= 0 && w.slotVal[s] == w.ev.Fields[i].Value {
				v := w.foldedSlot(s)
				w.kwOff[i] = w.foldOff[s]
				w.kwLen[i] = int32(len(v))
				return v
			}
		}
		off := len(w.arena)
		w.arena = appendFold(w.arena, w.ev.Fields[i].Value)
		w.kwOff[i] = int32(off)
		w.kwLen[i] = int32(len(w.arena) - off)
	}
	return w.arena[w.kwOff[i] : w.kwOff[i]+w.kwLen[i]]
}

func (w *Worker) eval(r *crule, n int32) bool {
	nd := &r.nodes[n]
	switch nd.op {
	case opAnd:
		for _, k := range nd.kids {
			if !w.eval(r, k) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range nd.kids {
			if w.eval(r, k) {
				return true
			}
		}
		return false
	case opNot:
		return !w.eval(r, nd.kids[0])
	case opLeaf:
		return w.evalLeaf(nd.leaf)
	case opTrue:
		return true
	}
	return false
}

func (w *Worker) evalLeaf(l *leaf) bool {
	var res bool
	if l.slot < 0 {
		res = w.evalKeyword(l)
	} else {
		res = w.evalField(l)
	}
	return res != l.negate
}

func (w *Worker) evalField(l *leaf) bool {
	s := l.slot
	present := w.slotEpoch[s] == w.epoch
	if l.eqSet != nil && present {
		if _, ok := l.eqSet[string(w.foldedSlot(s))]; ok {
			return true
		}
	}
	if !l.all {
		if l.multi != nil && present && l.multiMatch(w.foldedSlot(s)) {
			return true
		}
		for i := range l.alts {
			if w.altMatch(&l.alts[i], s, present) {
				return true
			}
		}
		return false
	}
	// all: every group needs one matching alternative.
	cur, ok := int32(-1), true
	for i := range l.alts {
		a := &l.alts[i]
		if a.group != cur {
			if !ok {
				return false
			}
			cur, ok = a.group, false
		}
		if !ok && w.altMatch(a, s, present) {
			ok = true
		}
	}
	return ok
}

// multiMatch reports whether one of the literals of l.multi matches the
// folded value v as its alternative requires. Without contains literals,
// only the first multiPre and the last multiSuf bytes of v can hold a
// match: only they are scanned.
func (l *leaf) multiMatch(v []byte) bool {
	n := len(v)
	hit := func(id int32, off, end int) bool {
		switch l.multiKind[id] {
		case kContains:
			return true
		case kPrefix:
			return off+end == l.multiLen[id]
		}
		return off+end == n
	}
	if l.multiAny {
		return l.multi.Find(v, func(id int32, end int) bool { return hit(id, 0, end) })
	}
	hi := 0
	if l.multiPre > 0 {
		hi = min(n, l.multiPre)
		if l.multi.Find(v[:hi], func(id int32, end int) bool { return hit(id, 0, end) }) {
			return true
		}
	}
	if l.multiSuf > 0 && hi < n {
		lo := max(0, n-l.multiSuf)
		return l.multi.Find(v[lo:], func(id int32, end int) bool { return hit(id, lo, end) })
	}
	return false
}

func (w *Worker) evalKeyword(l *leaf) bool {
	if !l.all {
		return w.keywordGroup(l, -1)
	}
	for g := int32(0); g < l.ngroups; g++ {
		if !w.keywordGroup(l, g) {
			return false
		}
	}
	return true
}

// keywordGroup reports whether an alternative of group g (any group when
// g < 0) matches one of the keyword fields.
func (w *Worker) keywordGroup(l *leaf, g int32) bool {
	e := w.e
	if e.kwAll {
		for i := range w.ev.Fields {
			f, o := w.foldedField(i), w.ev.Fields[i].Value
			for j := range l.alts {
				if (g < 0 || l.alts[j].group == g) && w.strMatch(&l.alts[j], f, o) {
					return true
				}
			}
		}
		return false
	}
	for _, s := range e.kwSlots {
		if w.slotEpoch[s] != w.epoch {
			continue
		}
		f, o := w.foldedSlot(s), w.slotVal[s]
		for j := range l.alts {
			if (g < 0 || l.alts[j].group == g) && w.strMatch(&l.alts[j], f, o) {
				return true
			}
		}
	}
	return false
}

func (w *Worker) altMatch(a *alt, s int32, present bool) bool {
	switch a.kind {
	case kNull:
		return !present
	case kExists:
		return present == a.exists
	}
	if !present {
		return false
	}
	v := w.slotVal[s]
	switch a.kind {
	case kCmp:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return false
		}
		switch a.op {
		case "lt":
			return x < a.num
		case "lte":
			return x <= a.num
		case "gt":
			return x > a.num
		case "gte":
			return x >= a.num
		}
		return false
	case kCIDR:
		ip, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return false
		}
		return a.pfx.Contains(ip.Unmap()) || a.pfx.Contains(ip)
	case kTime:
		t, ok := parseTime(v)
		if !ok {
			return false
		}
		var x int
		switch a.part {
		case "minute":
			x = t.Minute()
		case "hour":
			x = t.Hour()
		case "day":
			x = t.Day()
		case "week":
			_, x = t.ISOWeek()
		case "month":
			x = int(t.Month())
		case "year":
			x = t.Year()
		}
		return float64(x) == a.num
	case kRef:
		if w.slotEpoch[a.ref] != w.epoch {
			return false
		}
		if a.cased {
			return refMatch(a, v, w.slotVal[a.ref])
		}
		return refMatchFolded(a, w.foldedSlot(s), w.foldedSlot(a.ref))
	}
	if a.kind == kRegex && (len(v) < a.reMin || (a.reRun != nil && !hasRun(v, a.reRun, a.reRunLen))) {
		return false
	}
	if a.kind == kRegex && a.reClauses != nil {
		f := w.foldedSlot(s)
		for _, clause := range a.reClauses {
			found := false
			for _, l := range clause {
				if bytes.Contains(f, l) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	if a.cased || a.kind == kRegex {
		return w.strMatch(a, nil, v)
	}
	return w.strMatch(a, w.foldedSlot(s), v)
}

func refMatchFolded(a *alt, v, ref []byte) bool {
	switch {
	case a.refPre && a.refSuf:
		return bytes.Contains(v, ref)
	case a.refPre:
		return bytes.HasPrefix(v, ref)
	case a.refSuf:
		return bytes.HasSuffix(v, ref)
	}
	return bytes.Equal(v, ref)
}

func refMatch(a *alt, v, ref string) bool {
	switch {
	case a.refPre && a.refSuf:
		return strings.Contains(v, ref)
	case a.refPre:
		return strings.HasPrefix(v, ref)
	case a.refSuf:
		return strings.HasSuffix(v, ref)
	}
	return v == ref
}

// strMatch matches string alternatives against a value: folded bytes for
// case-insensitive patterns, the original text for cased ones and regexes.
func (w *Worker) strMatch(a *alt, folded []byte, orig string) bool {
	if a.kind == kRegex {
		return a.re.MatchString(orig)
	}
	if a.cased {
		switch a.kind {
		case kEq:
			return orig == a.litS
		case kPrefix:
			return strings.HasPrefix(orig, a.litS)
		case kSuffix:
			return strings.HasSuffix(orig, a.litS)
		case kContains:
			return strings.Contains(orig, a.litS)
		case kPresent:
			return true
		case kGlob:
			return globMatch(a.glob, []byte(orig))
		}
		return false
	}
	switch a.kind {
	case kEq:
		return bytes.Equal(folded, a.lit)
	case kPrefix:
		return bytes.HasPrefix(folded, a.lit)
	case kSuffix:
		return bytes.HasSuffix(folded, a.lit)
	case kContains:
		return bytes.Contains(folded, a.lit)
	case kPresent:
		return true
	case kGlob:
		return globMatch(a.glob, folded)
	}
	return false
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC1123Z,
	time.RFC1123,
}

func parseTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
