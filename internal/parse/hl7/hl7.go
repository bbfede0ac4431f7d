// Package hl7 parses HL7 version 2 messages (versions 2.3 to 2.8): the
// delimiters declared in MSH, segments, fields, repetitions, components,
// subcomponents and escape sequences. It builds acknowledgements (ACK with
// MSA AA/AE/AR and an ERR segment), maps every message to a Vigil event
// (ECS plus healthcare.hl7.*), and extracts ADT content (patient,
// encounter, care team, merges) into plain Go types for the patient
// directory.
//
// The package is pure: no I/O, no global state. Parse never panics and
// bounds what it accepts (Limits).
package hl7

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Delimiters are the separator characters declared in MSH-1 and MSH-2.
type Delimiters struct {
	Field        byte // MSH-1, usually '|'
	Component    byte // usually '^'
	Repetition   byte // usually '~'
	Escape       byte // usually '\\'; 0 when the message declares none
	Subcomponent byte // usually '&'
	Truncation   byte // v2.7+, usually '#'; 0 when absent
}

// DefaultDelimiters are the delimiters recommended by the standard.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// encodingChars returns MSH-2 for these delimiters.
func (d Delimiters) encodingChars() string {
	b := []byte{d.Component, d.Repetition}
	if d.Escape != 0 {
		b = append(b, d.Escape)
		if d.Subcomponent != 0 {
			b = append(b, d.Subcomponent)
			if d.Truncation != 0 {
				b = append(b, d.Truncation)
			}
		}
	}
	return string(b)
}

// Limits bound what Parse accepts. Zero values take the defaults.
type Limits struct {
	MaxBytes    int // whole message; default 1 MiB
	MaxSegments int // default 10000
	MaxFields   int // per segment; default 1000
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1 << 20
	}
	if l.MaxSegments <= 0 {
		l.MaxSegments = 10000
	}
	if l.MaxFields <= 0 {
		l.MaxFields = 1000
	}
	return l
}

// ErrParse is matched (errors.Is) by every *ParseError.
var ErrParse = errors.New("hl7 parse error")

// ParseError names what was wrong and where: the segment (name and
// 1-based position in the message), the field (HL7 numbering, 0 when the
// problem is the segment itself) and the byte offset in the message.
type ParseError struct {
	Segment  string
	SegIndex int // 1-based position of the segment in the message
	Field    int
	Offset   int
	Msg      string
	// Code is the HL7 table 0357 error code an ACK should carry
	// (e.g. 100 segment sequence error, 101 required field missing,
	// 102 data type error, 203 unsupported version id).
	Code int
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("hl7: ")
	if e.Segment != "" {
		b.WriteString(e.Segment)
		if e.Field > 0 {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(e.Field))
		}
		fmt.Fprintf(&b, " (segment %d) ", e.SegIndex)
	}
	fmt.Fprintf(&b, "at byte %d: %s", e.Offset, e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrParse) true.
func (e *ParseError) Is(target error) bool { return target == ErrParse }

// Segment is one segment. Fields holds the raw (still escaped) text of
// every field; Fields[0] is the segment name. For MSH, Fields[1] is the
// field separator and Fields[2] the encoding characters, so that Fields[n]
// is always MSH-n.
type Segment struct {
	Name   string
	Fields []string
	Offset int // byte offset of the segment in the message
	d      *Delimiters
}

// Message is a parsed HL7 v2 message. Strings of the result share the
// memory of one copy of the input.
type Message struct {
	Raw        string // the message with segment terminators normalised to CR
	Delims     Delimiters
	Segments   []Segment
	Type       string // MSH-9.1, e.g. "ADT"
	Trigger    string // MSH-9.2, e.g. "A01"
	Structure  string // MSH-9.3, e.g. "ADT_A01" (may be empty)
	ControlID  string // MSH-10
	Processing string // MSH-11.1, e.g. "P"
	Version    string // MSH-12.1, e.g. "2.5.1"
}

