// Package atnasyslog recognises DICOM / IHE ATNA audit messages carried in
// syslog (IHE ITI-20: RFC 5424 over TLS or UDP, the XML as MSG) and adds
// the audit fields to the syslog event, which keeps its log.syslog.*
// fields. Recognition costs a few byte comparisons for ordinary syslog
// messages, so it can run on every syslog event.
package atnasyslog

import (
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/atna"
)

// Recognizer adds audit fields to syslog events holding an audit message.
// The zero value is ready to use.
type Recognizer struct {
	Limits atna.Limits
	// Options.KeepOriginal stores the XML in event.original (PHI).
	Options atna.Options
}

// sniffBytes is how far into the message the root element is looked for
// (past a byte order mark, XML declaration and comments).
const sniffBytes = 512

// IsAudit reports whether msg looks like an audit message: its first
// non-blank character opens an XML element and <AuditMessage appears near
// the start.
func IsAudit(msg string) bool {
	i := 0
	if strings.HasPrefix(msg, "\ufeff") {
		i = 3
	}
	for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == '\n') {
		i++
	}
	if i >= len(msg) || msg[i] != '<' {
		return false
	}
	head := msg[i:min(len(msg), i+sniffBytes)]
	return strings.Contains(head, "<AuditMessage")
}

// Apply adds the audit fields to e when its message is an audit message
// and reports whether it was one. The event becomes event.module "atna"
// (dataset atna.audit) and its message the audit summary (no patient
// data). A message that does not parse keeps its text and gets
// vigil.parse_error; one that breaks the schema is mapped as far as it
// goes and also gets vigil.parse_error.
func (r *Recognizer) Apply(e *event.Event) bool {
	msg, ok := e.Get(event.FieldMessage)
	if !ok || !IsAudit(msg) {
		return false
	}
	if err := atna.AppendEvent(e, []byte(msg), r.Limits, r.Options); err != nil {
		e.Set(event.FieldParseError, err.Error())
		e.Set("event.module", "atna")
		e.Set("event.dataset", "atna.audit")
	}
	return true
}

// Apply is (&Recognizer{}).Apply(e): default limits, no event.original.
func Apply(e *event.Event) bool {
	var r Recognizer
	return r.Apply(e)
}
