package normalize

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var goldenNow = time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)

// readLines returns the non-blank, non-comment lines of a testdata file.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// TestSyslogGolden parses and normalizes testdata/syslog.input and compares
// each event, fields sorted, with testdata/syslog.golden (one JSON object
// per line, after the input line as a comment).
func TestSyslogGolden(t *testing.T) {
	p := &syslog.Parser{Now: func() time.Time { return goldenNow }, KeepOriginal: true}
	var out bytes.Buffer
	recognised := 0
	for _, line := range readLines(t, "testdata/syslog.input") {
		var e event.Event
		_ = p.Parse([]byte(line), &e)
		if Syslog(&e) {
			recognised++
		}
		e.SortFields()
		out.WriteString("# " + line + "\n")
		out.Write(event.AppendJSON(nil, &e))
		out.WriteString("\n")
	}
	compareGolden(t, "testdata/syslog.golden", out.Bytes())
	if recognised < 40 {
		t.Errorf("only %d authentication messages recognised", recognised)
	}
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s line %d differs:\ngot  %s\nwant %s\n(run go test -update if the change is intended)", name, i+1, gl, wl)
		}
	}
}

func TestSyslogSkips(t *testing.T) {
	f := func(fields ...string) {
		t.Helper()
		var e event.Event
		for i := 0; i+1 < len(fields); i += 2 {
			e.Add(fields[i], fields[i+1])
		}
		n := len(e.Fields)
		if Syslog(&e) || len(e.Fields) != n {
			t.Errorf("%v: normalized, want untouched", fields)
		}
	}
	// Parse failures are left as they are.
	f("process.name", "sshd", "message", "Failed password for root from 203.0.113.5 port 22 ssh2", "vigil.parse_error", "x")
	// Already normalized.
	f("process.name", "sshd", "message", "Failed password for root from 203.0.113.5 port 22 ssh2", "event.action", "x")
	// No process and not PAM; no message.
	f("message", "Failed password for root from 203.0.113.5 port 22 ssh2")
	f("process.name", "sshd")
}

func TestJSON(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		var e event.Event
		for _, kv := range strings.Split(in, "|") {
			k, v, _ := strings.Cut(kv, "=")
			e.Add(k, v)
		}
		JSON(&e)
		var got []string
		for _, fl := range e.Fields {
			got = append(got, fl.Name+"="+fl.Value)
		}
		if g := strings.Join(got, "|"); g != want {
			t.Errorf("%s:\ngot  %s\nwant %s", in, g, want)
		}
	}
	f("host.hostname=web01|message=x", "host.hostname=web01|message=x|host.name=web01")
	f("host.hostname=web01|host.name=web01.example.org", "host.hostname=web01|host.name=web01.example.org")
	f("log.level=WARN|message=x", "log.level=warn|message=x")
	f("log.level=info", "log.level=info")
	// A journald/Filebeat shipper sending sshd lines.
	f("process.name=sshd|message=Failed password for root from 203.0.113.5 port 22 ssh2|user.name=old",
		"process.name=sshd|message=Failed password for root from 203.0.113.5 port 22 ssh2|user.name=root|"+
			"event.category=authentication|event.action=ssh_login|event.outcome=failure|event.type=info|"+
			"system.auth.ssh.method=password|source.ip=203.0.113.5|source.port=22")
	// A sender that already set event.action is left alone.
	f("process.name=sshd|message=Failed password for root from 203.0.113.5 port 22 ssh2|event.action=custom",
		"process.name=sshd|message=Failed password for root from 203.0.113.5 port 22 ssh2|event.action=custom")
	f("message=pam_unix(cron:session): session closed for user root",
		"message=pam_unix(cron:session): session closed for user root|event.category=authentication|event.action=session_close|"+
			"event.outcome=success|event.type=end|service.name=cron|system.auth.pam.module=pam_unix|user.name=root")
	// A file shipper sending auth.log lines as they are (Filebeat without
	// ingest pipelines, the collector's filelog, Fluent Bit's tail).
	f("message=Nov 28 10:00:01 web01 sshd[1234]: Failed password for root from 203.0.113.5 port 22 ssh2|log.file.path=/var/log/auth.log",
		"message=Nov 28 10:00:01 web01 sshd[1234]: Failed password for root from 203.0.113.5 port 22 ssh2|log.file.path=/var/log/auth.log|"+
			"process.name=sshd|process.pid=1234|"+
			"event.category=authentication|event.action=ssh_login|event.outcome=failure|event.type=info|"+
			"system.auth.ssh.method=password|user.name=root|source.ip=203.0.113.5|source.port=22")
	f("message=2026-11-28T10:00:01.123456+01:00 db01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
		"message=2026-11-28T10:00:01.123456+01:00 db01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id|"+
			"process.name=sudo|event.category=authentication|event.action=sudo|event.outcome=success|event.type=start|"+
			"user.name=alice|user.effective.name=root|process.command_line=/usr/bin/id|system.auth.sudo.tty=pts/0|system.auth.sudo.pwd=/home/alice")
	// A syslog line of a program with nothing to extract gets its process.
	f("message=Nov  8 10:00:01 web01 CRON[77]: (root) CMD (run-parts /etc/cron.hourly)",
		"message=Nov  8 10:00:01 web01 CRON[77]: (root) CMD (run-parts /etc/cron.hourly)|process.name=CRON|process.pid=77")
	// Not syslog lines: left alone.
	f("message=Nov 28 was a good day: really", "message=Nov 28 was a good day: really")
	f("message=2026-11-28 backup finished: ok", "message=2026-11-28 backup finished: ok")
}

func TestSyslogLine(t *testing.T) {
	for _, c := range []struct{ in, prog, pid, msg string }{
		{"Nov 28 10:00:01 web01 sshd[1234]: Accepted publickey for bob", "sshd", "1234", "Accepted publickey for bob"},
		{"<38>Nov  8 10:00:01 web01 su: pam_unix(su:session): session opened", "su", "", "pam_unix(su:session): session opened"},
		{"2026-11-28T10:00:01Z h systemd-logind[5]: New session 3 of user alice.", "systemd-logind", "5", "New session 3 of user alice."},
		{"Nov 28 10:00:01 web01 sshd[12a]: x", "", "", ""},
		{"Nov 28 10:00:01 web01 [12]: x", "", "", ""},
		{"Nov 28 10:00:01 web01", "", "", ""},
		{"Foo 28 10:00:01 web01 sshd: x", "", "", ""},
		{"<999999>Nov 28 10:00:01 web01 sshd: x", "", "", ""},
		{"", "", "", ""},
	} {
		prog, pid, msg, ok := syslogLine(c.in)
		if ok != (c.prog != "") || prog != c.prog || pid != c.pid || msg != c.msg {
			t.Errorf("syslogLine(%q) = %q, %q, %q, %v; want %q, %q, %q", c.in, prog, pid, msg, ok, c.prog, c.pid, c.msg)
		}
	}
}

func FuzzSyslogLine(f *testing.F) {
	for _, s := range []string{"Nov 28 10:00:01 web01 sshd[1234]: x", "<13>2026-11-28T10:00:01Z h p: m", "Nov  8 10:00:01 a b[]: c", "<1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prog, pid, msg, ok := syslogLine(s)
		if !ok {
			return
		}
		if prog == "" || !strings.Contains(s, prog) || !strings.HasSuffix(s, msg) || (pid != "" && !strings.Contains(s, "["+pid+"]")) {
			t.Fatalf("syslogLine(%q) = %q, %q, %q", s, prog, pid, msg)
		}
	})
}
