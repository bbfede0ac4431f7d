package weblog

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden parses testdata/samples.txt and compares every event (or
// error) with testdata/samples.golden.
func TestGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/samples.txt")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	var out bytes.Buffer
	opt := Options{Location: ny}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if m, ok := strings.CutPrefix(line, "## "); ok {
			opt.Module = strings.TrimSpace(m)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var e event.Event
		k, err := Parse(&e, line, opt)
		out.WriteString("# " + line + "\n")
		switch {
		case err != nil:
			out.WriteString(k.String() + " error: " + err.Error() + "\n")
		case k == KindNone:
			out.WriteString("none\n")
		default:
			e.SortFields()
			out.WriteString(k.String() + " ")
			out.Write(event.AppendJSON(nil, &e))
			out.WriteString("\n")
		}
	}
	golden := "testdata/samples.golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	g, w := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			t.Fatalf("%s line %d differs:\ngot  %s\nwant %s", golden, i+1, at(g, i), at(w, i))
		}
	}
}

func at(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return "(end)"
}

// TestFields pins the fields the coverage table in docs/parsing.md
// promises, independently of the golden file.
func TestFields(t *testing.T) {
	f := func(line string, opt Options, wantTime string, want map[string]string) {
		t.Helper()
		var e event.Event
		if _, err := Parse(&e, line, opt); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got := e.Time.UTC().Format(time.RFC3339Nano); got != wantTime {
			t.Errorf("%q: time %s, want %s", line, got, wantTime)
		}
		for k, v := range want {
			if got, ok := e.Get(k); v == "-" && ok || v != "-" && got != v {
				t.Errorf("%q: %s=%q, want %q", line, k, got, v)
			}
		}
	}
	f(`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
		Options{Module: Apache}, "2000-10-10T20:55:36Z", map[string]string{
			"source.ip": "127.0.0.1", "user.name": "frank", "http.request.method": "GET", "url.original": "/apache_pb.gif",
			"url.path": "/apache_pb.gif", "http.version": "1.0", "http.response.status_code": "200", "http.response.body.bytes": "2326",
			"http.request.referrer": "http://www.example.com/start.html", "user_agent.original": "Mozilla/4.08 [en] (Win98; I ;Nav)",
			"event.module": "apache", "event.dataset": "apache.access", "event.category": "web", "event.outcome": "success"})
	f(`192.0.2.1 - - [28/Nov/2024:10:00:00 +0000] "GET /x?a=1 HTTP/1.1" 403 12`, Options{}, "2024-11-28T10:00:00Z", map[string]string{
		"event.module": "weblog", "url.query": "a=1", "event.outcome": "failure", "user.name": "-", "http.request.referrer": "-"})
	f(`[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test`,
		Options{}, "2000-10-11T14:32:52Z", map[string]string{"log.level": "error", "source.ip": "127.0.0.1",
			"message": "client denied by server configuration: /export/home/live/ap/htdocs/test", "event.dataset": "apache.error"})
	f(`2016/09/01 10:23:45 [error] 1234#5678: *9 open() "/a" failed, client: 192.168.1.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost"`,
		Options{Location: time.FixedZone("", 3600)}, "2016-09-01T09:23:45Z", map[string]string{"process.pid": "1234", "process.thread.id": "5678",
			"nginx.error.connection_id": "9", "source.ip": "192.168.1.1", "http.request.method": "GET", "url.path": "/favicon.ico",
			"url.domain": "localhost", "message": `open() "/a" failed`})
}

// TestErrorsLeaveEventUnchanged: a line that fails leaves the event as it was.
func TestErrorsLeaveEventUnchanged(t *testing.T) {
	for _, line := range []string{
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 2000 1`,
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0`,
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 200 1 "unterminated`,
		`[Wed Oct 11 14:32:52 2000] no level here`,
		`2016/09/01 10:23:45 [error] x: y`,
	} {
		e := event.Event{Fields: []event.Field{{Name: "host.name", Value: "h"}}}
		for _, p := range []func(*event.Event, string, Options) error{ParseAccess, ParseApacheError, ParseNginxError} {
			if err := p(&e, line, Options{}); err == nil {
				continue
			} else if !strings.Contains(err.Error(), " at byte ") {
				t.Errorf("%q: error without offset: %v", line, err)
			}
			if len(e.Fields) != 1 || !e.Time.IsZero() {
				t.Errorf("%q: event changed on error: %v", line, e.Fields)
			}
		}
	}
}
