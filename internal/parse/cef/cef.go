// Package cef parses ArcSight Common Event Format records:
//
//	[syslog header] CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
//
// as defined by "Implementing ArcSight Common Event Format (CEF)" (versions
// 0 and 1 of the format). In the header a backslash escapes "|" and "\"; in
// the extension, a space-separated list of key=value pairs whose values may
// contain spaces, a backslash escapes "=" and "\" and writes newlines as
// \n and \r.
//
// Parse maps the header to observer.vendor, observer.product,
// observer.version, event.code (the event class id), event.severity and
// cef.*, and the extension keys of the ArcSight dictionary to Elastic Common
// Schema fields (src → source.ip, dpt → destination.port, suser →
// source.user.name, rt → the event time, …; see keys.go and
// docs/cef-leef-kv.md). Custom fields with labels (cs1Label=Rule cs1=x) become
// cef.custom.<Label>; every other key is kept under cef.extensions.<full key
// name>. Nothing the device sent is dropped.
//
// The parser never panics, bounds the input and the number of pairs, and
// returns *Error values naming the byte offset and key.
package cef

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Options bound and configure a parse. The zero value is ready to use.
type Options struct {
	// MaxInput is the longest record accepted (default 64 KiB).
	MaxInput int
	// MaxExtensions is the most extension pairs accepted (default 512).
	MaxExtensions int
	// Location is used for timestamps without a zone when the record has no
	// dtz (device time zone) key; nil means UTC.
	Location *time.Location
	// Now returns the current time, used to give year-less timestamps
	// ("Sep 19 08:26:10") a year. Nil means time.Now.
	Now func() time.Time
}

// Defaults for Options.
const (
	DefaultMaxInput      = 64 << 10
	DefaultMaxExtensions = 512
)

func (o Options) withDefaults() Options {
	if o.MaxInput <= 0 {
		o.MaxInput = DefaultMaxInput
	}
	if o.MaxExtensions <= 0 {
		o.MaxExtensions = DefaultMaxExtensions
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Error is a parse error at a byte offset of the input, about an extension
// key when Key is not empty.
type Error struct {
	Offset int
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("cef: key %q at byte %d: %s", e.Key, e.Offset, e.Msg)
	}
	return fmt.Sprintf("cef: at byte %d: %s", e.Offset, e.Msg)
}

// Extension is one decoded key=value pair of the extension.
type Extension struct {
	Key   string
	Value string
	// Offset is the byte offset of the key in the input.
	Offset int
}

// Record is a decoded CEF record.
type Record struct {
	Version            string
	DeviceVendor       string
	DeviceProduct      string
	DeviceVersion      string
	DeviceEventClassID string
	Name               string
	Severity           string
	Extensions         []Extension
	// Prefix is what preceded "CEF:" (a syslog header), or nil.
	Prefix []byte
}

var marker = []byte("CEF:")

// Index returns the offset of the "CEF:" marker that starts a record in
// data, or -1. The marker must be at the start or follow a space.
func Index(data []byte) int {
	off := 0
	for {
		i := bytes.Index(data[off:], marker)
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || data[i-1] == ' ' {
			return i
		}
		off = i + len(marker)
	}
}

// Decode splits data into a Record without mapping it to fields. The
// strings of the record do not alias data.
func Decode(data []byte, opt Options) (Record, error) {
	var d decoder
	return d.decode(data, opt.withDefaults())
}

type decoder struct {
	s    string // the record, copied once
	buf  []byte
	exts []Extension
}

func (d *decoder) decode(data []byte, opt Options) (Record, error) {
	var r Record
	if len(data) > opt.MaxInput {
		return r, &Error{Offset: opt.MaxInput, Msg: fmt.Sprintf("record of %d bytes exceeds the limit of %d", len(data), opt.MaxInput)}
	}
	start := Index(data)
	// One copy of the record: keys and unescaped values are substrings of it.
	d.s = string(data)
	if start < 0 {
		return r, &Error{Offset: 0, Msg: `no "CEF:" marker`}
	}
	if start > 0 {
		r.Prefix = data[:start]
	}
	i := start + len(marker)
	var hdr [7]string
	for n := 0; n < 7; n++ {
		j := i
		escaped := false
		for j < len(data) && data[j] != '|' {
			if data[j] == '\\' && j+1 < len(data) {
				escaped = true
				j++
			}
			j++
		}
		if j >= len(data) {
			if n == 6 && j > i {
				// A record that ends right after the severity, without the
				// final '|': accept it with an empty extension.
				hdr[n] = d.headerValue(i, j, escaped)
				i = j
				break
			}
			return r, &Error{Offset: j, Msg: fmt.Sprintf("header has %d of 7 '|'-separated fields (version, vendor, product, version, class id, name, severity)", n)}
		}
		hdr[n] = d.headerValue(i, j, escaped)
		i = j + 1
	}
	if hdr[0] == "" || strings.TrimLeft(hdr[0], "0123456789") != "" {
		return r, &Error{Offset: start + len(marker), Msg: fmt.Sprintf("version %q is not a number", clip(hdr[0]))}
	}
	r.Version, r.DeviceVendor, r.DeviceProduct, r.DeviceVersion = hdr[0], hdr[1], hdr[2], hdr[3]
	r.DeviceEventClassID, r.Name, r.Severity = hdr[4], hdr[5], hdr[6]
	exts, err := d.extensions(data, i, opt.MaxExtensions)
	if err != nil {
		return r, err
	}
	r.Extensions = exts
	return r, nil
}

func (d *decoder) headerValue(i, j int, escaped bool) string {
	if !escaped {
		return d.s[i:j]
	}
	b := d.s[i:j]
	out := d.buf[:0]
	for k := 0; k < len(b); k++ {
		if b[k] == '\\' && k+1 < len(b) && (b[k+1] == '|' || b[k+1] == '\\') {
			k++
		}
		out = append(out, b[k])
	}
	d.buf = out
	return string(out)
}

// isKeyChar reports whether c may appear in an extension key.
func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '[' || c == ']'
}

