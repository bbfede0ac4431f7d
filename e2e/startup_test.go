package e2e

import (
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
	if code != 2 || !strings.Contains(out, "syslog.max_message_bytes (flag --syslog-max-message-bytes): invalid size") {
		t.Errorf("bad flag: exit %d, output %q", code, out)
	}
	in := startVigil(t, dir)
	_ = in
	code, out = run()
	if code == 0 || !strings.Contains(out, "data directory is locked by another process") {
		t.Errorf("second vigil on the same data dir: exit %d, output %q", code, out)
	}
}
