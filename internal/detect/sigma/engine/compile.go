package engine

import (
	"encoding/binary"
	"fmt"
	"regexp/syntax"
	"sort"

	"github.com/vigil-siem/vigil/internal/detect/sigma/ahocorasick"
	"net/netip"
	"regexp"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
)

const (
	opAnd uint8 = iota + 1
	opOr
	opNot
	opLeaf
	opTrue
	opFalse
)

type cnode struct {
	op   uint8
	kids []int32
	leaf *leaf
}

type crule struct {
	info       *RuleInfo
	nodes      []cnode
	root       int32
	entries    []int32
	everyEvent bool
	gated      bool // has a prefilter gate (else evaluated on every routed event)
	// checks are the gate clauses the searchers do not look for (short
	// literals): each needs one check to pass before the rule is
	// evaluated.
	checks [][]check
}

const (
	kEq uint8 = iota + 1
	kPrefix
	kSuffix
	kContains
	kGlob
	kPresent // '*': any value, field present
	kRegex
	kCmp
	kCIDR
	kExists
	kNull
	kRef
	kTime
)

type alt struct {
	group  int32
	kind   uint8
	cased  bool
	lit    []byte // folded literal (or original bytes when cased)
	litS   string // lit as a string
	glob   []globPart
	re     *regexp.Regexp
	num    float64
	op     string
	pfx    netip.Prefix
	exists bool
	ref    int32
	refPre bool
	refSuf bool
	part   string
	pat    sigma.Pattern // for the prefilter
	// reClauses are sets of folded literals such that the regex needs
	// one literal of each set; when a set has none in the value the regex
	// is not run.
	reClauses [][][]byte
	// reMin is the fewest bytes a match of the regex needs.
	reMin int
	// reRun, when set, is a byte class of which every match contains a
	// run of reRunLen bytes (from a piece like [a-f0-9]{64}).
	reRun    *[256]bool
	reRunLen int
}

type leaf struct {
	slot    int32 // -1: keyword, searched in the keyword fields
	all     bool
	negate  bool
	ngroups int32
	alts    []alt
	// eqSet holds folded equality literals of an OR leaf with many of them
	// (those alts are not in alts).
	eqSet map[string]struct{}
	// multi finds many folded contains/prefix/suffix literals of an OR
	// leaf in one pass (those alts are not in alts either).
	multi     *ahocorasick.Anchors
	multiKind []uint8
	multiLen  []int
	multiPats []alt // for the prefilter
	// multiAny: some multi literal is a contains; else multiPre and
	// multiSuf are the longest prefix and suffix literals.
	multiAny           bool
	multiPre, multiSuf int
}

// minMulti is the number of literal alternatives from which an OR leaf
// uses one automaton instead of one search per alternative.
const minMulti = 6

type compiler struct {
	e *Engine
	// multis shares one searcher between the leaves with the same
	// literals (rules repeat lists of tools, paths and domains).
	multis map[string]*ahocorasick.Anchors
}

// anchors returns the searcher of a leaf's literals.
func (c *compiler) anchors(pats [][]byte) *ahocorasick.Anchors {
	var key []byte
	for _, p := range pats {
		key = binary.AppendUvarint(key, uint64(len(p)))
		key = append(key, p...)
	}
	if a, ok := c.multis[string(key)]; ok {
		return a
	}
	a := ahocorasick.BuildAnchors(pats)
	if c.multis == nil {
		c.multis = map[string]*ahocorasick.Anchors{}
	}
	c.multis[string(key)] = a
	return a
}

// slot returns the slot of an event field name, adding it.
func (e *Engine) slot(name string) int32 {
	if s, ok := e.fieldIdx[name]; ok {
		return s
	}
	s := int32(len(e.fieldNames))
	e.fieldIdx[name] = s
	e.fieldNames = append(e.fieldNames, name)
	return s
}

