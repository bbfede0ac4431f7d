// Package gelf reads the Graylog Extended Log Format (GELF 1.1): the JSON
// message (version, host, short_message, full_message, timestamp, level,
// facility, line, file and "_"-prefixed additional fields), its gzip and
// zlib compression, and the chunks a UDP sender splits large messages
// into (magic 0x1e 0x0f, 8-byte message id, sequence number and count, at
// most 128 chunks, reassembled within 5 seconds).
//
// Everything here is pure and bounded: Decode maps one message into an
// event.Event, Decompress inflates with a size limit, Assembler keeps
// partial chunked messages with limits on their number and bytes and the
// clock it is given.
package gelf

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

// DefaultMaxMessage bounds a message after decompression and reassembly
// (1 MiB) when the caller gives no limit.
const DefaultMaxMessage = 1 << 20

// Error is a message that is not valid GELF. When Partial is true the
// event holds what could be read (a JSON object that breaks the
// specification: no host, no short_message, an unreadable timestamp).
type Error struct {
	Msg     string
	Partial bool
}

func (e *Error) Error() string { return "gelf: " + e.Msg }

// Compression of a payload.
type Compression int

// Compressions GELF senders use.
const (
	None Compression = iota
	Gzip
	Zlib
)

// Detect tells a payload's compression by its first bytes.
func Detect(b []byte) Compression {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return Gzip
	case len(b) >= 2 && b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0:
		// zlib: CM=8 (deflate) and FCHECK makes the header a multiple of 31.
		return Zlib
	}
	return None
}

// ErrTooLarge is returned (wrapped) for a payload above the size limit.
var ErrTooLarge = errors.New("message larger than the limit")

// Decompress returns the payload inflated (gzip or zlib), or as it is,
// refusing more than max bytes (DefaultMaxMessage when max <= 0).
func Decompress(b []byte, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	var r io.Reader
	switch Detect(b) {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, &Error{Msg: "gzip: " + err.Error()}
		}
		r = zr
	case Zlib:
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, &Error{Msg: "zlib: " + err.Error()}
		}
		r = zr
	default:
		if len(b) > max {
			return nil, fmt.Errorf("gelf: %w: %d bytes, at most %d", ErrTooLarge, len(b), max)
		}
		return b, nil
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, &Error{Msg: "decompress: " + err.Error()}
	}
	if len(out) > max {
		return nil, fmt.Errorf("gelf: %w: more than %d bytes once decompressed", ErrTooLarge, max)
	}
	return out, nil
}

// severityNames are the syslog severity names (as the syslog parser
// writes log.level).
var severityNames = [8]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// reserved are field names an additional field may not take: it keeps
// them under gelf.<name> instead.
func reserved(name string) bool {
	switch name {
	case "message", "@timestamp", "event.original", "event.ingested", "host.name", "log.level":
		return true
	}
	return strings.HasPrefix(name, "vigil.") || strings.HasPrefix(name, "gelf.") || strings.HasPrefix(name, "log.syslog.")
}

// Decode maps one GELF message (uncompressed JSON) into e: host →
// host.name, short_message → message, full_message → gelf.full_message,
// timestamp → e.Time, level → log.syslog.severity.code and log.level,
// facility → gelf.facility, line and file → log.origin.file.line/.name,
// version → gelf.version, and every additional field "_name" → name
// (gelf.name for names Vigil reserves and for "_id", which GELF forbids).
// event.module and event.dataset are "gelf" unless a field says otherwise.
//
// Not JSON, or not an object: an *Error and e unchanged. A JSON object
// that breaks the specification: its fields are kept and an *Error with
// Partial set is returned.
func Decode(e *event.Event, msg []byte) error {
	var flat event.Event
	if err := jsonflat.AppendObject(&flat, msg, jsonflat.Options{}); err != nil {
		return &Error{Msg: err.Error()}
	}
	var problems []string
	var host, short, version string
	haveShort := false
	var t time.Time
	for _, f := range flat.Fields {
		switch f.Name {
		case "version":
			version = f.Value
			e.Set("gelf.version", f.Value)
		case "host":
			host = f.Value
			e.Set("host.name", f.Value)
		case "short_message":
			short, haveShort = f.Value, true
			e.Set(event.FieldMessage, f.Value)
		case "full_message":
			e.Set("gelf.full_message", f.Value)
		case "timestamp":
			ts, err := parseTimestamp(f.Value)
			if err != nil {
				problems = append(problems, "timestamp: "+err.Error())
				e.Set("gelf.timestamp", f.Value)
			} else {
				t = ts
			}
		case "level":
			n, err := strconv.Atoi(f.Value)
			if err != nil || n < 0 || n > 7 {
				problems = append(problems, "level: want a syslog severity 0-7, got "+strconv.Quote(truncate(f.Value)))
				e.Set("gelf.level", f.Value)
			} else {
				e.Set("log.syslog.severity.code", strconv.Itoa(n))
				e.Set("log.level", severityNames[n])
			}
		case "facility":
			e.Set("gelf.facility", f.Value)
		case "line":
			e.Set("log.origin.file.line", f.Value)
		case "file":
			e.Set("log.origin.file.name", f.Value)
		default:
			name := f.Name
			if strings.HasPrefix(name, "_") && len(name) > 1 {
				name = name[1:]
				if name == "id" || reserved(name) {
					name = "gelf." + name
				}
			} else {
				// Not allowed by the specification; kept all the same.
				name = "gelf." + name
			}
			e.Set(name, f.Value)
		}
	}
	e.SetIfAbsent("event.module", "gelf")
	e.SetIfAbsent("event.dataset", "gelf")
	if !t.IsZero() {
		e.Time = t
	}
	if version != "" && version != "1.1" && version != "1.0" {
		problems = append(problems, "version: want 1.1, got "+strconv.Quote(truncate(version)))
	}
	if host == "" {
		problems = append(problems, "host: missing or empty")
	}
	if !haveShort || short == "" {
		problems = append(problems, "short_message: missing or empty")
		if !e.Has(event.FieldMessage) {
			e.Set(event.FieldMessage, "")
		}
	}
	if len(problems) > 0 {
		return &Error{Msg: strings.Join(problems, "; "), Partial: true}
	}
	return nil
}

// parseTimestamp reads seconds since the epoch with an optional fraction
// ("1385053862.3072"), exactly (no float rounding) when written plainly.
func parseTimestamp(s string) (time.Time, error) {
	sec, frac, hasFrac := strings.Cut(s, ".")
	if isDigits(sec) && len(sec) <= 11 && (!hasFrac || (isDigits(frac) && len(frac) <= 9)) {
		n, _ := strconv.ParseInt(sec, 10, 64)
		ns := int64(0)
		if hasFrac {
			v, _ := strconv.ParseInt(frac, 10, 64)
			for i := len(frac); i < 9; i++ {
				v *= 10
			}
			ns = v
		}
		return time.Unix(n, ns).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("want seconds since the epoch, got %q", truncate(s))
	}
	return time.Unix(0, int64(f*1e9)).UTC(), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
