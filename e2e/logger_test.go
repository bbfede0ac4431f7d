package e2e

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// TestLoggerUDPAndTCP sends with util-linux logger over UDP, TCP with
// newline framing and TCP with octet counting, in RFC 5424 and RFC 3164,
// and finds every message back with its parsed fields.
func TestLoggerUDPAndTCP(t *testing.T) {
	if _, err := exec.LookPath("logger"); err != nil {
		t.Skip("logger (util-linux) not installed: apt-get install bsdutils")
	}
	in := startVigil(t, t.TempDir())
	run := fmt.Sprintf("run%d", time.Now().UnixNano())
	cases := []struct {
		name string
		addr string
		args []string
	}{
		{"udp-5424", in.udp, []string{"-d"}},
		{"udp-3164", in.udp, []string{"-d", "--rfc3164"}},
		{"tcp-newline", in.tcp, []string{"-T"}},
		{"tcp-octet", in.tcp, []string{"-T", "--octet-count"}},
		{"tcp-3164", in.tcp, []string{"-T", "--rfc3164"}},
	}
	for _, c := range cases {
		host, port := hostPort(c.addr)
		args := append([]string{"-n", host, "-P", port, "-t", "sshd", "-i"}, c.args...)
		args = append(args, fmt.Sprintf("Failed password for invalid user %s-%s from 10.9.8.7 port 4242 ssh2", c.name, run))
		if out, err := exec.Command("logger", args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: logger %v: %v\n%s", c.name, args, err, out)
		}
	}
	rows := in.waitFor(`"`+run+`"`, len(cases), 20*time.Second)
	got := map[string]map[string]string{}
	for _, r := range rows {
		for _, c := range cases {
			if r["user.name"] == c.name+"-"+run {
				got[c.name] = r
			}
		}
	}
	for _, c := range cases {
		r := got[c.name]
		if r == nil {
			t.Errorf("%s: message not found (found %d rows)", c.name, len(rows))
			continue
		}
		want := map[string]string{
			"process.name": "sshd", "event.category": "authentication", "event.outcome": "failure",
			"event.action": "ssh_invalid_user", "source.ip": "10.9.8.7", "source.port": "4242", "event.module": "syslog",
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.name, k, r[k], v)
			}
		}
		if r["vigil.parse_error"] != "" || r["process.pid"] == "" || r["log.syslog.facility.name"] == "" {
			t.Errorf("%s: parse_error %q, pid %q, facility %q", c.name, r["vigil.parse_error"], r["process.pid"], r["log.syslog.facility.name"])
		}
	}
}
