package syslog

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

// FuzzParse: the parser never panics, always produces a message, flags
// every failure, and never invents text that was not in the input.
// Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] msg",
		"<189>237: 000485: *Jan 8 19:46:03.295: %SYS-5-CONFIG_I: Configured",
		"2024-11-28T10:00:01.123456+01:00 host sshd[1]: hello",
		"<13>hello", "", "<", "<999>", "Feb 29 10:00:00 h a: x",
	} {
		f.Add([]byte(s))
	}
	parsers := []*Parser{
		{Now: fixedClock(testNow), KeepOriginal: true},
		{Now: fixedClock(testNow), MaxSize: 40},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range parsers {
			var e, again event.Event
			err := p.Parse(data, &e)
			_ = p.Parse(data, &again)
			if fieldsOf(&e) != fieldsOf(&again) || !e.Time.Equal(again.Time) {
				t.Fatalf("%q: two parses differ", data)
			}
			if e.Time.IsZero() {
				t.Fatalf("%q: zero time", data)
			}
			if (err != nil) != e.Has(event.FieldParseError) {
				t.Fatalf("%q: error %v, parse_error %q", data, err, e.Value(event.FieldParseError))
			}
			seen := map[string]bool{}
			for _, fl := range e.Fields {
				if fl.Name == "" || seen[fl.Name] {
					t.Fatalf("%q: empty or repeated field name %q", data, fl.Name)
				}
				seen[fl.Name] = true
			}
			msg, ok := e.Get(event.FieldMessage)
			if !ok {
				t.Fatalf("%q: no message field", data)
			}
			if !bytes.Contains(data, []byte(msg)) {
				t.Fatalf("%q: message %q is not part of the input", data, msg)
			}
			kept := cutUTF8(TrimTrailer(data), p.maxSize())
			if err != nil && msg != string(kept) {
				t.Fatalf("%q: failed but message %q is not the raw text", data, msg)
			}
			if len(msg) > p.maxSize() {
				t.Fatalf("%q: message of %d bytes above the limit", data, len(msg))
			}
			if truncated := len(TrimTrailer(data)) > p.maxSize(); truncated != e.Has(FieldTruncated) {
				t.Fatalf("%q: truncated %v but flag %q", data, truncated, e.Value(FieldTruncated))
			}
		}
	})
}

// FuzzFramer: the framer never panics, always makes progress, never
// returns more than the limit, and accounts for every byte of the stream.
// Seeds: testdata/fuzz/FuzzFramer.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("5 <13>a6 <13>bc"), uint16(8))
	f.Add([]byte("<13>a\r\n<13>b\x00c"), uint16(3))
	f.Add([]byte("5 <13>ajunk 12345678901 x\n5 <13>b"), uint16(64))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		limit := int(max%512) + 1
		fr := NewFramer(bytes.NewReader(data), limit)
		last := int64(0)
		var kept int
		for {
			msg, err := fr.Next()
			if len(msg) > limit {
				t.Fatalf("%q: message of %d bytes above the limit %d", data, len(msg), limit)
			}
			kept += len(msg)
			if errors.Is(err, io.EOF) && msg == nil {
				break
			}
			var fe *FrameError
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("%q: unexpected error %v", data, err)
			}
			if fe != nil && (fe.Offset < last || fe.Offset > fr.Offset() || fe.Size < 0) {
				t.Fatalf("%q: frame error %v outside [%d, %d]", data, fe, last, fr.Offset())
			}
			if fr.Offset() <= last {
				t.Fatalf("%q: no progress at byte %d", data, last)
			}
			last = fr.Offset()
		}
		if fr.Offset() != int64(len(data)) {
			t.Fatalf("%q: consumed %d of %d bytes", data, fr.Offset(), len(data))
		}
		if kept > len(data) {
			t.Fatalf("%q: returned %d bytes from %d", data, kept, len(data))
		}
		// Newline framing returns every non-blank line.
		if fr.Framing() == FramingNonTransparent && limit >= len(data) {
			var want []string
			for _, l := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\n' || r == 0 }) {
				if l = string(TrimTrailer([]byte(strings.TrimLeft(l, "\r")))); l != "" {
					want = append(want, l)
				}
			}
			fr = NewFramer(bytes.NewReader(data), limit)
			for i := 0; ; i++ {
				msg, err := fr.Next()
				if err == io.EOF {
					if i != len(want) {
						t.Fatalf("%q: %d lines, want %d", data, i, len(want))
					}
					break
				}
				if i >= len(want) || string(msg) != want[i] {
					t.Fatalf("%q: line %d %q, want %q", data, i, msg, want)
				}
			}
		}
	})
}

