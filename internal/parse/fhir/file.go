package fhir

import (
	"bufio"
	"bytes"
	"fmt"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Events maps a file to events: one AuditEvent or a batch/transaction
// Bundle (JSON or XML), or NDJSON (one AuditEvent per line). Invalid resources become
// events with vigil.parse_error (and the JSON in event.original when
// opt.KeepOriginal); the errors are also returned.
func Events(data []byte, lim Limits, opt Options, now time.Time) ([]event.Event, []error) {
	var evs []event.Event
	var errs []error
	add := func(where string, req *Request, err error, raw []byte) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			e := event.Event{Time: now}
			e.Set("event.module", "fhir")
			e.Set(event.FieldMessage, "invalid FHIR request")
			e.Set(event.FieldParseError, err.Error())
			if opt.KeepOriginal {
				e.Set(event.FieldOriginal, string(raw))
			}
			evs = append(evs, e)
			return
		}
		for _, en := range req.Entries {
			var e event.Event
			if en.Err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, en.Err))
				e.Time = now
				e.Set("event.module", "fhir")
				e.Set(event.FieldMessage, "invalid FHIR AuditEvent")
				e.Set(event.FieldParseError, en.Err.Error())
				if opt.KeepOriginal {
					e.Set(event.FieldOriginal, string(en.Raw))
				}
			} else {
				MapEvent(&e, en.Event, en.Raw, opt)
			}
			evs = append(evs, e)
		}
	}
	trimmed := bytes.TrimSpace(data)
	if req, err := ParseRequestAuto(trimmed, lim); err == nil || !bytes.Contains(trimmed, []byte("\n")) {
		add("file", req, err, trimmed)
		return evs, errs
	}
	// NDJSON.
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, lim.withDefaults().MaxResourceBytes+1)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		req, err := ParseRequest(line, lim)
		add(fmt.Sprintf("line %d", n), req, err, line)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("reading NDJSON: %w", err))
	}
	return evs, errs
}
