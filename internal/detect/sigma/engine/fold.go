package engine

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

var lowerASCII = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return
}()

// appendFold appends s folded for case-insensitive matching: ASCII letters
// lowered by table, other runes by unicode.ToLower. Folding is rune by rune,
// so the fold of a substring is a substring of the fold: the prefilter and
// the matchers can both work on folded bytes. Invalid UTF-8 bytes are kept.
func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, lowerASCII[c])
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += n
	}
	return dst
}

func fold(s string) string { return string(appendFold(nil, s)) }

// globPart is one piece of a glob over folded (or, when cased, original)
// bytes.
type globPart struct {
	kind uint8 // 1 literal, 2 star, 3 one rune
	lit  []byte
}

// globMatch matches text against parts: '*' any run, '?' one rune.
func globMatch(parts []globPart, text []byte) bool {
	return globFrom(parts, text, 0)
}

func globFrom(parts []globPart, text []byte, depth int) bool {
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		switch p.kind {
		case 1:
			if len(text) < len(p.lit) || string(text[:len(p.lit)]) != string(p.lit) {
				return false
			}
			text = text[len(p.lit):]
		case 3:
			if len(text) == 0 {
				return false
			}
			_, n := utf8.DecodeRune(text)
			text = text[n:]
		case 2:
			rest := parts[i+1:]
			if len(rest) == 0 {
				return true
			}
			if depth > 32 {
				// Pathological patterns: fall back to trying every offset
				// without further recursion limits being useful.
				depth = 32
			}
			// Try every position where the next literal could start.
			for off := 0; off <= len(text); {
				if globFrom(rest, text[off:], depth+1) {
					return true
				}
				if off == len(text) {
					break
				}
				if rest[0].kind == 1 {
					// jump to the next occurrence of the literal
					idx := indexBytes(text[off+1:], rest[0].lit)
					if idx < 0 {
						return false
					}
					off += 1 + idx
					continue
				}
				_, n := utf8.DecodeRune(text[off:])
				off += n
			}
			return false
		}
	}
	return len(text) == 0
}

func indexBytes(s, sep []byte) int { return bytes.Index(s, sep) }
