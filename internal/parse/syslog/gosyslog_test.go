package syslog

import (
	"fmt"
	"testing"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"github.com/vigil-siem/vigil/internal/event"
)

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestGoSyslog3164Vectors runs go-syslog's own RFC 3164 test inputs through
// both go-syslog's parser and ours. Wherever go-syslog accepts a message,
// ours must read the same header and text, except for the cases listed,
// where we read more of the message on purpose.
func TestGoSyslog3164Vectors(t *testing.T) {
	// Inputs where go-syslog, with the options below, reads something else
	// and why ours is preferred.
	differ := map[string]string{}
	p := &Parser{Now: fixedClock(testNow)}
	ref := rfc3164.NewMachine(rfc3164.WithRFC3339(), rfc3164.WithSecondFractions(), rfc3164.WithLenientDay())
	agreed := 0
	for _, in := range readVectors(t, "testdata/gosyslog-rfc3164.txt") {
		var e event.Event
		err := p.Parse([]byte(in), &e)
		if err == nil && e.Value(event.FieldMessage) == "" && len(TrimTrailer([]byte(in))) > 0 && e.Value("process.name") == "" && e.Value("host.name") == "" {
			t.Errorf("%q: parsed to an empty event", in)
		}
		res, rerr := ref.Parse([]byte(in))
		if rerr != nil || res == nil {
			continue
		}
		m := res.(*rfc3164.SyslogMessage)
		if why, ok := differ[in]; ok {
			t.Logf("%q: differs from go-syslog on purpose: %s", in, why)
			continue
		}
		want := map[string]string{
			"host.name":    deref(m.Hostname),
			"process.name": deref(m.Appname),
			"message":      deref(m.Message),
		}
		if m.Priority != nil {
			want["log.syslog.priority"] = smallInt(int(*m.Priority))
		}
		for name, w := range want {
			if got := e.Value(name); got != w {
				t.Errorf("%q: %s=%q, go-syslog says %q", in, name, got, w)
			}
		}
		if got, w := procID(&e), deref(m.ProcID); got != w {
			t.Errorf("%q: process id %q, go-syslog says %q", in, got, w)
		}
		if m.Timestamp != nil {
			g, w := e.Time.In(m.Timestamp.Location()), *m.Timestamp
			if g.Month() != w.Month() || g.Day() != w.Day() || g.Hour() != w.Hour() || g.Minute() != w.Minute() ||
				g.Second() != w.Second() || g.Nanosecond() != w.Nanosecond() || (w.Year() != 0 && g.Year() != w.Year()) {
				t.Errorf("%q: time %v, go-syslog says %v", in, g, w)
			}
		}
		agreed++
	}
	if agreed < 20 {
		t.Errorf("only %d vectors compared; the vector file looks wrong", agreed)
	}
	t.Logf("%d go-syslog RFC 3164 vectors read the same", agreed)
}

// TestGoSyslog5424Vectors: go-syslog's RFC 5424 inputs never make the
// parser panic, every valid one parses without error to go-syslog's
// values, and every invalid one carries a parse error.
func TestGoSyslog5424Vectors(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow)}
	var valid, invalid int
	for _, in := range readVectors(t, "testdata/gosyslog-rfc5424.txt") {
		var e event.Event
		err := p.Parse([]byte(in), &e)
		trimmed := TrimTrailer([]byte(in))
		res, rerr := rfc5424.NewParser().Parse(trimmed)
		if rerr != nil || res == nil {
			// Not RFC 5424 for go-syslog: for us it may still be an RFC
			// 3164 or text message, but when it looked like 5424 it must
			// have failed.
			if len(trimmed) > 5 && trimmed[0] == '<' && isRFC5424Start(trimmed) && err == nil {
				t.Errorf("%q: go-syslog refuses it (%v) but we accepted it", in, rerr)
			}
			invalid++
			continue
		}
		valid++
		if err != nil {
			t.Errorf("%q: %v; go-syslog accepts it", in, err)
			continue
		}
		m := res.(*rfc5424.SyslogMessage)
		checkSame(t, in, &e, m)
	}
	t.Logf("%d valid and %d invalid go-syslog RFC 5424 vectors", valid, invalid)
}

func isRFC5424Start(b []byte) bool {
	pri, end, err := scanPRI(b)
	return err == nil && pri >= 0 && end+1 < len(b) && b[end] == '1' && b[end+1] == ' '
}

func checkSame(t *testing.T, in string, e *event.Event, m *rfc5424.SyslogMessage) {
	t.Helper()
	for name, w := range map[string]*string{
		"host.name": m.Hostname, "process.name": m.Appname, "log.syslog.msgid": m.MsgID,
	} {
		got, ok := e.Get(name)
		if (w == nil) == ok || (w != nil && got != *w) {
			t.Errorf("%q: %s=%q (present %v), go-syslog says %q", in, name, got, ok, deref(w))
		}
	}
	if got, w := procID(e), deref(m.ProcID); got != w {
		t.Errorf("%q: process id %q, go-syslog says %q", in, got, w)
	}
	if w := deref(m.Message); e.Value(event.FieldMessage) != trimBOM(w) {
		t.Errorf("%q: message %q, go-syslog says %q", in, e.Value(event.FieldMessage), w)
	}
	if m.Timestamp != nil && !e.Time.Equal(*m.Timestamp) {
		t.Errorf("%q: time %v, go-syslog says %v", in, e.Time, *m.Timestamp)
	}
	if m.StructuredData != nil {
		for id, params := range *m.StructuredData {
			for k, v := range params {
				if got := e.Value("log.syslog.structured_data." + id + "." + k); got != v {
					t.Errorf("%q: SD %s.%s=%q, go-syslog says %q", in, id, k, got, v)
				}
			}
		}
	}
}

// procID is the PROCID as stored: process.pid, or log.syslog.procid when
// it is not a number.
func procID(e *event.Event) string {
	if v, ok := e.Get("process.pid"); ok {
		return v
	}
	return e.Value("log.syslog.procid")
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == bom {
		return s[3:]
	}
	return s
}

var _ gosyslog.Message = (*rfc5424.SyslogMessage)(nil)
var _ = time.UTC

// TestReusedMachinesKeepNothing: a Parser reuses its RFC 5424 machines
// from message to message; every go-syslog vector, parsed after all the
// others (valid and broken) in either order, gives the event a fresh
// Parser gives.
func TestReusedMachinesKeepNothing(t *testing.T) {
	vectors := readVectors(t, "testdata/gosyslog-rfc5424.txt")
	parse := func(p *Parser, in string) string {
		var e event.Event
		err := p.Parse([]byte(in), &e)
		return fmt.Sprint(fieldsOf(&e), err)
	}
	want := make([]string, len(vectors))
	for i, in := range vectors {
		want[i] = parse(&Parser{Now: fixedClock(testNow)}, in)
	}
	shared := &Parser{Now: fixedClock(testNow)}
	for pass := range 2 {
		for k := range vectors {
			i := k
			if pass == 1 {
				i = len(vectors) - 1 - k
			}
			if got := parse(shared, vectors[i]); got != want[i] {
				t.Fatalf("%q after other messages:\n got %s\nwant %s", vectors[i], got, want[i])
			}
		}
	}
}
