package engine

import (
	"regexp/syntax"
	"sort"
	"unicode"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/ahocorasick"
)

// A rule is gated by a set of (field, folded literal) pairs of which at
// least one occurs in every event the rule matches; it is evaluated only
// when the prefilter finds one of them. top means no such set is known.
type litSet struct {
	top  bool
	lits []flit
}

type flit struct {
	slot int32 // -1: keyword fields
	text string
	// hex: text is the first hexTokenLen characters of a run of hex digits
	// that starts right after a non-hex character (or at the start of the
	// value), looked up in a hash set instead of the automaton (hash IOCs
	// would make the automaton walk randomly through thousands of states).
	hex bool
}

// hexTokenLen is the length of the hex-run keys of the prefilter.
const hexTokenLen = 16

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// anchoredHexRun finds in folded literal f a run of at least hexTokenLen
// hex digits that is preceded by a non-hex character, or starts f when
// startAnchored (f begins the value). It returns the run's first
// hexTokenLen characters.
func anchoredHexRun(f string, startAnchored bool) (string, bool) {
	for i := 0; i < len(f); {
		if !isHex(f[i]) {
			i++
			continue
		}
		j := i
		for j < len(f) && isHex(f[j]) {
			j++
		}
		if j-i >= hexTokenLen && (i > 0 || startAnchored) {
			return f[i : i+hexTokenLen], true
		}
		i = j
	}
	return "", false
}

// maxLit bounds a prefilter literal: any substring of a required literal
// is itself required, so long literals are cut to their last maxLit bytes.
const maxLit = 10

var topSet = litSet{top: true}

// litFreq counts, over all rules, how often each literal is a candidate:
// literals many rules use ("c:\users\", ".exe") tend to be common in
// events too, so the prefilter prefers rarer ones.
type litFreq map[flit]int

// cost estimates how often a set fires: the sum over its literals of a
// weight falling with length and rising with how many rules use it.
func (s litSet) cost(freq litFreq) float64 {
	if s.top {
		return 1e9
	}
	c := 0.0
	for _, l := range s.lits {
		n := len(l.text)
		if n > 16 {
			n = 16
		}
		x := float64(1+freq[l]) / float64(n*n*n)
		if l.slot < 0 {
			x *= 4 // keyword literals are searched in every field
		}
		c += x
	}
	return c
}

func union(a, b litSet) litSet {
	if a.top || b.top {
		return topSet
	}
	return litSet{lits: append(append([]flit(nil), a.lits...), b.lits...)}
}

func best(sets []litSet, freq litFreq) litSet {
	bi, bc := -1, 1e9
	for i, s := range sets {
		if s.top {
			continue
		}
		if c := s.cost(freq); bi < 0 || c < bc {
			bi, bc = i, c
		}
	}
	if bi < 0 {
		return topSet
	}
	return sets[bi]
}

func (cr *crule) lits(n int32, freq litFreq) litSet {
	nd := &cr.nodes[n]
	switch nd.op {
	case opAnd:
		sets := make([]litSet, len(nd.kids))
		for i, k := range nd.kids {
			sets[i] = cr.lits(k, freq)
		}
		return best(sets, freq)
	case opOr:
		out := litSet{}
		for _, k := range nd.kids {
			out = union(out, cr.lits(k, freq))
			if out.top {
				return out
			}
		}
		if len(out.lits) == 0 {
			return topSet
		}
		return out
	case opLeaf:
		return nd.leaf.lits(freq)
	}
	return topSet
}

func (l *leaf) lits(freq litFreq) litSet {
	if l.negate {
		return topSet
	}
	groups := make([]litSet, l.ngroups)
	for _, a := range l.alts {
		groups[a.group] = union(groups[a.group], a.lits(l.slot))
	}
	for i := range l.multiPats {
		a := &l.multiPats[i]
		groups[a.group] = union(groups[a.group], a.lits(l.slot))
	}
	for k := range l.eqSet {
		// eqSet alts were removed; they belong to OR leaves only.
		groups[0] = union(groups[0], litSet{lits: []flit{{slot: l.slot, text: cut(k)}}})
	}
	if l.all {
		return best(groups, freq)
	}
	out := litSet{}
	for _, g := range groups {
		if len(g.lits) == 0 && !g.top && (l.eqSet != nil || l.multi != nil) {
			continue // a group whose equality literals moved to eqSet
		}
		out = union(out, g)
		if out.top {
			return out
		}
	}
	if len(out.lits) == 0 {
		return topSet
	}
	return out
}

func cut(s string) string {
	if len(s) > maxLit {
		return s[len(s)-maxLit:]
	}
	return s
}