func (c *compiler) compileRule(r *sigma.Rule) (*crule, error) {
	tr, err := pipeline.Apply(c.e.pipes, r)
	if err != nil {
		return nil, err
	}
	// The compiled rule keeps the rule's metadata, not its parsed
	// detection: the nodes below replace it.
	meta := *r
	meta.Detection = sigma.Detection{}
	cr := &crule{info: &RuleInfo{
		ID: r.ID, Name: r.Name, Title: r.Title, Level: r.Level, Status: r.Status, Author: r.Author,
		Description: r.Description, Tags: r.Tags, References: r.References, Fields: tr.Fields,
		LogSource: tr.LogSource, File: r.File, Line: r.Line, Alert: r.Alert, Correlated: r.Correlated, Rule: &meta,
	}}
	names := make([]string, len(tr.Detection.Searches))
	for i, s := range tr.Detection.Searches {
		names[i] = s.Name
	}
	memo := map[string]int32{}
	var search func(name string) (int32, error)
	search = func(name string) (int32, error) {
		if n, ok := memo[name]; ok {
			return n, nil
		}
		s := tr.Detection.Search(name)
		if s == nil {
			return 0, fmt.Errorf("condition refers to undefined search identifier %q", name)
		}
		n, err := c.node(cr, s.Root)
		if err != nil {
			return 0, fmt.Errorf("search identifier %s: %w", name, err)
		}
		memo[name] = n
		return n, nil
	}
	var cond func(cd *sigma.Cond) (int32, error)
	cond = func(cd *sigma.Cond) (int32, error) {
		switch cd.Op {
		case sigma.CondRef:
			return search(cd.Name)
		case sigma.CondOneOf, sigma.CondAllOf:
			m := cd.Expand(names)
			if len(m) == 0 {
				return 0, fmt.Errorf("no search identifier matches %q", cd.Name)
			}
			op := opOr
			if cd.Op == sigma.CondAllOf {
				op = opAnd
			}
			var kids []int32
			for _, n := range m {
				k, err := search(n)
				if err != nil {
					return 0, err
				}
				kids = append(kids, k)
			}
			return cr.add(cnode{op: op, kids: kids}), nil
		case sigma.CondNot:
			k, err := cond(cd.Kids[0])
			if err != nil {
				return 0, err
			}
			return cr.add(cnode{op: opNot, kids: []int32{k}}), nil
		case sigma.CondAnd, sigma.CondOr:
			op := opAnd
			if cd.Op == sigma.CondOr {
				op = opOr
			}
			var kids []int32
			for _, x := range cd.Kids {
				k, err := cond(x)
				if err != nil {
					return 0, err
				}
				kids = append(kids, k)
			}
			return cr.add(cnode{op: op, kids: kids}), nil
		}
		return 0, fmt.Errorf("BUG: condition operator %d", cd.Op)
	}
	var roots []int32
	for _, cd := range tr.Detection.Conditions {
		n, err := cond(cd)
		if err != nil {
			return nil, err
		}
		roots = append(roots, n)
	}
	if len(roots) == 1 {
		cr.root = roots[0]
	} else {
		cr.root = cr.add(cnode{op: opOr, kids: roots})
	}
	cr.orderKids()
	return cr, nil
}

// orderKids sorts the children of AND and OR nodes cheapest first, so that
// short-circuiting skips the expensive ones (regexes, keyword searches)
// whenever a cheap test decides.
func (cr *crule) orderKids() {
	cost := make([]int, len(cr.nodes))
	done := make([]bool, len(cr.nodes))
	var f func(n int32) int
	f = func(n int32) int {
		if done[n] {
			return cost[n]
		}
		nd := &cr.nodes[n]
		c := 1
		switch nd.op {
		case opLeaf:
			c = nd.leaf.cost()
		case opAnd, opOr, opNot:
			for _, k := range nd.kids {
				c += f(k)
			}
			if nd.op != opNot {
				kids := nd.kids
				sort.SliceStable(kids, func(i, j int) bool { return f(kids[i]) < f(kids[j]) })
			}
		}
		cost[n], done[n] = c, true
		return c
	}
	f(cr.root)
}

func (l *leaf) cost() int {
	c := 1
	if l.slot < 0 {
		c += 200 // keywords search every field
	}
	if l.eqSet != nil {
		c += 2
	}
	if l.multi != nil {
		c += 20
	}
	for _, a := range l.alts {
		switch a.kind {
		case kRegex:
			c += 50
		case kGlob:
			c += 10
		case kContains, kTime, kRef:
			c += 4
		default:
			c += 1
		}
	}
	return c
}

func (cr *crule) add(n cnode) int32 {
	cr.nodes = append(cr.nodes, n)
	return int32(len(cr.nodes) - 1)
}

