package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRsyslogForwardsOverTLS runs rsyslogd as a relay: it receives from
// logger over UDP and forwards over TLS (RFC 5425, octet counting, gtls)
// with a client certificate to vigil, which requires one. A TLS client
// without a certificate is refused.
func TestRsyslogForwardsOverTLS(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Skip("rsyslogd not installed: apt-get install rsyslog rsyslog-gnutls (.ci/run does)")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"); err != nil {
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
			t.Skip("rsyslog's gtls driver not installed: apt-get install rsyslog-gnutls")
		}
	}
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	in := startVigil(t, filepath.Join(dir, "data"),
		"--syslog-tls-cert", pki.ServerCert, "--syslog-tls-key", pki.ServerKey, "--syslog-tls-client-ca", pki.CA)

	// A free UDP port for rsyslog's input.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, relayPort := hostPort(pc.LocalAddr().String())
	pc.Close()
	_, tlsPort := hostPort(in.tls)
	conf := fmt.Sprintf(`global(workDirectory=%[1]q
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile=%[2]q
  DefaultNetstreamDriverCertFile=%[3]q
  DefaultNetstreamDriverKeyFile=%[4]q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port=%[5]q)
action(type="omfwd" target="127.0.0.1" port=%[6]q protocol="tcp" TCP_Framing="octet-counted"
  StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
  template="RSYSLOG_SyslogProtocol23Format"
  queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
`, dir, pki.CA, pki.ClientCert, pki.ClientKey, relayPort, tlsPort)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rsyslogd, "-N1", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("rsyslog config check: %v\n%s", err, out)
	}
	rs := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslog.pid"))
	var rsOut strings.Builder
	rs.Stdout, rs.Stderr = &rsOut, &rsOut
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { rs.Process.Kill(); rs.Wait() }()
	time.Sleep(500 * time.Millisecond)

	run := fmt.Sprintf("tls%d", time.Now().UnixNano())
	const n = 20
	for i := range n {
		msg := fmt.Sprintf("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.1.1.%d user=nurse%d %s", i, i, run)
		if out, err := exec.Command("logger", "-n", "127.0.0.1", "-P", relayPort, "-d", "-t", "sshd", msg).CombinedOutput(); err != nil {
			t.Fatalf("logger: %v\n%s", err, out)
		}
	}
	rows := in.waitFor(`"`+run+`"`, n, 30*time.Second)
	if len(rows) != n {
		t.Fatalf("got %d of %d messages through rsyslog over TLS\nrsyslog output:\n%s\nvigil logs:\n%s", len(rows), n, rsOut.String(), in.Logs())
	}
	for _, r := range rows {
		if r["tls.client.x509.subject.common_name"] != "rsyslog-ward-7" {
			t.Errorf("client certificate not recorded: %q", r["tls.client.x509.subject.common_name"])
		}
		if r["event.action"] != "pam_auth" || r["event.outcome"] != "failure" || !strings.HasPrefix(r["source.ip"], "10.1.1.") {
			t.Errorf("auth facts: action %q outcome %q source %q", r["event.action"], r["event.outcome"], r["source.ip"])
		}
		if !strings.HasPrefix(r["log.source.address"], "127.0.0.1:") || r["process.name"] != "sshd" {
			t.Errorf("source %q process %q", r["log.source.address"], r["process.name"])
		}
	}

	// Without a client certificate the handshake fails and nothing is stored.
	conn, err := tls.Dial("tcp", in.tls, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
	if err == nil {
		fmt.Fprintf(conn, "20 <13>1 - - - - - - nocert")
		buf := make([]byte, 1)
		_, err = conn.Read(buf) // the server's alert arrives on read in TLS 1.3
		conn.Close()
	}
	if err == nil {
		t.Fatal("TLS connection without client certificate was accepted")
	}
	time.Sleep(500 * time.Millisecond)
	if rows := in.search(`nocert`); len(rows) != 0 {
		t.Fatalf("message from a client without certificate was stored: %v", rows)
	}
}
