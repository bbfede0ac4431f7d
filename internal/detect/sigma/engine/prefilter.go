package engine

import (
	"fmt"
	"math"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/ahocorasick"
)

// litSet is a set of (field, folded literal) pairs, one of which occurs
// in every event some condition matches: a clause of a gate.
type litSet struct {
	lits []flit
}

type flit struct {
	slot int32 // -1: keyword fields
	text string
	// hex: text is the first hexTokenLen characters of a run of hex digits
	// that starts right after a non-hex character (or at the start of the
	// value), looked up in a hash set instead of the searcher (thousands
	// of hash IOCs would fill its tables with random anchors).
	hex bool
	// full is the whole folded literal text is taken from, and anchor
	// where it sits in every value the alternative matches: what a direct
	// check (a check) tests.
	full   string
	anchor uint8
}

// Anchors of a literal in the values an alternative matches.
const (
	anyAnchor    uint8 = iota // somewhere in the value
	prefixAnchor              // the value starts with it
	suffixAnchor              // the value ends with it
	exactAnchor               // the value is it
)

// litKey identifies a prefilter literal (a searcher pattern).
type litKey struct {
	slot int32
	text string
	hex  bool
}

func (l flit) key() litKey { return litKey{l.slot, l.text, l.hex} }

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
// is itself required, so long literals are cut to maxLit bytes (the
// window gateBuilder.window picks), which keeps the searchers small.
const maxLit = 10

// litFreq counts, over all rules and fields, how often each literal (cut
// to its window) is a candidate: literals many rules use (`c:\users\`,
// ".exe") tend to be common in events too, in whatever field, so the
// prefilter prefers rarer ones.
type litFreq map[string]int

// cost estimates how often a set fires: the sum over its literals of a
// weight falling with length and rising with how many rules use it.
func (s litSet) cost(freq litFreq) float64 {
	c := 0.0
	for _, l := range s.lits {
		n := len(l.text)
		if n > 16 {
			n = 16
		}
		x := float64(1+freq[l.text]) / float64(n*n*n)
		if l.slot < 0 {
			x *= 4 // keyword literals are searched in every field
		}
		c += x
	}
	return c
}

// gateBuilder computes the prefilter gates of the rules of an engine from
// statistics over all their literals.
type gateBuilder struct {
	// tri counts, for each byte trigram, the distinct folded literals of
	// the rule set that contain it. Fragments many rules mention
	// ("\sys", "exe", "dows") are common in events as well, so windows
	// made of rare trigrams are preferred.
	tri map[string]int32
	// freq counts how many rule values use each (cut) literal.
	freq litFreq
}

func newGateBuilder(rules []*crule) *gateBuilder {
	b := &gateBuilder{tri: map[string]int32{}, freq: litFreq{}}
	forAlts := func(fn func(a *alt, slot int32)) {
		for _, r := range rules {
			for _, nd := range r.nodes {
				if nd.leaf == nil {
					continue
				}
				for i := range nd.leaf.alts {
					fn(&nd.leaf.alts[i], nd.leaf.slot)
				}
				for i := range nd.leaf.multiPats {
					fn(&nd.leaf.multiPats[i], nd.leaf.slot)
				}
			}
		}
	}
	seen := map[string]bool{}
	forAlts(func(a *alt, slot int32) {
		for _, c := range a.clauses(slot) {
			for _, l := range c.lits {
				if l.hex || seen[l.text] {
					continue
				}
				seen[l.text] = true
				inLit := map[string]bool{}
				for i := 0; i+3 <= len(l.text); i++ {
					if t := l.text[i : i+3]; !inLit[t] {
						inLit[t] = true
						b.tri[t]++
					}
				}
			}
		}
	})
	forAlts(func(a *alt, slot int32) {
		for _, c := range b.altGate(a, slot) {
			for _, l := range c.lits {
				b.freq[l.text]++
			}
		}
	})
	return b
}