// extensions decodes the key=value pairs of data[i:].
func (d *decoder) extensions(data []byte, i int, max int) ([]Extension, error) {
	d.exts = d.exts[:0]
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	// Trailing line ends are framing, not data.
	end := len(data)
	for end > i && (data[end-1] == '\n' || data[end-1] == '\r' || data[end-1] == ' ' || data[end-1] == '\t') {
		end--
	}
	if i >= end {
		return d.exts, nil
	}
	// The first key.
	k := i
	for k < end && isKeyChar(data[k]) {
		k++
	}
	if k == i || k >= end || data[k] != '=' {
		return nil, &Error{Offset: i, Msg: fmt.Sprintf("extension does not start with key=value: %q", clip(string(data[i:min(end, i+40)])))}
	}
	keyStart, keyEnd := i, k
	for {
		if len(d.exts) >= max {
			return nil, &Error{Offset: keyStart, Key: string(data[keyStart:keyEnd]), Msg: fmt.Sprintf("more than %d extension pairs", max)}
		}
		vStart := keyEnd + 1
		// Scan the value: it ends before the space that precedes the next
		// "key=" (an unescaped '=' whose preceding token is a valid key).
		lastSpace := -1
		escaped := false
		nextKey := -1
		j := vStart
		for j < end {
			c := data[j]
			switch {
			case c == '\\' && j+1 < end:
				escaped = true
				j += 2
				continue
			case c == ' ':
				lastSpace = j
			case c == '=':
				if lastSpace >= 0 && lastSpace+1 < j && validKey(data[lastSpace+1:j]) {
					nextKey = lastSpace + 1
				}
			}
			if nextKey >= 0 {
				break
			}
			j++
		}
		vEnd := end
		if nextKey >= 0 {
			vEnd = lastSpace
		}
		for vEnd > vStart && data[vEnd-1] == ' ' {
			vEnd--
		}
		d.exts = append(d.exts, Extension{
			Key:    d.s[keyStart:keyEnd],
			Value:  d.extValue(vStart, vEnd, escaped),
			Offset: keyStart,
		})
		if nextKey < 0 {
			return d.exts, nil
		}
		keyStart = nextKey
		keyEnd = j
	}
}

func validKey(b []byte) bool {
	for _, c := range b {
		if !isKeyChar(c) {
			return false
		}
	}
	return len(b) > 0
}

func (d *decoder) extValue(i, j int, escaped bool) string {
	if !escaped {
		return d.s[i:j]
	}
	b := d.s[i:j]
	out := d.buf[:0]
	for k := 0; k < len(b); k++ {
		c := b[k]
		if c == '\\' && k+1 < len(b) {
			k++
			switch b[k] {
			case '=', '\\', '|':
				c = b[k]
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			default:
				out = append(out, '\\')
				c = b[k]
			}
		}
		out = append(out, c)
	}
	d.buf = out
	return string(out)
}

// Parser maps CEF records to event fields, reusing its scratch space. It is
// not safe for concurrent use.
type Parser struct {
	opt   Options
	d     decoder
	canon []string // canonical (full) key names of the extensions
	names map[string]map[string]string
}

// NewParser returns a parser with the given options.
func NewParser(opt Options) *Parser {
	return &Parser{opt: opt.withDefaults()}
}

// Parse is a convenience for NewParser(opt).Append(e, data).
func Parse(e *event.Event, data []byte, opt Options) error {
	return NewParser(opt).Append(e, data)
}

