// Package jsonflat turns one JSON object into the flat dotted fields of an
// event.Event: nested objects are joined with ".", arrays are kept as their
// compact JSON text, strings are unquoted, numbers keep their literal text,
// booleans become "true"/"false" and null values are omitted.
//
// It is a small hand-written parser: it validates the whole input as JSON
// (RFC 8259), reports errors with their byte offset, never panics, and
// allocates only the field names and the unescaped strings it returns.
package jsonflat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
)

// Options bound the work done for one object.
type Options struct {
	// MaxDepth is the deepest nesting of objects and arrays accepted
	// (default 64).
	MaxDepth int
	// MaxFields is the most fields one object may produce (default 4096).
	MaxFields int
	// MaxNameBytes bounds the total length of the field names one object
	// produces (default 1 MiB): every name repeats its parents' keys, so a
	// deep or long key could otherwise multiply a small input.
	MaxNameBytes int
}

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 64
	}
	if o.MaxFields <= 0 {
		o.MaxFields = 4096
	}
	if o.MaxNameBytes <= 0 {
		o.MaxNameBytes = 1 << 20
	}
	return o
}

// SyntaxError is a JSON error at a byte offset of the input.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

type parser struct {
	data      []byte
	pos       int
	opt       Options
	e         *event.Event
	fields    int
	nameBytes int
	name      []byte // current dotted prefix
	buf       []byte
}

// AppendObject appends the fields of the JSON object in data to e.
// data must hold exactly one JSON object, optionally surrounded by
// whitespace. On error, e may hold some of the object's fields; callers that
// keep the raw text instead should reset it.
func AppendObject(e *event.Event, data []byte, opt Options) error {
	p := parser{data: data, opt: opt.withDefaults(), e: e}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return p.errf("empty input, want a JSON object")
	}
	if p.data[p.pos] != '{' {
		return p.errf("want a JSON object, found %s", p.describe())
	}
	if err := p.object(1); err != nil {
		return err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return p.errf("unexpected %s after the object", p.describe())
	}
	return nil
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) describe() string {
	if p.pos >= len(p.data) {
		return "end of input"
	}
	c := p.data[p.pos]
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// object parses an object at p.pos (which is '{') whose keys are prefixed by p.name.
func (p *parser) object(depth int) error {
	if depth > p.opt.MaxDepth {
		return p.errf("nesting deeper than %d", p.opt.MaxDepth)
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	prefixLen := len(p.name)
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return p.errf("want a quoted key, found %s", p.describe())
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.name = p.name[:prefixLen]
		if prefixLen > 0 {
			p.name = append(p.name, '.')
		}
		p.name = append(p.name, key...)
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.errf("want ':' after key %q, found %s", key, p.describe())
		}
		p.pos++
		p.skipSpace()
		if err := p.value(depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errf("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.name = p.name[:prefixLen]
			return nil
		default:
			return p.errf("want ',' or '}' in object, found %s", p.describe())
		}
	}
}

func (p *parser) emit(value string) error {
	if p.fields >= p.opt.MaxFields {
		return p.errf("more than %d fields", p.opt.MaxFields)
	}
	p.nameBytes += len(p.name)
	if p.nameBytes > p.opt.MaxNameBytes {
		return p.errf("field names longer than %d bytes in all", p.opt.MaxNameBytes)
	}
	p.fields++
	p.e.Fields = append(p.e.Fields, event.Field{Name: string(p.name), Value: value})
	return nil
}

func (p *parser) value(depth int) error {
	if p.pos >= len(p.data) {
		return p.errf("want a value, found end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		start := p.pos
		if err := p.skipArray(depth + 1); err != nil {
			return err
		}
		raw := p.data[start:p.pos]
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return &SyntaxError{Offset: start, Msg: err.Error()}
		}
		return p.emit(b.String())
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		return p.emit(string(s))
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		if err := p.number(); err != nil {
			return err
		}
		return p.emit(string(p.data[start:p.pos]))
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", true)
	case c == 'n':
		return p.literal("null", false)
	default:
		return p.errf("want a value, found %s", p.describe())
	}
}

func (p *parser) literal(lit string, keep bool) error {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(lit)) {
		return p.errf("invalid literal, want %q", lit)
	}
	p.pos += len(lit)
	if keep {
		return p.emit(lit)
	}
	return nil
}

// skipArray validates an array (and everything nested in it) and moves past it.
func (p *parser) skipArray(depth int) error {
	if depth > p.opt.MaxDepth {
		return p.errf("nesting deeper than %d", p.opt.MaxDepth)
	}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if err := p.skipValue(depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errf("unterminated array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return p.errf("want ',' or ']' in array, found %s", p.describe())
		}
	}
}

func (p *parser) skipValue(depth int) error {
	if p.pos >= len(p.data) {
		return p.errf("want a value, found end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.skipObject(depth + 1)
	case c == '[':
		return p.skipArray(depth + 1)
	case c == '"':
		_, err := p.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", false)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", false)
	default:
		return p.errf("want a value, found %s", p.describe())
	}
}

func (p *parser) skipObject(depth int) error {
	if depth > p.opt.MaxDepth {
		return p.errf("nesting deeper than %d", p.opt.MaxDepth)
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return p.errf("want a quoted key, found %s", p.describe())
		}
		if _, err := p.str(); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.errf("want ':' after key, found %s", p.describe())
		}
		p.pos++
		p.skipSpace()
		if err := p.skipValue(depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errf("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.errf("want ',' or '}' in object, found %s", p.describe())
		}
	}
}

func (p *parser) number() error {
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return p.errf("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return p.errf("invalid number: want digits after '.'")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return p.errf("invalid number: want exponent digits")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	p.pos = i
	return nil
}

// str parses a string at p.pos (which is '"'). The result aliases the input
// when it holds no escapes, else p.buf; either way it is valid only until
// the next call.
func (p *parser) str() ([]byte, error) {
	start := p.pos + 1
	i := start
	d := p.data
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return d[start:i], nil
		case c == '\\':
			return p.strSlow(start, i)
		case c < 0x20:
			p.pos = i
			return nil, p.errf("control character 0x%02x in string", c)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return p.strSlow(start, i)
			}
			i += size
		}
	}
	p.pos = i
	return nil, p.errf("unterminated string")
}

// strSlow unescapes a string and replaces invalid UTF-8 with U+FFFD.
func (p *parser) strSlow(start, i int) ([]byte, error) {
	d := p.data
	b := append(p.buf[:0], d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = b
			return b, nil
		case c < 0x20:
			p.pos = i
			return nil, p.errf("control character 0x%02x in string", c)
		case c == '\\':
			if i+1 >= len(d) {
				p.pos = i
				return nil, p.errf("unterminated escape")
			}
			switch e := d[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b = append(b, '\b')
				i += 2
			case 'f':
				b = append(b, '\f')
				i += 2
			case 'n':
				b = append(b, '\n')
				i += 2
			case 'r':
				b = append(b, '\r')
				i += 2
			case 't':
				b = append(b, '\t')
				i += 2
			case 'u':
				r, ok := hex4(d, i+2)
				if !ok {
					p.pos = i
					return nil, p.errf("invalid \\u escape")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2, ok := hex4(d, i+2); ok && i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				p.pos = i
				return nil, p.errf("invalid escape '\\%c'", e)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, d[i:i+size]...)
			}
			i += size
		}
	}
	p.pos = i
	p.buf = b
	return nil, p.errf("unterminated string")
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
