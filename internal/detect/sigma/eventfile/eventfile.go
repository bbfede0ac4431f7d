// Package eventfile reads events for offline Sigma tools: newline-delimited
// JSON, a JSON array of objects, or JSON objects one after another (as
// evtx_dump writes them), each flattened into an event.Event with dotted
// names. It recognises evtx_dump records and can convert them to the
// Winlogbeat layout Vigil stores Windows events in.
package eventfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

// MaxObject bounds the size of one JSON object (16 MiB).
const MaxObject = 16 << 20

// Format is the layout of an event's fields.
type Format int

// Formats.
const (
	FormatFlat     Format = iota // flat JSON (Vigil, NXLog, Winlogbeat)
	FormatEvtxDump               // Event.System.* / Event.EventData.*
)

// Detect returns the layout of ev's fields.
func Detect(ev *event.Event) Format {
	for _, f := range ev.Fields {
		if strings.HasPrefix(f.Name, "Event.System.") {
			return FormatEvtxDump
		}
	}
	return FormatFlat
}

// Options configure ReadWith.
type Options struct {
	// Location is the zone of event times written without one (NXLog's
	// EventTime); UTC when nil.
	Location *time.Location
	// OnError is told about every record that cannot be read (not JSON,
	// not an object, unterminated, too large) and decides: nil goes on
	// with the next record, an error stops reading with it. When OnError
	// is nil the first bad record stops reading.
	OnError func(*RecordError) error
}

// RecordError is a record that could not be read: where it starts
// (line, 1-based; byte offset) and its ordinal among the records.
type RecordError struct {
	Line   int
	Object int
	Offset int64
	Err    error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("line %d: object %d at byte %d: %v", e.Line, e.Object, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Read calls fn for every object in r; the first record that cannot be
// read stops it with a *RecordError. The event passed to fn is reused for
// the next object; fn must copy what it keeps.
func Read(r io.Reader, fn func(ev *event.Event) error) error {
	return ReadWith(r, Options{}, fn)
}

// ReadWith calls fn for every object in r: newline-delimited JSON, JSON
// arrays, or objects one after another over several lines (evtx_dump).
// A bad record is reported to opt.OnError with its line, and reading
// goes on at the next record: the next line, or — inside an unterminated
// object — the next line that starts with '{'.
func ReadWith(r io.Reader, opt Options, fn func(ev *event.Event) error) error {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	sp := &splitter{br: bufio.NewReaderSize(r, 64<<10), line: 1}
	var ev event.Event
	n := 0
	report := func(line int, off int64, err error) error {
		re := &RecordError{Line: line, Object: n, Offset: off, Err: err}
		if opt.OnError == nil {
			return re
		}
		return opt.OnError(re)
	}
	for {
		rec, err := sp.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n++
		if rec.err != nil {
			if err := report(rec.line, rec.off, rec.err); err != nil {
				return err
			}
			continue
		}
		ev.Reset()
		if err := jsonflat.AppendObject(&ev, rec.data, jsonflat.Options{}); err != nil {
			if err := report(rec.line, rec.off, err); err != nil {
				return err
			}
			continue
		}
		SetTimeIn(&ev, loc)
		if err := fn(&ev); err != nil {
			return err
		}
	}
}

// record is one object's bytes, or why there is none.
type record struct {
	data []byte
	line int
	off  int64
	err  error
}

// splitter cuts a stream into top-level JSON objects without decoding
// them, so that a broken one can be skipped.
type splitter struct {
	br    *bufio.Reader
	off   int64 // bytes consumed
	line  int   // line of the next byte
	buf   []byte
	array bool
	start bool // past the start (BOM checked)
}

func (s *splitter) readByte() (byte, error) {
	b, err := s.br.ReadByte()
	if err == nil {
		s.off++
		if b == '\n' {
			s.line++
		}
	}
	return b, err
}

// skipLine drops the rest of the current line.
func (s *splitter) skipLine() {
	for {
		b, err := s.readByte()
		if err != nil || b == '\n' {
			return
		}
	}
}

func (s *splitter) next() (record, error) {
	if !s.start {
		s.start = true
		if bom, _ := s.br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
			s.br.Discard(3)
			s.off += 3
		}
	}
	for {
		b, err := s.readByte()
		if err != nil {
			return record{}, err
		}
		switch {
		case b == ' ' || b == '\t' || b == '\r' || b == '\n':
		case b == '[' && !s.array:
			s.array = true
		case s.array && (b == ',' || b == ']'):
			if b == ']' {
				s.array = false
			}
		case b == '{':
			return s.object()
		default:
			line, off := s.line, s.off-1
			s.skipLine()
			return record{line: line, off: off, err: fmt.Errorf("want a JSON object, found %q", rune(b))}, nil
		}
	}
}

// object reads an object whose '{' was just read.
func (s *splitter) object() (record, error) {
	line, off := s.line, s.off-1
	s.buf = append(s.buf[:0], '{')
	depth, inStr, esc, broken, big := 1, false, false, false, false
	for {
		b, err := s.readByte()
		if err == io.EOF {
			return record{line: line, off: off, err: errors.New("unexpected end of input inside the object")}, nil
		}
		if err != nil {
			return record{}, err
		}
		if !big {
			if len(s.buf) >= MaxObject {
				big = true
			} else {
				s.buf = append(s.buf, b)
			}
		}
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case b == '\\':
				esc = true
			case b == '"':
				inStr = false
			case b == '\n':
				inStr, broken = false, true // no raw newline in a JSON string
			}
		case b == '"':
			inStr = true
		case b == '{' || b == '[':
			depth++
		case b == '}' || b == ']':
			depth--
			if depth == 0 {
				switch {
				case big:
					return record{line: line, off: off, err: fmt.Errorf("larger than %d bytes", MaxObject)}, nil
				case broken:
					return record{line: line, off: off, err: errors.New("a string runs past the end of its line")}, nil
				}
				return record{data: s.buf, line: line, off: off}, nil
			}
		}
		if b == '\n' && !inStr {
			// A line starting with '{' inside an object: the object was
			// cut short and a new record begins (NDJSON, evtx_dump).
			if nb, _ := s.br.Peek(1); len(nb) == 1 && nb[0] == '{' {
				return record{line: line, off: off, err: errors.New("unterminated object (the next line starts a new one)")}, nil
			}
		}
	}
}

