package syslog

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"github.com/vigil-siem/vigil/internal/event"
)

const bom = "\ufeff"

// parse5424 parses an RFC 5424 message ("<PRI>1 ...") with go-syslog.
// When it fails, dst is filled for the failure if final, else left
// unchanged.
func (p *Parser) parse5424(msg []byte, pri int, dst *event.Event, final bool) error {
	if p.fast5424(msg, pri, dst) {
		return nil
	}
	return p.goSyslog5424(msg, pri, dst, final)
}

// goSyslog5424 is parse5424 with go-syslog, for every message fast5424
// leaves to it.
func (p *Parser) goSyslog5424(msg []byte, pri int, dst *event.Event, final bool) error {
	m, _ := p.machines.Get().(gosyslog.Machine)
	if m == nil {
		m = rfc5424.NewMachine(rfc5424.WithBestEffort())
	}
	res, err := m.Parse(msg) // resets the machine's state
	p.machines.Put(m)
	sm, _ := res.(*rfc5424.SyslogMessage)
	if err == nil && sm == nil {
		err = errors.New("no message")
	}
	if err != nil && !final {
		return err
	}
	if err != nil {
		perr := &ParseError{Format: "rfc5424", Reason: err.Error()}
		perr.Reason, perr.Offset = splitCol(perr.Reason)
		// Keep the PRI; the rest of a broken header is not trustworthy.
		addPRI(dst, pri)
		return p.fail(msg, "", dst, perr)
	}
	var s string
	if p.KeepOriginal {
		s = string(msg)
	}
	if sm.Timestamp != nil {
		dst.Time = *sm.Timestamp
		_, off := sm.Timestamp.Zone()
		dst.Add("event.timezone", zoneName(off))
	} else {
		dst.Time = p.now()
	}
	addPRI(dst, pri)
	dst.Add("log.syslog.version", smallInt(int(sm.Version)))
	// HOSTNAME, APP-NAME and a numeric PROCID are stored once, under their
	// ECS names; a PROCID that is no process id keeps its syslog name.
	if sm.Hostname != nil {
		dst.Add("host.name", *sm.Hostname)
	}
	if sm.Appname != nil {
		dst.Add("process.name", *sm.Appname)
	}
	if sm.ProcID != nil {
		addProcID(dst, *sm.ProcID)
	}
	if sm.MsgID != nil {
		dst.Add("log.syslog.msgid", *sm.MsgID)
	}
	if sm.StructuredData != nil {
		addSD(dst, *sm.StructuredData)
	}
	text := ""
	if sm.Message != nil {
		text = strings.TrimPrefix(*sm.Message, bom)
	}
	p.addCommon(dst)
	dst.Add(event.FieldMessage, text)
	if p.KeepOriginal {
		dst.Add(event.FieldOriginal, s)
	}
	return nil
}

// addSD appends structured data as log.syslog.structured_data.<id>.<param>,
// in sorted order so that equal messages give equal events.
func addSD(dst *event.Event, sd map[string]map[string]string) {
	ids := make([]string, 0, len(sd))
	for id := range sd {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var names []string
	for _, id := range ids {
		params := sd[id]
		if len(params) == 0 {
			// An element without parameters still says something
			// (e.g. [meta]); keep its presence.
			dst.Add("log.syslog.structured_data."+id, "")
			continue
		}
		names = names[:0]
		for k := range params {
			names = append(names, k)
		}
		slices.Sort(names)
		prefix := "log.syslog.structured_data." + id + "."
		for _, k := range names {
			dst.Add(prefix+k, params[k])
		}
	}
}

// zoneName returns the UTC offset as ECS event.timezone text, "+hh:mm".
func zoneName(offset int) string {
	if offset%900 == 0 && offset >= -48*900 && offset <= 56*900 {
		return quarterZones[offset/900+48]
	}
	return formatZone(offset)
}

func formatZone(offset int) string {
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	h, m := offset/3600, offset%3600/60
	return string([]byte{sign, byte('0' + h/10), byte('0' + h%10), ':', byte('0' + m/10), byte('0' + m%10)})
}

// quarterZones holds every offset from -12:00 to +14:00 in steps of 15
// minutes, so that naming a zone does not allocate.
var quarterZones = func() (t [105]string) {
	for i := range t {
		t[i] = formatZone((i - 48) * 900)
	}
	return t
}()

// splitCol turns go-syslog's "reason [col N]" into ("reason", N).
func splitCol(s string) (string, int) {
	i := strings.LastIndex(s, " [col ")
	if i < 0 || !strings.HasSuffix(s, "]") {
		return s, 0
	}
	n, err := strconv.Atoi(s[i+6 : len(s)-1])
	if err != nil {
		return s, 0
	}
	return s[:i], n
}
