package sigma

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// PartKind is the kind of one piece of a Sigma string value.
type PartKind uint8

// Pattern part kinds.
const (
	PartLit         PartKind = iota + 1 // literal bytes
	PartStar                            // '*': any run of characters
	PartOne                             // '?': exactly one character
	PartPlaceholder                     // %name% (only with the expand modifier)
)

// Part is one piece of a Pattern.
type Part struct {
	Kind PartKind
	Text string // literal bytes, or the placeholder name
}

// Pattern is a Sigma string value: literal text with wildcards.
type Pattern []Part

// ParsePattern parses a Sigma string value. A backslash escapes '*', '?'
// and a backslash; any other backslash is literal (so `C:\Windows` and
// `C:\\Windows` are the same). With placeholders, %name% is a placeholder
// and `\%` a literal percent sign.
func ParsePattern(s string, placeholders bool) Pattern {
	var p Pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, Part{Kind: PartLit, Text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\' || (placeholders && s[i+1] == '%')) {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*':
			flush()
			if len(p) == 0 || p[len(p)-1].Kind != PartStar {
				p = append(p, Part{Kind: PartStar})
			}
		case '?':
			flush()
			p = append(p, Part{Kind: PartOne})
		case '%':
			if placeholders {
				if end := strings.IndexByte(s[i+1:], '%'); end > 0 {
					name := s[i+1 : i+1+end]
					if !strings.ContainsAny(name, " \t*?\\") {
						flush()
						p = append(p, Part{Kind: PartPlaceholder, Text: name})
						i += end + 1
						continue
					}
				}
			}
			lit.WriteByte(c)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return p
}

// LiteralPattern is a pattern matching exactly s.
func LiteralPattern(s string) Pattern {
	if s == "" {
		return Pattern{}
	}
	return Pattern{{Kind: PartLit, Text: s}}
}

// HasWildcards reports whether the pattern has '*' or '?'.
func (p Pattern) HasWildcards() bool {
	for _, x := range p {
		if x.Kind == PartStar || x.Kind == PartOne {
			return true
		}
	}
	return false
}

// HasPlaceholders reports whether the pattern has placeholders.
func (p Pattern) HasPlaceholders() bool {
	for _, x := range p {
		if x.Kind == PartPlaceholder {
			return true
		}
	}
	return false
}

// Literal returns the pattern's text when it has no wildcards.
func (p Pattern) Literal() (string, bool) {
	var b strings.Builder
	for _, x := range p {
		if x.Kind != PartLit {
			return "", false
		}
		b.WriteString(x.Text)
	}
	return b.String(), true
}

func (p Pattern) clone() Pattern { return append(Pattern(nil), p...) }

// withStars returns the pattern with '*' added at the start and/or end
// unless already there.
func (p Pattern) withStars(start, end bool) Pattern {
	q := p.clone()
	if start && (len(q) == 0 || q[0].Kind != PartStar) {
		q = append(Pattern{{Kind: PartStar}}, q...)
	}
	if end && (len(q) == 0 || q[len(q)-1].Kind != PartStar) {
		q = append(q, Part{Kind: PartStar})
	}
	return q
}

// mapLiterals applies f to every literal part.
func (p Pattern) mapLiterals(f func(string) string) Pattern {
	q := p.clone()
	for i := range q {
		if q[i].Kind == PartLit {
			q[i].Text = f(q[i].Text)
		}
	}
	return q
}

// String renders the pattern in Sigma syntax.
func (p Pattern) String() string {
	var b strings.Builder
	for _, x := range p {
		switch x.Kind {
		case PartLit:
			for i := 0; i < len(x.Text); i++ {
				c := x.Text[i]
				if c == '*' || c == '?' {
					b.WriteByte('\\')
				} else if c == '\\' && (i+1 == len(x.Text) || x.Text[i+1] == '\\') {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
		case PartStar:
			b.WriteByte('*')
		case PartOne:
			b.WriteByte('?')
		case PartPlaceholder:
			b.WriteString("%" + x.Text + "%")
		}
	}
	return b.String()
}

// Windash characters: hyphen, slash, en dash, em dash, horizontal bar.
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// maxExpansion bounds how many alternatives one value may expand to.
const maxExpansion = 4096

// windash returns every variant of p in which each dash or slash that
// starts a command-line flag (not preceded by a word character, followed
// by one, within one literal part: pySigma's \B[-/]\b on each run of text
// between wildcards) is replaced by each of the windash characters.
func windash(p Pattern) ([]Pattern, bool) {
	type pos struct{ part, off int }
	var sites []pos
	for pi, x := range p {
		if x.Kind != PartLit {
			continue
		}
		s := x.Text
		prevWord := false
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if (r == '-' || r == '/') && !prevWord {
				nr, _ := utf8.DecodeRuneInString(s[i+n:])
				if i+n < len(s) && isWordRune(nr) {
					sites = append(sites, pos{pi, i})
				}
			}
			prevWord = isWordRune(r)
			i += n
		}
	}
	if len(sites) == 0 {
		return []Pattern{p}, true
	}
	total := 1
	for range sites {
		total *= len(windashChars)
		if total > maxExpansion {
			return nil, false
		}
	}
	out := make([]Pattern, 0, total)
	choice := make([]int, len(sites))
	for {
		q := p.clone()
		// Rebuild affected literals, replacing from the end so offsets stay valid.
		for si := len(sites) - 1; si >= 0; si-- {
			st := sites[si]
			t := q[st.part].Text
			q[st.part].Text = t[:st.off] + windashChars[choice[si]] + t[st.off+1:]
		}
		out = append(out, q)
		k := 0
		for k < len(choice) {
			choice[k]++
			if choice[k] < len(windashChars) {
				break
			}
			choice[k] = 0
			k++
		}
		if k == len(choice) {
			break
		}
	}
	return out, true
}

// isWordRune reports whether r is a word character as Python's regular
// expressions (and so pySigma) define \w: a letter, any number (², Ⅻ as
// well as digits), or '_'.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}