// window returns the maxLit bytes of s least likely to occur in events:
// the window whose trigrams are the rarest among the rule set's literals
// (sum of the logarithms of their counts), the last one on ties. Rules
// often write a distinctive part before a common path ("\..\system32\",
// "c:\windows \system32\"), which the last bytes alone would miss.
func (b *gateBuilder) window(s string) string {
	if len(s) <= maxLit {
		return s
	}
	bi, bs := 0, math.Inf(1)
	for i := 0; i+maxLit <= len(s); i++ {
		sc := 0.0
		for j := i; j+3 <= i+maxLit; j++ {
			sc += math.Log(float64(1 + b.tri[s[j:j+3]]))
		}
		if sc <= bs {
			bi, bs = i, sc
		}
	}
	return s[bi : bi+maxLit]
}

// altGate returns the clauses of an alternative with their literals cut
// to windows, unsorted.
func (b *gateBuilder) altGate(a *alt, slot int32) gate {
	cs := a.clauses(slot)
	out := make(gate, len(cs))
	for i, c := range cs {
		out[i].lits = make([]flit, len(c.lits))
		for j, l := range c.lits {
			if !l.hex {
				l.text = b.window(l.text)
			}
			out[i].lits[j] = l
		}
	}
	return out
}

func (b *gateBuilder) cost(s litSet) float64 { return s.cost(b.freq) }

// A gate is what the prefilter requires of an event before a rule is
// evaluated: a conjunction of clauses, each a disjunction of (field,
// literal) pairs (a litSet). Every event the rule matches
// contains a literal of every clause. A nil gate means none is known: the
// rule is evaluated on every event routed to it. Clauses are sorted
// cheapest (rarest) first; there are at most maxClauses.
//
// One clause is what a single literal set can do; a conjunction rules out
// the many events that contain a common literal of the rule but not the
// others (an image name and a command-line flag, say).
type gate []litSet

// maxClauses bounds the clauses of a gate.
const maxClauses = 4

// gate computes the gate of node n of rule cr.
func (b *gateBuilder) gate(cr *crule, n int32) gate {
	nd := &cr.nodes[n]
	switch nd.op {
	case opAnd:
		// Every child is required: so is every clause of every child.
		var out gate
		for _, k := range nd.kids {
			out = append(out, b.gate(cr, k)...)
		}
		return b.normalize(out)
	case opOr:
		kids := make([]gate, len(nd.kids))
		for i, c := range nd.kids {
			kids[i] = b.gate(cr, c)
		}
		return b.or(kids)
	case opLeaf:
		return b.leafGate(nd.leaf)
	}
	return nil
}

// or is the gate of an OR of gates: (a1 and a2) or (b1 and b2) implies
// (a1 or b1) and (a2 or b2), so clause j is the union of each gate's j-th
// clause (a gate with fewer clauses gives its last one again). A nil gate
// makes the OR ungated.
func (b *gateBuilder) or(gates []gate) gate {
	k := 0
	for _, g := range gates {
		if len(g) == 0 {
			return nil
		}
		k = max(k, len(g))
	}
	out := make(gate, k)
	for j := range out {
		for _, g := range gates {
			out[j].lits = append(out[j].lits, g[min(j, len(g)-1)].lits...)
		}
	}
	return b.normalize(out)
}

