// Package syslog turns syslog messages into Vigil events and splits syslog
// byte streams into messages.
//
// Parser reads one message — RFC 5424 (through github.com/leodido/go-syslog),
// RFC 3164 and the many BSD-style variants real senders produce (no PRI, ISO
// 8601 timestamps, no hostname, Cisco counters and %FAC-SEV-MNEMONIC tags,
// bare text) — and writes Elastic Common Schema fields into an
// event.Event: log.syslog.*, host.name, process.name, process.pid, message,
// event.original. A message that cannot be parsed is never dropped: the
// event keeps the raw text and says why in vigil.parse_error.
//
// Framer splits a stream connection (TCP, TLS) into messages, detecting
// octet counting (RFC 6587, RFC 5425 "LEN SP MSG") or newline framing from
// the first bytes of the connection, bounded by a maximum message size.
// UDP needs no framer: a datagram is one message.
//
// Everything here is a pure function of its input and the clock it is
// given; nothing reads global state.
package syslog

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
)

// DefaultMaxSize is the message size limit used when Parser.MaxSize or the
// maxSize given to NewFramer is 0.
const DefaultMaxSize = 64 << 10

// DefaultFutureTolerance is used when Parser.FutureTolerance is 0. It is a
// day rather than minutes because an RFC 3164 stamp carries no zone: a
// sender whose clock runs in a zone other than the listener's Location
// appears up to 14 hours in the future, and a tight tolerance would then
// date all its events a year back.
const DefaultFutureTolerance = 24 * time.Hour

// Field names the parser writes besides the ECS ones (see docs/schema.md).
const (
	// FieldTruncated is "true" when the message was longer than the maximum
	// size (or cut short by the end of a stream) and only its beginning was
	// kept.
	FieldTruncated = "vigil.truncated"
	// FieldOriginalSize is the size in bytes of a truncated message as sent.
	FieldOriginalSize = "vigil.original_size"
)

// Parser parses syslog messages into events. The zero value is ready to
// use; set the fields before the first Parse and do not change them after.
// A Parser is safe for concurrent use.
type Parser struct {
	// Location is the time zone of timestamps that carry none (RFC 3164
	// stamps, ISO timestamps without offset). nil means UTC.
	Location *time.Location
	// MaxSize is the largest message kept, in bytes (DefaultMaxSize when
	// 0). Longer messages are cut at a UTF-8 boundary and flagged with
	// FieldTruncated and FieldOriginalSize.
	MaxSize int
	// Now is the clock: the time given to messages without a timestamp and
	// the reference for the year of RFC 3164 stamps. nil means time.Now.
	Now func() time.Time
	// KeepOriginal stores the message as received in event.original.
	// Unparseable messages always keep it.
	KeepOriginal bool
	// FutureTolerance is how far in the future (by the clock) an RFC 3164
	// stamp may lie and still get the current year; beyond it the previous
	// year is taken. DefaultFutureTolerance when 0.
	FutureTolerance time.Duration

	// machines are idle RFC 5424 parsing machines: one per message
	// would be an allocation per message, and a Parser is shared by
	// every connection of a listener.
	machines sync.Pool
}

// ParseError says why a message could not be parsed and where: Offset is
// the byte position in the message (after trailing CR, LF and NUL were
// trimmed).
type ParseError struct {
	Format string // "syslog", "rfc5424" or "rfc3164"
	Offset int
	Reason string
}

func (e *ParseError) Error() string {
	return e.Format + ": " + e.Reason + " at byte " + strconv.Itoa(e.Offset)
}

// ErrEmpty is returned (inside a *ParseError) for an empty message.
var ErrEmpty = errors.New("empty message")

func (p *Parser) maxSize() int {
	if p.MaxSize > 0 {
		return p.MaxSize
	}
	return DefaultMaxSize
}

func (p *Parser) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Parser) location() *time.Location {
	if p.Location != nil {
		return p.Location
	}
	return time.UTC
}

func (p *Parser) tolerance() time.Duration {
	if p.FutureTolerance > 0 {
		return p.FutureTolerance
	}
	return DefaultFutureTolerance
}

// TrimTrailer returns msg without trailing CR, LF and NUL bytes.
func TrimTrailer(msg []byte) []byte {
	n := len(msg)
	for n > 0 && (msg[n-1] == '\n' || msg[n-1] == '\r' || msg[n-1] == 0) {
		n--
	}
	return msg[:n]
}