func (c *compiler) node(cr *crule, n *sigma.Node) (int32, error) {
	if n == nil {
		return cr.add(cnode{op: opTrue}), nil
	}
	switch n.Kind {
	case sigma.NodeAnd, sigma.NodeOr:
		op := opAnd
		if n.Kind == sigma.NodeOr {
			op = opOr
		}
		if len(n.Kids) == 0 {
			if op == opAnd {
				return cr.add(cnode{op: opTrue}), nil
			}
			return cr.add(cnode{op: opFalse}), nil
		}
		if len(n.Kids) == 1 {
			return c.node(cr, n.Kids[0])
		}
		var kids []int32
		for _, k := range n.Kids {
			x, err := c.node(cr, k)
			if err != nil {
				return 0, err
			}
			kids = append(kids, x)
		}
		return cr.add(cnode{op: op, kids: kids}), nil
	case sigma.NodeItem:
		l, err := c.leaf(n.Item)
		if err != nil {
			return 0, err
		}
		return cr.add(cnode{op: opLeaf, leaf: l}), nil
	}
	return 0, fmt.Errorf("BUG: node kind %d", n.Kind)
}

func (c *compiler) leaf(it *sigma.Item) (*leaf, error) {
	l := &leaf{slot: -1, all: it.All, negate: it.Negate, ngroups: int32(len(it.Values))}
	if it.Field != "" {
		l.slot = c.e.slot(it.Field)
	}
	for gi, g := range it.Values {
		for _, v := range g {
			a, err := c.alt(v)
			if err != nil {
				return nil, err
			}
			a.group = int32(gi)
			l.alts = append(l.alts, a)
		}
	}
	if !l.all && l.slot >= 0 {
		n := 0
		for _, a := range l.alts {
			if a.kind == kEq && !a.cased {
				n++
			}
		}
		if n >= 8 {
			l.eqSet = map[string]struct{}{}
			kept := l.alts[:0]
			for _, a := range l.alts {
				if a.kind == kEq && !a.cased {
					l.eqSet[string(a.lit)] = struct{}{}
					continue
				}
				kept = append(kept, a)
			}
			l.alts = kept
		}
		n = 0
		for _, a := range l.alts {
			if !a.cased && (a.kind == kContains || a.kind == kPrefix || a.kind == kSuffix) {
				n++
			}
		}
		if n >= minMulti {
			var pats [][]byte
			kept := l.alts[:0]
			for _, a := range l.alts {
				if !a.cased && (a.kind == kContains || a.kind == kPrefix || a.kind == kSuffix) {
					pats = append(pats, a.lit)
					l.multiKind = append(l.multiKind, a.kind)
					l.multiLen = append(l.multiLen, len(a.lit))
					l.multiPats = append(l.multiPats, a)
					switch a.kind {
					case kContains:
						l.multiAny = true
					case kPrefix:
						l.multiPre = max(l.multiPre, len(a.lit))
					default:
						l.multiSuf = max(l.multiSuf, len(a.lit))
					}
					continue
				}
				kept = append(kept, a)
			}
			l.alts = kept
			l.multi = c.anchors(pats)
		}
	}
	return l, nil
}