// normalize removes duplicate literals and clauses, sorts the clauses
// cheapest first and keeps at most maxClauses.
func (b *gateBuilder) normalize(g gate) gate {
	seen := map[string]bool{}
	out := g[:0]
	for _, c := range g {
		c = c.dedup()
		k := c.key()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	sort.SliceStable(out, func(i, j int) bool { return b.cost(out[i]) < b.cost(out[j]) })
	if len(out) > maxClauses {
		out = out[:maxClauses]
	}
	return out
}

// dedup returns s with each literal once, sorted.
func (s litSet) dedup() litSet {
	ls := append([]flit(nil), s.lits...)
	sort.Slice(ls, func(i, j int) bool {
		a, b := ls[i], ls[j]
		if a.slot != b.slot {
			return a.slot < b.slot
		}
		if a.text != b.text {
			return a.text < b.text
		}
		if a.hex != b.hex {
			return !a.hex
		}
		if a.full != b.full {
			return a.full < b.full
		}
		return a.anchor < b.anchor
	})
	return litSet{lits: slices.Compact(ls)}
}

// key identifies a deduplicated set.
func (s litSet) key() string {
	var b strings.Builder
	for _, l := range s.lits {
		fmt.Fprintf(&b, "%d/%t/%s/%d/%s\x00", l.slot, l.hex, l.text, l.anchor, l.full)
	}
	return b.String()
}

// leafGate is the gate of a leaf: an OR of its alternatives' gates, or
// with the all modifier an AND over its value groups of such ORs.
func (b *gateBuilder) leafGate(l *leaf) gate {
	if l.negate {
		return nil
	}
	groups := make([][]gate, l.ngroups)
	for i := range l.alts {
		a := &l.alts[i]
		groups[a.group] = append(groups[a.group], b.normalize(b.altGate(a, l.slot)))
	}
	for i := range l.multiPats {
		a := &l.multiPats[i]
		groups[a.group] = append(groups[a.group], b.normalize(b.altGate(a, l.slot)))
	}
	for k := range l.eqSet {
		// eqSet alts were removed; they belong to OR leaves only.
		groups[0] = append(groups[0], gate{{lits: []flit{{slot: l.slot, text: b.window(k), full: k, anchor: exactAnchor}}}})
	}
	if !l.all {
		var alts []gate
		for _, g := range groups {
			alts = append(alts, g...)
		}
		return b.or(alts)
	}
	var out gate
	for _, g := range groups {
		out = append(out, b.or(g)...)
	}
	return b.normalize(out)
}

// clauses returns the literal sets (folded, whole) of an alternative:
// every value it matches contains one literal of each set. Nil when none
// is known.
func (a *alt) clauses(slot int32) []litSet {
	out := a.allClauses(slot)
	kept := out[:0]
	for _, c := range out {
		if !slices.ContainsFunc(c.lits, weakLit) {
			kept = append(kept, c)
		}
	}
	return kept
}

// weakLit reports whether a literal is in nearly every value, so that a
// clause holding it rules nothing out: one letter, digit or separator
// anywhere in the value (a regex's required "e", a windash "-").
func weakLit(l flit) bool {
	if l.anchor != anyAnchor || len(l.full) != 1 {
		return false
	}
	c := l.full[0]
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(" .,;:-_=\\/\"'()[]", c) >= 0
}

func (a *alt) allClauses(slot int32) []litSet {
	one := func(l flit) []litSet {
		if slot >= 0 {
			// A hash IOC: its hex-run key (see flit.hex).
			if h, ok := anchoredHexRun(l.text, l.anchor == exactAnchor || l.anchor == prefixAnchor); ok {
				l.text, l.hex = h, true
			}
		}
		return []litSet{{lits: []flit{l}}}
	}
	switch a.kind {
	case kEq, kPrefix, kSuffix, kContains:
		// a.lit is the whole literal (folded unless cased).
		f := fold(string(a.lit))
		if f == "" {
			return nil
		}
		anchor := map[uint8]uint8{kEq: exactAnchor, kPrefix: prefixAnchor, kSuffix: suffixAnchor, kContains: anyAnchor}[a.kind]
		return one(flit{slot: slot, text: f, full: f, anchor: anchor})
	case kGlob:
		// Every literal part is required; the first is a prefix and the
		// last a suffix unless a wildcard stands before / after them.
		var out []litSet
		for i, p := range a.pat {
			if p.Kind != sigma.PartLit {
				continue
			}
			f := fold(p.Text)
			if f == "" {
				continue
			}
			anchor := anyAnchor
			switch {
			case i == 0 && len(a.pat) == 1:
				anchor = exactAnchor
			case i == 0:
				anchor = prefixAnchor
			case i == len(a.pat)-1:
				anchor = suffixAnchor
			}
			out = append(out, one(flit{slot: slot, text: f, full: f, anchor: anchor})...)
		}
		return out
	case kRegex:
		re, err := syntax.Parse(a.re.String(), syntax.Perl)
		if err != nil {
			return nil
		}
		var out []litSet
	clauses:
		for _, c := range regexClauses(re.Simplify()) {
			var ls litSet
			for _, s := range c {
				f := fold(s)
				if f == "" || !foldStable(s) {
					continue clauses
				}
				ls.lits = append(ls.lits, flit{slot: slot, text: f, full: f})
			}
			out = append(out, ls)
		}
		return out
	}
	return nil
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
		concatRuns(re.Sub, func(run []string) { cands = append(cands, run) }, func(s *syntax.Regexp) {
			if ls, ok := regexLits(s); ok {
				cands = append(cands, ls)
			}
		})
		if len(cands) == 0 {
			return nil, false
		}
		sort.SliceStable(cands, func(i, j int) bool { return litsCost(cands[i]) < litsCost(cands[j]) })
		return cands[0], true
	}
	return nil, false
}

