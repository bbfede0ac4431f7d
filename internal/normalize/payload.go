package normalize

import (
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize/windows"
	"github.com/vigil-siem/vigil/internal/parse/cef"
	"github.com/vigil-siem/vigil/internal/parse/firewall"
	"github.com/vigil-siem/vigil/internal/parse/kv"
	"github.com/vigil-siem/vigil/internal/parse/leef"
	"github.com/vigil-siem/vigil/internal/parse/weblog"
)

// Payloads recognises structured records carried as the message of a
// syslog line or a JSON event — ArcSight CEF and IBM LEEF, web server
// access and error logs, key=value pairs — and replaces the generic
// message with their fields. It is safe for concurrent use.
type Payloads struct {
	cef     sync.Pool
	leef    sync.Pool
	kv      sync.Pool
	windows sync.Pool
	scratch sync.Pool // *event.Event a record is parsed into
	loc     *time.Location
}

// NewPayloads returns a recogniser; loc is the time zone of device times
// that carry none.
func NewPayloads(loc *time.Location) *Payloads {
	p := &Payloads{loc: loc}
	p.windows.New = func() any { n := windows.NewNormalizer(); n.Location = loc; return n }
	p.cef.New = func() any { return cef.NewParser(cef.Options{Location: loc}) }
	p.leef.New = func() any { return leef.NewParser(leef.Options{Location: loc}) }
	p.kv.New = func() any { return kv.NewParser(kv.Options{}) }
	p.scratch.New = func() any { return new(event.Event) }
	return p
}

// Apply parses a CEF or LEEF record, or a message of key=value pairs (as
// many firewalls send), found in e's message into e. It reports whether it
// found one; a record that does not parse is kept as it is, with the reason
// in vigil.parse_error.
func (p *Payloads) Apply(e *event.Event) bool {
	msg, ok := e.Get(event.FieldMessage)
	if !ok || len(msg) < 5 {
		return false
	}
	if !strings.Contains(msg, "CEF:") && !strings.Contains(msg, "LEEF:") {
		if d := firewall.Detect(e.Value("process.name"), e.Value("log.syslog.msgid"), msg); d != firewall.None {
			return p.applyFirewall(e, d, msg)
		}
		if k := weblog.Detect(msg); k != weblog.KindNone {
			return p.applyWeb(e, msg)
		}
		if looksLikeKV(msg) {
			return p.applyKV(e, msg)
		}
		return false
	}
	b := []byte(msg)
	var (
		err  error
		kind string
	)
	scratch := p.getScratch()
	defer p.scratch.Put(scratch)
	if i := cef.Index(b); i >= 0 {
		kind = "cef"
		pr := p.cef.Get().(*cef.Parser)
		err = pr.Append(scratch, b[i:])
		p.cef.Put(pr)
	} else if i := leef.Index(b); i >= 0 {
		kind = "leef"
		pr := p.leef.Get().(*leef.Parser)
		err = pr.Append(scratch, b[i:])
		p.leef.Put(pr)
	} else {
		return false
	}
	if err != nil {
		e.Set(event.FieldParseError, err.Error()) // names its format
		return true
	}
	// The record's fields win over the syslog header's (event.module, the
	// message); the syslog fields it does not name stay.
	merge(e, scratch.Fields)
	e.Set("event.dataset", kind)
	if !scratch.Time.IsZero() {
		e.Time = scratch.Time
	}
	return true
}

// getScratch returns an empty event to parse a record into, once, before
// its fields are merged into the event that carried it.
func (p *Payloads) getScratch() *event.Event {
	s := p.scratch.Get().(*event.Event)
	s.Reset()
	return s
}

// merge sets fields into e: a name e already has gets the new value, others
// are appended. Only e's fields from before the merge are searched (the
// record's own names are distinct), so a record costs one pass over the
// header per field rather than over everything appended so far.
func merge(e *event.Event, fields []event.Field) {
	n := len(e.Fields)
outer:
	for _, f := range fields {
		for i := 0; i < n; i++ {
			if e.Fields[i].Name == f.Name {
				e.Fields[i].Value = f.Value
				continue outer
			}
		}
		e.Fields = append(e.Fields, f)
	}
}

// windowsPool holds per-goroutine Windows normalizers (they cache names).
var windowsPool = sync.Pool{New: func() any { return windows.NewNormalizer() }}

