// Package atna parses healthcare audit messages in the XML schema of
// DICOM PS3.15 Annex A.5 (the IHE ATNA audit message, descended from
// RFC 3881) and maps them to Vigil events: ECS fields plus healthcare.*.
//
// It accepts the three generations of the schema found in the field:
// current DICOM (coded values with csd-code/codeSystemName/originalText),
// DICOM Supplement 95 and IHE ATNA 2006 (code/codeSystemName/displayName),
// and RFC 3881 (values as child elements instead of attributes). Messages
// arrive as the MSG part of an RFC 5424 syslog message (IHE ITI-20), or in
// files holding one or many messages; Decoder reads such a stream.
//
// The package is pure: no I/O beyond the reader it is given, no global
// state; it never panics and bounds every message (Limits).
package atna

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Code is a coded value: EventID, EventTypeCode, RoleIDCode,
// ParticipantObjectIDTypeCode, AuditSourceTypeCode, MediaType ...
type Code struct {
	Code    string // csd-code, or code (older), or the element's text (RFC 3881)
	System  string // codeSystemName, or codeSystem
	Display string // originalText, or displayName
}

// IsZero reports whether the code is empty.
func (c Code) IsZero() bool { return c == Code{} }

// Participant is an ActiveParticipant.
type Participant struct {
	UserID             string
	AlternativeUserID  string
	UserName           string
	UserIsRequestor    bool
	NetworkAccessPoint string // NetworkAccessPointID
	NetworkAccessType  string // NetworkAccessPointTypeCode: 1 machine name, 2 IP address, 3 telephone, 4 email, 5 URI
	Roles              []Code // RoleIDCode
	MediaType          Code   // MediaIdentifier/MediaType
}

// HasRole reports whether the participant has the given role code.
func (p *Participant) HasRole(code string) bool {
	for _, r := range p.Roles {
		if r.Code == code {
			return true
		}
	}
	return false
}

// Source is an AuditSourceIdentification.
type Source struct {
	ID     string // AuditSourceID
	SiteID string // AuditEnterpriseSiteID
	Types  []Code // AuditSourceTypeCode
}

// Detail is a ParticipantObjectDetail (type/value pair, value base64).
type Detail struct {
	Type  string
	Value string
}

// SOPClass is a SOPClass element of a ParticipantObjectDescription.
type SOPClass struct {
	UID               string
	NumberOfInstances string
	Instances         []string
}

// Object is a ParticipantObjectIdentification.
type Object struct {
	ID          string // ParticipantObjectID
	TypeCode    string // 1 person, 2 system object, 3 organization, 4 other
	Role        string // ParticipantObjectTypeCodeRole: 1 patient, 3 report, 13 security resource, 24 query ...
	LifeCycle   string // ParticipantObjectDataLifeCycle 1..15
	Sensitivity string
	IDType      Code   // ParticipantObjectIDTypeCode
	Name        string // ParticipantObjectName
	Query       string // ParticipantObjectQuery, base64 as sent
	Details     []Detail
	Description string
	SOPClasses  []SOPClass
	Accessions  []string
	MPPS        []string
	Studies     []string // ParticipantObjectContainsStudy/StudyIDs@UID
	Encrypted   string
	Anonymized  string
}

// Message is one audit message.
type Message struct {
	EventID            Code
	EventTypes         []Code
	Action             string // EventActionCode: C R U D E
	DateTime           string // EventDateTime as sent
	Time               time.Time
	Outcome            string // EventOutcomeIndicator: 0 4 8 12
	OutcomeDescription string
	PurposesOfUse      []Code
	Participants       []Participant
	Sources            []Source
	Objects            []Object
	// Line is the line of the <AuditMessage> start tag in its input.
	Line int
}

// Limits bound what is accepted. Zero values take the defaults.
type Limits struct {
	MaxBytes int // one message; default 256 KiB
	MaxDepth int // default 32
	MaxNodes int // elements in one message; default 4096
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 256 << 10
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = 4096
	}
	return l
}

// ErrInvalid is matched (errors.Is) by every *Error.
var ErrInvalid = errors.New("invalid audit message")

// Error names what is wrong and where: the element path (for example
// "AuditMessage/ActiveParticipant[2]@UserID") and the line in the input.
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("atna: %s (line %d): %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("atna: %s: %s", e.Path, e.Msg)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Parse parses one audit message. Anything before the first '<' (a
// syslog header, a byte order mark) is skipped. A message that is well
// formed XML but breaks the schema's requirements is returned together
// with an *Error, so that the caller can still record what it says.
func Parse(data []byte, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, &Error{Path: "AuditMessage", Msg: fmt.Sprintf("message of %d bytes exceeds the limit of %d", len(data), lim.MaxBytes)}
	}
	i := bytes.Index(data, []byte("<?xml"))
	if j := bytes.Index(data, []byte("<AuditMessage")); i < 0 || j >= 0 && j < i {
		i = j
	}
	if i < 0 {
		i = bytes.IndexByte(data, '<')
	}
	if i < 0 {
		return nil, &Error{Path: "AuditMessage", Msg: "no XML element in the input"}
	}
	d := NewDecoder(bytes.NewReader(data[i:]), lim)
	m, err := d.Next()
	if errors.Is(err, io.EOF) {
		return nil, &Error{Path: "AuditMessage", Msg: "no <AuditMessage> element in the input"}
	}
	return m, err
}

