package windows

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// xmlScanner is a small XML tokenizer for rendered event records: elements,
// attributes, text, the five predefined entities and character references,
// CDATA, comments and processing instructions. Document type declarations
// are refused (no entity expansion). Names keep only their local part.
// Strings returned point into one copy of the input when they need no
// decoding.
type xmlScanner struct {
	s     string
	pos   int
	buf   []byte
	attrs []xmlAttr
}

type xmlAttr struct{ name, value string }

type xmlTok uint8

const (
	tokEOF xmlTok = iota
	tokStart
	tokEnd
	tokText
)

type xmlError struct {
	off int
	msg string
}

func (s *xmlScanner) errf(off int, format string, args ...any) *xmlError {
	return &xmlError{off: off, msg: fmt.Sprintf(format, args...)}
}

// next returns the next token: for tokStart the name (attributes in
// s.attrs) and whether the element closed itself; for tokEnd the name; for
// tokText the decoded text.
func (s *xmlScanner) next() (tok xmlTok, name string, selfClose bool, err *xmlError) {
	for {
		if s.pos >= len(s.s) {
			return tokEOF, "", false, nil
		}
		if s.s[s.pos] != '<' {
			text, err := s.text()
			return tokText, text, false, err
		}
		rest := s.s[s.pos:]
		switch {
		case strings.HasPrefix(rest, "<?"):
			i := strings.Index(rest, "?>")
			if i < 0 {
				return 0, "", false, s.errf(len(s.s), "unterminated processing instruction")
			}
			s.pos += i + 2
		case strings.HasPrefix(rest, "<!--"):
			i := strings.Index(rest[4:], "-->")
			if i < 0 {
				return 0, "", false, s.errf(len(s.s), "unterminated comment")
			}
			s.pos += 4 + i + 3
		case strings.HasPrefix(rest, "<![CDATA["):
			i := strings.Index(rest[9:], "]]>")
			if i < 0 {
				return 0, "", false, s.errf(len(s.s), "unterminated CDATA section")
			}
			text := rest[9 : 9+i]
			s.pos += 9 + i + 3
			return tokText, text, false, nil
		case strings.HasPrefix(rest, "<!"):
			return 0, "", false, s.errf(s.pos, "document type declarations are not accepted")
		case strings.HasPrefix(rest, "</"):
			start := s.pos
			s.pos += 2
			n := s.name()
			if n == "" {
				return 0, "", false, s.errf(s.pos, "end tag without a name")
			}
			s.space()
			if s.pos >= len(s.s) || s.s[s.pos] != '>' {
				return 0, "", false, s.errf(s.pos, "end tag </%s> not closed by '>'", clipName(n))
			}
			s.pos++
			_ = start
			return tokEnd, local(n), false, nil
		default:
			s.pos++
			n := s.name()
			if n == "" {
				return 0, "", false, s.errf(s.pos, "'<' not followed by a name")
			}
			s.attrs = s.attrs[:0]
			for {
				hadSpace := s.space()
				if s.pos >= len(s.s) {
					return 0, "", false, s.errf(s.pos, "unterminated start tag <%s>", clipName(n))
				}
				switch s.s[s.pos] {
				case '>':
					s.pos++
					return tokStart, local(n), false, nil
				case '/':
					if s.pos+1 < len(s.s) && s.s[s.pos+1] == '>' {
						s.pos += 2
						return tokStart, local(n), true, nil
					}
					return 0, "", false, s.errf(s.pos, "'/' in start tag <%s>", clipName(n))
				}
				if !hadSpace {
					return 0, "", false, s.errf(s.pos, "want space before attribute in <%s>", clipName(n))
				}
				an := s.name()
				if an == "" {
					return 0, "", false, s.errf(s.pos, "bad attribute name in <%s>", clipName(n))
				}
				s.space()
				if s.pos >= len(s.s) || s.s[s.pos] != '=' {
					return 0, "", false, s.errf(s.pos, "attribute %s of <%s> without '='", clipName(an), clipName(n))
				}
				s.pos++
				s.space()
				if s.pos >= len(s.s) || (s.s[s.pos] != '"' && s.s[s.pos] != '\'') {
					return 0, "", false, s.errf(s.pos, "attribute %s of <%s>: value not quoted", clipName(an), clipName(n))
				}
				q := s.s[s.pos]
				end := strings.IndexByte(s.s[s.pos+1:], q)
				if end < 0 {
					return 0, "", false, s.errf(s.pos, "attribute %s of <%s>: unterminated value", clipName(an), clipName(n))
				}
				raw := s.s[s.pos+1 : s.pos+1+end]
				if strings.IndexByte(raw, '<') >= 0 {
					return 0, "", false, s.errf(s.pos, "attribute %s of <%s>: '<' in value", clipName(an), clipName(n))
				}
				v, err := s.decode(raw, s.pos+1)
				if err != nil {
					return 0, "", false, err
				}
				s.pos += 1 + end + 1
				s.attrs = append(s.attrs, xmlAttr{local(an), v})
			}
		}
	}
}

// text reads character data up to the next '<'.
func (s *xmlScanner) text() (string, *xmlError) {
	start := s.pos
	i := strings.IndexByte(s.s[start:], '<')
	end := len(s.s)
	if i >= 0 {
		end = start + i
	}
	s.pos = end
	return s.decode(s.s[start:end], start)
}

// decode replaces entity and character references.
func (s *xmlScanner) decode(raw string, off int) (string, *xmlError) {
	amp := strings.IndexByte(raw, '&')
	if amp < 0 {
		return raw, nil
	}
	b := append(s.buf[:0], raw[:amp]...)
	for i := amp; i < len(raw); {
		c := raw[i]
		if c != '&' {
			b = append(b, c)
			i++
			continue
		}
		semi := strings.IndexByte(raw[i:], ';')
		if semi < 0 || semi > 12 {
			return "", s.errf(off+i, "'&' without a reference")
		}
		ref := raw[i+1 : i+semi]
		switch ref {
		case "lt":
			b = append(b, '<')
		case "gt":
			b = append(b, '>')
		case "amp":
			b = append(b, '&')
		case "quot":
			b = append(b, '"')
		case "apos":
			b = append(b, '\'')
		default:
			if len(ref) < 2 || ref[0] != '#' {
				return "", s.errf(off+i, "unknown entity &%s;", clipName(ref))
			}
			var n uint64
			var err error
			if ref[1] == 'x' {
				n, err = strconv.ParseUint(ref[2:], 16, 32)
			} else {
				n, err = strconv.ParseUint(ref[1:], 10, 32)
			}
			if err != nil || n == 0 || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
				return "", s.errf(off+i, "bad character reference &%s;", clipName(ref))
			}
			b = utf8.AppendRune(b, rune(n))
		}
		i += semi + 1
	}
	s.buf = b
	return string(b), nil
}

func (s *xmlScanner) space() bool {
	start := s.pos
	for s.pos < len(s.s) {
		switch s.s[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return s.pos > start
		}
	}
	return s.pos > start
}

func (s *xmlScanner) name() string {
	start := s.pos
	for s.pos < len(s.s) {
		switch s.s[s.pos] {
		case ' ', '\t', '\r', '\n', '/', '>', '=', '<', '"', '\'', '&':
			return s.s[start:s.pos]
		}
		s.pos++
	}
	return s.s[start:s.pos]
}

func local(n string) string {
	if i := strings.LastIndexByte(n, ':'); i >= 0 {
		return n[i+1:]
	}
	return n
}

func clipName(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
