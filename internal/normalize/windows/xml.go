package windows

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// Bounds of ParseXML.
const (
	MaxXMLSize  = 1 << 20 // bytes of one record
	MaxXMLDepth = 32      // element nesting
	MaxXMLItems = 4096    // event data and user data items
)

// XMLError is an error in event XML at a byte offset.
type XMLError struct {
	Offset int64
	Msg    string
}

func (e *XMLError) Error() string {
	return fmt.Sprintf("windows: event xml at byte %d: %s", e.Offset, e.Msg)
}

var eventTag = []byte("<Event")

// IsXML reports whether data looks like rendered event XML: an <Event>
// element, possibly after an XML declaration, a byte order mark and space.
func IsXML(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.TrimLeft(data, " \t\r\n")
	if bytes.HasPrefix(data, []byte("<?xml")) {
		i := bytes.Index(data, []byte("?>"))
		if i < 0 {
			return false
		}
		data = bytes.TrimLeft(data[i+2:], " \t\r\n")
	}
	return bytes.HasPrefix(data, eventTag) && len(data) > len(eventTag) &&
		(data[len(eventTag)] == '>' || data[len(eventTag)] == ' ' || data[len(eventTag)] == '\t' ||
			data[len(eventTag)] == '\r' || data[len(eventTag)] == '\n')
}

// ParseXML parses one rendered Windows event (<Event xmlns=…>) into a
// normalised event. Errors are *XMLError values with the byte offset.
func ParseXML(data []byte) (event.Event, error) {
	var e event.Event
	err := NewNormalizer().AppendXML(&e, data)
	return e, err
}

// AppendXML parses one rendered Windows event and normalises it into e. The
// fields e already has are kept (as fields that are not part of the
// record). On error e is unchanged.
func (n *Normalizer) AppendXML(e *event.Event, data []byte) error {
	if len(data) > MaxXMLSize {
		return &XMLError{Offset: MaxXMLSize, Msg: fmt.Sprintf("record of %d bytes exceeds the limit of %d", len(data), MaxXMLSize)}
	}
	n.r.reset()
	r := &n.r
	r.extra = append(r.extra, e.Fields...)
	if err := n.parseXML(data); err != nil {
		return err
	}
	if r.eventID == "" {
		return &XMLError{Offset: int64(len(data)), Msg: "no Event/System/EventID"}
	}
	n.emit(e)
	return nil
}

// passThrough reads documents that declare UTF-16 or another encoding but
// reach us as UTF-8 text (rendered events are re-encoded by their shipper).
func passThrough(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-16", "utf-16le", "utf-16be", "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

func (n *Normalizer) parseXML(data []byte) error {
	r := &n.r
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = passThrough
	var (
		stack    [MaxXMLDepth]string
		hasChild [MaxXMLDepth]bool
		depth    int
		text     []byte
		dataName string
		named    bool
		done     bool
		items    int
	)
	fail := func(msg string, args ...any) error {
		return &XMLError{Offset: dec.InputOffset(), Msg: fmt.Sprintf(msg, args...)}
	}
	attr := func(t xml.StartElement, name string) (string, bool) {
		for _, a := range t.Attr {
			if a.Name.Local == name {
				return a.Value, true
			}
		}
		return "", false
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return fail("%s (line %d)", se.Msg, se.Line)
			}
			return fail("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if done {
					return fail("more than one root element")
				}
				if t.Name.Local != "Event" {
					return fail("root element <%s>, want <Event>", t.Name.Local)
				}
			}
			if depth >= MaxXMLDepth {
				return fail("elements nested deeper than %d", MaxXMLDepth)
			}
			if depth > 0 {
				hasChild[depth-1] = true
			}
			stack[depth] = t.Name.Local
			hasChild[depth] = false
			depth++
			text = text[:0]
			if depth == 3 && stack[1] == "System" {
				switch t.Name.Local {
				case "Provider":
					r.provider, _ = attr(t, "Name")
					r.providerGUID, _ = attr(t, "Guid")
					r.eventSource, _ = attr(t, "EventSourceName")
				case "EventID":
					r.qualifiers, _ = attr(t, "Qualifiers")
				case "TimeCreated":
					r.systemTime, _ = attr(t, "SystemTime")
				case "Correlation":
					r.activityID, _ = attr(t, "ActivityID")
					r.relatedActivityID, _ = attr(t, "RelatedActivityID")
				case "Execution":
					r.pid, _ = attr(t, "ProcessID")
					r.tid, _ = attr(t, "ThreadID")
				case "Security":
					r.userID, _ = attr(t, "UserID")
				}
			}
			if depth == 3 && stack[1] == "EventData" && t.Name.Local == "Data" {
				dataName, named = attr(t, "Name")
			}
			if depth == 3 && stack[1] == "UserData" {
				r.userDataName = t.Name.Local
			}
		case xml.CharData:
			if depth > 0 {
				text = append(text, t...)
			}
		case xml.EndElement:
			if depth == 0 {
				return fail("unexpected end element </%s>", t.Name.Local)
			}
			depth--
			leaf := !hasChild[depth]
			v := string(text)
			if !leaf {
				v = ""
			}
			text = text[:0]
			switch {
			case depth == 0:
				done = true
			case depth == 2 && stack[1] == "System" && leaf:
				switch stack[2] {
				case "EventID":
					r.eventID = strings.TrimSpace(v)
				case "Version":
					r.version = v
				case "Level":
					r.level = v
				case "Task":
					r.task = v
				case "Opcode":
					r.opcode = v
				case "Keywords":
					r.keywords = v
				case "EventRecordID":
					r.recordID = v
				case "Channel":
					r.channel = v
				case "Computer":
					r.computer = v
				}
			case depth == 2 && stack[1] == "EventData":
				if items++; items > MaxXMLItems {
					return fail("more than %d data items", MaxXMLItems)
				}
				switch stack[2] {
				case "Data":
					if named {
						r.addData(dataName, v)
					} else {
						r.addData("", v)
					}
				default: // Binary and others
					r.addData(stack[2], v)
				}
			case depth >= 3 && stack[1] == "UserData" && leaf:
				if items++; items > MaxXMLItems {
					return fail("more than %d data items", MaxXMLItems)
				}
				r.userData = append(r.userData, kv{strings.Join(stack[3:depth+1], "."), v})
			case depth == 2 && stack[1] == "RenderingInfo" && leaf:
				switch stack[2] {
				case "Message":
					r.message = v
				case "Level":
					r.levelName = v
				case "Task":
					r.taskName = v
				case "Opcode":
					r.opcodeName = v
				}
			case depth == 3 && stack[1] == "RenderingInfo" && stack[2] == "Keywords" && leaf:
				if v != "" {
					r.keywordNames = append(r.keywordNames, v)
				}
			}
		}
	}
	if !done {
		return fail("unexpected end of input: <Event> not closed")
	}
	return nil
}
