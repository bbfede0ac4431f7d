// Package eventfile reads events for offline Sigma tools: newline-delimited
// JSON, a JSON array of objects, or JSON objects one after another (as
// evtx_dump writes them), each flattened into an event.Event with dotted
// names. It recognises evtx_dump records and can convert them to the
// Winlogbeat layout Vigil stores Windows events in.
package eventfile

import (
	"bufio"
	"bytes"
	"encoding/json"
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

// Read calls fn for every object in r. The event passed to fn is reused
// for the next object; fn must copy what it keeps. Errors name the object's
// ordinal and byte offset.
func Read(r io.Reader, fn func(ev *event.Event) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	dec := json.NewDecoder(br)
	dec.UseNumber()
	var ev event.Event
	n := 0
	emit := func(raw json.RawMessage, off int64) error {
		n++
		if len(raw) > MaxObject {
			return fmt.Errorf("object %d at byte %d: larger than %d bytes", n, off, MaxObject)
		}
		ev.Reset()
		if err := jsonflat.AppendObject(&ev, raw, jsonflat.Options{}); err != nil {
			return fmt.Errorf("object %d at byte %d: %w", n, off, err)
		}
		SetTime(&ev)
		return fn(&ev)
	}
	// Look at the first non-space byte: '[' for an array, '{' for objects.
	for {
		b, err := br.Peek(1)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r' {
			br.ReadByte()
			continue
		}
		if b[0] == 0xEF { // UTF-8 byte order mark
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				br.Discard(3)
				continue
			}
		}
		break
	}
	first, _ := br.Peek(1)
	if first[0] == '[' {
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("byte 0: %w", err)
		}
		for dec.More() {
			off := dec.InputOffset()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("byte %d: %w", off, err)
			}
			if err := emit(raw, off); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("byte %d: %w", dec.InputOffset(), err)
		}
		return nil
	}
	for {
		off := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("byte %d: %w", off, err)
		}
		if len(raw) == 0 || raw[0] != '{' {
			return fmt.Errorf("object %d at byte %d: want a JSON object", n+1, off)
		}
		if err := emit(raw, off); err != nil {
			return err
		}
	}
}

var timeFields = []string{"@timestamp", "Event.System.TimeCreated.#attributes.SystemTime", "EventTime", "TimeCreated", "timestamp"}

// SetTime sets ev.Time from its timestamp field ("@timestamp", removed from
// the fields as the event type requires, or the evtx SystemTime).
func SetTime(ev *event.Event) {
	for _, name := range timeFields {
		v, ok := ev.Get(name)
		if !ok {
			continue
		}
		for _, l := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(l, v); err == nil {
				ev.Time = t.UTC()
				break
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
