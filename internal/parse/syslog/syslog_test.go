package syslog

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// testNow is the clock of the tests: 2 January 2025, 00:30 UTC.
var testNow = time.Date(2025, 1, 2, 0, 30, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// fieldsOf renders the fields of e as "name=value" lines (in event order).
func fieldsOf(e *event.Event) string {
	var b strings.Builder
	for _, f := range e.Fields {
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(f.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

// check parses in and compares the time and the given fields; a want value
// of "-" means the field must be absent.
func check(t *testing.T, p *Parser, in, wantTime string, want map[string]string) *event.Event {
	t.Helper()
	var e event.Event
	err := p.Parse([]byte(in), &e)
	if (err != nil) != e.Has(event.FieldParseError) {
		t.Errorf("%q: error %v but parse_error field %q", in, err, e.Value(event.FieldParseError))
	}
	if wantTime != "" {
		if got := e.Time.UTC().Format(time.RFC3339Nano); got != wantTime {
			t.Errorf("%q: time %s, want %s", in, got, wantTime)
		}
	}
	for name, w := range want {
		got, ok := e.Get(name)
		switch {
		case w == "-" && ok:
			t.Errorf("%q: %s=%q, want absent", in, name, got)
		case w != "-" && !ok:
			t.Errorf("%q: %s absent, want %q\n%s", in, name, w, fieldsOf(&e))
		case w != "-" && got != w:
			t.Errorf("%q: %s=%q, want %q", in, name, got, w)
		}
	}
	seen := map[string]bool{}
	for _, f := range e.Fields {
		if seen[f.Name] {
			t.Errorf("%q: field %s twice", in, f.Name)
		}
		seen[f.Name] = true
	}
	return &e
}

func TestParseRFC3164(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow)}
	tests := []struct {
		in   string
		time string
		want map[string]string
	}{
		// RFC 3164 section 5.4 examples.
		{"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", "2024-10-11T22:14:15Z", map[string]string{
			"log.syslog.priority": "34", "log.syslog.facility.name": "auth", "log.level": "critical",
			"host.name": "mymachine", "process.name": "su", "log.syslog.procid": "-", "process.pid": "-",
			"message": "'su root' failed for lonvick on /dev/pts/8",
			// Stored once, under the ECS name, or derived from the priority.
			"log.syslog.hostname": "-", "log.syslog.appname": "-", "log.syslog.facility.code": "-",
			"log.syslog.severity.code": "-", "log.syslog.severity.name": "-",
			"event.module": "syslog", "event.dataset": "syslog", "event.timezone": "UTC", "event.original": "-",
		}},
		{"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", "2024-02-05T17:32:18Z", map[string]string{
			"host.name": "10.0.0.99", "process.name": "-", "message": "Use the BFG!",
		}},
		// Debian/Ubuntu auth.log as written to file (no PRI).
		{"Nov 28 10:00:01 web01 sshd[1234]: Accepted password for alice from 192.0.2.10 port 52211 ssh2", "2024-11-28T10:00:01Z", map[string]string{
			"log.syslog.priority": "-", "log.syslog.facility.name": "-", "host.name": "web01", "process.name": "sshd",
			"log.syslog.procid": "-", "process.pid": "1234", "message": "Accepted password for alice from 192.0.2.10 port 52211 ssh2",
		}},
		// Single-digit day, space padded, zero padded, single space (Cisco).
		{"Nov  8 10:00:01 web01 CRON[99]: (root) CMD (true)", "2024-11-08T10:00:01Z", map[string]string{"process.name": "CRON", "message": "(root) CMD (true)"}},
		{"Nov 08 10:00:01 web01 kernel: [ 1.234] usb 1-1: new device", "2024-11-08T10:00:01Z", map[string]string{"process.name": "kernel", "process.pid": "-", "message": "[ 1.234] usb 1-1: new device"}},
		{"Nov 8 10:00:01 web01 kernel: x", "2024-11-08T10:00:01Z", map[string]string{"process.name": "kernel"}},
		// Hostname with domain, IPv6 hostname.
		{"<38>Nov 28 10:00:01 web05.example.org sshd[6000]: Server listening on :: port 22.", "2024-11-28T10:00:01Z", map[string]string{"host.name": "web05.example.org", "log.syslog.hostname": "-"}},
		{"<38>Nov 28 10:00:01 2001:db8::1 sshd[6000]: hi", "", map[string]string{"host.name": "2001:db8::1", "process.name": "sshd"}},
		// Missing hostname (sender's own /dev/log format, OpenBSD).
		{"<38>Nov 28 10:00:01 sshd[6000]: hi", "", map[string]string{"host.name": "-", "process.name": "sshd", "process.pid": "6000", "message": "hi"}},
		{"Nov 28 10:00:01 rsyslogd: [origin software=\"rsyslogd\"] start", "", map[string]string{"host.name": "-", "process.name": "rsyslogd", "message": "[origin software=\"rsyslogd\"] start"}},
		// Tag without pid, tag with slash, empty pid, non-numeric pid.
		{"<22>Nov 28 10:00:01 mx1 postfix/smtpd[12]: connect from unknown[198.51.100.1]", "", map[string]string{"process.name": "postfix/smtpd", "process.pid": "12", "message": "connect from unknown[198.51.100.1]"}},
		{"<13>Nov 28 10:00:01 host sshd[]: empty pid", "", map[string]string{"process.name": "sshd", "log.syslog.procid": "-", "message": "empty pid"}},
		{"<13>Nov 28 10:00:01 host app[main-1]: x", "", map[string]string{"process.name": "app", "log.syslog.procid": "main-1", "process.pid": "-"}},
		{"<13>Nov 28 10:00:01 host app: ", "", map[string]string{"process.name": "app", "message": ""}},
		// No tag: the text after the hostname is the message.
		{"<13>Nov 28 10:00:01 host hello world", "", map[string]string{"host.name": "host", "process.name": "-", "message": "hello world"}},
		{"<13>Nov 28 10:00:01 host key:value text", "", map[string]string{"process.name": "-", "message": "key:value text"}},
		// rsyslog RSYSLOG_ForwardFormat / RSYSLOG_FileFormat (high precision).
		{"<38>2024-11-28T10:00:01.123456+01:00 web01 sshd[1]: hello", "2024-11-28T09:00:01.123456Z", map[string]string{"event.timezone": "+01:00", "host.name": "web01", "process.name": "sshd", "message": "hello"}},
		{"2024-11-28T10:00:01.123456-05:00 web01 sshd[1]: hello", "2024-11-28T15:00:01.123456Z", map[string]string{"event.timezone": "-05:00", "host.name": "web01"}},
		{"2024-11-28T10:00:01Z web01 sshd[1]: hello", "2024-11-28T10:00:01Z", map[string]string{"event.timezone": "+00:00"}},
		{"2024-11-28T10:00:01.123456789+0530 web01 app: x", "2024-11-28T04:30:01.123456789Z", map[string]string{"event.timezone": "+05:30"}},
		{"2024-11-28T10:00:01 web01 app: x", "2024-11-28T10:00:01Z", map[string]string{"event.timezone": "UTC"}},
		// syslog-ng with ISO stamps and a relay hostname.
		{"<86>2024-11-28T10:00:01+00:00 relay01.example.org sudo: pam_unix(sudo:session): session closed for user root", "2024-11-28T10:00:01Z", map[string]string{"host.name": "relay01.example.org", "process.name": "sudo", "message": "pam_unix(sudo:session): session closed for user root"}},
		// Cisco IOS: counter, sequence, '*' unsynchronised, milliseconds, zone name, origin hostname.
		{"<189>237: 000485: *Jan 8 19:46:03.295: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.5)", "2024-01-08T19:46:03.295Z", map[string]string{
			"event.sequence": "000485", "cisco.message_count": "237", "log.syslog.msgid": "SYS-5-CONFIG_I", "event.code": "CONFIG_I",
			"cisco.facility": "SYS", "cisco.severity": "5", "process.name": "-", "message": "Configured from console by vty0 (10.0.0.5)",
		}},
		{"<189>643: Jan  8 19:46:03.295 UTC: %LINEPROTO-5-UPDOWN: Line protocol on Interface Loopback100, changed state to up", "2024-01-08T19:46:03.295Z", map[string]string{
			"event.sequence": "643", "cisco.message_count": "-", "event.code": "UPDOWN", "cisco.facility": "LINEPROTO",
		}},
		{"<189>269614: hostname1: Apr 11 10:02:08: %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet7/0/34, changed state to up", "2024-04-11T10:02:08Z", map[string]string{
			"host.name": "hostname1", "event.sequence": "269614", "log.syslog.msgid": "LINEPROTO-5-UPDOWN",
		}},
		{"<187>: *Mar  1 18:46:11: %SYS-3-CPUHOG: Task is running for (2000)msecs", "2024-03-01T18:46:11Z", map[string]string{"event.sequence": "-", "event.code": "CPUHOG", "cisco.severity": "3"}},
		{"<134>52: router2: *Mar  1 18:46:11: %PM-SP-4-ERR_DISABLE: bpduguard error detected on Gi0/1", "", map[string]string{"cisco.facility": "PM-SP", "cisco.severity": "4", "event.code": "ERR_DISABLE", "host.name": "router2"}},
		// Cisco ASA (year in the stamp, "host :"), NX-OS (year first).
		{"<166>Nov 28 2024 10:00:01 fw01 : %ASA-6-302013: Built inbound TCP connection 1 for outside:192.0.2.1/443", "2024-11-28T10:00:01Z", map[string]string{
			"host.name": "fw01", "event.code": "302013", "cisco.facility": "ASA", "message": "Built inbound TCP connection 1 for outside:192.0.2.1/443",
		}},
		{"<189>2024 Nov 28 10:00:01 nx01 %ETHPORT-5-IF_UP: Interface Ethernet1/1 is up", "2024-11-28T10:00:01Z", map[string]string{"host.name": "nx01", "event.code": "IF_UP"}},
		// HP/Aruba: year after the time.
		{"<14>Nov 28 10:00:01 2023 sw1 ports: port 5 is now on-line", "2023-11-28T10:00:01Z", map[string]string{"host.name": "sw1", "process.name": "ports"}},
		// More appliances: FortiGate key=value, Palo Alto CSV, ESXi, Windows via NXLog, Juniper.
		{"<189>date=2024-11-28 time=10:00:01 devname=FG100 logid=0100032001 type=event subtype=system", "2025-01-02T00:30:00Z", map[string]string{"process.name": "-", "message": "date=2024-11-28 time=10:00:01 devname=FG100 logid=0100032001 type=event subtype=system"}},
		{"<14>Nov 28 10:00:01 PA-VM 1,2024/11/28 10:00:01,012801000001,TRAFFIC,end", "", map[string]string{"host.name": "PA-VM", "process.name": "-", "message": "1,2024/11/28 10:00:01,012801000001,TRAFFIC,end"}},
		{"<166>2024-11-28T10:00:01.123Z esx01.example.org Hostd: info hostd[2099] [Originator@6876 sub=Vimsvc] User root logged in", "2024-11-28T10:00:01.123Z", map[string]string{"host.name": "esx01.example.org", "process.name": "Hostd"}},
		{"<13>Nov 28 10:00:01 WIN-DC01 Microsoft-Windows-Security-Auditing[600]: 4625: An account failed to log on.", "", map[string]string{"host.name": "WIN-DC01", "process.name": "Microsoft-Windows-Security-Auditing", "process.pid": "600"}},
		{"<28>Nov 28 10:00:01 fw1 mgd[1234]: UI_CMDLINE_READ_LINE: User 'root', command 'show'", "", map[string]string{"host.name": "fw1", "process.name": "mgd", "message": "UI_CMDLINE_READ_LINE: User 'root', command 'show'"}},
		// Without timestamp: PRI and text; bare text; digits and colon that are not Cisco.
		{"<13>hello world", "2025-01-02T00:30:00Z", map[string]string{"log.syslog.priority": "13", "message": "hello world", "process.name": "-", "event.timezone": "-"}},
		{"<13>myapp: started", "2025-01-02T00:30:00Z", map[string]string{"process.name": "myapp", "message": "started"}},
		{"<13>12: hello", "", map[string]string{"process.name": "-", "event.sequence": "-", "message": "12: hello"}},
		{"hello world", "2025-01-02T00:30:00Z", map[string]string{"message": "hello world", "log.syslog.priority": "-", "host.name": "-"}},
		{"ERROR: disk full", "", map[string]string{"message": "ERROR: disk full", "process.name": "-"}},
		{"myd[42]: bare line with pid", "", map[string]string{"process.name": "myd", "process.pid": "42", "message": "bare line with pid"}},
		{"May I ask something", "", map[string]string{"message": "May I ask something"}},
		{"Nov 28 10:00:01x host app: text", "", map[string]string{"message": "Nov 28 10:00:01x host app: text"}},
		// Trailing CR, LF, NUL trimmed; leading BOM-free UTF-8 kept.
		{"<13>Nov 28 10:00:01 host app: café\r\n\x00", "", map[string]string{"message": "café"}},
		{"<13>Nov 28 10:00:01 host app: tab\tinside", "", map[string]string{"message": "tab\tinside"}},
		// Lower-case month, comma before the fraction.
		{"<13>nov 28 10:00:01,5 host app: x", "2024-11-28T10:00:01.5Z", map[string]string{"host.name": "host"}},
	}
	for _, tc := range tests {
		check(t, p, tc.in, tc.time, tc.want)
	}
}

func TestParseRFC5424(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow), KeepOriginal: true}
	tests := []struct {
		in   string
		time string
		want map[string]string
	}{
		// RFC 5424 section 6.5 examples.
		{"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed for lonvick on /dev/pts/8", "2003-10-11T22:14:15.003Z", map[string]string{
			"log.syslog.version": "1", "log.syslog.priority": "34", "host.name": "mymachine.example.com", "process.name": "su",
			"log.syslog.procid": "-", "log.syslog.msgid": "ID47", "message": "BOM'su root' failed for lonvick on /dev/pts/8", "event.timezone": "+00:00",
		}},
		{"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", "2003-08-24T12:14:15.000003Z", map[string]string{
			"event.timezone": "-07:00", "host.name": "192.0.2.1", "process.name": "myproc", "process.pid": "8710", "log.syslog.msgid": "-",
			"message": "%% It's time to make the do-nuts.",
		}},
		{"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xef\xbb\xbfAn application event log entry...", "", map[string]string{
			"log.syslog.structured_data.exampleSDID@32473.iut":         "3",
			"log.syslog.structured_data.exampleSDID@32473.eventSource": "Application",
			"log.syslog.structured_data.exampleSDID@32473.eventID":     "1011",
			"message": "An application event log entry...",
		}},
		{`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`, "", map[string]string{
			"log.syslog.structured_data.examplePriority@32473.class": "high", "message": "",
		}},
		// Escapes in SD values; element without parameters.
		{`<14>1 2024-11-28T10:00:00Z h app 1 m [x@1 a="q\"uote\]b\\s"][meta] msg`, "", map[string]string{
			"log.syslog.structured_data.x@1.a": `q"uote]b\s`, "log.syslog.structured_data.meta": "",
		}},
		// Nil timestamp: the receive time.
		{"<14>1 - - - - - - hello", "2025-01-02T00:30:00Z", map[string]string{"message": "hello", "host.name": "-", "process.name": "-", "event.timezone": "-"}},
		// rsyslog RSYSLOG_SyslogProtocol23Format with newline.
		{"<86>1 2024-11-28T10:25:00.000001+00:00 web03 sshd 5200 - - Accepted password for alice from 192.0.2.10 port 52211 ssh2\n", "2024-11-28T10:25:00.000001Z", map[string]string{
			"message": "Accepted password for alice from 192.0.2.10 port 52211 ssh2", "event.original": "<86>1 2024-11-28T10:25:00.000001+00:00 web03 sshd 5200 - - Accepted password for alice from 192.0.2.10 port 52211 ssh2",
		}},
	}
	for _, tc := range tests {
		check(t, p, tc.in, tc.time, tc.want)
	}
}

