// Package kv parses generic key=value logs, as firewalls and appliances
// send them over syslog (Fortinet FortiGate, Palo Alto custom formats,
// Cisco, Sophos, Barracuda, …):
//
//	date=2024-05-10 time=10:01:02 devname="FG100" srcip=10.0.0.1 action=deny msg="Denied by \"policy 7\""
//
// Values may be bare, double-quoted or single-quoted; inside quotes a
// backslash escapes the quote, the backslash itself and n, r, t. Pair and
// key-value separators are configurable. Every input, key, value and the
// number of pairs are bounded, and errors name the byte offset and key.
//
// Duplicate keys follow Options.Duplicates: by default every value is kept,
// the field then holding a JSON array text (["a","b"]), the same convention
// jsonflat uses for arrays, so that nothing a device sent is dropped.
//
// Fields are named Options.Prefix + key ("kv.srcip" by default); the prefix
// keeps device-controlled keys away from Vigil's own fields such as
// "event.module" or "vigil.parse_error".
package kv

import (
	"fmt"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// DuplicatePolicy says what happens when a key occurs more than once.
type DuplicatePolicy int

const (
	// DuplicateArray keeps every value: the field becomes a JSON array text
	// of the values in order (the default).
	DuplicateArray DuplicatePolicy = iota
	// DuplicateFirst keeps the first value and ignores later ones.
	DuplicateFirst
	// DuplicateLast keeps the last value.
	DuplicateLast
	// DuplicateError fails the parse, naming the key and its offset.
	DuplicateError
)

// Options configure a parse. The zero value is ready to use.
type Options struct {
	// Prefix is put before every key to form the field name. Empty means
	// "kv."; set NoPrefix to use keys as they are.
	Prefix   string
	NoPrefix bool
	// PairSeparators are the bytes that separate pairs; a run of them counts
	// as one separator. Empty means space and tab (" \t").
	PairSeparators string
	// KeyValueSeparator separates a key from its value; 0 means '='.
	KeyValueSeparator byte
	// Quotes are the bytes that may open a quoted value (closed by the same
	// byte). Empty means both `"` and `'`; set NoQuotes to disable quoting.
	Quotes   string
	NoQuotes bool
	// ValuesWithSeparators lets an unquoted value run on, separators
	// included, until the next "<separator>key=" (the way CEF extensions
	// work): `msg=User login failed user=bob` gives msg="User login failed".
	ValuesWithSeparators bool
	// Duplicates is the policy for repeated keys (default DuplicateArray).
	Duplicates DuplicatePolicy
	// Strict makes text that is not a key=value pair an error. Otherwise such
	// words are kept, space-joined, in the field Prefix+"unparsed".
	Strict bool
	// MaxInput is the longest input accepted (default 64 KiB).
	MaxInput int
	// MaxPairs is the most pairs accepted (default 512).
	MaxPairs int
	// MaxKeyLen is the longest key accepted (default 128 bytes).
	MaxKeyLen int
}

// Defaults for Options.
const (
	DefaultMaxInput  = 64 << 10
	DefaultMaxPairs  = 512
	DefaultMaxKeyLen = 128
)

func (o Options) withDefaults() Options {
	if o.NoPrefix {
		o.Prefix = ""
	} else if o.Prefix == "" {
		o.Prefix = "kv."
	}
	if o.PairSeparators == "" {
		o.PairSeparators = " \t"
	}
	if o.KeyValueSeparator == 0 {
		o.KeyValueSeparator = '='
	}
	if o.NoQuotes {
		o.Quotes = ""
	} else if o.Quotes == "" {
		o.Quotes = `"'`
	}
	if o.MaxInput <= 0 {
		o.MaxInput = DefaultMaxInput
	}
	if o.MaxPairs <= 0 {
		o.MaxPairs = DefaultMaxPairs
	}
	if o.MaxKeyLen <= 0 {
		o.MaxKeyLen = DefaultMaxKeyLen
	}
	return o
}

// Error is a parse error at a byte offset of the input, about a key when
// Key is not empty.
type Error struct {
	Offset int
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("kv: key %q at byte %d: %s", e.Key, e.Offset, e.Msg)
	}
	return fmt.Sprintf("kv: at byte %d: %s", e.Offset, e.Msg)
}

// Pair is one key and its decoded value.
type Pair struct {
	Key   string
	Value string
	// Offset is the byte offset of the key in the input.
	Offset int
}

