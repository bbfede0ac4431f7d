package e2e

import (
	"context"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	for _, g := range []string{"vigil_store_rows ", "vigil_store_size_bytes ", `vigil_store_parts{kind="small"}`, "vigil_bus_batches ", "vigil_bus_bytes ",
		"vigil_bus_oldest_unacked_seconds ", `vigil_bus_lag_batches{consumer="store-writer"}`} {
		if !strings.Contains(string(body), g) {
			t.Errorf("no %s in /metrics", g)
		}
	}

	// With detection off, source health still sees every stored event:
	// the store writer feeds it.
	sendOctetCounted(t, in.tcp, writeLines(t, "<38>1 2026-12-07T10:00:00Z lab-gw-7 sshd 42 - - Accepted publickey for root from 10.1.1.1 port 22 ssh2"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var res struct {
			Sources []struct {
				Host  string `json:"host"`
				Count int64  `json:"count"`
			} `json:"sources"`
		}
		if err := in.client().Get(context.Background(), "/api/v1/sources", url.Values{"host": {"lab-gw-7"}}, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Sources) == 1 && res.Sources[0].Count == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("source lab-gw-7 not tracked with detection off: %+v", res.Sources)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeLines writes lines to a temporary file and returns its path.
func writeLines(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