func TestParseErrors(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow)}
	f := func(in, wantErr string, want map[string]string) {
		t.Helper()
		var e event.Event
		err := p.Parse([]byte(in), &e)
		if err == nil {
			t.Fatalf("%q: no error, want %q\n%s", in, wantErr, fieldsOf(&e))
		}
		if err.Error() != wantErr {
			t.Errorf("%q: error %q, want %q", in, err, wantErr)
		}
		if got := e.Value(event.FieldParseError); got != wantErr {
			t.Errorf("%q: vigil.parse_error %q, want %q", in, got, wantErr)
		}
		raw := string(TrimTrailer([]byte(in)))
		if got := e.Value(event.FieldMessage); got != raw {
			t.Errorf("%q: message %q, want the raw text", in, got)
		}
		if in != "" && e.Value(event.FieldOriginal) != raw {
			t.Errorf("%q: event.original %q, want the raw text", in, e.Value(event.FieldOriginal))
		}
		if !e.Time.Equal(testNow) {
			t.Errorf("%q: time %v, want the receive time", in, e.Time)
		}
		for name, w := range want {
			if got := e.Value(name); got != w {
				t.Errorf("%q: %s=%q, want %q", in, name, got, w)
			}
		}
	}
	f("", "syslog: empty message at byte 0", nil)
	f("\r\n\x00", "syslog: empty message at byte 0", nil)
	f("<999>Nov 28 10:00:01 host x", "syslog: invalid PRI: 999 is above 191 at byte 1", nil)
	f("<1234>x", "syslog: invalid PRI: more than 3 digits at byte 5", nil)
	f("<>x", "syslog: invalid PRI: expected digits after '<' at byte 1", nil)
	f("<html>", "syslog: invalid PRI: expected digits after '<' at byte 1", nil)
	f("<34", "syslog: invalid PRI: expected '>' at byte 3", nil)
	f("<13>Nov 45 10:00:01 host x", "rfc3164: invalid timestamp: day 45 out of range at byte 8", map[string]string{"log.syslog.priority": "13"})
	f("<13>Feb 30 10:00:01 host x", "rfc3164: invalid timestamp: February 30 is not a date at byte 4", nil)
	f("<13>Nov 28 25:00:01 host x", "rfc3164: invalid timestamp: hour 25 out of range at byte 11", nil)
	f("2024-13-28T10:00:01Z host x", "rfc3164: invalid timestamp: month 13 out of range at byte 5", nil)
	f("2024-11-28T10:00:01+25:00 host x", "rfc3164: invalid timestamp: bad zone offset at byte 19", nil)
	f("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [broken",
		"rfc5424: expecting a structured data element id (from 1 to max 32 US-ASCII characters; except `=`, ` `, `]`, and `\"` at byte 77",
		map[string]string{"log.syslog.priority": "165", "host.name": ""})
	f("<13>1 not a 5424 message", "rfc5424: expecting a RFC3339MICRO timestamp or a nil value at byte 6", nil)
}

