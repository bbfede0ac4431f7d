package hec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

// Status is a Splunk HEC answer: its HTTP status, code and text.
type Status struct {
	HTTP int
	Code int
	Text string
}

// The HEC statuses Vigil answers with (Splunk's codes and texts).
var (
	StatusSuccess          = Status{200, 0, "Success"}
	StatusTokenRequired    = Status{401, 2, "Token is required"}
	StatusInvalidAuth      = Status{401, 3, "Invalid authorization"}
	StatusInvalidToken     = Status{403, 4, "Invalid token"}
	StatusNoData           = Status{400, 5, "No data"}
	StatusInvalidFormat    = Status{400, 6, "Invalid data format"}
	StatusIncorrectIndex   = Status{400, 7, "Incorrect index"}
	StatusInternal         = Status{500, 8, "Internal server error"}
	StatusBusy             = Status{503, 9, "Server is busy"}
	StatusChannelMissing   = Status{400, 10, "Data channel is missing"}
	StatusInvalidChannel   = Status{400, 11, "Invalid data channel"}
	StatusEventRequired    = Status{400, 12, "Event field is required"}
	StatusEventBlank       = Status{400, 13, "Event field cannot be blank"}
	StatusACKDisabled      = Status{400, 14, "ACK is disabled"}
	StatusQueryStringAuth  = Status{400, 16, "Query string authorization is not enabled"}
	StatusHealthy          = Status{200, 17, "HEC is healthy"}
	StatusUnhealthy        = Status{503, 18, "HEC is unhealthy, queues are full"}
	StatusTooLarge         = Status{413, 6, "Invalid data format"}
	statusUnsupportedMedia = Status{415, 6, "Invalid data format"}
)

// EventError is an event of a request that cannot be used: its 0-based
// number in the request (Splunk's invalid-event-number), the status to
// answer and what was wrong.
type EventError struct {
	N      int
	Status Status
	Detail string
	// Unparsed: the event was refused because it did not parse (bad
	// JSON, no event), not for its size or index: a parse failure.
	Unparsed bool
}

func (e *EventError) Error() string {
	return fmt.Sprintf("event %d: %s: %s", e.N, e.Status.Text, e.Detail)
}

// Meta is the request-level metadata applied to events that do not carry
// their own (query parameters host, source, sourcetype, index).
type Meta struct {
	Host, Source, SourceType, Index string
}

// Split calls fn with each JSON object of an /event body: objects
// concatenated, optionally separated by whitespace (not an array). n is the
// 0-based event number. It returns fn's error, or an *EventError for data
// that is not a sequence of objects or an object over maxEvent bytes.
func Split(data []byte, maxEvent int, fn func(n int, obj []byte) error) error {
	n := 0
	for i := jsonflat.SkipSpace(data, 0); i < len(data); i = jsonflat.SkipSpace(data, i) {
		if data[i] != '{' {
			return &EventError{N: n, Status: StatusInvalidFormat, Detail: fmt.Sprintf("want a JSON object at byte %d, found %s", i, describe(data, i)), Unparsed: true}
		}
		end := jsonflat.ObjectEnd(data, i)
		if end < 0 {
			return &EventError{N: n, Status: StatusInvalidFormat, Detail: fmt.Sprintf("unterminated JSON object starting at byte %d", i), Unparsed: true}
		}
		if end-i > maxEvent {
			return &EventError{N: n, Status: StatusInvalidFormat, Detail: fmt.Sprintf("event of %d bytes exceeds the limit of %d", end-i, maxEvent)}
		}
		if err := fn(n, data[i:end]); err != nil {
			return err
		}
		n++
		i = end
	}
	return nil
}

