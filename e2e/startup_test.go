package e2e

import (
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestStartupErrors: a bad setting and a data dir held by another vigil
// stop start-up with a message that says what and where.
func TestStartupErrors(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		cmd := exec.Command(vigilBin, append([]string{"serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0",
			"--syslog-udp-addr", "", "--syslog-tcp-addr", "", "--syslog-tls-addr", "", "--mllp-addr", ""}, args...)...)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	code, out := run("--syslog-max-message-bytes", "huge")
	if code != 2 || !strings.Contains(out, `"--syslog-max-message-bytes"`) || !strings.Contains(out, `invalid size "huge"`) {
		t.Errorf("bad flag: exit %d, output %q", code, out)
	}
	in := startVigil(t, dir)
	_ = in
	code, out = run()
	if code == 0 || !strings.Contains(out, "data directory is locked by another process") {
		t.Errorf("second vigil on the same data dir: exit %d, output %q", code, out)
	}
}

// TestTypedFlagsVersionAndClientEnv: boolean flags work bare and with
// =false, --version answers, the build is a metric, and the client's
// VIGIL_TOKEN in the environment does not stop the server.
func TestTypedFlagsVersionAndClientEnv(t *testing.T) {
	out, err := exec.Command(vigilBin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "vigil ") || !strings.Contains(string(out), "go1.") {
		t.Fatalf("vigil --version: %v %q", err, out)
	}
	t.Setenv("VIGIL_TOKEN", "a-token-for-vigil-search-0123")
	t.Setenv("VIGIL_SERVER", "http://127.0.0.1:1")
	check := exec.Command(vigilBin, "config", "check", "--bus-sync-always", "--detect-enabled=false")
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "configuration is valid") {
		t.Fatalf("config check with the client's environment: %v %s", err, out)
	}
	in := startVigil(t, t.TempDir(), "--bus-sync-always", "--detect-enabled=false")
	if v, ok := in.metric(`vigil_detect_events_total`); ok {
		t.Errorf("--detect-enabled=false ignored: vigil_detect_events_total = %v", v)
	}
	r, err := newAuthedGet(in.httpURL+"/metrics", in.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body, _ := io.ReadAll(r)
	if !strings.Contains(string(body), "vigil_build_info{") || !strings.Contains(string(body), `goversion="go1.`) {
		t.Errorf("no vigil_build_info in /metrics")
	}
}
