package formats

import (
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/weblog"
)

// webFormat is a web server log read one line per record: the line as the
// server wrote it to its file, or behind a syslog header (logger, the
// servers' own syslog output). Lines of this kind are also recognised in
// format syslog and in JSON messages without being named.
func webFormat(name, module string, kind weblog.Kind, doc string) Format {
	rec := func(opt Options) (RecordParser, error) {
		sp := syslogParser(opt)
		wopt := weblog.Options{Location: opt.Location, Module: module}
		parse := func(s string, e *event.Event) error {
			switch kind {
			case weblog.KindAccess:
				return weblog.ParseAccess(e, s, wopt)
			case weblog.KindApacheError:
				return weblog.ParseApacheError(e, s, wopt)
			}
			return weblog.ParseNginxError(e, s, wopt)
		}
		return func(rec []byte, e *event.Event) error {
			line := string(rec)
			var direct event.Event
			err := parse(line, &direct)
			if err == nil {
				e.Fields = append(e.Fields, direct.Fields...)
				e.Time = direct.Time
				if opt.KeepOriginal {
					e.Set(event.FieldOriginal, line)
				}
				if !e.Has(event.FieldMessage) {
					e.Set(event.FieldMessage, line) // access lines: the line is the message
				}
				return nil
			}
			// Behind a syslog header: the header's fields, then the line.
			_ = sp.Parse(rec, e)
			e.Delete(event.FieldParseError)
			msg := e.Value(event.FieldMessage)
			if err2 := parse(msg, e); err2 != nil {
				e.Set("event.module", module)
				if kind == weblog.KindAccess {
					e.Set("event.dataset", module+".access")
				} else {
					e.Set("event.dataset", module+".error")
				}
				e.Set(event.FieldOriginal, line)
				e.Set(event.FieldParseError, err.Error())
				return nil
			}
			if kind == weblog.KindAccess {
				e.Set(event.FieldMessage, msg)
			}
			return nil
		}, nil
	}
	return Format{Name: name, Doc: doc, Record: rec, File: lines(rec), Upload: UploadRecords}
}

var webFormats = []Format{
	webFormat("apache-access", weblog.Apache, weblog.KindAccess, "Apache access log (common, combined, vhost_combined), one line per request"),
	webFormat("apache-error", weblog.Apache, weblog.KindApacheError, "Apache error log (2.2 and 2.4 formats)"),
	webFormat("nginx-access", weblog.Nginx, weblog.KindAccess, "nginx access log (combined, extra fields kept)"),
	webFormat("nginx-error", weblog.Nginx, weblog.KindNginxError, "nginx error log"),
}
