package hl7

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// AckCode is MSA-1.
type AckCode string

// Acknowledgement codes (HL7 table 0008). The C* codes are the enhanced
// mode commit acknowledgements.
const (
	AA AckCode = "AA" // application accept
	AE AckCode = "AE" // application error
	AR AckCode = "AR" // application reject
	CA AckCode = "CA"
	CE AckCode = "CE"
	CR AckCode = "CR"
)

// HL7 table 0357 message error condition codes.
const (
	ErrSegmentSequence    = 100
	ErrRequiredField      = 101
	ErrDataType           = 102
	ErrTableValue         = 103
	ErrUnsupportedType    = 200
	ErrUnsupportedEvent   = 201
	ErrUnsupportedProcID  = 202
	ErrUnsupportedVersion = 203
	ErrUnknownKey         = 204
	ErrDuplicateKey       = 205
	ErrRecordLocked       = 206
	ErrInternal           = 207
)

var errorCodeText = map[int]string{
	0: "Message accepted", 100: "Segment sequence error", 101: "Required field missing",
	102: "Data type error", 103: "Table value not found", 200: "Unsupported message type",
	201: "Unsupported event code", 202: "Unsupported processing id", 203: "Unsupported version id",
	204: "Unknown key identifier", 205: "Duplicate key identifier", 206: "Application record locked",
	207: "Application internal error",
}

// AckOptions describe the acknowledgement to build.
type AckOptions struct {
	Code AckCode
	// ControlID is MSH-10 of the ACK; when empty the original control id
	// prefixed with "ACK" is used (cut to 20 characters).
	ControlID string
	// Time is MSH-7 of the ACK; the zero value means time.Now().
	Time time.Time
	// Text is the reason given to the sender (ERR-8 / MSA-3 / ERR-1).
	// It must not contain PHI.
	Text string
	// ErrorCode is the table 0357 code for ERR-3 (ERR-1 before 2.5);
	// 0 picks 207 for AR/AE and no ERR segment for AA.
	ErrorCode int
	// Segment, SegIndex and Field locate the error for ERR-2 (ERR-1).
	Segment  string
	SegIndex int
	Field    int
}

// AckFor returns the options for answering a message that failed with
// err: AR for a framing or header problem that makes the message
// unprocessable, AE otherwise, with the location and code taken from a
// *ParseError when there is one.
func AckFor(err error) AckOptions {
	if err == nil {
		return AckOptions{Code: AA}
	}
	o := AckOptions{Code: AE, Text: err.Error(), ErrorCode: ErrInternal}
	var pe *ParseError
	if errors.As(err, &pe) {
		o.Text = pe.Msg
		o.Segment, o.SegIndex, o.Field = pe.Segment, pe.SegIndex, pe.Field
		if pe.Code != 0 {
			o.ErrorCode = pe.Code
		}
		if pe.Segment == "MSH" || pe.Segment == "" {
			o.Code = AR
		}
	}
	return o
}

