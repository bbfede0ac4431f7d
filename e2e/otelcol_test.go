package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// otelcol finds the OpenTelemetry Collector that .ci/run builds from
// e2e/otelcol (named by VIGIL_TEST_OTELCOL), or an otelcol on PATH.
func otelcol(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VIGIL_TEST_OTELCOL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("VIGIL_TEST_OTELCOL=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"otelcol", "otelcol-contrib"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no OpenTelemetry Collector: .ci/run builds one from e2e/otelcol and sets VIGIL_TEST_OTELCOL (or: cd e2e/otelcol && go build -o /tmp/otelcol . && VIGIL_TEST_OTELCOL=/tmp/otelcol go test ./e2e)")
	return ""
}

// shippersConfig returns the first fenced block after heading in
// docs/shippers.md: the configuration a user copies.
func shippersConfig(t *testing.T, heading string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "shippers.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/shippers.md has no %q section", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```")
	if start < 0 {
		t.Fatalf("docs/shippers.md %q: no configuration block", heading)
	}
	s = s[start+3:]
	s = s[strings.Index(s, "\n")+1:] // the language tag
	end := strings.Index(s, "```")
	if end < 0 {
		t.Fatalf("docs/shippers.md %q: unterminated configuration block", heading)
	}
	return s[:end]
}

// TestOTelCollectorFilelog runs a real OpenTelemetry Collector with the
// configuration of docs/shippers.md (filelog receiver, OTLP/HTTP exporter
// with the bearer token from the environment), changing only the address,
// the files and start_at, and reads back what it sent.
func TestOTelCollectorFilelog(t *testing.T) {
	bin := otelcol(t)
	dir := t.TempDir()
	in := startVigil(t, filepath.Join(dir, "data"))

	conf := shippersConfig(t, "## OpenTelemetry Collector")
	for _, r := range [][2]string{
		{"http://vigil.example.org:8080", in.httpURL},
		{"/var/log/myapp/*.log", filepath.Join(dir, "logs", "*.log")},
		{"start_at: end", "start_at: beginning"},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("the documented collector configuration no longer contains %q:\n%s", r[0], conf)
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	confPath := filepath.Join(dir, "otelcol.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("run%d", time.Now().UnixNano())
	lines := []string{
		"2026-11-28T10:00:00Z INFO scheduler: job " + run + " started",
		"2026-11-28T10:00:01Z WARN scheduler: job " + run + " slow, 12 s",
		// An auth.log line as the file holds it: parsed by Vigil.
		"Nov 28 10:00:02 ehr-db-01 sshd[4242]: Failed password for invalid user " + run + " from 192.0.2.7 port 50022 ssh2",
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logs", "app.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Its own metrics off: their default port, 8888, may be taken.
	cmd := exec.Command(bin, "--config", confPath, "--set", "service::telemetry::metrics::level=none")
	cmd.Env = append(os.Environ(), "VIGIL_TOKEN="+in.token)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-exited }()

	var rows []map[string]string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if rows = in.search(`message:"` + run + `"`); len(rows) >= len(lines) {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the collector stopped: %v\n%s", err, out.String())
		default:
		}
	}
	if len(rows) != len(lines) {
		t.Fatalf("got %d of %d lines through the collector\ncollector:\n%s\nvigil:\n%s", len(rows), len(lines), out.String(), in.Logs())
	}
	got := map[string]bool{}
	for _, r := range rows {
		got[r["message"]] = true
		if r["log.file.name"] != "app.log" || !strings.Contains(r["otel.scope.name"], "filelogreceiver") {
			t.Errorf("mapped fields: %v", r)
		}
		if strings.Contains(r["message"], "sshd[") {
			for k, v := range map[string]string{"process.name": "sshd", "process.pid": "4242", "event.category": "authentication",
				"event.outcome": "failure", "user.name": run, "source.ip": "192.0.2.7"} {
				if r[k] != v {
					t.Errorf("auth.log line: %s = %q, want %q", k, r[k], v)
				}
			}
		}
	}
	for _, l := range lines {
		if !got[l] {
			t.Errorf("line %q not stored as a message; stored: %v", l, got)
		}
	}
}