// Parse parses one HL7 v2 message. Segments may be terminated by CR (the
// standard), LF or CRLF. The message must begin with MSH.
func Parse(data []byte, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, &ParseError{Msg: fmt.Sprintf("message of %d bytes exceeds the limit of %d", len(data), lim.MaxBytes), Code: 207}
	}
	// Tolerate a UTF-8 byte order mark and leading blank lines.
	off := 0
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		off = 3
	}
	for off < len(data) && (data[off] == '\r' || data[off] == '\n' || data[off] == ' ' || data[off] == '\t') {
		off++
	}
	if len(data)-off < 8 || string(data[off:off+3]) != "MSH" {
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Offset: off, Msg: "message does not begin with an MSH segment", Code: 100}
	}
	m := &Message{}
	// Normalise terminators to CR in one copy.
	buf := make([]byte, 0, len(data)-off)
	for i := off; i < len(data); i++ {
		c := data[i]
		if c == '\n' {
			if i > off && data[i-1] == '\r' {
				continue
			}
			c = '\r'
		}
		buf = append(buf, c)
	}
	raw := string(buf)
	m.Raw = raw

	d := Delimiters{Field: raw[3]}
	if isAlnum(d.Field) || d.Field == '\r' {
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 1, Offset: off + 3, Msg: fmt.Sprintf("invalid field separator %q", d.Field), Code: 102}
	}
	end := strings.IndexByte(raw[4:], d.Field)
	if end < 0 {
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 2, Offset: off + 4, Msg: "encoding characters are not followed by a field separator", Code: 102}
	}
	enc := raw[4 : 4+end]
	if len(enc) < 2 || len(enc) > 5 {
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 2, Offset: off + 4, Msg: fmt.Sprintf("encoding characters %q: want 2 to 5 characters", enc), Code: 102}
	}
	d.Component, d.Repetition = enc[0], enc[1]
	if len(enc) > 2 {
		d.Escape = enc[2]
	}
	if len(enc) > 3 {
		d.Subcomponent = enc[3]
	}
	if len(enc) > 4 {
		d.Truncation = enc[4]
	}
	seen := map[byte]bool{d.Field: true}
	for _, c := range []byte(enc) {
		if seen[c] || isAlnum(c) || c == '\r' || c == ' ' {
			return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 2, Offset: off + 4, Msg: fmt.Sprintf("encoding characters %q repeat a delimiter or use a letter, digit or space", enc), Code: 102}
		}
		seen[c] = true
	}
	m.Delims = d

	// Split segments.
	pos := 0
	for pos < len(raw) {
		nl := strings.IndexByte(raw[pos:], '\r')
		var line string
		if nl < 0 {
			line = raw[pos:]
		} else {
			line = raw[pos : pos+nl]
		}
		segOff := pos
		if nl < 0 {
			pos = len(raw)
		} else {
			pos += nl + 1
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(m.Segments) >= lim.MaxSegments {
			return nil, &ParseError{SegIndex: len(m.Segments) + 1, Offset: off + segOff, Msg: fmt.Sprintf("more than %d segments", lim.MaxSegments), Code: 207}
		}
		seg, err := splitSegment(line, &m.Delims, len(m.Segments)+1, off+segOff, lim.MaxFields)
		if err != nil {
			return nil, err
		}
		m.Segments = append(m.Segments, seg)
	}
	for i := range m.Segments {
		m.Segments[i].d = &m.Delims
	}
	msh := &m.Segments[0]
	m.Type = msh.Get(9, 1, 1, 1)
	m.Trigger = msh.Get(9, 1, 2, 1)
	m.Structure = msh.Get(9, 1, 3, 1)
	m.ControlID = msh.Get(10, 1, 1, 1)
	m.Processing = msh.Get(11, 1, 1, 1)
	m.Version = msh.Get(12, 1, 1, 1)
	if m.Type == "" {
		return m, &ParseError{Segment: "MSH", SegIndex: 1, Field: 9, Offset: off, Msg: "message type (MSH-9) is empty", Code: 101}
	}
	if m.ControlID == "" {
		return m, &ParseError{Segment: "MSH", SegIndex: 1, Field: 10, Offset: off, Msg: "message control id (MSH-10) is empty", Code: 101}
	}
	if m.Version == "" {
		return m, &ParseError{Segment: "MSH", SegIndex: 1, Field: 12, Offset: off, Msg: "version id (MSH-12) is empty", Code: 101}
	}
	if !SupportedVersion(m.Version) {
		return m, &ParseError{Segment: "MSH", SegIndex: 1, Field: 12, Offset: off, Msg: fmt.Sprintf("version %q is not supported (2.3 to 2.8)", m.Version), Code: 203}
	}
	return m, nil
}

