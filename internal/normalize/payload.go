package normalize

import (
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize/windows"
	"github.com/vigil-siem/vigil/internal/parse/cef"
	"github.com/vigil-siem/vigil/internal/parse/leef"
)

// Payloads recognises structured records carried as the message of a
// syslog line or a JSON event — ArcSight CEF and IBM LEEF — and replaces
// the generic message with their fields. It is safe for concurrent use.
type Payloads struct {
	cef  sync.Pool
	leef sync.Pool
}

// NewPayloads returns a recogniser; loc is the time zone of device times
// that carry none.
func NewPayloads(loc *time.Location) *Payloads {
	p := &Payloads{}
	p.cef.New = func() any { return cef.NewParser(cef.Options{Location: loc}) }
	p.leef.New = func() any { return leef.NewParser(leef.Options{Location: loc}) }
	return p
}

// Apply parses a CEF or LEEF record found in e's message into e. It reports
// whether it found one; a record that does not parse is kept as it is, with
// the reason in vigil.parse_error.
func (p *Payloads) Apply(e *event.Event) bool {
	msg, ok := e.Get(event.FieldMessage)
	if !ok || len(msg) < 5 || !(strings.Contains(msg, "CEF:") || strings.Contains(msg, "LEEF:")) {
		return false
	}
	b := []byte(msg)
	var (
		scratch event.Event
		err     error
		kind    string
	)
	if i := cef.Index(b); i >= 0 {
		kind = "cef"
		pr := p.cef.Get().(*cef.Parser)
		err = pr.Append(&scratch, b[i:])
		p.cef.Put(pr)
	} else if i := leef.Index(b); i >= 0 {
		kind = "leef"
		pr := p.leef.Get().(*leef.Parser)
		err = pr.Append(&scratch, b[i:])
		p.leef.Put(pr)
	} else {
		return false
	}
	if err != nil {
		e.Set(event.FieldParseError, kind+": "+err.Error())
		return true
	}
	// The record's fields win over the syslog header's (event.module, the
	// message); the syslog fields it does not name stay.
	for _, f := range scratch.Fields {
		e.Set(f.Name, f.Value)
	}
	e.Set("event.dataset", kind)
	if !scratch.Time.IsZero() {
		e.Time = scratch.Time
	}
	return true
}

// windowsPool holds per-goroutine Windows normalizers (they cache names).
var windowsPool = sync.Pool{New: func() any { return windows.NewNormalizer() }}

// JSONEvent normalizes an event received as JSON: Windows events in any of
// their JSON forms (Winlogbeat, evtx_dump, NXLog) are brought to the
// Winlogbeat layout; other events get the cheap repairs of JSON, and a
// CEF or LEEF record in their message is parsed when payloads is set.
func JSONEvent(e *event.Event, payloads *Payloads) {
	if f := windows.Detect(e); f != windows.FormUnknown {
		n := windowsPool.Get().(*windows.Normalizer)
		err := n.NormalizeForm(e, f)
		windowsPool.Put(n)
		if err != nil {
			e.Set(event.FieldParseError, "windows event: "+err.Error())
		}
		return
	}
	if payloads != nil && payloads.Apply(e) {
		return
	}
	JSON(e)
}

// SyslogEvent normalizes an event made by the syslog parser: a CEF or LEEF
// record in the message is parsed, else Linux authentication facts are
// extracted.
func SyslogEvent(e *event.Event, payloads *Payloads) {
	if payloads != nil && payloads.Apply(e) {
		return
	}
	Syslog(e)
}
