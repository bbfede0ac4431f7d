package windows

import (
	"bytes"
	"fmt"
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

func (n *Normalizer) parseXML(data []byte) error {
	r := &n.r
	sc := &n.xml
	*sc = xmlScanner{s: string(data), buf: sc.buf[:0], attrs: sc.attrs[:0]}
	if strings.HasPrefix(sc.s, "\ufeff") {
		sc.pos = len("\ufeff")
	}
	var (
		stack    [MaxXMLDepth]string
		hasChild [MaxXMLDepth]bool
		depth    int
		text     string
		dataName string
		named    bool
		done     bool
		items    int
	)
	fail := func(off int, msg string, args ...any) error {
		return &XMLError{Offset: int64(off), Msg: fmt.Sprintf(msg, args...)}
	}
	attr := func(name string) string {
		for _, a := range sc.attrs {
			if a.name == name {
				return a.value
			}
		}
		return ""
	}
	for {
		at := sc.pos
		tok, name, selfClose, xerr := sc.next()
		if xerr != nil {
			return &XMLError{Offset: int64(xerr.off), Msg: xerr.msg}
		}
		switch tok {
		case tokEOF:
			if !done {
				return fail(len(data), "unexpected end of input: <Event> not closed")
			}
			return nil
		case tokText:
			if depth == 0 {
				if strings.Trim(name, " \t\r\n") != "" {
					return fail(at, "text outside the <Event> element")
				}
				continue
			}
			if text == "" {
				text = name
			} else {
				text += name
			}
		case tokStart:
			if depth == 0 {
				if done {
					return fail(at, "more than one root element")
				}
				if name != "Event" {
					return fail(at, "root element <%s>, want <Event>", clipName(name))
				}
			}
			if depth >= MaxXMLDepth {
				return fail(at, "elements nested deeper than %d", MaxXMLDepth)
			}
			if depth > 0 {
				hasChild[depth-1] = true
			}
			stack[depth] = name
			hasChild[depth] = false
			depth++
			text = ""
			if depth == 3 && stack[1] == "System" {
				switch name {
				case "Provider":
					r.provider, r.providerGUID, r.eventSource = attr("Name"), attr("Guid"), attr("EventSourceName")
				case "EventID":
					r.qualifiers = attr("Qualifiers")
				case "TimeCreated":
					r.systemTime = attr("SystemTime")
				case "Correlation":
					r.activityID, r.relatedActivityID = attr("ActivityID"), attr("RelatedActivityID")
				case "Execution":
					r.pid, r.tid = attr("ProcessID"), attr("ThreadID")
				case "Security":
					r.userID = attr("UserID")
				}
			}
			if depth == 3 && stack[1] == "EventData" && name == "Data" {
				named = false
				for _, a := range sc.attrs {
					if a.name == "Name" {
						dataName, named = a.value, true
					}
				}
			}
			if depth == 3 && stack[1] == "UserData" {
				r.userDataName = name
			}
			if !selfClose {
				continue
			}
			name = stack[depth-1]
			fallthrough
		case tokEnd:
			if depth == 0 {
				return fail(at, "unexpected end element </%s>", clipName(name))
			}
			if name != stack[depth-1] {
				return fail(at, "element <%s> closed by </%s>", clipName(stack[depth-1]), clipName(name))
			}
			depth--
			leaf := !hasChild[depth]
			v := text
			if !leaf {
				v = ""
			}
			text = ""
			if err := n.xmlEnd(stack[:depth+1], leaf, v, dataName, named, &items); err != nil {
				return fail(at, "%s", err.Error())
			}
			if depth == 0 {
				done = true
			}
		}
	}
}

// xmlEnd records the element that just ended; path is its path from
// <Event>.
func (n *Normalizer) xmlEnd(path []string, leaf bool, v, dataName string, named bool, items *int) error {
	r := &n.r
	depth := len(path) - 1
	switch {
	case depth == 2 && path[1] == "System" && leaf:
		switch path[2] {
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
	case depth == 2 && path[1] == "EventData":
		if *items++; *items > MaxXMLItems {
			return fmt.Errorf("more than %d data items", MaxXMLItems)
		}
		switch {
		case path[2] == "Data" && named:
			r.addData(dataName, v)
		case path[2] == "Data":
			r.addData("", v)
		default: // Binary and others
			r.addData(path[2], v)
		}
	case depth >= 3 && path[1] == "UserData" && leaf:
		if *items++; *items > MaxXMLItems {
			return fmt.Errorf("more than %d data items", MaxXMLItems)
		}
		name := path[3]
		if depth > 3 {
			name = strings.Join(path[3:], ".")
		}
		r.userData = append(r.userData, kv{name, v})
	case depth == 2 && path[1] == "RenderingInfo" && leaf:
		switch path[2] {
		case "Message":
			r.message = v
		case "Level":
			r.levelName = v
		case "Task":
			r.taskName = v
		case "Opcode":
			r.opcodeName = v
		}
	case depth == 3 && path[1] == "RenderingInfo" && path[2] == "Keywords" && leaf:
		if v != "" {
			r.keywordNames = append(r.keywordNames, v)
		}
	}
	return nil
}