// concatRuns walks the pieces of a concatenation in order: each run of
// exact pieces (literalSet: literals, or small classes taken as
// alternatives) is multiplied out into a set of longer literals (at most 16;
// a longer run is cut) and given to run; every other piece is given to
// other.
func concatRuns(subs []*syntax.Regexp, run func([]string), other func(*syntax.Regexp)) {
	var cur []string
	flush := func() {
		if len(cur) > 0 && cur[0] != "" {
			run(cur)
		}
		cur = nil
	}
	for _, s := range subs {
		set, ok := literalSet(s)
		if !ok {
			flush()
			other(s)
			continue
		}
		if cur == nil {
			cur = []string{""}
		}
		if len(cur)*len(set) > 16 {
			flush()
			cur = []string{""}
		}
		var next []string
		for _, a := range cur {
			for _, b := range set {
				next = append(next, a+b)
			}
		}
		cur = next
	}
	flush()
}

// regexClauses returns sets of literals such that every match of re
// contains one literal of each set (a conjunction, like a gate): each
// piece of a concatenation is required, alternatives are zipped as in
// gateBuilder.gate. The sets are cheapest first, at most maxClauses.
func regexClauses(re *syntax.Regexp) [][]string {
	var out [][]string
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) > 0 {
			out = [][]string{{string(re.Rune)}}
		}
	case syntax.OpCharClass:
		if s, ok := classLiteral(re); ok {
			out = [][]string{{s}}
		}
	case syntax.OpCapture, syntax.OpPlus:
		out = regexClauses(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			out = regexClauses(re.Sub[0])
		}
	case syntax.OpAlternate:
		kids := make([][][]string, len(re.Sub))
		k := 0
		for i, s := range re.Sub {
			kids[i] = regexClauses(s)
			if len(kids[i]) == 0 {
				return nil
			}
			k = max(k, len(kids[i]))
		}
		out = make([][]string, k)
		for j := range out {
			for _, c := range kids {
				out[j] = append(out[j], c[min(j, len(c)-1)]...)
			}
			if len(out[j]) > 64 {
				return nil
			}
		}
	case syntax.OpConcat:
		// Runs of exact pieces concatenate into longer literals, as in
		// regexLits; every other piece's clauses are required too.
		concatRuns(re.Sub, func(run []string) { out = append(out, run) }, func(s *syntax.Regexp) {
			out = append(out, regexClauses(s)...)
		})
	}
	seen := map[string]bool{}
	uniq := out[:0]
	for _, c := range out {
		if k := strings.Join(c, "\x00"); !seen[k] {
			seen[k] = true
			uniq = append(uniq, c)
		}
	}
	out = uniq
	sort.SliceStable(out, func(i, j int) bool { return litsCost(out[i]) < litsCost(out[j]) })
	if len(out) > maxClauses {
		out = out[:maxClauses]
	}
	return out
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

