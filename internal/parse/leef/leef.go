// Package leef parses IBM QRadar Log Event Extended Format records, versions
// 1.0 and 2.0:
//
//	[syslog header] LEEF:1.0|Vendor|Product|Version|EventID|key=value<tab>key=value…
//	[syslog header] LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|key=value<delim>…
//
// LEEF 1.0 separates attributes with a tab. LEEF 2.0 names its delimiter in
// the header as one character or as a hexadecimal code written x09 or 0x09
// (1-4 hex digits); when that header field is absent the attributes follow
// directly and the tab is used. A LEEF 1.0 record without any tab, as some
// devices send, is split on spaces where the next "key=" starts.
//
// Parse maps the header to observer.vendor, observer.product,
// observer.version and event.code, and the predefined attributes to Elastic
// Common Schema fields (src → source.ip, srcPort → source.port, usrName →
// user.name, sev → event.severity, devTime with devTimeFormat → the event
// time, …; see docs/cef-leef-kv.md). Other attributes are kept under
// leef.attributes.<key>. The parser never panics, bounds input and
// attribute count, and returns *Error values naming the byte offset and key.
package leef

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/cef"
	"github.com/vigil-siem/vigil/internal/parse/kv"
)

// Options bound and configure a parse. The zero value is ready to use.
type Options struct {
	// MaxInput is the longest record accepted (default 64 KiB).
	MaxInput int
	// MaxAttributes is the most attributes accepted (default 512).
	MaxAttributes int
	// Delimiter overrides the attribute delimiter of LEEF 1.0 records
	// (default tab). LEEF 2.0 records name their own.
	Delimiter rune
	// Location is used for device times without a zone; nil means UTC.
	Location *time.Location
	// Now gives year-less timestamps a year; nil means time.Now.
	Now func() time.Time
}

// Defaults for Options.
const (
	DefaultMaxInput      = 64 << 10
	DefaultMaxAttributes = 512
)

