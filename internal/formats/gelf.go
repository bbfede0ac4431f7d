package formats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/parse/gelf"
)

var gelfFormat = Format{
	Name:   "gelf",
	Doc:    "GELF 1.1 messages (Graylog Extended Log Format), gzip or zlib compressed or plain; in files one per line or NUL-separated",
	Record: GELFRecord,
	File:   gelfFile,
	Upload: UploadRecords,
}

// GELFRecord is the RecordParser of format gelf, for the GELF listeners
// (one UDP message after chunk reassembly, one TCP frame, one HTTP
// body): it decompresses the message (bounded by MaxRecordBytes), maps
// it, and normalizes it as JSON ingest does — NXLog's Windows fields,
// CEF/LEEF/key=value or web server lines in short_message, Linux
// authentication facts. A message that is not GELF is kept with its text
// and vigil.parse_error.
func GELFRecord(opt Options) (RecordParser, error) {
	payloads := normalize.NewPayloads(opt.location())
	return func(rec []byte, e *event.Event) error {
		msg, err := gelf.Decompress(rec, opt.maxRecord())
		if err == nil {
			err = gelf.Decode(e, msg)
		}
		var ge *gelf.Error
		if err != nil && !(errors.As(err, &ge) && ge.Partial) {
			// Not GELF: kept as text (or as its size, when binary).
			e.Set("event.module", "gelf")
			e.Set("event.dataset", "gelf")
			if utf8.Valid(rec) {
				e.Set(event.FieldMessage, string(rec))
				e.Set(event.FieldOriginal, string(rec))
			} else {
				e.Set(event.FieldMessage, fmt.Sprintf("unreadable GELF payload of %d bytes", len(rec)))
			}
			e.Set(event.FieldParseError, err.Error())
			if e.Time.IsZero() {
				e.Time = opt.now()
			}
			return nil
		}
		if err != nil {
			e.Set(event.FieldParseError, err.Error())
			e.Set(event.FieldOriginal, string(msg))
		} else if opt.KeepOriginal {
			e.Set(event.FieldOriginal, string(msg))
		}
		// A message's own time only: short_message may hold a record
		// with its own (a syslog line, a web server line).
		t := e.Time
		e.Time = time.Time{}
		normalize.JSONEvent(e, payloads)
		if e.Time.IsZero() {
			e.Time = t
		}
		if e.Time.IsZero() {
			e.Time = opt.now()
		}
		return nil
	}, nil
}

// gelfFile reads GELF messages one per line or separated by NUL bytes
// (as a GELF TCP stream is).
func gelfFile(r io.Reader, opt Options, emit Emit) ([]error, error) {
	parse, err := GELFRecord(opt)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), opt.maxRecord()+1)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexAny(data, "\x00\n"); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	var problems []error
	n := 0
	for sc.Scan() {
		n++
		rec := bytes.TrimSpace(sc.Bytes())
		if len(rec) == 0 {
			continue
		}
		var e event.Event
		_ = parse(rec, &e)
		if v, ok := e.Get(event.FieldParseError); ok {
			problems = append(problems, fmt.Errorf("record %d: %s", n, v))
		}
		if err := emit(&e); err != nil {
			return problems, err
		}
	}
	if err := sc.Err(); err != nil {
		return problems, fmt.Errorf("record %d: %w", n+1, err)
	}
	return problems, nil
}
