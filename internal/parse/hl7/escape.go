package hl7

import (
	"strings"
)

// Unescape resolves HL7 escape sequences in s:
//
//	\F\ field separator     \S\ component separator
//	\T\ subcomponent sep.   \R\ repetition separator
//	\E\ escape character    \P\ truncation character (v2.7+)
//	\Xhh..\ hex bytes       \.br\ line break
//
// Highlighting (\H\, \N\), character set (\Cxxyy\, \Mxxyyzz\) and other
// formatting commands (\.sp\, \.in\ ...) are dropped; locally defined
// \Z..\ sequences and unknown or unterminated ones are kept verbatim.
func (d *Delimiters) Unescape(s string) string {
	e := d.Escape
	if e == 0 || strings.IndexByte(s, e) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != e {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], e)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+j]
		i += j + 2
		switch {
		case seq == "F":
			b.WriteByte(d.Field)
		case seq == "S":
			b.WriteByte(d.Component)
		case seq == "T":
			b.WriteByte(d.Subcomponent)
		case seq == "R":
			b.WriteByte(d.Repetition)
		case seq == "E":
			b.WriteByte(e)
		case seq == "P" && d.Truncation != 0:
			b.WriteByte(d.Truncation)
		case seq == ".br":
			b.WriteByte('\n')
		case seq == "H" || seq == "N" || strings.HasPrefix(seq, ".") ||
			len(seq) > 1 && (seq[0] == 'C' || seq[0] == 'M') && isHex(seq[1:]):
			// formatting and character-set switches: no text
		case len(seq) > 1 && seq[0] == 'X' && len(seq)%2 == 1 && isHex(seq[1:]):
			for k := 1; k+1 < len(seq); k += 2 {
				b.WriteByte(unhex(seq[k])<<4 | unhex(seq[k+1]))
			}
		default:
			b.WriteByte(e)
			b.WriteString(seq)
			b.WriteByte(e)
		}
	}
	return b.String()
}

// EscapeText is the inverse of Unescape for text: it escapes the delimiters
// and turns line breaks into \.br\ so that s can be placed in a field.
func (d *Delimiters) EscapeText(s string) string {
	esc := d.Escape
	if esc == 0 {
		esc = '\\'
	}
	needs := func(c byte) bool {
		return c == d.Field || c == d.Component || c == d.Repetition || c == esc ||
			(d.Subcomponent != 0 && c == d.Subcomponent) || (d.Truncation != 0 && c == d.Truncation) ||
			c == '\r' || c == '\n'
	}
	i := 0
	for i < len(s) && !needs(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		var code string
		switch {
		case c == d.Field:
			code = "F"
		case c == d.Component:
			code = "S"
		case c == d.Repetition:
			code = "R"
		case c == esc:
			code = "E"
		case d.Subcomponent != 0 && c == d.Subcomponent:
			code = "T"
		case d.Truncation != 0 && c == d.Truncation:
			code = "P"
		case c == '\n':
			code = ".br"
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			code = ".br"
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteByte(esc)
		b.WriteString(code)
		b.WriteByte(esc)
	}
	return b.String()
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if unhex(s[i]) == 0xff {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0xff
}