// cutUTF8 returns the longest prefix of b not longer than n bytes that
// does not end inside a UTF-8 sequence.
func cutUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return trimPartialRune(b[:n])
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b (left
// there by cutting b at a byte count).
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		c := b[i]
		if c < utf8.RuneSelf {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}

// FieldsHint is the field capacity an event should have before Parse so
// that parsing and normalization (up to about 30 fields) need no further
// allocation. Parse makes room itself when dst has fewer than FieldsHint-8
// free slots.
const FieldsHint = 32

// Parse parses one message into dst: it sets dst.Time and appends fields
// (pass a Reset event, or one holding only fields the caller added, such
// as log.source.address). Trailing CR, LF and NUL are ignored.
//
// The event is complete whatever the input. When the message cannot be
// parsed, Parse returns a *ParseError and the event holds the raw text in
// message and event.original, the reason in vigil.parse_error, the
// receive time, and the PRI fields when the PRI itself was valid.
func (p *Parser) Parse(msg []byte, dst *event.Event) error {
	msg = TrimTrailer(msg)
	var truncatedFrom int
	if max := p.maxSize(); len(msg) > max {
		truncatedFrom = len(msg)
		msg = cutUTF8(msg, max)
	}
	if cap(dst.Fields)-len(dst.Fields) < FieldsHint-8 {
		nf := make([]event.Field, len(dst.Fields), len(dst.Fields)+FieldsHint)
		copy(nf, dst.Fields)
		dst.Fields = nf
	}
	err := p.parse(msg, dst)
	if truncatedFrom > 0 {
		MarkTruncated(dst, int64(truncatedFrom))
	}
	return err
}

// MarkTruncated flags dst as holding only the beginning of a message of
// originalSize bytes. Listeners call it for messages the Framer returned
// with an ErrTruncated or ErrUnterminated *FrameError.
func MarkTruncated(dst *event.Event, originalSize int64) {
	dst.Set(FieldTruncated, "true")
	dst.Set(FieldOriginalSize, strconv.FormatInt(originalSize, 10))
}

func (p *Parser) parse(msg []byte, dst *event.Event) error {
	if len(msg) == 0 {
		dst.Time = p.now()
		p.addCommon(dst)
		dst.Add(event.FieldMessage, "")
		err := &ParseError{Format: "syslog", Offset: 0, Reason: ErrEmpty.Error()}
		dst.Add(event.FieldParseError, err.Error())
		return err
	}
	pri, end, perr := scanPRI(msg)
	if perr != nil {
		return p.fail(msg, "", dst, perr)
	}
	if pri >= 0 {
		switch v := versionAt(msg, end); {
		case v == 1:
			return p.parse5424(msg, pri, dst, true)
		case v > 1:
			// Only version 1 exists; another number is as likely the
			// start of a text message, so failing 5424 is not an error.
			if p.parse5424(msg, pri, dst, false) == nil {
				return nil
			}
		}
	}
	return p.parse3164(msg, pri, end, dst)
}

// versionAt returns the RFC 5424 VERSION at msg[i:] ("1" to "999"
// followed by a space), or 0.
func versionAt(msg []byte, i int) int {
	if i >= len(msg) || msg[i] < '1' || msg[i] > '9' {
		return 0
	}
	v, j := 0, i
	for j < len(msg) && j-i < 3 && msg[j] >= '0' && msg[j] <= '9' {
		v = v*10 + int(msg[j]-'0')
		j++
	}
	if j >= len(msg) || msg[j] != ' ' {
		return 0
	}
	return v
}

// fail fills dst for a message that could not be parsed. s is msg as a
// string when the caller already has it.
func (p *Parser) fail(msg []byte, s string, dst *event.Event, err *ParseError) error {
	if s == "" {
		s = string(msg)
	}
	dst.Time = p.now()
	p.addCommon(dst)
	dst.Add(event.FieldMessage, s)
	dst.Add(event.FieldOriginal, s)
	dst.Add(event.FieldParseError, err.Error())
	return err
}

func (p *Parser) addCommon(dst *event.Event) {
	dst.Add("event.module", "syslog")
	dst.Add("event.dataset", "syslog")
}

// scanPRI reads "<N>" at the start of msg. It returns pri -1 and end 0
// when msg does not start with '<'.
func scanPRI(msg []byte) (pri, end int, err *ParseError) {
	if msg[0] != '<' {
		return -1, 0, nil
	}
	v, i := 0, 1
	for i < len(msg) && i <= 4 && msg[i] >= '0' && msg[i] <= '9' {
		v = v*10 + int(msg[i]-'0')
		i++
	}
	switch {
	case i == 1:
		return -1, 0, &ParseError{Format: "syslog", Offset: 1, Reason: "invalid PRI: expected digits after '<'"}
	case i > 4:
		return -1, 0, &ParseError{Format: "syslog", Offset: i, Reason: "invalid PRI: more than 3 digits"}
	case i == len(msg) || msg[i] != '>':
		return -1, 0, &ParseError{Format: "syslog", Offset: i, Reason: "invalid PRI: expected '>'"}
	case v > 191:
		return -1, 0, &ParseError{Format: "syslog", Offset: 1, Reason: fmt.Sprintf("invalid PRI: %d is above 191", v)}
	}
	return v, i + 1, nil
}

// addPRI appends the fields derived from a PRI value: the priority, the
// facility's name and the severity's name (log.level). The numeric codes
// and a second copy of the severity name are not stored: every stored
// field costs CPU and disk per event, and they follow from the priority
// (facility = priority / 8, severity = priority % 8).
func addPRI(dst *event.Event, pri int) {
	fac, sev := pri>>3, pri&7
	dst.Add("log.syslog.priority", smallInt(pri))
	dst.Add("log.syslog.facility.name", facilityNames[fac])
	dst.Add("log.level", severityNames[sev])
}

// facilityNames are the RFC 5427 keywords, as rsyslog, syslog-ng and
// logger(1) spell them.
var facilityNames = [24]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// severityNames are the names Elastic's syslog processing uses.
var severityNames = [8]string{
	"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
}

// smallInts holds the decimal text of 0..191 so that PRI fields cost no
// allocation.
var smallInts = func() (t [192]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func smallInt(v int) string {
	if v >= 0 && v < len(smallInts) {
		return smallInts[v]
	}
	return strconv.Itoa(v)
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
