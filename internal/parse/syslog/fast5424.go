package syslog

import (
	"time"

	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/vigil-siem/vigil/internal/event"
)

// fast5424 parses the common shape of an RFC 5424 message: "<PRI>1 ",
// a timestamp or "-", host, app, procid and msgid, no structured data
// ("-") and an ASCII message. The values are substrings of one string of
// the message (the one event.original keeps), where go-syslog allocates
// a string for each of them and its result: most of what a syslog
// message cost in allocations. Anything else, valid or not, it leaves to
// go-syslog by returning false with dst unchanged; what it accepts it
// parses exactly as go-syslog does (FuzzFast5424MatchesGoSyslog).
func (p *Parser) fast5424(msg []byte, pri int, dst *event.Event) bool {
	// PRI without leading zeros, then version 1.
	i := 1
	for i < len(msg) && msg[i] != '>' {
		i++
	}
	if i >= len(msg) || i == 1 || (msg[1] == '0' && i > 2) {
		return false
	}
	i++
	if len(msg) < i+2 || msg[i] != '1' || msg[i+1] != ' ' {
		return false
	}
	i += 2
	var f [5]field // timestamp, host, app, procid, msgid
	limits := [5]int{32, 255, 48, 128, 32}
	for k := range f {
		start := i
		for i < len(msg) && msg[i] != ' ' {
			if c := msg[i]; c < 33 || c > 126 {
				return false
			}
			i++
		}
		if i == start || i-start > limits[k] || i >= len(msg) {
			return false
		}
		f[k] = field{start, i}
		i++ // the space
	}
	// No structured data, then the end or a space and the message.
	if i >= len(msg) || msg[i] != '-' || (i+1 < len(msg) && msg[i+1] != ' ') {
		return false
	}
	i++
	textStart := len(msg)
	if i < len(msg) {
		textStart = i + 1
	}
	for _, c := range msg[textStart:] {
		if c >= 0x80 { // a BOM, UTF-8 checks: go-syslog's business
			return false
		}
	}
	s := string(msg) // the one allocation: every value is a substring
	var ts time.Time
	hasTime := !f[0].nil(msg)
	if hasTime {
		var ok bool
		if ts, ok = parseStamp5424(s[f[0].start:f[0].end]); !ok {
			return false
		}
	}
	if hasTime {
		dst.Time = ts
		_, off := ts.Zone()
		dst.Add("event.timezone", zoneName(off))
	} else {
		dst.Time = p.now()
	}
	addPRI(dst, pri)
	dst.Add("log.syslog.version", smallInt(1))
	if !f[1].nil(msg) {
		dst.Add("host.name", s[f[1].start:f[1].end])
	}
	if !f[2].nil(msg) {
		dst.Add("process.name", s[f[2].start:f[2].end])
	}
	if !f[3].nil(msg) {
		addProcID(dst, s[f[3].start:f[3].end])
	}
	if !f[4].nil(msg) {
		dst.Add("log.syslog.msgid", s[f[4].start:f[4].end])
	}
	p.addCommon(dst)
	dst.Add(event.FieldMessage, s[textStart:])
	if p.KeepOriginal {
		dst.Add(event.FieldOriginal, s)
	}
	return true
}

// field is a header field's position in the message.
type field struct{ start, end int }

// nil reports whether the field is RFC 5424's NILVALUE "-".
func (f field) nil(msg []byte) bool { return f.end-f.start == 1 && msg[f.start] == '-' }

// parseStamp5424 parses a timestamp as go-syslog does, after checking
// the shape its grammar allows: FULL-DATE "T" HH:MM:SS, an optional
// fraction of 1 to 6 digits, and "Z" or an offset up to 23:59.
func parseStamp5424(b string) (time.Time, bool) {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if len(b) < len(shape)+1 {
		return time.Time{}, false
	}
	for i := range len(shape) {
		if c := b[i]; shape[i] == 'd' && (c < '0' || c > '9') || shape[i] != 'd' && c != shape[i] {
			return time.Time{}, false
		}
	}
	i := len(shape)
	if b[i] == '.' {
		j := i + 1
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i+1 || j-i-1 > 6 {
			return time.Time{}, false
		}
		i = j
	}
	switch rest := b[i:]; {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		rest[1] >= '0' && rest[1] <= '2' && rest[2] >= '0' && rest[2] <= '9' && (rest[1] < '2' || rest[2] <= '3') &&
		rest[4] >= '0' && rest[4] <= '5' && rest[5] >= '0' && rest[5] <= '9':
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(rfc5424.RFC3339MICRO, b)
	return t, err == nil
}
