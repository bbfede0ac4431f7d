package syslog

import (
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// header is what parse3164 reads from a BSD-style message. All strings are
// substrings of the one string made from the message, so a message costs
// one allocation however many fields it has.
type header struct {
	time     time.Time
	hasTime  bool
	zone     string // event.timezone
	counter  string // Cisco message counter
	sequence string // Cisco service sequence number
	host     string
	tag      string
	pid      string
	text     string
}

// maxTag bounds the TAG (RFC 3164 says 32; real daemons use more).
const maxTag = 128

// maxPID bounds what is taken as the PID between brackets.
const maxPID = 64

// parse3164 parses everything that is not RFC 5424: RFC 3164 and its
// variants, with or without PRI (pri < 0 when absent; i is where the rest
// starts).
func (p *Parser) parse3164(msg []byte, pri, i int, dst *event.Event) error {
	s := string(msg)
	var h header
	if err := p.scan3164(s, pri >= 0, i, &h); err != nil {
		if pri >= 0 {
			addPRI(dst, pri)
		}
		return p.fail(msg, s, dst, err)
	}
	if h.hasTime {
		dst.Time = h.time
		dst.Add("event.timezone", h.zone)
	} else {
		dst.Time = p.now()
	}
	if pri >= 0 {
		addPRI(dst, pri)
	}
	if h.host != "" {
		// syslog-ng's chain_hostnames writes "sender/relay[/relay…]": the
		// host is the sender, and the whole chain is kept beside it.
		host, _, chained := strings.Cut(h.host, "/")
		if host == "" {
			host, chained = h.host, false
		}
		if chained {
			dst.Add("log.syslog.hostname", h.host)
		}
		dst.Add("host.name", host)
	}
	if h.tag != "" {
		if fac, sev, mnem, ok := ciscoTag(h.tag); ok {
			dst.Add("log.syslog.msgid", h.tag[1:])
			dst.Add("event.code", mnem)
			dst.Add("cisco.facility", fac)
			dst.Add("cisco.severity", sev)
		} else {
			dst.Add("process.name", h.tag)
		}
	}
	if h.pid != "" {
		addProcID(dst, h.pid)
	}
	switch {
	case h.sequence != "":
		dst.Add("event.sequence", h.sequence)
		if h.counter != "" {
			dst.Add("cisco.message_count", h.counter)
		}
	case h.counter != "":
		dst.Add("event.sequence", h.counter)
	}
	p.addCommon(dst)
	dst.Add(event.FieldMessage, h.text)
	if p.KeepOriginal {
		dst.Add(event.FieldOriginal, s)
	}
	return nil
}

// scan3164 fills h from s[i:].
//
//	[<PRI>] [counter: [sequence:]] [origin-host:] [TIMESTAMP[:]] [HOSTNAME [:]] [TAG[\[PID\]]:] MSG
//
// Without a timestamp, no hostname is looked for (a first word is as likely
// to be text); without PRI and timestamp (bare text), a TAG is taken only
// in its "name[pid]:" form.
func (p *Parser) scan3164(s string, hasPRI bool, i int, h *header) *ParseError {
	i = skipSpaces(s, i)
	i0 := i
	if hasPRI {
		i = scanCiscoCounters(s, i, h)
	}
	ts, end, found, err := scanTimestamp(s, i)
	if err != nil {
		return err
	}
	if !found && hasPRI {
		// Cisco "logging origin-id hostname": "router1: *Jan  8 ...".
		if host, at, ok := ciscoOriginHost(s, i); ok {
			if ts2, end2, found2, err2 := scanTimestamp(s, at); found2 {
				if err2 != nil {
					return err2
				}
				h.host, ts, end, found = host, ts2, end2, true
			}
		}
	}
	if !found && i != i0 {
		// "<13>12: text": digits and a colon, but no Cisco header.
		h.counter, h.sequence, i = "", "", i0
	}
	var pre prefix
	if !found {
		// "2006.01.04 node17 Jan 4 07:00:01 node17/node17 crond[1]: …":
		// a few words (a dated prefix, a host) before the timestamp.
		if pf, at, ok := scanPrefix(s, i); ok {
			if ts2, end2, found2, err2 := scanTimestamp(s, at); found2 && err2 == nil && pf.fits(&ts2) {
				pre, ts, end, found = pf, ts2, end2, true
				pre.apply(&ts)
			}
		}
	}
	if found {
		end = skipCiscoZone(s, end)
		if end < len(s) && s[end] == ':' {
			end++ // Cisco puts a colon after the time
		}
		if end < len(s) && s[end] != ' ' {
			found = false // "Nov 28 10:00:01x": text that starts like a date
		}
	}
	if found {
		now := p.now()
		loc := p.location()
		t, ok := resolve(&ts, loc, now, p.tolerance())
		if !ok {
			return &ParseError{Format: "rfc3164", Offset: i, Reason: "invalid timestamp: " + ts.month.String() + " " + smallInt(ts.day) + " is not a date"}
		}
		h.time, h.hasTime = t, true
		if ts.hasZone {
			h.zone = zoneName(ts.offset)
		} else {
			h.zone = loc.String()
		}
		i = skipSpaces(s, end)
		if h.host == "" {
			i = scanHost(s, i, h)
		}
		i = scanTag(s, i, true, h)
		if pre.weak() && h.tag == "" {
			// "backup Jan  4 07:00:01 done": text that mentions a time.
			*h = header{}
			i = scanTag(s, i0, hasPRI, h)
			h.text = s[skipSpaces(s, i):]
			return nil
		}
		if pre.words > 0 && h.host == "" {
			h.host = pre.host
		}
	} else {
		i = scanTag(s, i, hasPRI, h)
	}
	h.text = s[skipSpaces(s, i):]
	return nil
}

// scanCiscoCounters reads Cisco IOS "237: 000485: " (message counter,
// service sequence number) or the bare ": " a device sends with its
// counter disabled.
func scanCiscoCounters(s string, i int, h *header) int {
	for k := 0; k < 2; k++ {
		j := i
		for j < len(s) && j-i <= 10 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j >= len(s) || s[j] != ':' || (j+1 < len(s) && s[j+1] != ' ') || j-i > 10 {
			return i
		}
		if j == i {
			if k > 0 || j+1 >= len(s) {
				return i
			}
		} else if k == 0 {
			h.counter = s[i:j]
		} else {
			h.sequence = s[i:j]
		}
		i = skipSpaces(s, j+1)
	}
	return i
}

// ciscoOriginHost reads "name: " at s[i:] and returns the name and where
// the next token starts.
func ciscoOriginHost(s string, i int) (string, int, bool) {
	j := i
	for j < len(s) && isHostByte(s[j]) && s[j] != ':' {
		j++
	}
	if j == i || j+1 >= len(s) || s[j] != ':' || s[j+1] != ' ' {
		return "", 0, false
	}
	return s[i:j], skipSpaces(s, j+1), true
}

// skipCiscoZone skips a zone abbreviation after a Cisco time
// ("19:46:03.295 UTC:"), which carries no usable offset.
func skipCiscoZone(s string, end int) int {
	if end >= len(s) || s[end] != ' ' {
		return end
	}
	j := end + 1
	for j < len(s) && j-end <= 6 && s[j] >= 'A' && s[j] <= 'Z' {
		j++
	}
	if n := j - end - 1; n >= 3 && n <= 5 && j < len(s) && s[j] == ':' {
		return j
	}
	return end
}

// scanHost takes the word at s[i:] as the HOSTNAME when it looks like one
// and is followed by more text.
func scanHost(s string, i int, h *header) int {
	j := i
	for j < len(s) && s[j] != ' ' {
		if !isHostByte(s[j]) {
			return i
		}
		j++
	}
	if j == i || j >= len(s) || j-i > 255 || s[j-1] == ':' {
		return i
	}
	h.host = s[i:j]
	j = skipSpaces(s, j)
	// Cisco ASA "fw01 : %ASA-6-...".
	if j+1 < len(s) && s[j] == ':' && s[j+1] == ' ' {
		j = skipSpaces(s, j+1)
	}
	return j
}

// isHostByte reports whether c may appear in a HOSTNAME: letters, digits,
// '-', '.', '_', ':' (IPv6) and '/' (syslog-ng's chained host names,
// "sender/relay").
func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == ':' || c == '/'
}