// Parser holds reusable scratch space. It is not safe for concurrent use;
// use one per goroutine (or a sync.Pool).
type Parser struct {
	opt   Options
	s     string // the input being split, copied once
	names map[string]string
	sep   [256]bool
	quote [256]bool
	buf   []byte
	pairs []Pair
	isArr []bool
}

// NewParser returns a parser with the given options.
func NewParser(opt Options) *Parser {
	p := &Parser{opt: opt.withDefaults()}
	for i := 0; i < len(p.opt.PairSeparators); i++ {
		p.sep[p.opt.PairSeparators[i]] = true
	}
	for i := 0; i < len(p.opt.Quotes); i++ {
		p.quote[p.opt.Quotes[i]] = true
	}
	return p
}

// Parse is a convenience for NewParser(opt).Append(e, data).
func Parse(e *event.Event, data []byte, opt Options) error {
	return NewParser(opt).Append(e, data)
}

// Append parses data and appends one field per distinct key to e. On error
// e is left unchanged.
func (p *Parser) Append(e *event.Event, data []byte) error {
	pairs, unparsed, err := p.split(data)
	if err != nil {
		return err
	}
	base := len(e.Fields)
	p.isArr = p.isArr[:0]
	for _, kv := range pairs {
		name := p.fieldName(kv.Key)
		idx := -1
		for i := base; i < len(e.Fields); i++ {
			if e.Fields[i].Name == name {
				idx = i
				break
			}
		}
		if idx < 0 {
			e.Fields = append(e.Fields, event.Field{Name: name, Value: kv.Value})
			p.isArr = append(p.isArr, false)
			continue
		}
		switch p.opt.Duplicates {
		case DuplicateFirst:
		case DuplicateLast:
			e.Fields[idx].Value = kv.Value
		case DuplicateError:
			clear(e.Fields[base:])
			e.Fields = e.Fields[:base]
			return &Error{Offset: kv.Offset, Key: kv.Key, Msg: "duplicate key"}
		default:
			b := p.buf[:0]
			if p.isArr[idx-base] {
				old := e.Fields[idx].Value
				b = append(b, old[:len(old)-1]...)
			} else {
				b = append(b, '[')
				b = event.AppendJSONString(b, e.Fields[idx].Value)
			}
			b = append(b, ',')
			b = event.AppendJSONString(b, kv.Value)
			b = append(b, ']')
			e.Fields[idx].Value = string(b)
			p.isArr[idx-base] = true
			p.buf = b
		}
	}
	if unparsed != "" {
		e.Fields = append(e.Fields, event.Field{Name: p.opt.Prefix + "unparsed", Value: unparsed})
	}
	return nil
}

// fieldName returns Prefix+key, cached so that known keys do not allocate.
func (p *Parser) fieldName(key string) string {
	if p.opt.Prefix == "" {
		return key
	}
	if v, ok := p.names[key]; ok {
		return v
	}
	if p.names == nil || len(p.names) >= 1024 {
		p.names = make(map[string]string, 64)
	}
	v := p.opt.Prefix + key
	p.names[key] = v
	return v
}

// Pairs parses data and returns its pairs in input order, duplicates
// included, plus the words that were not pairs (space-joined). The returned
// slice is reused by the next call.
func (p *Parser) Pairs(data []byte) ([]Pair, string, error) {
	return p.split(data)
}

