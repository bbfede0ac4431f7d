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

// syslogNG finds a syslog-ng binary: an unpacked Debian package named by
// VIGIL_TEST_SYSLOG_NG_ROOT (.ci/run unpacks syslog-ng-core there, since it
// cannot be installed beside rsyslog), or one on PATH.
func syslogNG(t *testing.T) (bin string, env []string, modules string) {
	t.Helper()
	if root := os.Getenv("VIGIL_TEST_SYSLOG_NG_ROOT"); root != "" {
		bin = filepath.Join(root, "usr/sbin/syslog-ng")
		lib := filepath.Join(root, "usr/lib/syslog-ng")
		mods, _ := filepath.Glob(filepath.Join(lib, "3.*"))
		if _, err := os.Stat(bin); err == nil && len(mods) == 1 {
			return bin, append(os.Environ(), "LD_LIBRARY_PATH="+lib), mods[0]
		}
		t.Fatalf("VIGIL_TEST_SYSLOG_NG_ROOT=%s holds no syslog-ng", root)
	}
	if p, err := exec.LookPath("syslog-ng"); err == nil {
		return p, os.Environ(), ""
	}
	t.Skip("syslog-ng not found: .ci/run unpacks Debian's syslog-ng-core and sets VIGIL_TEST_SYSLOG_NG_ROOT (or install syslog-ng)")
	return "", nil, ""
}

// TestSyslogNGSendsCEF: syslog-ng reads CEF records from files and sends
// them to vigil over TCP, in BSD syslog with newline framing (network())
// and in RFC 5424 with octet counting (syslog()); vigil maps them to ECS.
func TestSyslogNGSendsCEF(t *testing.T) {
	bin, env, modules := syslogNG(t)
	dir := t.TempDir()
	in := startVigil(t, filepath.Join(dir, "data"))
	host, port := hostPort(in.tcp)
	run := fmt.Sprintf("run%d", time.Now().UnixNano())
	recs := map[string]string{
		"bsd.log":     fmt.Sprintf("CEF:0|Fortinet|FortiGate|7.2.5|0000000013|traffic forward|3|src=10.20.30.40 dst=8.8.8.8 spt=51000 dpt=53 proto=17 act=accept suser=%s-bsd cs1Label=policy cs1=allow-dns", run),
		"rfc5424.log": fmt.Sprintf("CEF:0|Palo Alto Networks|PAN-OS|10.1.6|THREAT|spyware|8|src=10.20.30.41 dst=203.0.113.5 dpt=443 act=reset-both suser=%s-5424 msg=C2 beacon blocked", run),
	}
	for name, rec := range recs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(rec+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`@version: 3.38
options { keep-hostname(yes); time-reopen(1); };
source s_bsd { file(%[1]q follow-freq(1) flags(no-parse)); };
source s_5424 { file(%[2]q follow-freq(1) flags(no-parse)); };
destination d_bsd { network(%[3]q port(%[4]s) transport("tcp") persist-name("vigil-bsd")); };
destination d_5424 { syslog(%[3]q port(%[4]s) transport("tcp") persist-name("vigil-5424")); };
log { source(s_bsd); destination(d_bsd); };
log { source(s_5424); destination(d_5424); };
`, filepath.Join(dir, "bsd.log"), filepath.Join(dir, "rfc5424.log"), host, port)
	confPath := filepath.Join(dir, "syslog-ng.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-F", "-f", confPath, "--persist-file", filepath.Join(dir, "sng.persist"),
		"--pidfile", filepath.Join(dir, "sng.pid"), "--control", filepath.Join(dir, "sng.ctl")}
	if modules != "" {
		args = append(args, "--module-path", modules)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	rows := in.waitFor(`source.user.name:~"`+run+`"`, 2, 30*time.Second)
	if len(rows) != 2 {
		t.Fatalf("got %d of 2 CEF records through syslog-ng\nsyslog-ng:\n%s\nvigil:\n%s", len(rows), out.String(), in.Logs())
	}
	byUser := map[string]map[string]string{}
	for _, r := range rows {
		byUser[r["source.user.name"]] = r
	}
	f := func(r map[string]string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: %s = %q, want %q", r["source.user.name"], k, r[k], v)
			}
		}
	}
	f(byUser[run+"-bsd"], map[string]string{"event.module": "cef", "observer.vendor": "Fortinet", "observer.product": "FortiGate",
		"source.ip": "10.20.30.40", "destination.ip": "8.8.8.8", "destination.port": "53", "event.code": "0000000013", "vigil.parse_error": ""})
	f(byUser[run+"-5424"], map[string]string{"event.module": "cef", "observer.vendor": "Palo Alto Networks", "source.ip": "10.20.30.41",
		"destination.port": "443", "event.severity": "8", "message": "C2 beacon blocked", "log.syslog.version": "1", "vigil.parse_error": ""})
	if byUser[run+"-bsd"]["cef.custom.policy"] != "allow-dns" {
		t.Errorf("labelled custom field: %v", byUser[run+"-bsd"])
	}
}