func (o Options) withDefaults() Options {
	if o.MaxInput <= 0 {
		o.MaxInput = DefaultMaxInput
	}
	if o.MaxAttributes <= 0 {
		o.MaxAttributes = DefaultMaxAttributes
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Error is a parse error at a byte offset of the input, about an attribute
// when Key is not empty.
type Error struct {
	Offset int
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("leef: key %q at byte %d: %s", e.Key, e.Offset, e.Msg)
	}
	return fmt.Sprintf("leef: at byte %d: %s", e.Offset, e.Msg)
}

// Attribute is one key=value pair.
type Attribute struct {
	Key    string
	Value  string
	Offset int // byte offset of the key in the input
}

// Record is a decoded LEEF record.
type Record struct {
	Version        string // "1.0" or "2.0"
	Vendor         string
	Product        string
	ProductVersion string
	EventID        string
	Delimiter      rune
	Attributes     []Attribute
	Prefix         []byte // what preceded "LEEF:", or nil
}

var marker = []byte("LEEF:")

// Index returns the offset of the "LEEF:" marker that starts a record in
// data (at the start or after a space), or -1.
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

// Decode splits data into a Record without mapping it to fields.
func Decode(data []byte, opt Options) (Record, error) {
	var d decoder
	return d.decode(data, opt.withDefaults())
}

type decoder struct {
	s     string
	attrs []Attribute
	kvp   *kv.Parser
}

func (d *decoder) decode(data []byte, opt Options) (Record, error) {
	var r Record
	if len(data) > opt.MaxInput {
		return r, &Error{Offset: opt.MaxInput, Msg: fmt.Sprintf("record of %d bytes exceeds the limit of %d", len(data), opt.MaxInput)}
	}
	start := Index(data)
	if start < 0 {
		return r, &Error{Msg: `no "LEEF:" marker`}
	}
	d.s = string(data)
	s := d.s
	if start > 0 {
		r.Prefix = data[:start]
	}
	i := start + len(marker)
	var hdr [5]string
	for n := 0; n < 5; n++ {
		j := strings.IndexByte(s[i:], '|')
		if j < 0 {
			return r, &Error{Offset: len(s), Msg: fmt.Sprintf("header has %d of 5 '|'-separated fields (version, vendor, product, version, event id)", n)}
		}
		hdr[n] = s[i : i+j]
		i += j + 1
	}
	r.Version, r.Vendor, r.Product, r.ProductVersion, r.EventID = hdr[0], hdr[1], hdr[2], hdr[3], hdr[4]
	major := r.Version
	if k := strings.IndexByte(major, '.'); k >= 0 {
		major = major[:k]
	}
	r.Delimiter = '\t'
	explicit := false
	switch major {
	case "1":
		if opt.Delimiter != 0 {
			r.Delimiter, explicit = opt.Delimiter, true
		}
	case "2":
		// The delimiter field, unless the attributes follow directly.
		j := strings.IndexByte(s[i:], '|')
		field := ""
		if j >= 0 {
			field = s[i : i+j]
		}
		switch {
		case j < 0 || strings.IndexByte(field, '=') >= 0:
			// No delimiter field.
		case field == "" && i+j+1 < len(s) && s[i+j+1] == '|':
			// "||": the delimiter is the pipe itself.
			r.Delimiter, explicit = '|', true
			i += j + 2
		default:
			dl, err := delimiter(field)
			if err != nil {
				return r, &Error{Offset: i, Msg: err.Error()}
			}
			if dl != 0 {
				r.Delimiter, explicit = dl, true
			}
			i += j + 1
		}
	default:
		return r, &Error{Offset: start + len(marker), Msg: fmt.Sprintf("unsupported version %q (want 1.0 or 2.0)", clip(r.Version))}
	}
	attrs, err := d.attributes(i, r.Delimiter, explicit || major == "2", opt.MaxAttributes)
	if err != nil {
		return r, err
	}
	r.Attributes = attrs
	return r, nil
}

// delimiter reads the DelimiterCharacter header field: one character, or a
// hex code x09 / 0x09 of 1-4 digits. An empty field means the default.
func delimiter(f string) (rune, error) {
	if f == "" {
		return 0, nil
	}
	if r, size := utf8.DecodeRuneInString(f); size == len(f) && r != utf8.RuneError {
		return r, nil
	}
	h := f
	if strings.HasPrefix(h, "0x") || strings.HasPrefix(h, "0X") {
		h = h[2:]
	} else if h[0] == 'x' || h[0] == 'X' {
		h = h[1:]
	} else {
		return 0, fmt.Errorf("delimiter %q is neither one character nor a hex code like x09", clip(f))
	}
	if len(h) < 1 || len(h) > 4 {
		return 0, fmt.Errorf("delimiter %q: want 1-4 hex digits", clip(f))
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil || n == 0 || n == '=' {
		return 0, fmt.Errorf("delimiter %q is not a usable hex code", clip(f))
	}
	return rune(n), nil
}

// attributes splits s[i:] into key=value pairs.
func (d *decoder) attributes(i int, delim rune, explicit bool, max int) ([]Attribute, error) {
	s := d.s
	d.attrs = d.attrs[:0]
	end := len(s)
	for end > i && (s[end-1] == '\n' || s[end-1] == '\r') {
		end--
	}
	body := s[i:end]
	ds := string(delim)
	if !explicit && delim == '\t' && !strings.Contains(body, "\t") && strings.Count(body, "=") > 1 {
		return d.spaceSeparated(i, end, max)
	}
	pos := i
	for pos <= end {
		k := strings.Index(s[pos:end], ds)
		segEnd := end
		if k >= 0 {
			segEnd = pos + k
		}
		seg := s[pos:segEnd]
		if eq := strings.IndexByte(seg, '='); eq > 0 && strings.TrimSpace(seg[:eq]) != "" {
			if len(d.attrs) >= max {
				return nil, &Error{Offset: pos, Key: strings.TrimSpace(seg[:eq]), Msg: fmt.Sprintf("more than %d attributes", max)}
			}
			d.attrs = append(d.attrs, Attribute{Key: strings.TrimSpace(seg[:eq]), Value: seg[eq+1:], Offset: pos})
		} else if strings.TrimSpace(seg) != "" {
			if len(d.attrs) == 0 {
				return nil, &Error{Offset: pos, Msg: fmt.Sprintf("attribute %q is not key=value", clip(seg))}
			}
			// The delimiter occurred inside a value: put it back.
			last := &d.attrs[len(d.attrs)-1]
			last.Value = last.Value + ds + seg
		}
		if k < 0 {
			break
		}
		pos = segEnd + len(ds)
	}
	return d.attrs, nil
}

// spaceSeparated reads LEEF 1.0 attributes sent without tabs: values may
// contain spaces and run to the next " key=".
func (d *decoder) spaceSeparated(i, end, max int) ([]Attribute, error) {
	if d.kvp == nil {
		d.kvp = kv.NewParser(kv.Options{NoPrefix: true, PairSeparators: " ", NoQuotes: true, ValuesWithSeparators: true, MaxPairs: max, MaxInput: DefaultMaxInput * 16})
	}
	pairs, rest, err := d.kvp.Pairs([]byte(d.s[i:end]))
	if err != nil {
		if ke, ok := err.(*kv.Error); ok {
			return nil, &Error{Offset: i + ke.Offset, Key: ke.Key, Msg: ke.Msg}
		}
		return nil, &Error{Offset: i, Msg: err.Error()}
	}
	if rest != "" && len(pairs) == 0 {
		return nil, &Error{Offset: i, Msg: fmt.Sprintf("attribute %q is not key=value", clip(rest))}
	}
	for _, p := range pairs {
		d.attrs = append(d.attrs, Attribute{Key: p.Key, Value: p.Value, Offset: i + p.Offset})
	}
	return d.attrs, nil
}

// Parser maps LEEF records to event fields, reusing scratch space and a
// cache of converted devTimeFormat patterns. It is not safe for concurrent
// use.
type Parser struct {
	opt     Options
	d       decoder
	layouts map[string]javaLayout
	names   map[string]map[string]string
}

// NewParser returns a parser with the given options.
func NewParser(opt Options) *Parser {
	return &Parser{opt: opt.withDefaults()}
}

// Parse is a convenience for NewParser(opt).Append(e, data).
func Parse(e *event.Event, data []byte, opt Options) error {
	return NewParser(opt).Append(e, data)
}

// Append parses one LEEF record, optionally preceded by a syslog header, and
// appends its fields to e. The event time comes from devTime (read with
// devTimeFormat when given), else from the syslog header when e.Time is
// zero. On error e is unchanged.
func (p *Parser) Append(e *event.Event, data []byte) error {
	r, err := p.d.decode(data, p.opt)
	if err != nil {
		return err
	}
	base := len(e.Fields)
	add := func(name, value string) { setFrom(e, base, name, value) }
	add("event.module", "leef")
	add("leef.version", r.Version)
	add("observer.vendor", r.Vendor)
	add("observer.product", r.Product)
	add("observer.version", r.ProductVersion)
	add("event.code", r.EventID)
	if r.Delimiter != '\t' {
		add("leef.delimiter", string(r.Delimiter))
	}
	var hdr cef.SyslogPrefix
	if r.Prefix != nil {
		hdr = cef.ParseSyslogPrefix(r.Prefix, p.opt.Location, p.opt.Now)
		if hdr.Priority != "" {
			add("log.syslog.priority", hdr.Priority)
		}
		if hdr.Host != "" {
			add("host.name", hdr.Host)
		}
	}
	format, devTime := "", ""
	for _, a := range r.Attributes {
		switch a.Key {
		case "devTimeFormat":
			format = a.Value
		case "devTime":
			devTime = a.Value
		}
	}
	var t time.Time
	if devTime != "" {
		t, _ = p.devTime(devTime, format)
	}
	for _, a := range r.Attributes {
		m, ok := attrs[a.Key]
		if !ok {
			add(p.fieldName("leef.attributes.", a.Key), a.Value)
			continue
		}
		switch m.kind {
		case kTime, kSkip:
			// devTime and devTimeFormat are kept only when they could not
			// give the event time.
			if t.IsZero() {
				add(p.fieldName("leef.attributes.", a.Key), a.Value)
			}
		default:
			if v, ok := convert(m.kind, a.Value); ok {
				add(m.field, v)
			} else {
				add(p.fieldName("leef.attributes.", a.Key), a.Value)
			}
		}
	}
	switch {
	case !t.IsZero():
		e.Time = t
	case e.Time.IsZero() && !hdr.Time.IsZero():
		e.Time = hdr.Time
	}
	return nil
}

// devTime parses the device time with its Java SimpleDateFormat pattern, or
// without one as epoch milliseconds, "MMM dd yyyy HH:mm:ss" and the other
// forms cef.ParseTime reads.
func (p *Parser) devTime(v, format string) (time.Time, error) {
	if format == "" {
		return cef.ParseTime(v, p.opt.Location, p.opt.Now)
	}
	l, ok := p.layouts[format]
	if !ok {
		l = convertJavaLayout(format)
		if p.layouts == nil || len(p.layouts) >= 64 {
			p.layouts = make(map[string]javaLayout)
		}
		p.layouts[format] = l
	}
	if l.err != nil {
		return time.Time{}, l.err
	}
	return l.parse(strings.TrimSpace(v), p.opt.Location, p.opt.Now)
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

type kind uint8

const (
	kString kind = iota
	kLower
	kIP
	kPort
	kInt
	kSeverity
	kTime
	kSkip
	kProto
)

type mapping struct {
	field string
	kind  kind
}

// attrs maps LEEF predefined attributes (and a few CEF-style keys LEEF
// devices commonly send) to ECS fields. cat is not mapped to event.category,
// whose values ECS restricts; it stays leef.attributes.cat.
var attrs = map[string]mapping{
	"devTime":        {kind: kTime},
	"devTimeFormat":  {kind: kSkip},
	"src":            {"source.ip", kIP},
	"dst":            {"destination.ip", kIP},
	"srcPort":        {"source.port", kPort},
	"dstPort":        {"destination.port", kPort},
	"srcPostNAT":     {"source.nat.ip", kIP},
	"dstPostNAT":     {"destination.nat.ip", kIP},
	"srcPostNATPort": {"source.nat.port", kPort},
	"dstPostNATPort": {"destination.nat.port", kPort},
	"srcMAC":         {"source.mac", kString},
	"dstMAC":         {"destination.mac", kString},
	"srcBytes":       {"source.bytes", kInt},
	"dstBytes":       {"destination.bytes", kInt},
	"srcPackets":     {"source.packets", kInt},
	"dstPackets":     {"destination.packets", kInt},
	"totalPackets":   {"network.packets", kInt},
	"proto":          {"network.transport", kProto},
	"sev":            {"event.severity", kSeverity},
	"usrName":        {"user.name", kString},
	"groupID":        {"group.id", kString},
	"role":           {"user.roles", kString},
	"policy":         {"rule.name", kString},
	"url":            {"url.original", kString},
	"msg":            {"message", kString},
	"act":            {"event.action", kString},
	"dvc":            {"observer.ip", kIP},
	"dvchost":        {"observer.hostname", kString},
}

func convert(k kind, v string) (string, bool) {
	switch k {
	case kString:
		return v, true
	case kIP:
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return "", false
		}
		return a.String(), true
	case kPort:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
		if err != nil {
			return "", false
		}
		return strconv.FormatUint(n, 10), true
	case kInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatInt(n, 10), true
	case kSeverity:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 10 {
			return "", false
		}
		return strconv.Itoa(n), true
	case kProto:
		v = strings.TrimSpace(v)
		if n, err := strconv.Atoi(v); err == nil {
			switch n {
			case 1:
				return "icmp", true
			case 6:
				return "tcp", true
			case 17:
				return "udp", true
			case 58:
				return "ipv6-icmp", true
			}
			return "", false
		}
		return strings.ToLower(v), v != ""
	}
	return "", false
}

func setFrom(e *event.Event, base int, name, value string) {
	for i := base; i < len(e.Fields); i++ {
		if e.Fields[i].Name == name {
			e.Fields[i].Value = value
			return
		}
	}
	e.Fields = append(e.Fields, event.Field{Name: name, Value: value})
}

func clip(s string) string {
	const n = 40
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
