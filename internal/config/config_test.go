package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, file string, env []string, args ...string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	if file != "" {
		p := filepath.Join(t.TempDir(), "vigil.yaml")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs, env)
}

func TestDefaults(t *testing.T) {
	c, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./vigil-data" || c.HTTP.Addr != "127.0.0.1:8080" || c.Syslog.UDPAddr != ":5514" ||
		c.Syslog.TCPAddr != ":5514" || c.Syslog.TLSAddr != ":6514" || c.Syslog.MaxMessageBytes != 64<<10 ||
		time.Duration(c.Store.Retention) != 400*24*time.Hour || !c.Ingest.KeepOriginal {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	file := "data_dir: /from/file\nhttp:\n  addr: 127.0.0.1:9000\nsyslog:\n  tcp_addr: ':7000'\n  udp_addr: ':7001'\nstore:\n  retention: 30d\n"
	env := []string{"VIGIL_HTTP_ADDR=127.0.0.1:9100", "VIGIL_SYSLOG_TCP_ADDR=:7100", "PATH=/bin"}
	c, err := load(t, file, env, "--syslog-tcp-addr", ":7200", "--syslog-tls-addr", "")
	if err != nil {
		t.Fatal(err)
	}
	f := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	f("data_dir from file", c.DataDir, "/from/file")
	f("http.addr env over file", c.HTTP.Addr, "127.0.0.1:9100")
	f("syslog.tcp_addr flag over env", c.Syslog.TCPAddr, ":7200")
	f("syslog.udp_addr from file", c.Syslog.UDPAddr, ":7001")
	f("syslog.tls_addr empty flag disables", c.Syslog.TLSAddr, "")
	f("store.retention", c.Store.Retention.String(), "30d")
}

func TestLists(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	c, err := load(t, "detect:\n  rules:\n    - "+a+"\n    - "+b+"\n", nil)
	if err != nil || len(c.Detect.Rules) != 2 || c.Detect.Rules[1] != b {
		t.Fatalf("YAML list: %v %v", c.Detect.Rules, err)
	}
	c, err = load(t, "", []string{"VIGIL_DETECT_RULES=" + a + ", " + b})
	if err != nil || len(c.Detect.Rules) != 2 || c.Detect.Rules[0] != a {
		t.Fatalf("env list: %v %v", c.Detect.Rules, err)
	}
	if _, err = load(t, "", nil, "--detect-rules", "/nonexistent/rules"); err == nil || !strings.Contains(err.Error(), "detect.rules") {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestErrorsNameKeyAndSource(t *testing.T) {
	f := func(file string, env []string, args []string, want ...string) {
		t.Helper()
		_, err := load(t, file, env, args...)
		if err == nil {
			t.Fatalf("no error, want %q", want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
	}
	f("http:\n  adr: x\n", nil, nil, "http.adr", "vigil.yaml:2", "unknown setting")
	f("syslog:\n  max_message_bytes: lots\n", nil, nil, "syslog.max_message_bytes", "vigil.yaml:2", "invalid size")
	f("", []string{"VIGIL_SYSLOG_UDP_ADDR=nope"}, nil, "syslog.udp_addr", "environment VIGIL_SYSLOG_UDP_ADDR", "invalid address")
	f("", nil, []string{"--syslog-timezone", "Mars/Base"}, "syslog.timezone", "flag --syslog-timezone", "unknown time zone")
	f("", []string{"VIGIL_HTTP_ADRESS=x"}, nil, "VIGIL_HTTP_ADRESS", "unknown setting")
	f("store:\n  retention: 1h\n", nil, nil, "store.retention", "must be at least 1d")
	f("ingest:\n  token: short\n", nil, nil, "ingest.token", "too short")
	f("http: [1]\n", nil, nil, "http", "want a mapping")
	f("log:\n  level: chatty\n", nil, nil, "log.level", "want one of debug, info, warn, error")
	f("syslog:\n  tls_cert: /nonexistent.pem\n", nil, nil, "syslog.tls_cert", "cannot read")
	// Formats come from the one list; a whole-file-only format is no record format.
	f("kafka:\n  format: apache\n", nil, nil, "kafka.format", "vigil.yaml:2", `invalid format "apache": want one of`, "apache-access", "gelf, kv")
	f("", []string{"VIGIL_KAFKA_FORMAT=evtx"}, nil, "kafka.format", `invalid format "evtx"`)
}

func TestParseHelpers(t *testing.T) {
	for in, want := range map[string]time.Duration{"400d": 400 * 24 * time.Hour, "1.5h": 90 * time.Minute, "90s": 90 * time.Second} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]int64{"65536": 65536, "64KiB": 65536, "8GiB": 8 << 30, "2MB": 2e6, "1.5 KiB": 1536} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseByteSize("-5"); err == nil {
		t.Error("negative size accepted")
	}
	if got := ByteSize(64 << 10).String(); got != "64KiB" {
		t.Errorf("ByteSize string %q", got)
	}
}

func TestReferenceListsEveryKey(t *testing.T) {
	ref := Reference()
	for _, k := range keys {
		if !strings.Contains(ref, "`"+k.path+"`") || !strings.Contains(ref, "`"+EnvName(k.path)+"`") {
			t.Errorf("reference lacks %s", k.path)
		}
	}
}

// The README's configuration reference must be the generated one.
func TestReadmeHasReference(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if !strings.Contains(string(data), Reference()) {
		t.Fatal("README.md's configuration table differs from `vigil config reference`: paste its output into the README")
	}
}

// Flags are typed: booleans work bare and with =false, durations and sizes
// are checked as the flag is parsed, with the flag's name in the error.
func TestTypedFlags(t *testing.T) {
	parse := func(args ...string) (*Config, error) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return Load(fs, nil)
	}
	c, err := parse("--bus-sync-always", "--detect-enabled=false", "--ingest-keep-original=false", "--sources-window", "2h", "--bus-max-bytes", "1GiB")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Bus.SyncAlways || c.Detect.Enabled || c.Ingest.KeepOriginal || time.Duration(c.Sources.Window) != 2*time.Hour || c.Bus.MaxBytes != 1<<30 {
		t.Fatalf("sync_always %v, detect %v, keep_original %v, window %v, max_bytes %v", c.Bus.SyncAlways, c.Detect.Enabled, c.Ingest.KeepOriginal, c.Sources.Window, c.Bus.MaxBytes)
	}
	c, err = parse("--detect-enabled", "--bus-sync-always=true")
	if err != nil || !c.Detect.Enabled || !c.Bus.SyncAlways {
		t.Fatalf("bare true: %v %+v", err, c)
	}
	for _, bad := range [][]string{
		{"--sources-window", "soon"}, {"--bus-max-bytes", "lots"}, {"--detect-enabled=maybe"}, {"--detect-correlation-groups", "many"},
	} {
		if _, err := parse(bad...); err == nil || !strings.Contains(err.Error(), strings.SplitN(strings.TrimPrefix(bad[0], "--"), "=", 2)[0]) {
			t.Errorf("%v: error %v, want one naming the flag", bad, err)
		}
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	for name, typ := range map[string]string{"bus-sync-always": "bool", "sources-window": "duration", "bus-max-bytes": "size", "detect-correlation-groups": "int", "detect-rules": "strings", "http-addr": "string"} {
		if f := fs.Lookup(name); f == nil || f.Value.Type() != typ {
			t.Errorf("--%s: want type %s", name, typ)
		}
	}
}

// The client's variables (documented for vigil search and friends) do not
// stop the server; a misspelt setting still does.
func TestClientEnvironmentIgnored(t *testing.T) {
	if _, err := load(t, "", []string{"VIGIL_TOKEN=abc", "VIGIL_SERVER=https://vigil:8080"}); err != nil {
		t.Fatalf("client variables refused: %v", err)
	}
	if _, err := load(t, "", []string{"VIGIL_TOKEN=abc", "VIGIL_DATADIR=/x"}); err == nil || !strings.Contains(err.Error(), "VIGIL_DATADIR") {
		t.Fatalf("misspelt variable: %v", err)
	}
}

// TestLoadReportsEveryProblem: every bad setting is reported, each with
// its key and where it came from (file:line, variable, flag), not only the
// first; the rest of the file is still read.
func TestLoadReportsEveryProblem(t *testing.T) {
	file := "http:\n  adr: x\nsyslog:\n  max_message_bytes: lots\n  timezone: Mars/Base\nstore:\n  retention: 1h\nlog:\n  level: chatty\n"
	_, err := load(t, file, []string{"VIGIL_SYSLOG_UDP_ADDR=nope", "VIGIL_HTTP_ADRESS=x"}, "--detect-timezone", "Pluto/Base")
	ps := Problems(err)
	want := []string{
		"config: http.adr (" /* file */, "vigil.yaml:2): unknown setting",
		"config: syslog.max_message_bytes (", "vigil.yaml:4): invalid size",
		"config: syslog.timezone (", "vigil.yaml:5): ",
		"config: store.retention (", "vigil.yaml:7): must be at least 1d",
		"config: log.level (", "vigil.yaml:9): invalid value",
		"config: syslog.udp_addr (environment VIGIL_SYSLOG_UDP_ADDR)", "",
		"config: VIGIL_HTTP_ADRESS (environment): unknown setting", "",
		"config: detect.timezone (flag --detect-timezone)", "",
	}
	if len(ps) != len(want)/2 {
		t.Fatalf("%d problems, want %d:\n%v", len(ps), len(want)/2, err)
	}
	text := err.Error()
	for i := 0; i < len(want); i += 2 {
		found := false
		for _, p := range ps {
			if strings.Contains(p.Error(), want[i]) && strings.Contains(p.Error(), want[i+1]) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem with %q and %q in:\n%s", want[i], want[i+1], text)
		}
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "http.adr" {
		t.Errorf("errors.As: %+v", ce)
	}
	// A flag corrects a bad file value: no problem for it.
	if _, err := load(t, "log:\n  level: chatty\n", nil, "--log-level", "info"); err != nil {
		t.Errorf("flag over a bad file value: %v", err)
	}
}

func TestStructuredNotifyAndResponse(t *testing.T) {
	c, err := load(t, (`
notify:
  console_url: https://vigil.example.org
  smtp: {host: mail.example.org, username: vigil, password: s3cret}
  webhooks:
    - {name: soc, url: "https://soc.example.org/hook", secret: abc, min_level: medium}
  email:
    - name: privacy-office
      to: [privacy@example.org]
      digest: 1h
      tags: ["hipaa.*"]
  syslog:
    - {name: splunk, address: "10.1.1.1:514", protocol: tcp, format: cef}
response:
  protected_networks: [10.50.0.0/16]
  actions:
    - name: block-ip
      url: "https://fw.example.org/api/block?ip={{index .Fields \"source.ip\"}}"
      disruptive: true
      rules: [vigil_lnx_ssh_brute_force]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	chs := c.Channels()
	if len(chs) != 3 || chs[0].Kind != "webhook" || chs[0].Secret != "abc" || chs[0].MinLevel != "medium" || chs[1].Kind != "email" || chs[1].Digest != "1h" ||
		chs[2].Protocol != "tcp" || !strings.HasSuffix(chs[0].Where, "vigil.yaml:6") {
		t.Fatalf("channels %+v", chs)
	}
	if len(c.Response.Actions) != 1 || !c.Response.Actions[0].Disruptive || c.Notify.SMTP.Port != 587 || c.Response.ProtectedNetworks[0] != "10.50.0.0/16" {
		t.Fatalf("response %+v smtp %+v", c.Response, c.Notify.SMTP)
	}
	for _, bad := range []struct{ yml, want string }{
		{"notify:\n  webhooks:\n    - {name: a, url: https://x, colour: red}\n", `vigil.yaml:3: unknown key "colour"`},
		{"notify:\n  webhooks:\n    - {name: a, url: ftp://x}\n", `vigil.yaml:3: url: "ftp://x": want an http or https URL`},
		{"notify:\n  webhooks:\n    - {url: https://x}\n", "name: every channel needs a name"},
		{"notify:\n  webhooks:\n    - {name: a, url: https://x, min_level: loud}\n", `min_level: "loud"`},
		{"notify:\n  webhooks: {name: a}\n", "want a list of channels"},
		{"notify:\n  email:\n    - {name: a, to: [x@y]}\n", "notify.smtp.host"},
		{"notify:\n  slack:\n    - {name: a, url: https://x}\n  teams:\n    - {name: a, url: https://y}\n", `channel name "a" is also used at`},
		{"notify:\n  syslog:\n    - {name: a, address: nowhere}\n", "want host:port"},
		{"response:\n  actions:\n    - {name: a}\n", "url: the request's URL"},
		{"response:\n  actions:\n    - {name: a, url: x, method: YELL}\n", `method: "YELL"`},
	} {
		_, err := load(t, bad.yml, nil)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: got %v, want an error with %q", bad.yml, err, bad.want)
		}
	}
}

func TestAccessSettings(t *testing.T) {
	c, err := load(t, "auth:\n  oidc:\n    issuer: https://idp.example.org\n    client_id: vigil\n    redirect_url: https://vigil.example.org/api/v1/auth/oidc/callback\n    role_mapping:\n      - CN=SIEM Admins,OU=Groups,DC=example,DC=org=admin\n      - vigil-analysts=analyst\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, role, err := ParseRoleMapping(c.Auth.OIDC.RoleMapping[0])
	if err != nil || v != "CN=SIEM Admins,OU=Groups,DC=example,DC=org" || role != "admin" {
		t.Fatalf("mapping %q %q %v", v, role, err)
	}
	if c.Auth.IdleTimeout.String() != "15m0s" || len(c.Auth.MFARoles) != 2 || c.HTTP.TLS != "auto" {
		t.Fatalf("defaults %+v", c.Auth)
	}
	// The audit trail outlives the events: the default follows a longer
	// event retention; a shorter explicit one is refused.
	if c, err := load(t, "", nil, "--store-retention", "3650d"); err != nil || c.Audit.Retention.String() != "3650d" {
		t.Fatalf("following retention: %v %v", c, err)
	}
	for _, bad := range [][]string{
		{"--store-retention", "400d", "--audit-retention", "30d"},
		{"--auth-oidc-role-mapping", "group=root"},
		{"--auth-oidc-role-mapping", "=admin"},
		{"--auth-mfa-roles", "superuser"},
		{"--http-trusted-proxies", "10.0.0.0/33"},
		{"--phi-fields", "a*b"},
		{"--http-tls", "sometimes"},
		{"--auth-oidc-issuer", "https://idp.example.org"},
	} {
		if _, err := load(t, "", nil, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if p := ParseProxies([]string{"10.0.0.0/8", "192.0.2.7"}); len(p) != 2 || p[1].Bits() != 32 {
		t.Fatalf("proxies %v", p)
	}
}

// TestIngestMemoryBudgetFollowsMemoryLimit: the HTTP bodies' budget is a
// quarter of memory.limit unless set, so that it never exceeds the
// process's own limit (it was 512 MiB beside a 448 MiB limit).
func TestIngestMemoryBudgetFollowsMemoryLimit(t *testing.T) {
	f := func(want int64, args ...string) {
		t.Helper()
		c, err := load(t, "", nil, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if got := c.IngestMemoryBudget(); got != want {
			t.Errorf("%v: budget %d, want %d", args, got, want)
		}
	}
	f(112 << 20) // the defaults: a quarter of 448 MiB
	f(256<<20, "--memory-limit", "1GiB")
	f(16<<20, "--memory-limit", "32MiB")
	f(512<<20, "--memory-limit", "0")
	f(64<<20, "--ingest-memory-budget", "64MiB")
	if _, err := load(t, "", nil, "--ingest-memory-budget", "8MiB"); err == nil || !strings.Contains(err.Error(), "ingest.memory_budget") {
		t.Errorf("8MiB budget: got %v, want an error naming ingest.memory_budget", err)
	}
	c, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.IngestMemoryBudget() > int64(c.Memory.Limit) {
		t.Errorf("default budget %d exceeds memory.limit %d", c.IngestMemoryBudget(), c.Memory.Limit)
	}
}