// SupportedVersion reports whether v (MSH-12.1) is an HL7 version from
// 2.3 to 2.8 (including point releases such as 2.3.1, 2.5.1, 2.8.2).
func SupportedVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "2" {
		return false
	}
	for _, p := range parts {
		if !digits(p) {
			return false
		}
	}
	minor, _ := strconv.Atoi(parts[1])
	return minor >= 3 && minor <= 8
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func splitSegment(line string, d *Delimiters, idx, off, maxFields int) (Segment, error) {
	if len(line) < 3 {
		return Segment{}, &ParseError{SegIndex: idx, Offset: off, Msg: fmt.Sprintf("segment %q is shorter than a segment name", line), Code: 100}
	}
	name := line[:3]
	for i := 0; i < 3; i++ {
		if !isAlnum(name[i]) || name[i] >= 'a' && name[i] <= 'z' {
			return Segment{}, &ParseError{SegIndex: idx, Offset: off, Msg: fmt.Sprintf("invalid segment name %q", name), Code: 100}
		}
	}
	if len(line) > 3 && line[3] != d.Field {
		return Segment{}, &ParseError{Segment: name, SegIndex: idx, Offset: off + 3, Msg: fmt.Sprintf("segment name is followed by %q, not the field separator", line[3]), Code: 100}
	}
	seg := Segment{Name: name, Offset: off}
	n := strings.Count(line, string(d.Field)) + 2
	if n > maxFields+2 {
		return Segment{}, &ParseError{Segment: name, SegIndex: idx, Offset: off, Msg: fmt.Sprintf("more than %d fields", maxFields), Code: 207}
	}
	seg.Fields = make([]string, 0, n)
	seg.Fields = append(seg.Fields, name)
	rest := ""
	if len(line) > 3 {
		rest = line[4:]
	}
	if name == "MSH" || name == "BHS" || name == "FHS" {
		// MSH-1 is the field separator itself, MSH-2 the encoding chars.
		seg.Fields = append(seg.Fields, string(d.Field))
	}
	for {
		i := strings.IndexByte(rest, d.Field)
		if i < 0 {
			seg.Fields = append(seg.Fields, rest)
			break
		}
		seg.Fields = append(seg.Fields, rest[:i])
		rest = rest[i+1:]
	}
	return seg, nil
}

// Segment returns the first segment with the given name, or nil.
func (m *Message) Segment(name string) *Segment {
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			return &m.Segments[i]
		}
	}
	return nil
}

// All returns every segment with the given name, in order.
func (m *Message) All(name string) []*Segment {
	var out []*Segment
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			out = append(out, &m.Segments[i])
		}
	}
	return out
}

// Field returns the raw (escaped) text of field n (HL7 numbering), or "".
func (s *Segment) Field(n int) string {
	if s == nil || n < 0 || n >= len(s.Fields) {
		return ""
	}
	return s.Fields[n]
}

// Reps returns the raw repetitions of field n. MSH-2 never repeats.
func (s *Segment) Reps(n int) []string {
	f := s.Field(n)
	if f == "" {
		return nil
	}
	if s.Name == "MSH" && n <= 2 {
		return []string{f}
	}
	return strings.Split(f, string(s.d.Repetition))
}

// Get returns the unescaped value at field n, repetition rep, component
// comp, subcomponent sub (all 1-based, HL7 numbering). Missing parts give
// "". The HL7 null value `""` is returned as "".
func (s *Segment) Get(n, rep, comp, sub int) string {
	if s == nil {
		return ""
	}
	f := s.Field(n)
	if f == "" {
		return ""
	}
	if s.Name == "MSH" && n <= 2 {
		return f
	}
	return s.d.value(f, rep, comp, sub)
}

// value selects rep/comp/sub in raw field text f and unescapes it.
func (d *Delimiters) value(f string, rep, comp, sub int) string {
	v := nth(f, d.Repetition, rep)
	v = nth(v, d.Component, comp)
	if d.Subcomponent != 0 {
		v = nth(v, d.Subcomponent, sub)
	} else if sub > 1 {
		v = ""
	}
	if v == `""` {
		return ""
	}
	return d.Unescape(v)
}

// Component returns component comp (1-based) of raw repetition text r,
// with all its subcomponents, unescaped.
func (s *Segment) Component(r string, comp int) string {
	return s.d.Unescape(nth(r, s.d.Component, comp))
}

// Sub returns component comp, subcomponent sub of raw repetition text r.
func (s *Segment) Sub(r string, comp, sub int) string {
	return s.d.value(r, 1, comp, sub)
}

// nth returns the i-th (1-based) part of s split by sep.
func nth(s string, sep byte, i int) string {
	if i < 1 {
		return ""
	}
	for ; i > 1; i-- {
		j := strings.IndexByte(s, sep)
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, sep); j >= 0 {
		return s[:j]
	}
	return s
}