// ToEvent fills e (empty) from one HEC event object:
//
//	event      string → message; object → its fields under their names;
//	           other JSON values → message as JSON text
//	time       epoch seconds (fraction allowed, number or string) → e.Time
//	host       → host.name
//	source     → splunk.source, and log.file.path when it is a file path
//	sourcetype → splunk.sourcetype and event.dataset
//	index      → splunk.index
//	fields     → each indexed field under its name
//
// Fields the event object carries are never overwritten by metadata.
// Without time, the event object's @timestamp is used; without either
// e.Time is left zero, so that the normaliser can take the record's own
// time from its fields (NXLog's EventTime) and ingest.Stamp gives the
// arrival time only to an event that states none at all.
// The error names the problem; its Status is Splunk's.
func ToEvent(e *event.Event, obj []byte, meta Meta) (Status, error) {
	if err := jsonflat.AppendObject(e, obj, jsonflat.Options{}); err != nil {
		return StatusInvalidFormat, err
	}
	var (
		hasEvent, objEvent bool
		timeV, tsV         string
		hasTime, hasTS     bool
	)
	m := meta
	// Rewrite in place: event.* loses its prefix, fields.* too, metadata
	// keys are taken out.
	out := e.Fields[:0]
	var extra []event.Field // indexed fields, added after the event's own
	for _, f := range e.Fields {
		switch {
		case f.Name == "event":
			hasEvent = true
			out = append(out, event.Field{Name: event.FieldMessage, Value: f.Value})
		case strings.HasPrefix(f.Name, "event."):
			hasEvent, objEvent = true, true
			name := f.Name[len("event."):]
			if name == "@timestamp" {
				tsV, hasTS = f.Value, true
				continue
			}
			out = append(out, event.Field{Name: name, Value: f.Value})
		case f.Name == "time":
			timeV, hasTime = f.Value, true
		case f.Name == "host":
			m.Host = f.Value
		case f.Name == "source":
			m.Source = f.Value
		case f.Name == "sourcetype":
			m.SourceType = f.Value
		case f.Name == "index":
			m.Index = f.Value
		case strings.HasPrefix(f.Name, "fields."):
			extra = append(extra, event.Field{Name: f.Name[len("fields."):], Value: f.Value})
		default:
			// Unknown top-level keys are kept under splunk.<key>.
			extra = append(extra, event.Field{Name: "splunk." + f.Name, Value: f.Value})
		}
	}
	clear(e.Fields[len(out):])
	e.Fields = out
	if !hasEvent {
		return StatusEventRequired, errors.New(`the "event" field is missing or null`)
	}
	if !objEvent && e.Value(event.FieldMessage) == "" {
		return StatusEventBlank, errors.New(`the "event" field is empty`)
	}
	e.Time = time.Time{}
	switch {
	case hasTime:
		t, err := ParseEpoch(timeV)
		if err != nil {
			return StatusInvalidFormat, fmt.Errorf(`"time": %w`, err)
		}
		e.Time = t
		if hasTS {
			e.Add("@timestamp", tsV) // the event's own, kept as a field
		}
	case hasTS:
		if t, err := event.ParseTime(tsV); err == nil {
			e.Time = t
		} else {
			e.Add("vigil.original_timestamp", tsV)
			e.Add(event.FieldParseError, "@timestamp: "+err.Error())
		}
	}
	for _, f := range extra {
		e.SetIfAbsent(f.Name, f.Value)
	}
	applyMeta(e, m)
	return StatusSuccess, nil
}

// applyMeta records the Splunk metadata without overwriting the event's
// own fields.
func applyMeta(e *event.Event, m Meta) {
	if m.Host != "" {
		e.SetIfAbsent("host.name", m.Host)
	}
	if m.Source != "" {
		e.SetIfAbsent("splunk.source", m.Source)
		if isPath(m.Source) {
			e.SetIfAbsent("log.file.path", m.Source)
		}
	}
	if m.SourceType != "" {
		e.SetIfAbsent("splunk.sourcetype", m.SourceType)
		e.SetIfAbsent("event.dataset", m.SourceType)
	}
	if m.Index != "" {
		e.SetIfAbsent("splunk.index", m.Index)
	}
}

// isPath reports whether a Splunk source names a file ("/var/log/x",
// "C:\logs\x") rather than an input ("udp:514", "http:app").
func isPath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, `\\`) {
		return true
	}
	return len(s) > 2 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') &&
		(s[0] >= 'A' && s[0] <= 'Z' || s[0] >= 'a' && s[0] <= 'z')
}

// ParseEpoch reads Splunk's event time: Unix epoch seconds with an
// optional fraction ("1732788000.123"), exactly, without float rounding.
// Values that are clearly milliseconds or other forms go through
// event.ParseTime.
func ParseEpoch(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	sec, frac, hasFrac := strings.Cut(s, ".")
	if len(sec) > 0 && len(sec) <= 11 && allDigits(sec) && (!hasFrac || (len(frac) > 0 && allDigits(frac))) {
		n, _ := strconv.ParseInt(sec, 10, 64)
		var ns int64
		for i := 0; i < 9; i++ {
			ns *= 10
			if i < len(frac) {
				ns += int64(frac[i] - '0')
			}
		}
		return time.Unix(n, ns).UTC(), nil
	}
	t, err := event.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want epoch seconds such as 1732788000.123: %w", err)
	}
	return t, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func describe(b []byte, i int) string {
	if i >= len(b) {
		return "end of input"
	}
	c := b[i]
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