func (c *compiler) alt(v sigma.Value) (alt, error) {
	a := alt{}
	switch v.Kind {
	case sigma.ValString:
		a.cased = v.Cased
		a.pat = v.Pattern
		p := v.Pattern
		lead := len(p) > 0 && p[0].Kind == sigma.PartStar
		trail := len(p) > 0 && p[len(p)-1].Kind == sigma.PartStar
		inner := p
		if lead {
			inner = inner[1:]
		}
		if trail && len(inner) > 0 {
			inner = inner[:len(inner)-1]
		}
		conv := func(s string) []byte {
			if a.cased {
				return []byte(s)
			}
			return []byte(fold(s))
		}
		if lit, ok := inner.Literal(); ok {
			a.lit = conv(lit)
			a.litS = string(a.lit)
			switch {
			case lead && trail:
				a.kind = kContains
			case lead:
				a.kind = kSuffix
			case trail:
				a.kind = kPrefix
			default:
				a.kind = kEq
			}
			if (lead || trail) && lit == "" {
				a.kind = kPresent
			}
			return a, nil
		}
		a.kind = kGlob
		for _, part := range p {
			switch part.Kind {
			case sigma.PartLit:
				a.glob = append(a.glob, globPart{kind: 1, lit: conv(part.Text)})
			case sigma.PartStar:
				a.glob = append(a.glob, globPart{kind: 2})
			case sigma.PartOne:
				a.glob = append(a.glob, globPart{kind: 3})
			default:
				return a, fmt.Errorf("BUG: unexpanded placeholder in %q", p.String())
			}
		}
	case sigma.ValRegex:
		re, ok := c.e.regexCache[v.Regex]
		if !ok {
			var err error
			re, err = regexp.Compile(v.Regex)
			if err != nil {
				return a, fmt.Errorf("regular expression %q: %v", v.Regex, err)
			}
			c.e.regexCache[v.Regex] = re
		}
		a.kind, a.re = kRegex, re
		a.pat = sigma.Pattern{{Kind: sigma.PartLit, Text: v.Regex}}
		if re, err := syntax.Parse(v.Regex, syntax.Perl); err == nil {
			a.reMin = minRunes(re.Simplify())
			a.reRun, a.reRunLen = classRun(re)
			a.reClauses = foldClauses(regexClauses(re.Simplify()))
		}
	case sigma.ValCompare:
		a.kind, a.num, a.op = kCmp, v.Number, v.Op
	case sigma.ValTimePart:
		a.kind, a.num, a.part = kTime, v.Number, v.Part
	case sigma.ValCIDR:
		p, err := netip.ParsePrefix(v.CIDR)
		if err != nil {
			return a, fmt.Errorf("cidr %q: %v", v.CIDR, err)
		}
		a.kind, a.pfx = kCIDR, p
	case sigma.ValExists:
		a.kind, a.exists = kExists, v.Exists
	case sigma.ValNull:
		a.kind = kNull
	case sigma.ValFieldRef:
		a.kind, a.ref, a.refPre, a.refSuf, a.cased = kRef, c.e.slot(v.Ref), v.RefPrefix, v.RefSuffix, v.Cased
	default:
		return a, fmt.Errorf("BUG: value kind %d", v.Kind)
	}
	return a, nil
}

// minRunes is the fewest runes (so bytes) any match of re has.
func minRunes(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minRunes(re.Sub[0])
	case syntax.OpRepeat:
		n := re.Min * minRunes(re.Sub[0])
		if n > 1<<20 {
			n = 1 << 20
		}
		return n
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minRunes(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minRunes(s); n < 0 || m < n {
				n = m
			}
		}
		if n < 0 {
			n = 0
		}
		return n
	}
	return 0
}

// classRun finds, in the top-level concatenation of re, the longest piece
// that repeats one character class at least 8 times, and returns the class
// as a byte table (bytes of multi-byte runes count as members, which keeps
// the check necessary) and the repeat count.
func classRun(re *syntax.Regexp) (*[256]bool, int) {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var best *[256]bool
	bestN := 0
	for _, s := range subs {
		if s.Op != syntax.OpRepeat || s.Min < 8 || s.Min <= bestN {
			continue
		}
		cls := s.Sub[0]
		if cls.Op != syntax.OpCharClass {
			continue
		}
		var t [256]bool
		for i := 0; i+1 < len(cls.Rune); i += 2 {
			lo, hi := cls.Rune[i], cls.Rune[i+1]
			for r := lo; r <= hi && r < 0x80; r++ {
				t[r] = true
			}
			if hi >= 0x80 {
				for b := 0x80; b < 256; b++ {
					t[b] = true
				}
			}
		}
		best, bestN = &t, s.Min
	}
	return best, bestN
}

// foldClauses folds the literals of regex clauses, leaving out the
// clauses with a literal whose folding is not stable (see foldStable) or
// that is in nearly every value (see weakLit).
func foldClauses(cs [][]string) [][][]byte {
	var out [][][]byte
next:
	for _, c := range cs {
		var fc [][]byte
		for _, l := range c {
			f := fold(l)
			if f == "" || !foldStable(l) || weakLit(flit{full: f}) {
				continue next
			}
			fc = append(fc, []byte(f))
		}
		out = append(out, fc)
	}
	return out
}

// hasRun reports whether v has n consecutive bytes in the class. Any n
// consecutive offsets include one of n-1, 2n-1, 3n-1...: only those are
// probed, and the run around a probe in the class is measured.
func hasRun(v string, class *[256]bool, n int) bool {
	if n <= 0 {
		return true
	}
	for p := n - 1; p < len(v); p += n {
		if !class[v[p]] {
			continue
		}
		lo, hi := p, p+1
		for lo > 0 && class[v[lo-1]] {
			lo--
		}
		for hi < len(v) && class[v[hi]] {
			hi++
		}
		if hi-lo >= n {
			return true
		}
		// p+n >= hi: the next probe is past this run.
	}
	return false
}