func TestYear(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("time zone database not available: %v", err)
	}
	f := func(now time.Time, loc *time.Location, stamp, want string) {
		t.Helper()
		p := &Parser{Now: fixedClock(now), Location: loc}
		var e event.Event
		if err := p.Parse([]byte("<13>"+stamp+" host app: x"), &e); err != nil {
			t.Fatalf("%s at %v: %v", stamp, now, err)
		}
		if got := e.Time.In(e.Time.Location()).Format("2006-01-02T15:04:05Z07:00"); got != want {
			t.Errorf("%s at %v: got %s, want %s", stamp, now, got, want)
		}
	}
	utc := time.UTC
	// Same year.
	f(time.Date(2024, 6, 1, 12, 0, 0, 0, utc), nil, "May 31 23:00:00", "2024-05-31T23:00:00Z")
	// New Year: a December stamp received in January is last year's.
	f(time.Date(2025, 1, 1, 0, 0, 5, 0, utc), nil, "Dec 31 23:59:59", "2024-12-31T23:59:59Z")
	// A sender a little ahead across New Year: next year's January.
	f(time.Date(2024, 12, 31, 23, 59, 50, 0, utc), nil, "Jan  1 00:00:30", "2025-01-01T00:00:30Z")
	// A sender 14 hours ahead (zone not configured) keeps the current year.
	f(time.Date(2024, 6, 4, 22, 0, 0, 0, utc), nil, "Jun  5 12:00:00", "2024-06-05T12:00:00Z")
	// More than the tolerance in the future: last year.
	f(time.Date(2024, 6, 1, 0, 0, 0, 0, utc), nil, "Jun  3 00:00:00", "2023-06-03T00:00:00Z")
	// Feb 29 goes back to the last leap year.
	f(time.Date(2025, 3, 1, 0, 0, 0, 0, utc), nil, "Feb 29 10:00:00", "2024-02-29T10:00:00Z")
	f(time.Date(2024, 3, 1, 0, 0, 0, 0, utc), nil, "Feb 29 10:00:00", "2024-02-29T10:00:00Z")
	// Listener location applies to stamps without zone, not to ISO offsets.
	f(time.Date(2024, 7, 1, 0, 0, 0, 0, utc), berlin, "Jun 30 10:00:00", "2024-06-30T10:00:00+02:00")
	f(time.Date(2024, 7, 1, 0, 0, 0, 0, utc), berlin, "Jan 15 10:00:00", "2024-01-15T10:00:00+01:00")
	f(time.Date(2024, 7, 1, 0, 0, 0, 0, utc), berlin, "2024-06-30T10:00:00-04:00", "2024-06-30T14:00:00Z")
	// New Year in Berlin happens before New Year in UTC.
	f(time.Date(2024, 12, 31, 23, 30, 0, 0, utc), berlin, "Jan  1 00:20:00", "2025-01-01T00:20:00+01:00")
	// A year in the stamp is used as is (ASA).
	f(time.Date(2024, 7, 1, 0, 0, 0, 0, utc), nil, "Nov 28 2020 10:00:01", "2020-11-28T10:00:01Z")
	// Leap second kept in its minute.
	f(time.Date(2017, 1, 1, 1, 0, 0, 0, utc), nil, "Dec 31 23:59:60", "2016-12-31T23:59:59Z")

	// event.timezone names the configured location.
	p := &Parser{Now: fixedClock(testNow), Location: berlin}
	var e event.Event
	_ = p.Parse([]byte("<13>Nov 28 10:00:01 host app: x"), &e)
	if got := e.Value("event.timezone"); got != "Europe/Berlin" {
		t.Errorf("event.timezone %q, want Europe/Berlin", got)
	}
	// The default clock is the real one.
	p = &Parser{}
	e.Reset()
	before := time.Now()
	_ = p.Parse([]byte("no timestamp"), &e)
	if e.Time.Before(before) || e.Time.After(time.Now()) {
		t.Errorf("time %v not between %v and now", e.Time, before)
	}
}