// Append parses one CEF record, optionally preceded by a syslog header, and
// appends its fields to e. The event time is set from rt (deviceReceiptTime)
// when present, else from the syslog header when e.Time is zero. On error e
// is unchanged.
func (p *Parser) Append(e *event.Event, data []byte) error {
	r, err := p.d.decode(data, p.opt)
	if err != nil {
		return err
	}
	base := len(e.Fields)
	add := func(name, value string) { setFrom(e, base, name, value) }
	add("event.module", "cef")
	add("cef.version", r.Version)
	add("observer.vendor", r.DeviceVendor)
	add("observer.product", r.DeviceProduct)
	add("observer.version", r.DeviceVersion)
	add("event.code", r.DeviceEventClassID)
	add("cef.name", r.Name)
	if sev, ok := severity(r.Severity); ok {
		add("event.severity", sev)
	} else if r.Severity != "" {
		add("cef.severity", r.Severity)
	}
	var hdr prefixInfo
	if r.Prefix != nil {
		hdr = parsePrefix(r.Prefix, p.opt)
		if hdr.pri != "" {
			add("log.syslog.priority", hdr.pri)
		}
		if hdr.host != "" {
			add("host.name", hdr.host)
		}
	}

	// Canonical (full) key names, labels of custom fields and the device
	// time zone first.
	loc := p.opt.Location
	p.canon = p.canon[:0]
	hasLabels := false
	for _, x := range r.Extensions {
		c := x.Key
		if full, ok := fullNames[c]; ok {
			c = full
		}
		p.canon = append(p.canon, c)
		if isLabel(c) {
			hasLabels = true
		}
		if c == "deviceTimeZone" && x.Value != "" {
			if l := zoneLocation(x.Value); l != nil {
				loc = l
			}
		}
	}
	var t time.Time
	for i, x := range r.Extensions {
		c := p.canon[i]
		if hasLabels {
			if isLabel(c) && p.index(c[:len(c)-5]) >= 0 {
				continue // consumed by the field it names
			}
			if j := p.index(c + "Label"); j >= 0 {
				if lbl := strings.TrimSpace(r.Extensions[j].Value); lbl != "" {
					add(p.fieldName("cef.custom.", labelName(lbl)), x.Value)
					continue
				}
			}
		}
		k, ok := keys[c]
		if !ok {
			add(p.fieldName("cef.extensions.", c), x.Value)
			continue
		}
		if k.field == "@timestamp" {
			if tt, err := parseTime(x.Value, loc, p.opt.Now); err == nil {
				t = tt
			} else {
				add(p.fieldName("cef.extensions.", k.full), x.Value)
			}
			continue
		}
		if v, ok := convert(k.kind, x.Value, loc, p.opt.Now); ok {
			add(k.field, v)
		} else {
			add(p.fieldName("cef.extensions.", k.full), x.Value)
		}
	}
	switch {
	case !t.IsZero():
		e.Time = t
	case e.Time.IsZero() && !hdr.time.IsZero():
		e.Time = hdr.time
	}
	return nil
}

// fieldName returns prefix+s, cached per prefix so that known names do not
// allocate. The cache is bounded.
func (p *Parser) fieldName(prefix, s string) string {
	if p.names == nil {
		p.names = make(map[string]map[string]string, 2)
	}
	m := p.names[prefix]
	if m == nil || len(m) >= 1024 {
		m = make(map[string]string, 64)
		p.names[prefix] = m
	}
	if v, ok := m[s]; ok {
		return v
	}
	v := prefix + s
	m[s] = v
	return v
}

func isLabel(key string) bool { return len(key) > 5 && strings.HasSuffix(key, "Label") }

// index returns the position of the extension whose canonical key is c, or -1.
func (p *Parser) index(c string) int {
	for i, k := range p.canon {
		if k == c {
			return i
		}
	}
	return -1
}

// labelName makes a label usable as the last part of a field name: dots and
// spaces become underscores.
func labelName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '\t', '\n', '\r':
			return '_'
		}
		return r
	}, s)
}

// setFrom sets name=value among the fields appended since base: a repeated
// key keeps its last value.
func setFrom(e *event.Event, base int, name, value string) {
	for i := base; i < len(e.Fields); i++ {
		if e.Fields[i].Name == name {
			e.Fields[i].Value = value
			return
		}
	}
	e.Fields = append(e.Fields, event.Field{Name: name, Value: value})
}

// severity returns the numeric severity 0-10, mapping the named levels of the
// specification (Low, Medium, High, Very-High) to 3, 6, 8 and 10.
func severity(s string) (string, bool) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 10 {
		return strconv.Itoa(n), true
	}
	switch strings.ToLower(s) {
	case "low":
		return "3", true
	case "medium":
		return "6", true
	case "high":
		return "8", true
	case "very-high":
		return "10", true
	}
	return "", false
}

func clip(s string) string {
	const n = 40
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