// scanTag reads "TAG: " or "TAG[PID]: " at s[i:]. With plain false only
// the bracketed form is accepted.
func scanTag(s string, i int, plain bool, h *header) int {
	j := i
	for j < len(s) && j-i < maxTag {
		c := s[j]
		if c <= ' ' || c == ':' || c == '[' || c == 0x7f {
			break
		}
		j++
	}
	if j == i || j >= len(s) || isDigits(s[i:j]) {
		return i
	}
	if s[j] == ' ' && plain {
		// "Microsoft Word[4242]: …" (macOS): a program name with spaces,
		// taken only in its "name[pid]:" form.
		return scanSpacedTag(s, i, h)
	}
	switch s[j] {
	case '[':
		k := strings.IndexByte(s[j+1:min(len(s), j+2+maxPID)], ']')
		if k < 0 {
			return i
		}
		after := j + 2 + k
		switch {
		case after < len(s) && s[after] == ':':
			after++
		case after == len(s) || s[after] == ' ':
		default:
			return i
		}
		h.tag, h.pid = s[i:j], s[j+1:j+1+k]
		return after
	case ':':
		if !plain || (j+1 < len(s) && s[j+1] != ' ') {
			return i
		}
		h.tag = s[i:j]
		return j + 1
	}
	return i
}