func TestTruncate(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow), MaxSize: 40, KeepOriginal: true}
	in := "<13>Nov 28 10:00:01 host app: " + strings.Repeat("é", 20) // 30 + 40 bytes
	e := check(t, p, in, "2024-11-28T10:00:01Z", map[string]string{
		FieldTruncated: "true", FieldOriginalSize: "70", "message": strings.Repeat("é", 5),
		"event.original": in[:40],
	})
	if len(e.Value("event.original")) > 40 {
		t.Errorf("event.original %d bytes, want <= 40", len(e.Value("event.original")))
	}
	// Cut inside a rune: the partial rune is dropped.
	p.MaxSize = 31
	check(t, p, in, "", map[string]string{"message": "", "event.original": in[:30], FieldOriginalSize: "70"})
	// Exactly at the limit: not truncated.
	p.MaxSize = 70
	check(t, p, in, "", map[string]string{FieldTruncated: "-", FieldOriginalSize: "-"})
	// Trailing newline does not count.
	check(t, p, in+"\r\n", "", map[string]string{FieldTruncated: "-"})
	// Default limit is 64 KiB.
	p = &Parser{Now: fixedClock(testNow)}
	big := "<13>Nov 28 10:00:01 host app: " + strings.Repeat("x", 70000)
	e = check(t, p, big, "", map[string]string{FieldTruncated: "true", FieldOriginalSize: strconv.Itoa(len(big))})
	if n := len(e.Value("message")); n != DefaultMaxSize-30 {
		t.Errorf("message %d bytes, want %d", n, DefaultMaxSize-30)
	}
}