func (a *alt) lits(slot int32) litSet {
	switch a.kind {
	case kEq, kPrefix, kSuffix, kContains, kGlob:
		bestLit := ""
		for _, p := range a.pat {
			if p.Kind == sigma.PartLit && len(p.Text) > len(bestLit) {
				bestLit = p.Text
			}
		}
		f := fold(bestLit)
		if f == "" {
			return topSet
		}
		if slot >= 0 {
			// Literal parts are whole: bestLit starts the value only for
			// equality and prefix patterns.
			if h, ok := anchoredHexRun(f, a.kind == kEq || a.kind == kPrefix); ok {
				return litSet{lits: []flit{{slot: slot, text: h, hex: true}}}
			}
		}
		return litSet{lits: []flit{{slot: slot, text: cut(f)}}}
	case kRegex:
		re, err := syntax.Parse(a.re.String(), syntax.Perl)
		if err != nil {
			return topSet
		}
		ls, ok := regexLits(re.Simplify())
		if !ok {
			return topSet
		}
		out := litSet{}
		for _, s := range ls {
			f := fold(s)
			if f == "" || !foldStable(s) {
				return topSet
			}
			out.lits = append(out.lits, flit{slot: slot, text: cut(f)})
		}
		return out
	}
	return topSet
}

// foldStable reports whether every rune of s folds to the same rune as
// every rune that folds like it. Regular expressions with (?i) match whole
// case-fold orbits (RE2), which can contain runes our folding maps
// elsewhere; their literals are used only when this holds. String patterns
// are folded exactly as the matchers fold, so they need no such check.
func foldStable(s string) bool {
	for _, r := range s {
		if r < 0x80 {
			continue
		}
		l := unicode.ToLower(r)
		for f := unicode.SimpleFold(l); f != l; f = unicode.SimpleFold(f) {
			if unicode.ToLower(f) != l {
				return false
			}
		}
	}
	return true
}

// regexLits returns literals one of which every match of re contains, or
// false when there are none (or too many to help).
func regexLits(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, len(re.Rune) > 0
	case syntax.OpCharClass:
		if s, ok := classLiteral(re); ok {
			return []string{s}, true
		}
		return nil, false
	case syntax.OpCapture:
		return regexLits(re.Sub[0])
	case syntax.OpPlus:
		return regexLits(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return regexLits(re.Sub[0])
		}
		return nil, false
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			ls, ok := regexLits(s)
			if !ok {
				return nil, false
			}
			out = append(out, ls...)
		}
		return out, len(out) > 0 && len(out) <= 64
	case syntax.OpConcat:
		// Runs of exact pieces (literals, or small classes such as [ "'],
		// taken as alternatives) concatenate into sets of longer literals;
		// any other child's literals are also required. Keep the best.
		var cands [][]string
		var run []string
		flush := func() {
			if len(run) > 0 && run[0] != "" {
				cands = append(cands, run)
			}
			run = nil
		}
		for _, s := range re.Sub {
			if set, ok := literalSet(s); ok {
				if run == nil {
					run = []string{""}
				}
				if len(run)*len(set) > 16 {
					flush()
					run = []string{""}
				}
				var next []string
				for _, a := range run {
					for _, b := range set {
						next = append(next, a+b)
					}
				}
				run = next
				continue
			}
			flush()
			if ls, ok := regexLits(s); ok {
				cands = append(cands, ls)
			}
		}
		flush()
		if len(cands) == 0 {
			return nil, false
		}
		sort.SliceStable(cands, func(i, j int) bool { return litsCost(cands[i]) < litsCost(cands[j]) })
		return cands[0], true
	}
	return nil, false
}

func litsCost(ls []string) float64 {
	s := litSet{}
	for _, l := range ls {
		s.lits = append(s.lits, flit{text: l})
	}
	return s.cost(nil)
}

// literalSet returns the strings an exact piece of a regex matches: a
// literal, or a class of at most four characters.
func literalSet(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, len(re.Rune) > 0
	case syntax.OpCapture:
		return literalSet(re.Sub[0])
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) == 4 {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

func exactLiteral(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune), true
	case syntax.OpCharClass:
		return classLiteral(re)
	case syntax.OpCapture:
		return exactLiteral(re.Sub[0])
	}
	return "", false
}

// classLiteral returns the letter a class like [aA] or [x] stands for.
func classLiteral(re *syntax.Regexp) (string, bool) {
	r := re.Rune
	switch {
	case len(r) == 2 && r[0] == r[1]:
		return string(r[0]), true
	case len(r) == 4 && r[0] == r[1] && r[2] == r[3] && unicode.ToLower(r[0]) == unicode.ToLower(r[2]):
		return string(unicode.ToLower(r[0])), true
	}
	return "", false
}