// FuzzFast5424MatchesGoSyslog: whatever the fast RFC 5424 path accepts
// parses to exactly the event go-syslog gives (fields, their order, time
// and zone), and what it refuses leaves the event untouched.
func FuzzFast5424MatchesGoSyslog(f *testing.F) {
	for _, s := range []string{
		"<38>1 2026-12-07T10:00:00.123Z host1 sshd 4242 - - Failed password for invalid user admin from 10.1.2.3 port 51234 ssh2",
		"<165>1 2003-10-11T22:14:15.003-07:00 mymachine.example.com evntslog - ID47 - An application event",
		"<0>1 - - - - - -", "<191>1 2003-08-24T05:14:15.000003+23:59 h a p m -", "<13>1 2003-08-24T05:14:15Z h a 12a m - ",
		"<13>1 2003-02-30T05:14:15Z h a p m - x", "<13>1 2003-08-24T05:14:15.1234567Z h a p m - x",
		"<13>1 2003-08-24T05:14:15+24:00 h a p m - x", "<013>1 - h a p m - x", "<13>1 - h a p m [a b=\"c\"] x",
		"<13>1 - h a p m - \xef\xbb\xbfx", "<13>2 - h a p m - x",
	} {
		f.Add([]byte(s))
	}
	for _, s := range readVectors(f, "testdata/gosyslog-rfc5424.txt") {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := TrimTrailer(data)
		if len(msg) == 0 {
			return
		}
		pri, _, perr := scanPRI(msg)
		if perr != nil || pri < 0 {
			return
		}
		for _, keep := range []bool{true, false} {
			p := &Parser{Now: fixedClock(testNow), KeepOriginal: keep}
			var fast, slow event.Event
			if !p.fast5424(msg, pri, &fast) {
				if fast.Fields != nil || !fast.Time.IsZero() {
					t.Fatalf("%q: refused but changed the event: %v", msg, fast.Fields)
				}
				continue
			}
			if err := p.goSyslog5424(msg, pri, &slow, true); err != nil {
				t.Fatalf("%q: fast path accepted what go-syslog refuses: %v", msg, err)
			}
			_, fo := fast.Time.Zone()
			_, so := slow.Time.Zone()
			if got, want := fieldsOf(&fast), fieldsOf(&slow); got != want || !fast.Time.Equal(slow.Time) || fo != so {
				t.Fatalf("%q:\nfast %s %v\n  go-syslog %s %v", msg, got, fast.Time, want, slow.Time)
			}
		}
	})
}

// TestFast5424TakesTheCommonShape: the fast path takes the messages most
// senders send (no structured data, ASCII text) at one allocation, the
// message's string, and leaves the rest to go-syslog.
func TestFast5424TakesTheCommonShape(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow), KeepOriginal: true}
	f := func(msg string, want bool) {
		t.Helper()
		var e event.Event
		if got := p.fast5424([]byte(msg), 38, &e); got != want {
			t.Errorf("%q: fast path %v, want %v", msg, got, want)
		}
	}
	common := "<38>1 2026-12-07T10:00:00.123Z host1 sshd 4242 - - Failed password for invalid user admin from 10.1.2.3 port 51234 ssh2"
	f(common, true)
	f("<38>1 2026-12-07T10:00:00+01:00 host1 sshd - ID1 -", true)
	f("<38>1 - - - - - -", true)
	f(`<38>1 2026-12-07T10:00:00Z host1 app - - [origin ip="10.0.0.1"] text`, false) // structured data
	f("<38>1 2026-12-07T10:00:00Z host1 app - - - \xef\xbb\xbftext", false)          // BOM and UTF-8
	f("<38>1 2026-12-07T10:00:00.1234567Z host1 app - - - text", false)              // 7 fraction digits
	e := event.Event{Fields: make([]event.Field, 0, FieldsHint)}
	msg := []byte(common)
	if n := testing.AllocsPerRun(100, func() { e.Fields = e.Fields[:0]; _ = p.Parse(msg, &e) }); n > 1 {
		t.Errorf("%.1f allocations per common message, want 1 (its string)", n)
	}
}