func TestKeepOriginal(t *testing.T) {
	in := "<13>Nov 28 10:00:01 host app: x"
	check(t, &Parser{Now: fixedClock(testNow)}, in, "", map[string]string{"event.original": "-"})
	check(t, &Parser{Now: fixedClock(testNow), KeepOriginal: true}, in+"\n", "", map[string]string{"event.original": in})
}

// TestParseKeepsCallerFields: Parse appends after fields the listener set.
func TestParseKeepsCallerFields(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow)}
	var e event.Event
	e.Add("log.source.address", "192.0.2.1:514")
	_ = p.Parse([]byte("<13>Nov 28 10:00:01 host app: x"), &e)
	if e.Fields[0].Name != "log.source.address" || e.Value("host.name") != "host" {
		t.Errorf("fields:\n%s", fieldsOf(&e))
	}
}

// TestParseNoAliasing: the event must not refer to the input buffer,
// which listeners reuse.
func TestParseNoAliasing(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow), KeepOriginal: true}
	for _, in := range []string{
		"<13>Nov 28 10:00:01 host app[1]: text",
		"<13>1 2024-11-28T10:00:00Z h app 1 m [x@1 a=\"b\"] text",
		"<999>bad",
	} {
		buf := []byte(in)
		var e event.Event
		_ = p.Parse(buf, &e)
		want := fieldsOf(&e)
		for i := range buf {
			buf[i] = 'Z'
		}
		if got := fieldsOf(&e); got != want {
			t.Errorf("%q: event changed with the input buffer:\n%s", in, got)
		}
	}
}

