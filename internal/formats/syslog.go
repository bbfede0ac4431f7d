package formats

import (
	"errors"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest/atnasyslog"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/parse/atna"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

var syslogFormat = Format{
	Name:   "syslog",
	Doc:    "syslog messages, one per line (RFC 5424, RFC 3164 and variants); CEF, LEEF, key=value and ATNA audit XML payloads recognised",
	Record: SyslogRecord,
	File:   lines(SyslogRecord),
	Upload: UploadRecords,
}

// syslogParser is the syslog parser of opt.
func syslogParser(opt Options) *syslog.Parser {
	return &syslog.Parser{Location: opt.Location, MaxSize: opt.maxRecord(), KeepOriginal: opt.KeepOriginal, Now: opt.Now}
}

// SyslogRecord is the RecordParser of format syslog, for the syslog
// listeners. It parses a syslog message and what it carries: a DICOM/ATNA
// audit message, a CEF, LEEF or key=value record, or the authentication
// facts of a Linux sshd, sudo, su or PAM message.
func SyslogRecord(opt Options) (RecordParser, error) {
	p := syslogParser(opt)
	payloads := normalize.NewPayloads(opt.location())
	audit := &atnasyslog.Recognizer{Options: atna.Options{KeepOriginal: opt.KeepOriginal}}
	return func(rec []byte, e *event.Event) error {
		_ = p.Parse(rec, e) // a failure is kept in the event
		if !audit.Apply(e) {
			normalize.SyslogEvent(e, payloads)
		}
		return nil
	}, nil
}

// recordFormat is a format of CEF, LEEF or key=value records one per line,
// with or without a syslog header: the line is read as syslog, then the
// record in its message.
func recordFormat(name, doc string) Format {
	rec := func(opt Options) (RecordParser, error) {
		p := syslogParser(opt)
		payloads := normalize.NewPayloads(opt.location())
		return func(rec []byte, e *event.Event) error {
			_ = p.Parse(rec, e) // a bare record is kept as the message
			e.Delete(event.FieldParseError)
			if !payloads.Apply(e) {
				e.Set("event.module", name)
				e.Set("event.dataset", name)
				e.Set(event.FieldParseError, errNoRecord.Error())
			}
			return nil
		}, nil
	}
	return Format{Name: name, Doc: doc, Record: rec, File: lines(rec), Upload: UploadRecords}
}

var errNoRecord = errors.New("no CEF, LEEF or key=value record in the line")