// scanSpacedTag reads "NAME WITH SPACES[PID]: " at s[i:]: the name holds
// no ':', '[' or ']' and does not end with a space; PID is digits.
func scanSpacedTag(s string, i int, h *header) int {
	end := min(len(s), i+maxTag)
	lb := -1
	for j := i; j < end; j++ {
		c := s[j]
		if c == '[' {
			lb = j
			break
		}
		if c < ' ' || c == ':' || c == ']' || c == 0x7f || (c == ' ' && j+1 < len(s) && s[j+1] == ' ') {
			return i
		}
	}
	if lb <= i || s[lb-1] == ' ' {
		return i
	}
	k := lb + 1
	for k < len(s) && k-lb <= 10 && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k == lb+1 || k+1 >= len(s) || s[k] != ']' || s[k+1] != ':' {
		return i
	}
	h.tag, h.pid = s[i:lb], s[lb+1:k]
	return k + 2
}

// ciscoTag splits a Cisco "%FACILITY[-SUBFACILITY]-SEVERITY-MNEMONIC" tag.
func ciscoTag(tag string) (facility, severity, mnemonic string, ok bool) {
	if len(tag) < 6 || tag[0] != '%' {
		return "", "", "", false
	}
	// Find "-D-" with D a severity digit, after a non-empty facility.
	for k := 2; k+2 < len(tag); k++ {
		if tag[k] == '-' && tag[k+2] == '-' && tag[k+1] >= '0' && tag[k+1] <= '7' && k+3 < len(tag) {
			return tag[1:k], tag[k+1 : k+2], tag[k+3:], true
		}
	}
	return "", "", "", false
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// addProcID stores a process id as process.pid, or, when it is not a
// number, as log.syslog.procid.
func addProcID(dst *event.Event, id string) {
	if isDigits(id) && len(id) <= 10 {
		dst.Add("process.pid", id)
		return
	}
	dst.Add("log.syslog.procid", id)
}
