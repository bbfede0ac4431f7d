package hl7

import (
	"bytes"
	"fmt"

	"github.com/vigil-siem/vigil/internal/event"
)

// SplitMessages splits a file holding several HL7 messages (one after
// the other, optionally MLLP framed or separated by blank lines) at every
// segment that starts with MSH. Bytes before the first MSH are dropped.
func SplitMessages(data []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(data); i++ {
		atLineStart := i == 0 || data[i-1] == '\r' || data[i-1] == '\n' || data[i-1] == 0x0B || data[i-1] == 0x1C
		if atLineStart && data[i] == 'M' && data[i+1] == 'S' && data[i+2] == 'H' {
			if start >= 0 {
				out = append(out, trimFrame(data[start:i]))
			}
			start = i
		}
	}
	if start >= 0 {
		out = append(out, trimFrame(data[start:]))
	}
	return out
}

func trimFrame(b []byte) []byte {
	return bytes.TrimRight(b, "\r\n\x0b\x1c \t")
}

// Events parses every message of a file and maps each to an event. A
// message that fails to parse becomes an event with the error in
// vigil.parse_error (and, with opt.KeepOriginal, the raw text in
// event.original), so nothing is dropped; the errors are also returned.
func Events(data []byte, lim Limits, opt EventOptions) ([]event.Event, []error) {
	var evs []event.Event
	var errs []error
	for i, msg := range SplitMessages(data) {
		var e event.Event
		m, err := Parse(msg, lim)
		if m != nil {
			MapEvent(&e, m, opt)
		}
		if err != nil {
			err = fmt.Errorf("message %d: %w", i+1, err)
			errs = append(errs, err)
			e.Set(event.FieldParseError, err.Error())
			e.Set("event.module", "hl7")
			if m == nil {
				e.Time = opt.Now
				e.Set(event.FieldMessage, "unparsable HL7 message")
				if opt.KeepOriginal {
					e.Set(event.FieldOriginal, string(msg))
				}
			}
		}
		evs = append(evs, e)
	}
	return evs, errs
}