// JSONEvent normalizes an event received as JSON: Windows events in any of
// their JSON forms (Winlogbeat, evtx_dump, NXLog) are brought to the
// Winlogbeat layout; other events get the cheap repairs of JSON, and a
// CEF or LEEF record in their message is parsed when payloads is set.
//
// e.Time is the time the document stated (@timestamp, HEC's time), or
// zero when it stated none: the record's own time is then taken from
// NXLog's fields (nxlogTime), zoneless ones read in the payloads' zone
// (UTC without payloads). The caller still clamps it (ingest.Stamp).
func JSONEvent(e *event.Event, payloads *Payloads) {
	if e.Time.IsZero() {
		loc := time.UTC
		if payloads != nil && payloads.loc != nil {
			loc = payloads.loc
		}
		nxlogTime(e, loc)
	}
	if f := windows.Detect(e); f != windows.FormUnknown {
		pool := &windowsPool
		if payloads != nil {
			pool = &payloads.windows
		}
		n := pool.Get().(*windows.Normalizer)
		err := n.NormalizeForm(e, f)
		pool.Put(n)
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

// looksLikeKV reports whether a message is a list of key=value pairs: it
// starts with one and holds at least four.
func looksLikeKV(msg string) bool {
	i := 0
	for i < len(msg) && isKeyByte(msg[i]) {
		i++
	}
	if i == 0 || i >= len(msg) || msg[i] != '=' {
		return false
	}
	pairs := 1
	for j := i + 1; j < len(msg) && pairs < 4; j++ {
		if msg[j] != ' ' {
			continue
		}
		k := j + 1
		for k < len(msg) && isKeyByte(msg[k]) {
			k++
		}
		if k > j+1 && k < len(msg) && msg[k] == '=' {
			pairs++
		}
	}
	return pairs >= 4
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// kvECS maps the keys firewalls commonly use to ECS fields (the pairs are
// kept under kv.* as well).
var kvECS = map[string]string{
	"srcip": "source.ip", "src": "source.ip", "src_ip": "source.ip", "source_ip": "source.ip", "sip": "source.ip",
	"dstip": "destination.ip", "dst": "destination.ip", "dst_ip": "destination.ip", "destination_ip": "destination.ip", "dip": "destination.ip",
	"srcport": "source.port", "spt": "source.port", "src_port": "source.port", "sport": "source.port",
	"dstport": "destination.port", "dpt": "destination.port", "dst_port": "destination.port", "dport": "destination.port",
	"user": "user.name", "srcuser": "user.name", "username": "user.name", "usrname": "user.name", "suser": "user.name",
	"action": "event.action", "act": "event.action", "proto": "network.transport", "protocol": "network.transport",
	"devname": "observer.name", "hostname": "host.name", "msg": "message", "severity": "log.level", "level": "log.level",
}

func (p *Payloads) applyKV(e *event.Event, msg string) bool {
	pr := p.kv.Get().(*kv.Parser)
	scratch := p.getScratch()
	defer p.scratch.Put(scratch)
	err := pr.Append(scratch, []byte(msg))
	p.kv.Put(pr)
	if err != nil {
		e.Set(event.FieldParseError, err.Error()) // names its format
		return true
	}
	// The pairs under kv.*, then the ECS fields the common keys map to (a
	// later pair naming the same ECS field wins, as before).
	n := len(scratch.Fields)
	for i := range n {
		f := scratch.Fields[i]
		if ecs, ok := kvECS[strings.ToLower(strings.TrimPrefix(f.Name, "kv."))]; ok && f.Value != "" {
			scratch.Set(ecs, f.Value)
		}
	}
	merge(e, scratch.Fields)
	e.Set("event.dataset", "kv")
	return true
}

// applyWeb parses a web server access or error log line (Apache, nginx).
// The server is told by the program that logged it (syslog), the file it
// was read from or the module a shipper named.
func (p *Payloads) applyWeb(e *event.Event, msg string) bool {
	scratch := p.getScratch()
	defer p.scratch.Put(scratch)
	_, err := weblog.Parse(scratch, msg, weblog.Options{Location: p.loc, Module: webModule(e)})
	if err != nil {
		e.Set(event.FieldParseError, err.Error())
		return true
	}
	merge(e, scratch.Fields)
	e.Time = scratch.Time
	return true
}

func webModule(e *event.Event) string {
	for _, name := range []string{"process.name", "log.file.path", "event.module", "event.dataset", "service.type"} {
		v := e.Value(name)
		if name == "log.file.path" {
			v = strings.ToLower(v)
			switch {
			case strings.Contains(v, "nginx"):
				return weblog.Nginx
			case strings.Contains(v, "apache"), strings.Contains(v, "httpd"):
				return weblog.Apache
			}
			continue
		}
		if m := weblog.ModuleOf(v); m != "" {
			return m
		}
	}
	return ""
}

// applyFirewall maps a firewall record (FortiOS, PAN-OS, Cisco ASA,
// filterlog) to ECS network fields.
func (p *Payloads) applyFirewall(e *event.Event, d firewall.Dialect, msg string) bool {
	if err := firewall.Parse(e, d, e.Value("log.syslog.msgid"), msg, firewall.Options{Location: p.loc}); err != nil {
		e.Set(event.FieldParseError, err.Error())
	}
	return true
}

// nxlogTime gives an event that stated no time the time NXLog wrote in
// it: EventTime (when the event happened, as the source logged it), else
// EventReceivedTime (when NXLog read it) — both closer to the truth than
// the time the record reached Vigil, which may be hours later after a
// queue drains. A zoneless time (NXLog's default "2006-01-02 15:04:05",
// the collecting host's local time) is read in loc. Whatever it finds is
// a sender's claim: the caller's ingest.Stamp still clamps a time in the
// future to the arrival.
func nxlogTime(e *event.Event, loc *time.Location) {
	for _, name := range [...]string{"EventTime", "EventReceivedTime"} {
		if v, ok := e.Get(name); ok {
			if t, _, ok := windows.ParseSystemTime(v, loc); ok {
				e.Time = t
				return
			}
		}
	}
}