// BuildACK builds the acknowledgement of m: MSH with sending and
// receiving application/facility swapped, the original processing id,
// version and trigger event, MSA with the code and original control id,
// and, for a non-AA code, an ERR segment naming the reason and location
// (v2.5+ layout ERR-2/3/4/8; v2.3/2.4 layout ERR-1). The segments are
// separated by CR; the message uses m's delimiters.
func BuildACK(m *Message, o AckOptions) []byte {
	d := m.Delims
	if d.Field == 0 {
		d = DefaultDelimiters
	}
	msh := m.Segment("MSH")
	if o.Code == "" {
		o.Code = AA
	}
	if o.ErrorCode == 0 && o.Code != AA && o.Code != CA {
		o.ErrorCode = ErrInternal
	}
	t := o.Time
	if t.IsZero() {
		t = time.Now()
	}
	ctrl := o.ControlID
	if ctrl == "" {
		ctrl = "ACK" + m.ControlID
		if len(ctrl) > 20 {
			ctrl = ctrl[:20]
		}
	}
	version := m.Version
	if version == "" {
		version = "2.5"
	}
	fs := string(d.Field)
	cs := string(d.Component)
	raw := func(n int) string { return msh.Field(n) } // copied as sent, still escaped
	esc := func(s string) string { return d.EscapeText(s) }

	var b strings.Builder
	b.WriteString("MSH" + fs + d.encodingChars())
	for _, f := range []string{raw(5), raw(6), raw(3), raw(4), FormatTime(t), ""} {
		b.WriteString(fs + f)
	}
	typ := "ACK"
	if m.Trigger != "" {
		typ += cs + esc(m.Trigger) + cs + "ACK"
	}
	proc := raw(11)
	if proc == "" {
		proc = "P"
	}
	b.WriteString(fs + typ + fs + esc(ctrl) + fs + proc + fs + esc(version))
	b.WriteString("\rMSA" + fs + string(o.Code) + fs + esc(m.ControlID))
	old := versionBefore(version, 2, 5)
	if o.Code != AA && o.Code != CA && versionBefore(version, 2, 7) && o.Text != "" {
		b.WriteString(fs + esc(o.Text)) // MSA-3, withdrawn in 2.7
	}
	if o.Code != AA && o.Code != CA {
		codeText := errorCodeText[o.ErrorCode]
		ss := string(d.Subcomponent)
		if d.Subcomponent == 0 {
			ss = cs
		}
		loc := ""
		if o.Segment != "" {
			loc = esc(o.Segment) + cs
			if o.SegIndex > 0 {
				loc += strconv.Itoa(o.SegIndex)
			}
			if o.Field > 0 {
				loc += cs + strconv.Itoa(o.Field)
			}
		}
		b.WriteString("\rERR" + fs)
		if old {
			// ERR-1: location ^ code&text&HL70357
			if loc == "" {
				loc = cs
			}
			l := loc
			for strings.Count(l, cs) < 3 {
				l += cs
			}
			b.WriteString(l + strconv.Itoa(o.ErrorCode) + ss + esc(codeText) + ss + "HL70357")
		} else {
			// ERR-2 location, ERR-3 code^text^HL70357, ERR-4 severity,
			// ERR-8 user message.
			b.WriteString(fs + loc + fs + strconv.Itoa(o.ErrorCode) + cs + esc(codeText) + cs + "HL70357" + fs + "E" + fs + fs + fs + fs + esc(o.Text))
		}
	}
	b.WriteByte('\r')
	return []byte(b.String())
}

// BuildRejectForUnparsable answers data that Parse refused, salvaging
// what it can of the header (delimiters, applications, control id,
// version) so that the sender can match the reject with its message.
func BuildRejectForUnparsable(data []byte, err error, t time.Time) []byte {
	m := salvageHeader(data)
	o := AckFor(err)
	o.Code = AR
	o.Time = t
	return BuildACK(m, o)
}

// salvageHeader builds a Message from whatever MSH fields can be read.
func salvageHeader(data []byte) *Message {
	m := &Message{Delims: DefaultDelimiters}
	s := string(data)
	if i := strings.Index(s, "MSH"); i >= 0 {
		s = s[i:]
	} else {
		s = ""
	}
	if j := strings.IndexAny(s, "\r\n"); j >= 0 {
		s = s[:j]
	}
	if len(s) > 8 {
		d := DefaultDelimiters
		d.Field = s[3]
		enc := s[4:]
		if k := strings.IndexByte(enc, d.Field); k >= 2 && k <= 5 {
			enc = enc[:k]
			d.Component, d.Repetition = enc[0], enc[1]
			d.Escape, d.Subcomponent, d.Truncation = 0, 0, 0
			if len(enc) > 2 {
				d.Escape = enc[2]
			}
			if len(enc) > 3 {
				d.Subcomponent = enc[3]
			}
			if len(enc) > 4 {
				d.Truncation = enc[4]
			}
			if d.Field != d.Component && d.Field != d.Repetition && !isAlnum(d.Field) {
				m.Delims = d
				seg, err := splitSegment(s, &m.Delims, 1, 0, 1000)
				if err == nil {
					seg.d = &m.Delims
					m.Segments = []Segment{seg}
					m.Trigger = seg.Get(9, 1, 2, 1)
					m.ControlID = seg.Get(10, 1, 1, 1)
					m.Version = seg.Get(12, 1, 1, 1)
				}
			}
		}
	}
	if len(m.Segments) == 0 {
		m.Segments = []Segment{{Name: "MSH", Fields: []string{"MSH", "|", "^~\\&"}, d: &m.Delims}}
	}
	return m
}

// versionBefore reports whether HL7 version v ("2.3.1", "2.5") is lower
// than major.minor. Unreadable versions count as current (not before).
func versionBefore(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return a < major || a == major && b < minor
}