// buildPrefilter computes each rule's gate and the automata.
func (e *Engine) buildPrefilter(c *compiler) {
	type key struct {
		slot int32
		text string
		hex  bool
	}
	pats := map[key]int32{}
	var patList []key
	var patRules [][]int32
	freq := litFreq{}
	for _, r := range e.rules {
		for _, nd := range r.nodes {
			if nd.leaf == nil {
				continue
			}
			for i := range nd.leaf.alts {
				for _, l := range nd.leaf.alts[i].lits(nd.leaf.slot).lits {
					freq[l]++
				}
			}
			for i := range nd.leaf.multiPats {
				for _, l := range nd.leaf.multiPats[i].lits(nd.leaf.slot).lits {
					freq[l]++
				}
			}
		}
	}
	for ri, r := range e.rules {
		if e.opts.DisablePrefilter {
			break
		}
		s := r.lits(r.root, freq)
		if s.top || len(s.lits) == 0 {
			continue
		}
		r.gated = true
		for _, l := range s.lits {
			if l.slot < 0 {
				r.kwGated = true
			}
			k := key{l.slot, l.text, l.hex}
			id, ok := pats[k]
			if !ok {
				id = int32(len(patList))
				pats[k] = id
				patList = append(patList, k)
				patRules = append(patRules, nil)
			}
			if n := len(patRules[id]); n == 0 || patRules[id][n-1] != int32(ri) {
				patRules[id] = append(patRules[id], int32(ri))
			}
		}
	}
	// The automata are built per combination of route entries (comboFor);
	// here each entry records its rules' literals.
	e.slotPats = make([]bool, len(e.fieldNames))
	for _, k := range patList {
		if k.slot >= 0 {
			e.slotPats[k.slot] = true
		}
	}
	for ei := range e.routes.entries {
		en := &e.routes.entries[ei]
		inEntry := map[int32]bool{}
		for _, ri := range en.all {
			inEntry[ri] = true
		}
		for id, k := range patList {
			var mine []int32
			for _, ri := range patRules[id] {
				if inEntry[ri] {
					mine = append(mine, ri)
				}
			}
			if len(mine) == 0 {
				continue
			}
			en.pats = append(en.pats, entryPat{slot: k.slot, text: k.text, hex: k.hex, rules: mine})
			if k.slot < 0 {
				e.hasKwGate = true
			}
		}
	}
	for ri, r := range e.rules {
		for _, ei := range r.entries {
			if !r.gated {
				e.routes.entries[ei].ungated = append(e.routes.entries[ei].ungated, int32(ri))
			}
		}
	}
}

// entryPat is a prefilter literal of a route entry and the entry's rules
// that need it.
type entryPat struct {
	slot  int32 // -1 for keywords
	text  string
	hex   bool
	rules []int32
}

// scanSet is an automaton and the rules of each of its patterns.
type scanSet struct {
	ac    *ahocorasick.Matcher
	rules [][]int32
	hex   map[string][]int32 // hex-run keys -> rules
}

// combo holds the automata for one combination of route entries, over the
// literals of those entries' rules only: smaller automata than one over
// every rule, and an event of several log sources scans each field once.
type combo struct {
	field []*scanSet // by slot
	kw    *scanSet
}

// comboFor returns the automata of a set of entries, building them on
// first use (the only allocation of matching, once per combination).
func (e *Engine) comboFor(key []byte, entries []int32) *combo {
	if m := e.comboCache.Load(); m != nil {
		if c, ok := (*m)[string(key)]; ok {
			return c
		}
	}
	e.comboMu.Lock()
	defer e.comboMu.Unlock()
	old := e.comboCache.Load()
	if old != nil {
		if c, ok := (*old)[string(key)]; ok {
			return c
		}
	}
	type build struct {
		idx   map[string]int
		pats  [][]byte
		rules [][]int32
		hex   map[string][]int32
	}
	bySlot := map[int32]*build{}
	for _, ei := range entries {
		for _, p := range e.routes.entries[ei].pats {
			b := bySlot[p.slot]
			if b == nil {
				b = &build{idx: map[string]int{}}
				bySlot[p.slot] = b
			}
			if p.hex {
				if b.hex == nil {
					b.hex = map[string][]int32{}
				}
				for _, ri := range p.rules {
					if !containsInt32(b.hex[p.text], ri) {
						b.hex[p.text] = append(b.hex[p.text], ri)
					}
				}
				continue
			}
			j, ok := b.idx[p.text]
			if !ok {
				j = len(b.pats)
				b.idx[p.text] = j
				b.pats = append(b.pats, []byte(p.text))
				b.rules = append(b.rules, nil)
			}
			for _, ri := range p.rules {
				if !containsInt32(b.rules[j], ri) {
					b.rules[j] = append(b.rules[j], ri)
				}
			}
		}
	}
	c := &combo{field: make([]*scanSet, len(e.fieldNames))}
	for slot, b := range bySlot {
		s := &scanSet{rules: b.rules, hex: b.hex}
		if len(b.pats) > 0 {
			s.ac = ahocorasick.Build(b.pats)
		}
		if slot < 0 {
			c.kw = s
		} else {
			c.field[slot] = s
		}
	}
	m := map[string]*combo{}
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[string(key)] = c
	e.comboCache.Store(&m)
	return c
}