// buildPrefilter computes each rule's gate, files the literals of its
// scanned clauses under the route entries (for their searchers) and makes
// the other clauses the rule's checks.
func (e *Engine) buildPrefilter(c *compiler) {
	pats := map[litKey]int32{}
	var patList []litKey
	var patRefs [][]gateRef
	gb := newGateBuilder(e.rules)
	for ri, r := range e.rules {
		if e.opts.DisablePrefilter {
			break
		}
		g := gb.gate(r, r.root)
		if len(g) == 0 {
			continue
		}
		r.gated = true
		// The first clause is scanned for; so are the others whose
		// literals are long enough not to be everywhere. The rest are
		// checked directly on the rule's candidate events.
		scanned := g[:1]
		for _, clause := range g[1:] {
			if scannable(clause) {
				scanned = append(scanned, clause)
			} else if cl, ok := newCheckClause(clause); ok {
				r.checks = append(r.checks, cl)
			}
		}
		// The clauses all have to pass: cheapest to test first.
		slices.SortStableFunc(r.checks, func(a, b []check) int { return checkCost(a) - checkCost(b) })
		full := uint8(1)<<len(scanned) - 1
		for j, clause := range scanned {
			for _, l := range clause.lits {
				k := l.key()
				id, ok := pats[k]
				if !ok {
					id = int32(len(patList))
					pats[k] = id
					patList = append(patList, k)
					patRefs = append(patRefs, nil)
				}
				refs := patRefs[id]
				if n := len(refs); n > 0 && refs[n-1].rule == int32(ri) {
					refs[n-1].bits |= 1 << j
					continue
				}
				patRefs[id] = append(refs, gateRef{rule: int32(ri), bits: 1 << j, full: full})
			}
		}
	}
	// The searchers are built per combination of route entries (comboFor);
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
			var mine []gateRef
			for _, ref := range patRefs[id] {
				if inEntry[ref.rule] {
					mine = append(mine, ref)
				}
			}
			if len(mine) == 0 {
				continue
			}
			en.pats = append(en.pats, entryPat{slot: k.slot, text: k.text, hex: k.hex, refs: mine})
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

// minScanned is the length from which a literal is worth scanning for in
// a clause after the first: shorter ones ("-", " /c") are in most values.
const minScanned = 4

// scannable reports whether every literal of a clause is long enough to
// scan for.
func scannable(c litSet) bool {
	for _, l := range c.lits {
		if len(l.text) < minScanned {
			return false
		}
	}
	return true
}

// gateRef files a rule under a literal of its gate: the literal belongs
// to the clauses bits of the rule's scanned clauses full. A rule becomes a
// candidate when the literals found in an event cover all of them.
type gateRef struct {
	rule int32
	bits uint8
	full uint8
}

// A check is one literal of a gate clause tested directly on an event
// field's folded value. A rule whose scanned clauses the searchers found is
// evaluated only if, for each of its other clauses, one check passes:
// these clauses cost nothing on the many events where the first one is
// absent, and rule out most of the others for a few byte comparisons.
type check struct {
	slot   int32
	anchor uint8
	text   []byte
}

// maxCheckLits bounds the literals of a clause used as a check.
const maxCheckLits = 32

// newCheckClause converts a gate clause to checks; clauses with keyword
// literals (searched in every field) or too many literals are not worth
// it.
func newCheckClause(c litSet) ([]check, bool) {
	if len(c.lits) > maxCheckLits {
		return nil, false
	}
	var out []check
	for _, l := range c.lits {
		if l.slot < 0 || l.full == "" {
			return nil, false
		}
		ch := check{slot: l.slot, anchor: l.anchor, text: []byte(l.full)}
		dup := false
		for _, o := range out {
			dup = dup || o.slot == ch.slot && o.anchor == ch.anchor && string(o.text) == string(ch.text)
		}
		if !dup {
			out = append(out, ch)
		}
	}
	return out, len(out) > 0
}

// checkCost estimates the work of testing a check clause: a search
// through the value per contains literal, a comparison per anchored one.
func checkCost(c []check) int {
	n := 0
	for _, ch := range c {
		if ch.anchor == anyAnchor {
			n += 4
		} else {
			n++
		}
	}
	return n
}

// entryPat is a prefilter literal of a route entry and the entry's rules
// that need it.
type entryPat struct {
	slot int32 // -1 for keywords
	text string
	hex  bool
	refs []gateRef
}

// scanSet is a literal searcher and the gate references of each of its
// patterns.
type scanSet struct {
	ac   *ahocorasick.Anchors
	refs [][]gateRef
	hex  map[string][]gateRef // hex-run keys -> gate references
}

// combo holds the searchers for one combination of route entries, over the
// literals of those entries' rules only: smaller searchers than one over
// every rule, and an event of several log sources scans each field once.
// Every rule of the searchers is routed to an event of the combination.
type combo struct {
	field []*scanSet // by slot
	kw    *scanSet
	// kwCovered: the slot's searcher includes the keyword literals.
	kwCovered []bool
	// routed is the number of distinct rules routed to such an event.
	routed int
	// ungated are the routed rules without a gate, sorted.
	ungated []int32
}

// comboFor returns the searchers of a set of entries, building them on
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
	bySlot := map[int32]*scanBuild{}
	routed := map[int32]bool{}
	var ungated []int32
	for _, ei := range entries {
		for _, ri := range e.routes.entries[ei].all {
			routed[ri] = true
		}
		for _, ri := range e.routes.entries[ei].ungated {
			if !slices.Contains(ungated, ri) {
				ungated = append(ungated, ri)
			}
		}
		for _, p := range e.routes.entries[ei].pats {
			b := bySlot[p.slot]
			if b == nil {
				b = &scanBuild{idx: map[string]int{}}
				bySlot[p.slot] = b
			}
			b.add(p.text, p.hex, p.refs)
		}
	}
	slices.Sort(ungated)
	c := &combo{field: make([]*scanSet, len(e.fieldNames)), kwCovered: make([]bool, len(e.fieldNames)), routed: len(routed), ungated: ungated}
	if kw := bySlot[-1]; kw != nil {
		// The keyword literals join the searchers of the keyword fields
		// that have one, so that those values are scanned once.
		for slot, b := range bySlot {
			if slot >= 0 && e.isKeywordSlot(slot) {
				for j, p := range kw.pats {
					b.add(string(p), false, kw.refs[j])
				}
				c.kwCovered[slot] = true
			}
		}
	}
	for slot, b := range bySlot {
		s := &scanSet{refs: b.refs, hex: b.hex}
		if len(b.pats) > 0 {
			s.ac = ahocorasick.BuildAnchors(b.pats)
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

// scanBuild collects the patterns of a scanSet.
type scanBuild struct {
	idx  map[string]int
	pats [][]byte
	refs [][]gateRef
	hex  map[string][]gateRef
}

func (b *scanBuild) add(text string, hex bool, refs []gateRef) {
	if hex {
		if b.hex == nil {
			b.hex = map[string][]gateRef{}
		}
		b.hex[text] = mergeRefs(b.hex[text], refs)
		return
	}
	j, ok := b.idx[text]
	if !ok {
		j = len(b.pats)
		b.idx[text] = j
		b.pats = append(b.pats, []byte(text))
		b.refs = append(b.refs, nil)
	}
	b.refs[j] = mergeRefs(b.refs[j], refs)
}

// isKeywordSlot reports whether keywords are searched in field slot.
func (e *Engine) isKeywordSlot(slot int32) bool {
	return e.kwAll || slices.Contains(e.kwSlots, slot)
}

// mergeRefs adds to dst the references of src it lacks (a rule accepting
// several entries of a combination comes once per entry).
func mergeRefs(dst, src []gateRef) []gateRef {
	for _, r := range src {
		if !slices.Contains(dst, r) {
			dst = append(dst, r)
		}
	}
	return dst
}