func (p *Parser) split(data []byte) ([]Pair, string, error) {
	o := &p.opt
	if len(data) > o.MaxInput {
		return nil, "", &Error{Offset: o.MaxInput, Msg: fmt.Sprintf("input of %d bytes exceeds the limit of %d", len(data), o.MaxInput)}
	}
	p.pairs = p.pairs[:0]
	// One copy of the input: keys and plain values are substrings of it.
	p.s = string(data)
	var unparsed []byte
	i := 0
	for {
		for i < len(data) && p.sep[data[i]] {
			i++
		}
		if i >= len(data) {
			break
		}
		start := i
		var key string
		if p.quote[data[i]] {
			// A quoted token: a quoted key when followed by the separator,
			// otherwise a bare quoted word.
			s, end, err := p.quoted(data, i, "")
			if err != nil {
				return nil, "", err
			}
			if end < len(data) && data[end] == o.KeyValueSeparator {
				key = s
				i = end + 1
			} else {
				if o.Strict {
					return nil, "", &Error{Offset: start, Msg: "quoted text is not a key=value pair"}
				}
				unparsed = appendWord(unparsed, s)
				i = end
				continue
			}
		} else {
			j := i
			for j < len(data) && data[j] != o.KeyValueSeparator && !p.sep[data[j]] {
				j++
			}
			if j >= len(data) || data[j] != o.KeyValueSeparator || j == i {
				// A word without separator, or "=value" with an empty key.
				for j < len(data) && !p.sep[data[j]] {
					j++
				}
				if o.Strict {
					return nil, "", &Error{Offset: start, Msg: fmt.Sprintf("%q is not a key=value pair", clip(data[start:j]))}
				}
				unparsed = appendWord(unparsed, string(data[start:j]))
				i = j
				continue
			}
			key = p.s[i:j]
			i = j + 1
		}
		if len(key) > o.MaxKeyLen {
			return nil, "", &Error{Offset: start, Key: clip([]byte(key)), Msg: fmt.Sprintf("key longer than %d bytes", o.MaxKeyLen)}
		}
		if len(p.pairs) >= o.MaxPairs {
			return nil, "", &Error{Offset: start, Key: key, Msg: fmt.Sprintf("more than %d pairs", o.MaxPairs)}
		}
		var value string
		if i < len(data) && p.quote[data[i]] {
			s, end, err := p.quoted(data, i, key)
			if err != nil {
				return nil, "", err
			}
			value = s
			i = end
			if i < len(data) && !p.sep[data[i]] {
				if o.Strict {
					return nil, "", &Error{Offset: i, Key: key, Msg: "text after the closing quote"}
				}
				// Keep what follows the quote as part of the value.
				j := i
				for j < len(data) && !p.sep[data[j]] {
					j++
				}
				value += p.s[i:j]
				i = j
			}
		} else {
			j := i
			if o.ValuesWithSeparators {
				j = p.runToNextKey(data, i)
			} else {
				for j < len(data) && !p.sep[data[j]] {
					j++
				}
			}
			value = p.s[i:j]
			i = j
		}
		p.pairs = append(p.pairs, Pair{Key: key, Value: value, Offset: start})
	}
	return p.pairs, string(unparsed), nil
}

// runToNextKey returns the end of an unquoted value starting at i that may
// contain separators: the value ends before the last separator run that is
// followed by a key and the key-value separator, or at the end of input
// (trailing separators trimmed).
func (p *Parser) runToNextKey(data []byte, i int) int {
	kvs := p.opt.KeyValueSeparator
	j := i
	for j < len(data) {
		if !p.sep[data[j]] {
			j++
			continue
		}
		// data[j] starts a separator run; look at the token after it.
		k := j
		for k < len(data) && p.sep[data[k]] {
			k++
		}
		if k >= len(data) {
			return j
		}
		t := k
		for t < len(data) && !p.sep[data[t]] && data[t] != kvs {
			t++
		}
		if t < len(data) && data[t] == kvs && t > k && isKeyToken(data[k:t]) {
			return j
		}
		j = k
	}
	return j
}

// isKeyToken reports whether b looks like a key: letters, digits and
// _ . - [ ] : @ only. Text such as "http://x/?a" before an "=" is part of a
// value, not a key.
func isKeyToken(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == '-', c == '[', c == ']', c == '@':
		default:
			return false
		}
	}
	return true
}

// quoted decodes the quoted string opening at data[i] and returns it with
// the offset just past the closing quote.
func (p *Parser) quoted(data []byte, i int, key string) (string, int, error) {
	q := data[i]
	j := i + 1
	// Fast path: no escapes.
	for k := j; k < len(data); k++ {
		if data[k] == q {
			return p.s[j:k], k + 1, nil
		}
		if data[k] == '\\' {
			break
		}
	}
	b := p.buf[:0]
	for k := j; k < len(data); k++ {
		c := data[k]
		switch {
		case c == q:
			p.buf = b
			return string(b), k + 1, nil
		case c == '\\' && k+1 < len(data):
			k++
			switch n := data[k]; n {
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case '\\', '"', '\'':
				b = append(b, n)
			default:
				b = append(b, '\\', n)
			}
		default:
			b = append(b, c)
		}
	}
	p.buf = b
	return "", 0, &Error{Offset: i, Key: key, Msg: fmt.Sprintf("unterminated %c quote", q)}
}

func appendWord(b []byte, w string) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	return append(b, w...)
}

// clip shortens text quoted in an error message.
func clip(b []byte) string {
	const n = 40
	if len(b) > n {
		return strings.ToValidUTF8(string(b[:n]), "?") + "…"
	}
	return strings.ToValidUTF8(string(b), "?")
}
