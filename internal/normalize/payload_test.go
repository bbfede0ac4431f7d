package normalize

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

func TestPayloadsAfterSyslog(t *testing.T) {
	p := NewPayloads(time.UTC)
	sp := &syslog.Parser{Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }}
	f := func(line string, want map[string]string) {
		t.Helper()
		var e event.Event
		_ = sp.Parse([]byte(line), &e)
		SyslogEvent(&e, p)
		seen := map[string]int{}
		for _, fl := range e.Fields {
			seen[fl.Name]++
			if seen[fl.Name] > 1 {
				t.Errorf("%q: field %s twice", line, fl.Name)
			}
		}
		for k, v := range want {
			if got := e.Value(k); got != v {
				t.Errorf("%q: %s = %q, want %q (fields %v)", line, k, got, v, e.Fields)
			}
		}
	}
	f(`<134>Nov 28 10:00:00 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.1|THREAT|url|5|src=10.0.0.5 dst=93.184.216.34 suser=jdoe act=blocked`,
		map[string]string{"event.module": "cef", "event.dataset": "cef", "observer.vendor": "Palo Alto Networks", "source.ip": "10.0.0.5",
			"destination.ip": "93.184.216.34", "host.name": "fw01", "vigil.parse_error": ""})
	f(`CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 src=192.168.1.7`,
		map[string]string{"event.module": "cef", "observer.product": "Deep Security Agent", "source.ip": "192.168.1.7"})
	f("<13>1 2026-11-28T10:00:00Z qradar-src app - - - LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.9^usrName=asmith",
		map[string]string{"event.module": "leef", "observer.vendor": "Lancope", "source.ip": "10.0.1.8", "user.name": "asmith"})
	f(`<134>Nov 28 10:00:00 fw01 CEF:0|broken`, map[string]string{"event.module": "syslog"})
	f(`<189>date=2026-11-28 time=10:00:00 devname="FGT-EDGE" devid="FG100F" type="traffic" subtype="forward" srcip=10.0.0.7 srcport=53000 dstip=93.184.216.34 dstport=443 action="deny" proto=6`,
		map[string]string{"event.dataset": "kv", "kv.devname": "FGT-EDGE", "observer.name": "FGT-EDGE", "source.ip": "10.0.0.7",
			"destination.port": "443", "event.action": "deny", "vigil.parse_error": ""})
	// Prose with a few equals signs is not key=value.
	f(`<13>Nov 28 10:00:00 app worker: retry=3 took too long`, map[string]string{"event.dataset": "syslog", "kv.retry": ""})
	f(`<38>Nov 28 10:00:00 bastion sshd[4242]: Failed password for root from 10.9.9.9 port 22 ssh2`,
		map[string]string{"event.action": "ssh_login", "event.outcome": "failure", "source.ip": "10.9.9.9"})
}

// TestWebLogsRecognised: access and error log lines are recognised in a
// syslog message (apache2/httpd/nginx through logger or the servers'
// syslog output), in a bare file line and in a JSON event's message, and
// get their own time.
func TestWebLogsRecognised(t *testing.T) {
	p := NewPayloads(time.UTC)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	sp := &syslog.Parser{Now: func() time.Time { return now }}
	f := func(line string, wantTime string, want map[string]string) {
		t.Helper()
		var e event.Event
		_ = sp.Parse([]byte(line), &e)
		SyslogEvent(&e, p)
		if got := e.Time.UTC().Format(time.RFC3339); got != wantTime {
			t.Errorf("%q: time %s, want %s", line, got, wantTime)
		}
		for k, v := range want {
			if got := e.Value(k); got != v {
				t.Errorf("%q: %s = %q, want %q (fields %v)", line, k, got, v, e.Fields)
			}
		}
	}
	f(`<150>Nov 28 10:00:05 web01 nginx: 192.0.2.10 - - [28/Nov/2026:10:00:04 +0000] "GET /index.html HTTP/1.1" 200 615 "-" "Mozilla/5.0"`,
		"2026-11-28T10:00:04Z", map[string]string{"event.module": "nginx", "event.dataset": "nginx.access", "host.name": "web01", "source.ip": "192.0.2.10", "url.path": "/index.html"})
	f(`<150>Nov 28 10:00:05 web01 apache2[77]: 192.0.2.10 - bob [28/Nov/2026:11:00:04 +0100] "POST /login HTTP/1.1" 401 20 "-" "x"`,
		"2026-11-28T10:00:04Z", map[string]string{"event.module": "apache", "event.outcome": "failure", "user.name": "bob"})
	f(`<163>Nov 28 10:00:05 web01 nginx: 2026/11/28 10:00:03 [error] 9#9: *3 access forbidden by rule, client: 192.0.2.11, server: a, request: "GET /x HTTP/1.1", host: "a"`,
		"2026-11-28T10:00:03Z", map[string]string{"event.dataset": "nginx.error", "log.level": "error", "source.ip": "192.0.2.11", "message": "access forbidden by rule"})
	// A file line as vigil ingest --format syslog sends it: no syslog header.
	f(`[Wed Oct 11 14:32:52 2026] [error] [client 127.0.0.1] client denied by server configuration: /srv/www`,
		"2026-10-11T14:32:52Z", map[string]string{"event.dataset": "apache.error", "source.ip": "127.0.0.1"})
	f(`192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1`, "2026-11-28T10:00:00Z", map[string]string{"event.module": "weblog"})
	// Broken after a recognisable start: kept, flagged, receive time.
	f(`192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 2000 1`, "2026-11-28T12:00:00Z", map[string]string{
		"event.module": "syslog", "vigil.parse_error": "weblog: want a 3-digit status after the request at byte 60"})

	// JSON: Filebeat's log input sends the line as message with the file path.
	var e event.Event
	e.Time = now
	e.Add("message", `10.1.2.3 - - [28/Nov/2026:09:59:59 +0000] "GET /a HTTP/1.1" 200 5`)
	e.Add("log.file.path", "/var/log/nginx/access.log")
	JSONEvent(&e, p)
	if e.Value("event.dataset") != "nginx.access" || !e.Time.Equal(time.Date(2026, 11, 28, 9, 59, 59, 0, time.UTC)) {
		t.Errorf("JSON event: %v %v", e.Time, e.Fields)
	}
}