// readVectors reads a testdata file of Go-quoted strings.
func readVectors(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("%s: %q: %v", name, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestParserConcurrent: one Parser serves many goroutines (listeners
// share it); run with -race.
func TestParserConcurrent(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow), KeepOriginal: true}
	msgs := []string{
		"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] An application event",
		"<189>237: 000485: *Jan 8 19:46:03.295: %SYS-5-CONFIG_I: Configured",
		"<999>bad",
	}
	want := make([]string, len(msgs))
	for i, m := range msgs {
		var e event.Event
		_ = p.Parse([]byte(m), &e)
		want[i] = fieldsOf(&e)
	}
	done := make(chan string)
	for g := 0; g < 4; g++ {
		go func() {
			for n := 0; n < 200; n++ {
				i := (n + g) % len(msgs)
				var e event.Event
				_ = p.Parse([]byte(msgs[i]), &e)
				if got := fieldsOf(&e); got != want[i] {
					done <- got
					return
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if bad := <-done; bad != "" {
			t.Errorf("concurrent parse differs:\n%s", bad)
		}
	}
}

// TestParseVariants covers real-world departures from RFC 3164: program
// names with spaces (macOS), chained host names (syslog-ng
// chain_hostnames), words before the time stamp (a host, a date with the
// year, a Unix time, an alert flag) as archives and relays write them.
func TestParseVariants(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow)}
	tests := []struct {
		in   string
		time string
		want map[string]string
	}{
		// macOS: application names with spaces, as the unified log forwards them.
		{"Jul  1 09:00:55 mbp-42 Microsoft Word[4242]: Saving document", "2024-07-01T09:00:55Z", map[string]string{
			"host.name": "mbp-42", "process.name": "Microsoft Word", "process.pid": "4242", "message": "Saving document"}},
		{"<13>Jul  1 09:00:55 mbp-42 Google Chrome Helper (Renderer)[731]: x", "", map[string]string{
			"process.name": "Google Chrome Helper (Renderer)", "process.pid": "731", "message": "x"}},
		{"Jul  1 09:00:55 mbp-42 com.apple.xpc.launchd[1] (com.apple.mdworker.shared[512]): Service exited", "", map[string]string{
			"process.name": "com.apple.xpc.launchd", "process.pid": "1", "message": "(com.apple.mdworker.shared[512]): Service exited"}},
		// Spaces only in the bracketed form; no tag otherwise.
		{"Jul  1 09:00:55 mbp-42 hello there: x", "", map[string]string{"host.name": "mbp-42", "process.name": "-", "message": "hello there: x"}},
		{"Jul  1 09:00:55 mbp-42 a b[x]: y", "", map[string]string{"process.name": "-", "message": "a b[x]: y"}},
		{"error in module x[3]: y", "2025-01-02T00:30:00Z", map[string]string{"process.name": "-", "message": "error in module x[3]: y"}},
		// syslog-ng chained host names: sender/relay.
		{"<86>Jan  4 07:00:01 node17/relay1 crond[1234]: (root) CMD (run-parts /etc/cron.hourly)", "2024-01-04T07:00:01Z", map[string]string{
			"host.name": "node17", "log.syslog.hostname": "node17/relay1", "process.name": "crond", "process.pid": "1234"}},
		// A date with the year and the host before the stamp; chained host after it.
		{"2006.01.04 node17 Jan  4 07:00:01 node17/node17 crond[1234]: (root) CMD (run-parts /etc/cron.hourly)", "2006-01-04T07:00:01Z", map[string]string{
			"host.name": "node17", "log.syslog.hostname": "node17/node17", "process.name": "crond", "process.pid": "1234",
			"message": "(root) CMD (run-parts /etc/cron.hourly)", "event.timezone": "UTC"}},
		// Alert flag and Unix time first; the date gives the year.
		{"- 1136358001 2006.01.04 node17 Jan  4 07:00:01 node17/node17 sshd(pam_unix)[4242]: session closed for user root", "2006-01-04T07:00:01Z", map[string]string{
			"host.name": "node17", "process.name": "sshd(pam_unix)", "process.pid": "4242", "message": "session closed for user root"}},
		{"KERNDTLB 1136358001 2006.01.04 node17 Jan  4 07:00:01 node17/node17 kernel: x", "2006-01-04T07:00:01Z", map[string]string{"host.name": "node17", "process.name": "kernel"}},
		// A Unix time alone gives the year too.
		{"1136358001 node17 Jan  4 07:00:01 crond[1]: x", "2006-01-04T07:00:01Z", map[string]string{"host.name": "node17", "process.name": "crond"}},
		// Host first, then the stamp (no host after it).
		{"node17 Jan  4 07:00:01 crond[1234]: x", "2024-01-04T07:00:01Z", map[string]string{"host.name": "node17", "process.name": "crond", "message": "x"}},
		{"<38>web01 2024-11-28T10:00:01Z sshd[1]: x", "2024-11-28T10:00:01Z", map[string]string{"host.name": "web01", "process.name": "sshd", "log.syslog.priority": "38"}},
		// A date that disagrees with the stamp: not a prefix.
		{"2006.01.05 node17 Jan  4 07:00:01 crond[1]: x", "2025-01-02T00:30:00Z", map[string]string{"host.name": "-", "message": "2006.01.05 node17 Jan  4 07:00:01 crond[1]: x"}},
		// Text that mentions a time is not a header.
		{"backup Jan  4 07:00:01 done", "2025-01-02T00:30:00Z", map[string]string{"host.name": "-", "message": "backup Jan  4 07:00:01 done"}},
		{"one two three four five six Jan  4 07:00:01 h p: x", "2025-01-02T00:30:00Z", map[string]string{"host.name": "-"}},
	}
	for _, tc := range tests {
		check(t, p, tc.in, tc.time, tc.want)
	}
}
