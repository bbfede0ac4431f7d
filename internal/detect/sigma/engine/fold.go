package engine

import (
	"bytes"
	"encoding/binary"
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
	// ASCII eight bytes at a time, up to the first non-ASCII byte.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&hiBits != 0 {
			break
		}
		dst = binary.LittleEndian.AppendUint64(dst, lowerWord(w))
	}
	for i < len(s) {
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

const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// lowerWord lowers the ASCII capital letters among the eight bytes of w,
// which are all ASCII: a byte is a capital when adding 0x80-'A' carries
// into its top bit and adding 0x7f-'Z' does not (no byte overflows into
// the next, since each is below 0x80); 0x80>>2 is the 0x20 that lowers it.
func lowerWord(w uint64) uint64 {
	geA := w + (0x80-'A')*loBits
	gtZ := w + (0x7f-'Z')*loBits
	return w | (geA&^gtZ&hiBits)>>2
}

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