// TestFirewallDialects: each firewall dialect is recognised after the
// syslog parser and gets ECS network fields and its own time.
func TestFirewallDialects(t *testing.T) {
	p := NewPayloads(time.UTC)
	sp := &syslog.Parser{Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }}
	f := func(line string, want map[string]string) {
		t.Helper()
		var e event.Event
		_ = sp.Parse([]byte(line), &e)
		SyslogEvent(&e, p)
		for k, v := range want {
			if got := e.Value(k); got != v {
				t.Errorf("%q: %s = %q, want %q (fields %v)", line, k, got, v, e.Fields)
			}
		}
	}
	f(`<189>date=2026-11-28 time=10:00:00 devname="FGT" devid="FG1" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.7 dstip=192.0.2.1 dstport=443 action="deny" proto=6`,
		map[string]string{"event.module": "fortinet", "source.ip": "10.0.0.7", "event.outcome": "failure", "network.transport": "tcp", "vigil.parse_error": ""})
	f(`<14>Nov 28 10:22:00 PA 1,2026/11/28 10:22:00,0128,TRAFFIC,deny,1,2026/11/28 10:22:00,203.0.113.50,198.51.100.2,0.0.0.0,0.0.0.0,Block,,,x,vsys1,u,t,e1,,lf,2026/11/28 10:22:00,0,1,40000,3389,0,0,0x0,tcp,deny`,
		map[string]string{"event.module": "panw", "destination.port": "3389", "event.type": "denied", "host.name": "PA"})
	f(`<164>Nov 28 2026 10:27:32 asa : %ASA-4-106023: Deny tcp src outside:203.0.113.50/40001 dst inside:10.20.1.80/3389 by access-group "in" [0x0, 0x0]`,
		map[string]string{"event.module": "cisco", "source.ip": "203.0.113.50", "rule.name": "in", "event.code": "106023"})
	f(`<134>Nov 28 10:28:00 pfsense filterlog[5411]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,203.0.113.50,198.51.100.2,40003,22,0,S,1,,65228,,mss`,
		map[string]string{"event.module": "pfsense", "destination.port": "22", "event.action": "block"})
	f(`<134>Nov 28 10:28:00 pfsense filterlog[5411]: 5,,,1,igb1,match,maybe,in,4`,
		map[string]string{"event.module": "syslog", "vigil.parse_error": `filterlog: action: want pass, block or reject, got "maybe"`})
}

// TestNXLogEventTime: NXLog's EventTime is the Windows host's local time
// without a zone. A zoned @timestamp (Security-Datasets, Logstash) is the
// event time; without one, EventTime is read in the configured zone; a
// zoned EventTime is used as it is.
func TestNXLogEventTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	p := NewPayloads(ny)
	flat := `{"EventTime":"%s","Hostname":"WS5","EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","TargetUserName":"alice"%s}`
	f := func(eventTime, extra, want string) {
		t.Helper()
		var e event.Event
		doc := fmt.Sprintf(flat, eventTime, extra)
		if err := jsonflat.AppendObject(&e, []byte(doc), jsonflat.Options{}); err != nil {
			t.Fatal(err)
		}
		event.TakeTimestamp(&e)
		JSONEvent(&e, p)
		if got := e.Time.UTC().Format(time.RFC3339); got != want {
			t.Errorf("%s: time %s, want %s", doc, got, want)
		}
		if e.Value("winlog.event_id") != "4624" {
			t.Errorf("%s: not normalised: %v", doc, e.Fields)
		}
	}
	// Security-Datasets: @timestamp in UTC, EventTime four hours behind (EDT).
	f("2020-05-01 22:55:56", `,"@timestamp":"2020-05-02T02:55:56.157Z"`, "2020-05-02T02:55:56Z")
	// NXLog alone: EventTime in the configured zone (EST in March).
	f("2024-03-05 14:22:01", ``, "2024-03-05T19:22:01Z")
	// A zoned EventTime (NXLog's $EventTime formatted with its offset).
	f("2024-03-05T14:22:01+01:00", ``, "2024-03-05T13:22:01Z")
	f("2024-03-05 14:22:01+01:00", `,"@timestamp":"2024-03-05T00:00:00Z"`, "2024-03-05T13:22:01Z")
	// Without payloads (no zone configured): UTC.
	var e event.Event
	_ = jsonflat.AppendObject(&e, []byte(fmt.Sprintf(flat, "2024-03-05 14:22:01", "")), jsonflat.Options{})
	event.TakeTimestamp(&e)
	JSONEvent(&e, nil)
	if got := e.Time.UTC().Format(time.RFC3339); got != "2024-03-05T14:22:01Z" {
		t.Errorf("without zone: %s", got)
	}
}