var timeFields = []string{"@timestamp", "Event.System.TimeCreated.#attributes.SystemTime", "EventTime", "TimeCreated", "timestamp"}

// SetTime sets ev.Time from its timestamp field ("@timestamp", removed from
// the fields as the event type requires, or the evtx SystemTime); times
// without a zone are read as UTC.
func SetTime(ev *event.Event) { SetTimeIn(ev, time.UTC) }

// SetTimeIn is SetTime with times without a zone read in loc.
func SetTimeIn(ev *event.Event, loc *time.Location) {
	for _, name := range timeFields {
		v, ok := ev.Get(name)
		if !ok {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			ev.Time = t.UTC()
		} else {
			for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
				if t, err := time.ParseInLocation(l, v, loc); err == nil {
					ev.Time = t.UTC()
					break
				}
			}
		}
		if name == "@timestamp" {
			ev.Delete(name)
		}
		if !ev.Time.IsZero() {
			return
		}
	}
}

var evtxSystem = map[string]string{
	"Event.System.EventID":                            "winlog.event_id",
	"Event.System.EventID.#text":                      "winlog.event_id",
	"Event.System.Channel":                            "winlog.channel",
	"Event.System.Provider.#attributes.Name":          "winlog.provider_name",
	"Event.System.Provider.#attributes.Guid":          "winlog.provider_guid",
	"Event.System.Computer":                           "winlog.computer_name",
	"Event.System.EventRecordID":                      "winlog.record_id",
	"Event.System.Security.#attributes.UserID":        "winlog.user.identifier",
	"Event.System.Keywords":                           "winlog.keywords",
	"Event.System.Task":                               "winlog.task",
	"Event.System.Opcode":                             "winlog.opcode",
	"Event.System.Level":                              "winlog.level",
	"Event.System.Version":                            "winlog.version",
	"Event.System.Execution.#attributes.ProcessID":    "winlog.process.pid",
	"Event.System.Execution.#attributes.ThreadID":     "winlog.process.thread.id",
	"Event.System.TimeCreated.#attributes.SystemTime": "winlog.time_created",
}

// EvtxToWinlog rewrites an evtx_dump event in place into the Winlogbeat
// layout Vigil stores: winlog.channel, winlog.event_id,
// winlog.event_data.<Name>, winlog.user_data.<Name>, plus event.code,
// event.provider, event.module "windows" and host.name.
func EvtxToWinlog(ev *event.Event) {
	out := ev.Fields[:0:0]
	var code, provider, host string
	for _, f := range ev.Fields {
		name := f.Name
		if n, ok := evtxSystem[name]; ok {
			name = n
		} else if rest, ok := strings.CutPrefix(name, "Event.EventData."); ok {
			if strings.HasPrefix(rest, "#attributes.") {
				continue
			}
			name = "winlog.event_data." + rest
		} else if rest, ok := strings.CutPrefix(name, "Event.UserData."); ok {
			// Drop the wrapper element: Event.UserData.<Wrapper>.<Name>.
			if i := strings.IndexByte(rest, '.'); i >= 0 {
				rest = rest[i+1:]
			}
			if strings.HasPrefix(rest, "#attributes.") {
				continue
			}
			name = "winlog.user_data." + rest
		} else if strings.HasPrefix(name, "Event.") {
			continue
		}
		switch name {
		case "winlog.event_id":
			code = f.Value
		case "winlog.provider_name":
			provider = f.Value
		case "winlog.computer_name":
			host = f.Value
		}
		out = append(out, event.Field{Name: name, Value: f.Value})
	}
	out = append(out, event.Field{Name: "event.module", Value: "windows"})
	if code != "" {
		out = append(out, event.Field{Name: "event.code", Value: code})
	}
	if provider != "" {
		out = append(out, event.Field{Name: "event.provider", Value: provider})
	}
	if host != "" {
		out = append(out, event.Field{Name: "host.name", Value: host})
	}
	ev.Fields = out
}