// Decoder reads the audit messages of a stream: concatenated
// <AuditMessage> documents (each may carry its own XML declaration), or
// messages wrapped in any enclosing element.
type Decoder struct {
	d   *xml.Decoder
	cr  *countingReader
	lim Limits
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewDecoder returns a Decoder on r.
func NewDecoder(r io.Reader, lim Limits) *Decoder {
	lim = lim.withDefaults()
	cr := &countingReader{r: r}
	d := xml.NewDecoder(cr)
	d.Strict = true
	// Senders declare encodings (ISO-8859-1 ...) that the standard
	// library does not convert; read the bytes as they are.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return &Decoder{d: d, cr: cr, lim: lim}
}

// Next returns the next audit message, io.EOF at the end of the stream.
// A message that breaks the schema is returned with an *Error; the
// Decoder can go on. XML syntax errors end the stream: the returned error
// names the line, and later calls return it again.
func (dec *Decoder) Next() (*Message, error) {
	for {
		start := dec.d.InputOffset()
		tok, err := dec.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("atna: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "AuditMessage" {
			continue
		}
		line, _ := dec.d.InputPos()
		tree, err := readTree(dec.d, se, treeLimits{maxDepth: dec.lim.MaxDepth, maxNodes: dec.lim.MaxNodes, maxText: dec.lim.MaxBytes}, func() int { l, _ := dec.d.InputPos(); return l })
		if err != nil {
			return nil, fmt.Errorf("atna: message at line %d: %w", line, err)
		}
		if dec.d.InputOffset()-start > int64(dec.lim.MaxBytes) {
			return nil, &Error{Path: "AuditMessage", Line: line, Msg: fmt.Sprintf("message exceeds the limit of %d bytes", dec.lim.MaxBytes)}
		}
		tree.line = line
		return fromTree(tree)
	}
}

// code reads a coded value from an element in any of the schema forms.
func code(n *node) Code {
	if n == nil {
		return Code{}
	}
	c := Code{}
	if v, ok := n.attr("csd-code"); ok {
		c.Code = v
	} else if v, ok := n.attr("code"); ok {
		c.Code = v
	} else if k := n.child("code"); k != nil {
		c.Code = k.text
	} else {
		c.Code = n.text
	}
	c.System = n.val("codeSystemName")
	if c.System == "" {
		c.System = n.val("codeSystem")
	}
	c.Display = n.val("originalText")
	if c.Display == "" {
		c.Display = n.val("displayName")
	}
	c.Code = strings.TrimSpace(c.Code)
	return c
}

func codes(n *node, name string) []Code {
	var out []Code
	for _, k := range n.children(name) {
		if c := code(k); !c.IsZero() {
			out = append(out, c)
		}
	}
	return out
}

func fromTree(root *node) (*Message, error) {
	m := &Message{Line: root.line}
	var errs []*Error
	fail := func(path string, line int, format string, args ...any) {
		errs = append(errs, &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	ev := root.child("EventIdentification")
	if ev == nil {
		fail("AuditMessage/EventIdentification", root.line, "missing")
	} else {
		m.EventID = code(ev.child("EventID"))
		if m.EventID.Code == "" {
			fail("AuditMessage/EventIdentification/EventID", ev.line, "missing or without a code")
		}
		m.EventTypes = codes(ev, "EventTypeCode")
		m.PurposesOfUse = codes(ev, "PurposeOfUse")
		m.Action = ev.val("EventActionCode")
		switch m.Action {
		case "", "C", "R", "U", "D", "E":
		default:
			fail("AuditMessage/EventIdentification@EventActionCode", ev.line, "%q is not one of C, R, U, D, E", m.Action)
		}
		m.DateTime = ev.val("EventDateTime")
		if m.DateTime == "" {
			fail("AuditMessage/EventIdentification@EventDateTime", ev.line, "missing")
		} else if t, err := parseTime(m.DateTime); err != nil {
			fail("AuditMessage/EventIdentification@EventDateTime", ev.line, "%v", err)
		} else {
			m.Time = t
		}
		m.Outcome = ev.val("EventOutcomeIndicator")
		switch m.Outcome {
		case "0", "4", "8", "12":
		case "":
			fail("AuditMessage/EventIdentification@EventOutcomeIndicator", ev.line, "missing")
		default:
			fail("AuditMessage/EventIdentification@EventOutcomeIndicator", ev.line, "%q is not one of 0, 4, 8, 12", m.Outcome)
		}
		m.OutcomeDescription = ev.val("EventOutcomeDescription")
	}
	for i, ap := range root.children("ActiveParticipant") {
		p := Participant{
			UserID:             ap.val("UserID"),
			AlternativeUserID:  ap.val("AlternativeUserID"),
			UserName:           ap.val("UserName"),
			NetworkAccessPoint: ap.val("NetworkAccessPointID"),
			NetworkAccessType:  ap.val("NetworkAccessPointTypeCode"),
			Roles:              codes(ap, "RoleIDCode"),
		}
		path := fmt.Sprintf("AuditMessage/ActiveParticipant[%d]", i+1)
		switch r := strings.ToLower(ap.val("UserIsRequestor")); r {
		case "true", "1":
			p.UserIsRequestor = true
		case "false", "0", "":
		default:
			fail(path+"@UserIsRequestor", ap.line, "%q is not a boolean", r)
		}
		if mi := ap.child("MediaIdentifier"); mi != nil {
			p.MediaType = code(mi.child("MediaType"))
		}
		if p.UserID == "" {
			fail(path+"@UserID", ap.line, "missing")
		}
		m.Participants = append(m.Participants, p)
	}
	if len(m.Participants) == 0 {
		fail("AuditMessage/ActiveParticipant", root.line, "at least one is required")
	}
	for i, as := range root.children("AuditSourceIdentification") {
		s := Source{ID: as.val("AuditSourceID"), SiteID: as.val("AuditEnterpriseSiteID"), Types: codes(as, "AuditSourceTypeCode")}
		if v, ok := as.attr("AuditSourceTypeCode"); ok && v != "" {
			s.Types = append(s.Types, Code{Code: v})
		}
		if s.ID == "" {
			fail(fmt.Sprintf("AuditMessage/AuditSourceIdentification[%d]@AuditSourceID", i+1), as.line, "missing")
		}
		m.Sources = append(m.Sources, s)
	}
	if len(m.Sources) == 0 {
		fail("AuditMessage/AuditSourceIdentification", root.line, "missing")
	}
	for i, po := range root.children("ParticipantObjectIdentification") {
		o := Object{
			ID:          po.val("ParticipantObjectID"),
			TypeCode:    po.val("ParticipantObjectTypeCode"),
			Role:        po.val("ParticipantObjectTypeCodeRole"),
			LifeCycle:   po.val("ParticipantObjectDataLifeCycle"),
			Sensitivity: po.val("ParticipantObjectSensitivity"),
			IDType:      code(po.child("ParticipantObjectIDTypeCode")),
			Name:        po.val("ParticipantObjectName"),
			Query:       po.val("ParticipantObjectQuery"),
		}
		// Older senders put the life cycle in an element with a code.
		if lc := po.child("ParticipantObjectDataLifeCycle"); lc != nil && o.LifeCycle == strings.TrimSpace(lc.text) {
			if c := code(lc); c.Code != "" {
				o.LifeCycle = c.Code
			}
		}
		for _, dn := range po.children("ParticipantObjectDetail") {
			o.Details = append(o.Details, Detail{Type: dn.val("type"), Value: dn.val("value")})
		}
		if desc := po.child("ParticipantObjectDescription"); desc != nil {
			o.Description = strings.TrimSpace(desc.text)
			readDescription(desc, &o)
		}
		// DICOM places some description parts directly in the object.
		readDescription(po, &o)
		path := fmt.Sprintf("AuditMessage/ParticipantObjectIdentification[%d]", i+1)
		if o.ID == "" {
			fail(path+"@ParticipantObjectID", po.line, "missing")
		}
		if o.IDType.Code == "" {
			fail(path+"/ParticipantObjectIDTypeCode", po.line, "missing or without a code")
		}
		m.Objects = append(m.Objects, o)
	}
	if len(errs) > 0 {
		return m, errs[0]
	}
	return m, nil
}

func readDescription(n *node, o *Object) {
	for _, s := range n.children("SOPClass") {
		sc := SOPClass{UID: s.val("UID"), NumberOfInstances: s.val("NumberOfInstances")}
		for _, in := range s.children("Instance") {
			sc.Instances = append(sc.Instances, in.val("UID"))
		}
		o.SOPClasses = append(o.SOPClasses, sc)
	}
	for _, a := range n.children("Accession") {
		o.Accessions = append(o.Accessions, a.val("Number"))
	}
	for _, a := range n.children("MPPS") {
		o.MPPS = append(o.MPPS, a.val("UID"))
	}
	if cs := n.child("ParticipantObjectContainsStudy"); cs != nil {
		for _, s := range cs.children("StudyIDs") {
			o.Studies = append(o.Studies, s.val("UID"))
		}
	}
	if v := n.val("Encrypted"); v != "" {
		o.Encrypted = v
	}
	if v := n.val("Anonymized"); v != "" {
		o.Anonymized = v
	}
}

// parseTime reads an xs:dateTime, with or without an offset (UTC then).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xs:dateTime (2006-01-02T15:04:05Z)", s)
}
