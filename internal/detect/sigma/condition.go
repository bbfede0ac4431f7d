package sigma

import (
	"fmt"
	"strings"
)

// CondOp is the operator of a condition node.
type CondOp uint8

// Condition operators.
const (
	CondAnd CondOp = iota + 1
	CondOr
	CondNot
	CondRef   // a search identifier (Name)
	CondOneOf // 1 of Name (a pattern with * wildcards, or "them")
	CondAllOf // all of Name
)

// Cond is a parsed condition expression.
type Cond struct {
	Op   CondOp
	Kids []*Cond
	Name string
	Pos  int // byte offset in the condition text
}

// MaxConditionDepth bounds the nesting of parentheses and operators.
const MaxConditionDepth = 64

// ConditionError is a condition syntax error at a byte offset.
type ConditionError struct {
	Pos int
	Msg string
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("condition at column %d: %s", e.Pos+1, e.Msg)
}

type condToken struct {
	kind string // ident ( ) and or not of | end
	text string
	pos  int
}

func tokenizeCondition(s string) ([]condToken, error) {
	var toks []condToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, condToken{kind: string(c), text: string(c), pos: i})
			i++
		case c == '|':
			return nil, &ConditionError{Pos: i, Msg: "aggregation expressions (`| count() ...`, `| near ...`) are the deprecated Sigma 1 syntax; write a correlation rule instead"}
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[i])) {
				i++
			}
			w := s[start:i]
			kind := "ident"
			switch strings.ToLower(w) {
			case "and", "or", "not", "of":
				kind = strings.ToLower(w)
			}
			toks = append(toks, condToken{kind: kind, text: w, pos: start})
		}
	}
	toks = append(toks, condToken{kind: "end", pos: len(s)})
	return toks, nil
}

type condParser struct {
	toks    []condToken
	i       int
	depth   int
	allowOf bool
}

// ParseCondition parses a detection condition such as
// "selection and not 1 of filter_*".
func ParseCondition(s string) (*Cond, error) {
	return parseCond(s, true)
}

// ParseRuleExpression parses an extended correlation condition: rule
// names linked with and, or, not and parentheses.
func ParseRuleExpression(s string) (*Cond, error) {
	return parseCond(s, false)
}

func parseCond(s string, allowOf bool) (*Cond, error) {
	toks, err := tokenizeCondition(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks, allowOf: allowOf}
	if p.peek().kind == "end" {
		return nil, &ConditionError{Pos: 0, Msg: "empty condition"}
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "end" {
		return nil, &ConditionError{Pos: t.pos, Msg: fmt.Sprintf("unexpected %q", t.text)}
	}
	return c, nil
}

func (p *condParser) peek() condToken { return p.toks[p.i] }
func (p *condParser) next() condToken { t := p.toks[p.i]; p.i++; return t }

func (p *condParser) enter(pos int) error {
	p.depth++
	if p.depth > MaxConditionDepth {
		return &ConditionError{Pos: pos, Msg: fmt.Sprintf("nested deeper than %d", MaxConditionDepth)}
	}
	return nil
}

func (p *condParser) or() (*Cond, error) {
	if err := p.enter(p.peek().pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []*Cond{first}
	for p.peek().kind == "or" {
		p.next()
		k, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Cond{Op: CondOr, Kids: kids, Pos: first.Pos}, nil
}

func (p *condParser) and() (*Cond, error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	kids := []*Cond{first}
	for p.peek().kind == "and" {
		p.next()
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Cond{Op: CondAnd, Kids: kids, Pos: first.Pos}, nil
}

func (p *condParser) unary() (*Cond, error) {
	t := p.peek()
	if t.kind == "not" {
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Cond{Op: CondNot, Kids: []*Cond{k}, Pos: t.pos}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*Cond, error) {
	t := p.next()
	switch t.kind {
	case "(":
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if cl := p.next(); cl.kind != ")" {
			return nil, &ConditionError{Pos: cl.pos, Msg: fmt.Sprintf("want ')' to close '(' at column %d, found %s", t.pos+1, describeTok(cl))}
		}
		return c, nil
	case "ident":
		if p.peek().kind == "of" {
			if !p.allowOf {
				return nil, &ConditionError{Pos: t.pos, Msg: "'of' is not allowed here"}
			}
			p.next()
			var op CondOp
			switch strings.ToLower(t.text) {
			case "1", "any":
				op = CondOneOf
			case "all":
				op = CondAllOf
			default:
				return nil, &ConditionError{Pos: t.pos, Msg: fmt.Sprintf("quantifier %q: only '1 of' and 'all of' are defined", t.text)}
			}
			target := p.next()
			if target.kind != "ident" {
				return nil, &ConditionError{Pos: target.pos, Msg: fmt.Sprintf("want a search identifier pattern or 'them' after 'of', found %s", describeTok(target))}
			}
			return &Cond{Op: op, Name: target.text, Pos: t.pos}, nil
		}
		return &Cond{Op: CondRef, Name: t.text, Pos: t.pos}, nil
	}
	return nil, &ConditionError{Pos: t.pos, Msg: fmt.Sprintf("want a search identifier, 'not', '1 of', 'all of' or '(', found %s", describeTok(t))}
}

func describeTok(t condToken) string {
	if t.kind == "end" {
		return "end of condition"
	}
	return fmt.Sprintf("%q", t.text)
}

// Names returns the search identifiers a condition refers to, with "x of"
// patterns expanded against names (them excludes names starting with "_").
// It reports references to undefined names and patterns matching nothing.
func (c *Cond) Names(names []string) ([]string, error) {
	var out []string
	var walk func(c *Cond) error
	walk = func(c *Cond) error {
		switch c.Op {
		case CondRef:
			for _, n := range names {
				if n == c.Name {
					out = append(out, n)
					return nil
				}
			}
			return &ConditionError{Pos: c.Pos, Msg: fmt.Sprintf("search identifier %q is not defined in the detection", c.Name)}
		case CondOneOf, CondAllOf:
			m := c.Expand(names)
			if len(m) == 0 {
				return &ConditionError{Pos: c.Pos, Msg: fmt.Sprintf("no search identifier matches %q", c.Name)}
			}
			out = append(out, m...)
			return nil
		}
		for _, k := range c.Kids {
			if err := walk(k); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(c)
	return out, err
}

// Expand returns the names an "x of" target matches, in the order given.
func (c *Cond) Expand(names []string) []string {
	var out []string
	for _, n := range names {
		if c.Name == "them" {
			if !strings.HasPrefix(n, "_") {
				out = append(out, n)
			}
			continue
		}
		if matchIdentPattern(c.Name, n) {
			out = append(out, n)
		}
	}
	return out
}

// matchIdentPattern matches a search identifier pattern in which only '*'
// is special.
func matchIdentPattern(pattern, name string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == name
	}
	return globStar(pattern, name)
}

func globStar(p, s string) bool {
	star, sIdx := -1, 0
	pi, si := 0, 0
	for si < len(s) {
		if pi < len(p) && p[pi] == '*' {
			star, sIdx = pi, si
			pi++
		} else if pi < len(p) && p[pi] == s[si] {
			pi++
			si++
		} else if star >= 0 {
			pi = star + 1
			sIdx++
			si = sIdx
		} else {
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// String renders the condition in Sigma syntax (fully parenthesised).
func (c *Cond) String() string {
	switch c.Op {
	case CondRef:
		return c.Name
	case CondOneOf:
		return "1 of " + c.Name
	case CondAllOf:
		return "all of " + c.Name
	case CondNot:
		return "not " + c.Kids[0].String()
	case CondAnd, CondOr:
		sep := " and "
		if c.Op == CondOr {
			sep = " or "
		}
		parts := make([]string, len(c.Kids))
		for i, k := range c.Kids {
			parts[i] = k.String()
		}
		return "(" + strings.Join(parts, sep) + ")"
	}
	return "?"
}
