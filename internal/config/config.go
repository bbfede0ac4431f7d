// Package config holds Vigil's configuration: documented defaults, a YAML
// file, VIGIL_* environment variables and command-line flags, in that order
// of precedence (flags win). Every key has one name, used in all three
// places: "syslog.tcp_addr" is the YAML key syslog: {tcp_addr: …}, the
// environment variable VIGIL_SYSLOG_TCP_ADDR and the flag --syslog-tcp-addr.
//
// Errors name the key, where its value came from and what is wrong with it.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/internal/formats"
)

// Config is the whole configuration of vigil serve.
type Config struct {
	DataDir string
	HTTP    struct {
		Addr              string
		TLS               string
		TLSCert           string
		TLSKey            string
		TrustedProxies    []string
		MaxConns          int
		MaxConnsPerAddr   int
		IdleTimeout       Duration
		UnauthIdleTimeout Duration
	}
	Auth  Auth
	Audit struct {
		Retention Duration
	}
	PHI struct {
		Fields  []string
		Builtin bool
	}
	Ingest struct {
		Token         string
		MaxBodyBytes  ByteSize
		MaxEventBytes ByteSize
		MemoryBudget  ByteSize
		KeepOriginal  bool
		// KeepOriginalHL7, KeepOriginalFHIR: the same for HL7 v2 and
		// FHIR, off by default (their whole text is PHI).
		KeepOriginalHL7, KeepOriginalFHIR bool
	}
	Syslog struct {
		UDPAddr         string
		TCPAddr         string
		TLSAddr         string
		TLSCert         string
		TLSKey          string
		TLSClientCA     string
		Timezone        string
		UDPTimezone     string
		TCPTimezone     string
		TLSTimezone     string
		MaxMessageBytes ByteSize
		MaxConns        int
		MaxConnsPerAddr int
		IdleTimeout     Duration
	}
	MLLP struct {
		Addr            string
		TLSCert         string
		TLSKey          string
		TLSClientCA     string
		AllowAddrs      []string
		AllowSenders    []string
		MaxConns        int
		MaxConnsPerAddr int
		IdleTimeout     Duration
	}
	Kafka struct {
		Brokers       []string
		Topics        []string
		Group         string
		Format        string
		StartAtLatest bool
		TLS           bool
		TLSCA         string
		TLSCert       string
		TLSKey        string
		SASLMechanism string
		SASLUser      string
		SASLPassword  string
	}
	GELF struct {
		UDPAddr         string
		TCPAddr         string
		TLSCert         string
		TLSKey          string
		MaxMessageBytes ByteSize
		IdleTimeout     Duration
	}
	EHR struct {
		WatchDir     string
		WatchPreset  string
		WatchMapping string
	}
	Elastic struct {
		Version string
		Prefix  string
	}
	HEC struct {
		Indexes []string
	}
	Sources struct {
		Window         Duration
		Grace          Duration
		Windows        []string
		Level          string
		RecoveryAlerts bool
	}
	Detect struct {
		Enabled          bool
		BuiltinRules     bool
		Rules            []string
		Placeholders     string
		CorrelationState int
		// CorrelationMemory bounds the correlation state's estimated
		// memory (the groups' entries and open bursts).
		CorrelationMemory ByteSize
		// CorrelationLateness is how far behind the newest event of its
		// own correlation group an event may arrive and still count as on
		// time in that group's windows.
		CorrelationLateness Duration
		Timezone            string
		CareTeamGrace       Duration
	}
	Privacy struct {
		Enabled bool
		Config  string
	}
	Alerts struct {
		GroupWindow    Duration
		SLAAcknowledge []string
		SLAClose       []string
		ExceptionsDir  string
	}
	Notify struct {
		ConsoleURL      string
		IncludeEntities bool
		Timezone        string
		SMTP            struct {
			Host     string
			Port     int
			Username string
			Password string
			From     string
			StartTLS string
			CA       string
		}
		Webhooks, Slack, Teams, PagerDuty, Email, Syslog []Channel
	}
	Risk struct {
		HalfLife    Duration
		Threshold   int
		RuleFactors []string
	}
	Response struct {
		ProtectedNetworks []string
		Actions           []Action
	}
	Store struct {
		Retention        Duration
		MaxDiskBytes     ByteSize
		MinFreeDiskBytes ByteSize
	}
	Bus struct {
		URL        string
		SyncAlways bool
		MaxBytes   ByteSize
	}
	Memory struct {
		// Limit is the process's soft memory limit (Go's GOMEMLIMIT).
		Limit ByteSize
	}
	Reports struct {
		Organization string
		Interval     Duration
		EmailTo      []string
	}
	Retention struct {
		Policies []string
		Interval Duration
	}
	Backup struct {
		To            string
		Interval      Duration
		DrillInterval Duration
		KeyFile       string
		KeyCommand    string
	}
	// Encryption is encryption at rest of the whole data dir (package
	// cryptdir): on when KeyFile or KeyCommand is set.
	Encryption struct {
		KeyFile    string
		KeyCommand string
		Require    bool
	}
	Integrity struct {
		CheckpointInterval Duration
		VerifyInterval     Duration
		VerifyWindow       Duration
		TSAURL             string
		TSARoots           string
	}
	TLS struct {
		// ExtraSANs are names and addresses the generated self-signed
		// certificates name besides the host's own.
		ExtraSANs []string
	}
	Log struct {
		Level  string
		Format string
	}
}

// Default returns the embedded defaults: everything runs from ./vigil-data
// with the console on loopback and syslog on the unprivileged ports.
func Default() *Config {
	c := &Config{DataDir: "./vigil-data"}
	c.HTTP.Addr = "127.0.0.1:8080"
	c.HTTP.MaxConns = 4096
	// One collector host (Logstash's Elasticsearch output pools up to
	// 1,000 connections, Beats open one per worker and host) must fit
	// under the limit per address; it still leaves room for others.
	c.HTTP.MaxConnsPerAddr = 1024
	c.HTTP.IdleTimeout = Duration(2 * time.Minute)
	c.HTTP.UnauthIdleTimeout = Duration(5 * time.Second)
	c.HTTP.TLS = "auto"
	c.Auth.IdleTimeout = Duration(15 * time.Minute)
	c.Auth.SessionLifetime = Duration(12 * time.Hour)
	c.Auth.MFARoles = []string{"admin", "privacy-officer"}
	c.Auth.OIDC.RolesClaim = "groups"
	c.Auth.OIDC.RequireMFA = true
	c.Auth.OIDC.Scopes = []string{"profile", "email"}
	c.Audit.Retention = Duration(6 * 365 * 24 * time.Hour)
	c.PHI.Builtin = true
	c.Ingest.MaxBodyBytes = 64 << 20
	c.Ingest.MaxEventBytes = 1 << 20
	c.Ingest.MemoryBudget = 0 // IngestMemoryBudget: a share of memory.limit
	c.Ingest.KeepOriginal = true
	c.Syslog.UDPAddr = ":5514"
	c.Syslog.TCPAddr = ":5514"
	c.Syslog.TLSAddr = ":6514"
	c.Syslog.Timezone = "Local"
	c.Syslog.MaxMessageBytes = 64 << 10
	c.Syslog.MaxConns = 4096
	c.Syslog.MaxConnsPerAddr = 1024
	c.Syslog.IdleTimeout = Duration(5 * time.Minute)
	// HL7 feeds change the directories detection relies on: loopback
	// until the operator says which senders may reach it.
	c.MLLP.Addr = "127.0.0.1:2575"
	c.MLLP.MaxConns = 256
	c.MLLP.MaxConnsPerAddr = 128 // an interface engine opens one per channel
	c.MLLP.IdleTimeout = Duration(10 * time.Minute)
	c.GELF.MaxMessageBytes = 1 << 20
	c.GELF.IdleTimeout = Duration(5 * time.Minute)
	c.Kafka.Group = "vigil"
	c.Kafka.Format = "ndjson"
	c.EHR.WatchPreset = "epic"
	c.Elastic.Version = "8.19.0"
	c.Sources.Window = Duration(time.Hour)
	c.Sources.Grace = Duration(15 * time.Minute)
	c.Sources.Level = "medium"
	c.Detect.Enabled = true
	c.Detect.BuiltinRules = true
	c.Detect.CorrelationState = 100_000
	c.Detect.CorrelationMemory = 64 << 20
	c.Detect.CorrelationLateness = Duration(5 * time.Minute)
	c.Detect.Timezone = "Local"
	c.Detect.CareTeamGrace = Duration(24 * time.Hour)
	c.Privacy.Enabled = true
	c.Alerts.GroupWindow = Duration(time.Hour)
	c.Alerts.SLAAcknowledge = []string{"critical=15m", "high=1h", "medium=4h", "low=24h"}
	c.Alerts.SLAClose = []string{"critical=4h", "high=24h", "medium=72h", "low=7d"}
	c.Risk.HalfLife = Duration(24 * time.Hour)
	c.Risk.Threshold = 100
	c.Notify.Timezone = "Local"
	c.Notify.SMTP.Port = 587
	c.Notify.SMTP.From = "vigil@localhost"
	c.Notify.SMTP.StartTLS = "mandatory"
	c.Store.Retention = Duration(400 * 24 * time.Hour)
	c.Bus.MaxBytes = 8 << 30
	c.Memory.Limit = 448 << 20
	c.Retention.Interval = Duration(time.Hour)
	c.Integrity.CheckpointInterval = Duration(5 * time.Minute)
	c.Integrity.VerifyInterval = Duration(24 * time.Hour)
	c.Integrity.VerifyWindow = Duration(48 * time.Hour)
	c.Log.Level = "info"
	c.Log.Format = "json"
	return c
}

// key is one configuration setting.
type key struct {
	path string
	help string
	// kind is the flag's type as help shows it: string, bool, duration,
	// size, int or strings.
	kind     string
	list     bool
	setList  func(c *Config, v []string)
	set      func(c *Config, v string) error
	get      func(c *Config) string
	validate func(c *Config) error
}

func strKey(path, help string, f func(*Config) *string, validate func(string) error) key {
	k := key{path: path, help: help, kind: "string",
		set: func(c *Config, v string) error { *f(c) = v; return nil },
		get: func(c *Config) string { return *f(c) }}
	if validate != nil {
		k.validate = func(c *Config) error { return validate(*f(c)) }
	}
	return k
}

func boolKey(path, help string, f func(*Config) *bool) key {
	return key{path: path, help: help, kind: "bool",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q: want true or false", v)
			}
			*f(c) = b
			return nil
		},
		get: func(c *Config) string { return strconv.FormatBool(*f(c)) }}
}

func sizeKey(path, help string, f func(*Config) *ByteSize, minimum int64) key {
	return key{path: path, help: help, kind: "size",
		set: func(c *Config, v string) error {
			n, err := ParseByteSize(v)
			*f(c) = ByteSize(n)
			return err
		},
		get: func(c *Config) string { return f(c).String() },
		validate: func(c *Config) error {
			if int64(*f(c)) < minimum {
				return fmt.Errorf("must be at least %s", ByteSize(minimum))
			}
			return nil
		}}
}

// zeroOrAtLeast lets a size key be 0 (derived from other settings) as
// well as at least its minimum.
func zeroOrAtLeast(k key) key {
	check := k.validate
	k.validate = func(c *Config) error {
		if k.get(c) == "0" {
			return nil
		}
		return check(c)
	}
	return k
}

// IngestMemoryBudget is the memory budget of HTTP request bodies:
// ingest.memory_budget when set, else a quarter of memory.limit (at
// least 16 MiB), or 512 MiB for a process without a limit. A quarter
// leaves the store's caches (half of the limit) and the rest of the
// event path their room, and still takes a 20 MB bulk request (a
// Logstash batch) on the default limit.
func (c *Config) IngestMemoryBudget() int64 {
	switch {
	case c.Ingest.MemoryBudget > 0:
		return int64(c.Ingest.MemoryBudget)
	case c.Memory.Limit > 0:
		return max(int64(c.Memory.Limit)/4, 16<<20)
	}
	return 512 << 20
}

func durationKey(path, help string, f func(*Config) *Duration, minimum time.Duration) key {
	return key{path: path, help: help, kind: "duration",
		set: func(c *Config, v string) error {
			d, err := ParseDuration(v)
			*f(c) = Duration(d)
			return err
		},
		get: func(c *Config) string { return f(c).String() },
		validate: func(c *Config) error {
			if time.Duration(*f(c)) < minimum {
				return fmt.Errorf("must be at least %s", Duration(minimum))
			}
			return nil
		}}
}

func intKey(path, help string, f func(*Config) *int, minimum int) key {
	return key{path: path, help: help, kind: "int",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid number %q", v)
			}
			*f(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*f(c)) },
		validate: func(c *Config) error {
			if *f(c) < minimum {
				return fmt.Errorf("must be at least %d", minimum)
			}
			return nil
		}}
}

// listKey is a list: a YAML sequence in the file, comma-separated in flags
// and the environment.
func listKey(path, help string, f func(*Config) *[]string, validate func(string) error) key {
	return key{path: path, help: help, kind: "strings", list: true,
		set: func(c *Config, v string) error {
			var l []string
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					l = append(l, p)
				}
			}
			*f(c) = l
			return nil
		},
		setList: func(c *Config, v []string) { *f(c) = v },
		get:     func(c *Config) string { return strings.Join(*f(c), ",") },
		validate: func(c *Config) error {
			for _, v := range *f(c) {
				if err := validate(v); err != nil {
					return err
				}
			}
			return nil
		}}
}

// validPolicy checks the shape of a retention policy (package retention
// parses it).
func validPolicy(v string) error {
	f := strings.Fields(v)
	if len(f) < 3 {
		return fmt.Errorf("retention policy %q: want NAME DURATION FILTER (e.g. firewall 90d event.category:network)", v)
	}
	d, err := ParseDuration(f[1])
	if err != nil || d < 24*time.Hour {
		return fmt.Errorf("retention policy %q: the duration must be at least 1d", v)
	}
	return nil
}

// SourceWindow is one parsed sources.windows entry.
type SourceWindow struct {
	Host, Dataset string
	Window        time.Duration
	Off           bool
}

// ParseSourceWindow reads HOSTGLOB[/DATASETGLOB]=DURATION|off.
func ParseSourceWindow(v string) (SourceWindow, error) {
	sel, win, ok := strings.Cut(v, "=")
	if !ok || sel == "" {
		return SourceWindow{}, fmt.Errorf("invalid source window %q: want HOSTGLOB[/DATASETGLOB]=DURATION or =off", v)
	}
	w := SourceWindow{}
	w.Host, w.Dataset, _ = strings.Cut(strings.TrimSpace(sel), "/")
	if win = strings.TrimSpace(win); win == "off" {
		w.Off = true
		return w, nil
	}
	d, err := ParseDuration(win)
	if err != nil || d < time.Minute {
		return SourceWindow{}, fmt.Errorf("invalid source window %q: the duration must be at least 1m, or off", v)
	}
	w.Window = d
	return w, nil
}

// validSLA checks one LEVEL=DURATION target (alerts.ParseSLATargets reads
// them; the level names are repeated here to keep config free of
// feature packages).
func validSLA(v string) error {
	l, d, ok := strings.Cut(v, "=")
	if !ok || !slices.Contains([]string{"informational", "low", "medium", "high", "critical"}, strings.TrimSpace(l)) {
		return fmt.Errorf("invalid SLA target %q: want LEVEL=DURATION, e.g. critical=15m", v)
	}
	if n, err := ParseDuration(strings.TrimSpace(d)); err != nil || n <= 0 {
		return fmt.Errorf("invalid SLA target %q: want a positive duration such as 15m, 4h or 7d", v)
	}
	return nil
}

// validHostPort accepts host:port.
func validHostPort(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("invalid address %q: want host:port", v)
	}
	return nil
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// validRecordFormat accepts the name of an input format that parses
// record by record (the one list in internal/formats), so `vigil config
// check` refuses a misspelt or whole-file-only format before a start.
func validRecordFormat(v string) error {
	names := formats.RecordNames()
	if !slices.Contains(names, v) {
		return fmt.Errorf("invalid format %q: want one of %s", v, strings.Join(names, ", "))
	}
	return nil
}

func validSourceWindow(v string) error {
	_, err := ParseSourceWindow(v)
	return err
}

func dirExists(v string) error {
	st, err := os.Stat(v)
	if err != nil {
		return fmt.Errorf("cannot read %q: %v", v, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("%q is not a directory", v)
	}
	return nil
}

func validAddr(v string) error {
	if v == "" {
		return nil // disabled
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("invalid address %q: want host:port or :port, or empty to disable", v)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("invalid port in %q", v)
	}
	return nil
}

func validNet(v string) error {
	if _, err := netip.ParsePrefix(v); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	return fmt.Errorf("invalid sender address %q: want a CIDR prefix (10.20.0.0/16) or an address", v)
}

func validSender(v string) error {
	app, fac, _ := strings.Cut(v, "^")
	if strings.Contains(fac, "^") || (strings.Trim(app, "*") == "" && strings.Trim(fac, "*") == "") {
		return fmt.Errorf("invalid sender %q: want APPLICATION^FACILITY (MSH-3^MSH-4), * for any part but not both", v)
	}
	return nil
}

func validTimezone(v string) error {
	if _, err := time.LoadLocation(v); err != nil {
		return fmt.Errorf("unknown time zone %q: want an IANA name such as Europe/Berlin, UTC or Local", v)
	}
	return nil
}

func optional(validate func(string) error) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		return validate(v)
	}
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("invalid value %q: want one of %s", v, strings.Join(values, ", "))
		}
		return nil
	}
}

func fileExists(v string) error {
	if v == "" {
		return nil
	}
	if _, err := os.Stat(v); err != nil {
		return fmt.Errorf("cannot read %q: %v", v, errors.Unwrap(err))
	}
	return nil
}

// keys lists every setting. The README's configuration reference is
// generated from it (vigil config reference).
var keys = []key{
	strKey("data_dir", "directory for all of Vigil's data (store, bus, certificates, token)", func(c *Config) *string { return &c.DataDir }, func(v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		return nil
	}),
	strKey("http.addr", "HTTP API address (empty disables)", func(c *Config) *string { return &c.HTTP.Addr }, validAddr),
	strKey("http.tls", "HTTPS on http.addr: auto (HTTPS unless the address is loopback) or always; without http.tls_cert a self-signed certificate is generated into the data dir", func(c *Config) *string { return &c.HTTP.TLS }, oneOf("auto", "always")),
	strKey("http.tls_cert", "PEM certificate for HTTPS on http.addr (with http.tls_key)", func(c *Config) *string { return &c.HTTP.TLSCert }, fileExists),
	strKey("http.tls_key", "PEM private key for HTTPS", func(c *Config) *string { return &c.HTTP.TLSKey }, fileExists),
	intKey("http.max_conns", "most HTTP connections open at once (lowered to fit the file descriptor budget); more are answered 503", func(c *Config) *int { return &c.HTTP.MaxConns }, 16),
	intKey("http.max_conns_per_addr", "most HTTP connections open at once from one IP address (http.trusted_proxies are exempt)", func(c *Config) *int { return &c.HTTP.MaxConnsPerAddr }, 1),
	durationKey("http.idle_timeout", "an authenticated keep-alive connection idle this long is closed", func(c *Config) *Duration { return &c.HTTP.IdleTimeout }, time.Second),
	durationKey("http.unauthenticated_idle_timeout", "a keep-alive connection that has not authenticated (e.g. health checks) idle this long is closed", func(c *Config) *Duration { return &c.HTTP.UnauthIdleTimeout }, 100*time.Millisecond),
	listKey("http.trusted_proxies", "reverse proxies (IPs or CIDRs) whose X-Forwarded-For names the client address", func(c *Config) *[]string { return &c.HTTP.TrustedProxies }, validCIDR),
	listKey("tls.extra_sans", "names and addresses the generated self-signed certificates (HTTPS, syslog TLS) name besides localhost, the host name and the host's addresses, e.g. the DNS name senders use", func(c *Config) *[]string { return &c.TLS.ExtraSANs }, validSAN),
	durationKey("auth.idle_timeout", "a browser session unused this long ends (HIPAA automatic logoff)", func(c *Config) *Duration { return &c.Auth.IdleTimeout }, 10*time.Second),
	durationKey("auth.session_lifetime", "a browser session ends this long after sign-in, used or not", func(c *Config) *Duration { return &c.Auth.SessionLifetime }, 5*time.Minute),
	listKey("auth.mfa_roles", "roles whose local users must enrol a TOTP second factor before anything else (empty: none)", func(c *Config) *[]string { return &c.Auth.MFARoles }, validRole),
	strKey("auth.oidc.issuer", "OpenID Connect provider for single sign-on, e.g. https://login.microsoftonline.com/TENANT/v2.0 (empty disables)", func(c *Config) *string { return &c.Auth.OIDC.Issuer }, nil),
	strKey("auth.oidc.client_id", "client id of Vigil at the OpenID provider", func(c *Config) *string { return &c.Auth.OIDC.ClientID }, nil),
	strKey("auth.oidc.client_secret", "client secret of Vigil at the OpenID provider (prefer the environment variable)", func(c *Config) *string { return &c.Auth.OIDC.ClientSecret }, nil),
	strKey("auth.oidc.redirect_url", "Vigil's callback as registered at the provider: https://HOST/api/v1/auth/oidc/callback", func(c *Config) *string { return &c.Auth.OIDC.RedirectURL }, nil),
	listKey("auth.oidc.scopes", "scopes requested besides openid (add groups where the provider needs it)", func(c *Config) *[]string { return &c.Auth.OIDC.Scopes }, func(string) error { return nil }),
	strKey("auth.oidc.roles_claim", "ID-token claim holding groups or roles; a dotted path reaches into objects (realm_access.roles)", func(c *Config) *string { return &c.Auth.OIDC.RolesClaim }, nil),
	listKey("auth.oidc.role_mapping", "claim value to Vigil role: VALUE=ROLE, one entry per pair (e.g. vigil-admins=admin); in flags and environment comma-separated", func(c *Config) *[]string { return &c.Auth.OIDC.RoleMapping }, validRoleMapping),
	listKey("auth.oidc.default_roles", "roles of SSO users none of whose claim values is mapped (empty: they are refused)", func(c *Config) *[]string { return &c.Auth.OIDC.DefaultRoles }, validRole),
	strKey("auth.oidc.username_claim", "claim used as the Vigil user name (empty: preferred_username, then email)", func(c *Config) *string { return &c.Auth.OIDC.UsernameClaim }, nil),
	strKey("auth.oidc.display_name", "label of the single sign-on button", func(c *Config) *string { return &c.Auth.OIDC.DisplayName }, nil),
	boolKey("auth.oidc.require_mfa", "refuse SSO users of an auth.mfa_roles role unless the provider reports a second factor in the amr claim (false: trust the provider)", func(c *Config) *bool { return &c.Auth.OIDC.RequireMFA }),
	strKey("auth.oidc.ca_file", "PEM CA bundle to trust for the OpenID provider besides the system's (internal PKI)", func(c *Config) *string { return &c.Auth.OIDC.CAFile }, fileExists),
	durationKey("audit.retention", "how long the audit trail of Vigil's own use is kept; at least store.retention (HIPAA asks six years)", func(c *Config) *Duration { return &c.Audit.Retention }, 24*time.Hour),
	listKey("phi.fields", "fields masked for roles without the phi permission, besides the built-in healthcare list; a trailing * matches any suffix", func(c *Config) *[]string { return &c.PHI.Fields }, validPHIField),
	boolKey("phi.builtin", "mask the built-in healthcare list of PHI fields (docs/access.md) as well as phi.fields", func(c *Config) *bool { return &c.PHI.Builtin }),
	strKey("ingest.token", "token of the ingest role, for senders (generated into the data dir when empty); it cannot search", func(c *Config) *string { return &c.Ingest.Token }, func(v string) error {
		if v != "" && len(v) < 16 {
			return errors.New("too short: use at least 16 characters")
		}
		return nil
	}),
	sizeKey("ingest.max_body_bytes", "largest HTTP ingest request body (after decompression)", func(c *Config) *ByteSize { return &c.Ingest.MaxBodyBytes }, 1<<10),
	zeroOrAtLeast(sizeKey("ingest.memory_budget", "memory that HTTP request bodies may take together while read and decoded (5 bytes per body byte); beyond it requests are answered 429/503 with Retry-After (0: a quarter of memory.limit, at least 16MiB; 512MiB when memory.limit is 0)", func(c *Config) *ByteSize { return &c.Ingest.MemoryBudget }, 16<<20)),
	sizeKey("ingest.max_event_bytes", "largest single event (NDJSON line or array element)", func(c *Config) *ByteSize { return &c.Ingest.MaxEventBytes }, 1<<10),
	boolKey("ingest.keep_original", "keep the original text of each event in event.original (HL7 v2 and FHIR have their own keys)", func(c *Config) *bool { return &c.Ingest.KeepOriginal }),
	boolKey("ingest.keep_original_hl7", "keep whole HL7 v2 messages (MLLP, HTTP, files) in event.original; off: only the parsed fields are kept (the message is PHI)", func(c *Config) *bool { return &c.Ingest.KeepOriginalHL7 }),
	boolKey("ingest.keep_original_fhir", "keep whole FHIR resources in event.original; off: only the parsed fields are kept (the resource is PHI)", func(c *Config) *bool { return &c.Ingest.KeepOriginalFHIR }),
	strKey("syslog.udp_addr", "syslog over UDP (empty disables)", func(c *Config) *string { return &c.Syslog.UDPAddr }, validAddr),
	strKey("syslog.tcp_addr", "syslog over TCP, octet-counting or newline framing (empty disables)", func(c *Config) *string { return &c.Syslog.TCPAddr }, validAddr),
	strKey("syslog.tls_addr", "syslog over TLS, RFC 5425 (empty disables)", func(c *Config) *string { return &c.Syslog.TLSAddr }, validAddr),
	strKey("syslog.tls_cert", "PEM certificate for syslog TLS (self-signed one generated into the data dir when empty)", func(c *Config) *string { return &c.Syslog.TLSCert }, fileExists),
	strKey("syslog.tls_key", "PEM private key for syslog TLS", func(c *Config) *string { return &c.Syslog.TLSKey }, fileExists),
	strKey("syslog.tls_client_ca", "PEM CA bundle: when set, syslog TLS clients must present a certificate it signed", func(c *Config) *string { return &c.Syslog.TLSClientCA }, fileExists),
	strKey("syslog.timezone", "time zone of RFC 3164 timestamps that carry none (IANA name or Local)", func(c *Config) *string { return &c.Syslog.Timezone }, validTimezone),
	strKey("syslog.udp_timezone", "syslog.timezone for the UDP listener only (empty: syslog.timezone)", func(c *Config) *string { return &c.Syslog.UDPTimezone }, optional(validTimezone)),
	strKey("syslog.tcp_timezone", "syslog.timezone for the TCP listener only (empty: syslog.timezone)", func(c *Config) *string { return &c.Syslog.TCPTimezone }, optional(validTimezone)),
	strKey("syslog.tls_timezone", "syslog.timezone for the TLS listener only (empty: syslog.timezone)", func(c *Config) *string { return &c.Syslog.TLSTimezone }, optional(validTimezone)),
	sizeKey("syslog.max_message_bytes", "largest syslog message; longer ones are truncated and flagged", func(c *Config) *ByteSize { return &c.Syslog.MaxMessageBytes }, 480),
	intKey("syslog.max_conns", "most syslog TCP and TLS connections open at once (lowered to fit the file descriptor budget)", func(c *Config) *int { return &c.Syslog.MaxConns }, 16),
	intKey("syslog.max_conns_per_addr", "most syslog TCP and TLS connections open at once from one IP address", func(c *Config) *int { return &c.Syslog.MaxConnsPerAddr }, 1),
	durationKey("syslog.idle_timeout", "a syslog TCP or TLS connection silent this long is closed (30m for clients with a verified certificate, at least this)", func(c *Config) *Duration { return &c.Syslog.IdleTimeout }, time.Second),
	strKey("mllp.addr", "HL7 v2 over MLLP listener (empty disables); loopback by default: HL7 feeds rewrite the directories detection relies on, so open it only to the interface engines (see mllp.allow_addrs)", func(c *Config) *string { return &c.MLLP.Addr }, validAddr),
	strKey("mllp.tls_cert", "PEM certificate: serve MLLP over TLS (with mllp.tls_key)", func(c *Config) *string { return &c.MLLP.TLSCert }, fileExists),
	strKey("mllp.tls_key", "PEM private key for MLLP over TLS", func(c *Config) *string { return &c.MLLP.TLSKey }, fileExists),
	strKey("gelf.udp_addr", "GELF over UDP, whole or chunked messages, plain, gzip or zlib (Graylog's port is 12201; empty disables)", func(c *Config) *string { return &c.GELF.UDPAddr }, validAddr),
	strKey("gelf.tcp_addr", "GELF over TCP, messages separated by NUL bytes (empty disables)", func(c *Config) *string { return &c.GELF.TCPAddr }, validAddr),
	strKey("gelf.tls_cert", "PEM certificate: serve GELF TCP over TLS (with gelf.tls_key)", func(c *Config) *string { return &c.GELF.TLSCert }, fileExists),
	strKey("gelf.tls_key", "PEM private key for GELF over TLS", func(c *Config) *string { return &c.GELF.TLSKey }, fileExists),
	sizeKey("gelf.max_message_bytes", "largest GELF message once decompressed and reassembled; longer TCP messages are truncated and flagged, longer UDP ones dropped and counted", func(c *Config) *ByteSize { return &c.GELF.MaxMessageBytes }, 1<<10),
	durationKey("gelf.idle_timeout", "a GELF TCP connection silent this long is closed", func(c *Config) *Duration { return &c.GELF.IdleTimeout }, time.Second),
	strKey("mllp.tls_client_ca", "PEM CA bundle: when set (with mllp.tls_cert), MLLP clients must present a certificate it signed (mutual TLS)", func(c *Config) *string { return &c.MLLP.TLSClientCA }, fileExists),
	listKey("mllp.allow_addrs", "sender addresses allowed to send HL7 (CIDR prefixes or addresses; empty: any that can reach mllp.addr); others are answered AR and counted", func(c *Config) *[]string { return &c.MLLP.AllowAddrs }, validNet),
	listKey("mllp.allow_senders", "sending applications and facilities allowed (MSH-3^MSH-4, * for any part, e.g. EPIC^GENHOSP,LAB^*; empty: any); others are answered AR and counted", func(c *Config) *[]string { return &c.MLLP.AllowSenders }, validSender),
	intKey("mllp.max_conns", "most MLLP connections open at once (lowered to fit the file descriptor budget)", func(c *Config) *int { return &c.MLLP.MaxConns }, 16),
	intKey("mllp.max_conns_per_addr", "most MLLP connections open at once from one IP address", func(c *Config) *int { return &c.MLLP.MaxConnsPerAddr }, 1),
	durationKey("mllp.idle_timeout", "an MLLP connection silent this long between messages is closed", func(c *Config) *Duration { return &c.MLLP.IdleTimeout }, time.Second),
	listKey("kafka.brokers", "Kafka brokers to consume from, host:port (empty disables the Kafka source); comma-separated in flags and environment", func(c *Config) *[]string { return &c.Kafka.Brokers }, validHostPort),
	listKey("kafka.topics", "Kafka topics to consume", func(c *Config) *[]string { return &c.Kafka.Topics }, func(string) error { return nil }),
	strKey("kafka.group", "Kafka consumer group; offsets are committed only after the bus stored the records", func(c *Config) *string { return &c.Kafka.Group }, nonEmpty),
	strKey("kafka.format", "input format of the records' values: "+strings.Join(formats.RecordNames(), ", "), func(c *Config) *string { return &c.Kafka.Format }, validRecordFormat),
	boolKey("kafka.start_at_latest", "a group without committed offsets starts at the end of the topics (default: their beginning)", func(c *Config) *bool { return &c.Kafka.StartAtLatest }),
	boolKey("kafka.tls", "connect to the Kafka brokers over TLS", func(c *Config) *bool { return &c.Kafka.TLS }),
	strKey("kafka.tls_ca", "PEM CA bundle for the brokers' certificates (empty: the system's)", func(c *Config) *string { return &c.Kafka.TLSCA }, fileExists),
	strKey("kafka.tls_cert", "PEM client certificate for the brokers (with kafka.tls_key)", func(c *Config) *string { return &c.Kafka.TLSCert }, fileExists),
	strKey("kafka.tls_key", "PEM private key of the client certificate", func(c *Config) *string { return &c.Kafka.TLSKey }, fileExists),
	strKey("kafka.sasl_mechanism", "SASL mechanism: plain, scram-sha-256 or scram-sha-512 (empty: none)", func(c *Config) *string { return &c.Kafka.SASLMechanism }, optional(oneOf("plain", "scram-sha-256", "scram-sha-512"))),
	strKey("kafka.sasl_user", "SASL user name", func(c *Config) *string { return &c.Kafka.SASLUser }, nil),
	strKey("kafka.sasl_password", "SASL password (prefer the environment variable to the file or a flag)", func(c *Config) *string { return &c.Kafka.SASLPassword }, nil),
	strKey("ehr.watch_dir", "directory of EHR access-log exports (CSV/TSV) to import continuously (empty disables)", func(c *Config) *string { return &c.EHR.WatchDir }, nil),
	strKey("ehr.watch_preset", "column preset of the watched exports: epic, openemr or touchworks", func(c *Config) *string { return &c.EHR.WatchPreset }, oneOf("epic", "openemr", "touchworks")),
	strKey("ehr.watch_mapping", "column-mapping file for the watched exports (overrides ehr.watch_preset)", func(c *Config) *string { return &c.EHR.WatchMapping }, fileExists),
	strKey("elastic.version", "Elasticsearch version announced to Beats, Logstash and the clients on the _bulk endpoint (raise to 9.x for Beats 9)", func(c *Config) *string { return &c.Elastic.Version }, nil),
	strKey("elastic.prefix", "path prefix of the Elasticsearch-compatible endpoint (empty: served at /, e.g. /_bulk)", func(c *Config) *string { return &c.Elastic.Prefix }, func(v string) error {
		if v != "" && (!strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/")) {
			return errors.New("want a path like /es, or empty")
		}
		return nil
	}),
	listKey("hec.indexes", "Splunk HEC index names accepted (empty: any)", func(c *Config) *[]string { return &c.HEC.Indexes }, func(string) error { return nil }),
	durationKey("sources.window", "a source (host and dataset) that sent nothing for this long is silent and raises an alert", func(c *Config) *Duration { return &c.Sources.Window }, time.Minute),
	durationKey("sources.grace", "after start, no silence alert for this long (shippers reconnect and catch up)", func(c *Config) *Duration { return &c.Sources.Grace }, time.Second),
	listKey("sources.windows", "per-source silence windows: HOSTGLOB[/DATASETGLOB]=DURATION or =off, first match wins (e.g. ehr-*/ehr=15m, lab-*=off)", func(c *Config) *[]string { return &c.Sources.Windows }, validSourceWindow),
	strKey("sources.level", "level of silence alerts", func(c *Config) *string { return &c.Sources.Level }, oneOf("informational", "low", "medium", "high", "critical")),
	boolKey("sources.recovery_alerts", "raise an informational alert when a silent source sends again", func(c *Config) *bool { return &c.Sources.RecoveryAlerts }),
	boolKey("detect.enabled", "evaluate Sigma rules on the live stream", func(c *Config) *bool { return &c.Detect.Enabled }),
	boolKey("detect.builtin_rules", "load Vigil's own rules (Linux authentication, healthcare), shipped in the binary", func(c *Config) *bool { return &c.Detect.BuiltinRules }),
	listKey("detect.rules", "directories of Sigma rules to load besides the built-in ones (e.g. a SigmaHQ checkout); comma-separated in flags and environment", func(c *Config) *[]string { return &c.Detect.Rules }, dirExists),
	strKey("detect.placeholders", "YAML file of placeholder lists for the expand modifier (name: [values])", func(c *Config) *string { return &c.Detect.Placeholders }, fileExists),
	strKey("detect.timezone", "time zone of working hours and termination dates in the healthcare enrichment", func(c *Config) *string { return &c.Detect.Timezone }, validTimezone),
	durationKey("detect.care_team_grace", "a clinician stays on a patient's care team this long after the stay ends (for notes written afterwards)", func(c *Config) *Duration { return &c.Detect.CareTeamGrace }, 0),
	boolKey("privacy.enabled", "explain every access to a patient record as it arrives (stored in healthcare.access.explained and explanation) and run the privacy rules on the unexplained ones", func(c *Config) *bool { return &c.Privacy.Enabled }),
	strKey("privacy.config", "YAML file of privacy settings: mining thresholds, hand-written explanation templates, exclusions, each privacy rule's level and thresholds (docs/privacy.md)", func(c *Config) *string { return &c.Privacy.Config }, fileExists),
	durationKey("detect.correlation_lateness", "how far behind the newest event of its own correlation group an event may arrive and still join that group's windows as on time; later ones are evaluated apart as late (counted), never dropped", func(c *Config) *Duration { return &c.Detect.CorrelationLateness }, time.Second),
	intKey("detect.correlation_groups", "most correlation groups kept in memory; the least recently active are evicted beyond it", func(c *Config) *int { return &c.Detect.CorrelationState }, 100),
	sizeKey("detect.correlation_memory", "most memory the correlation state may hold (estimated: pending entries and open bursts of every group); the least recently active groups are evicted beyond it, and counted in vigil_correlation_evictions_total", func(c *Config) *ByteSize { return &c.Detect.CorrelationMemory }, 1<<20),
	durationKey("alerts.group_window", "repeated matches of one rule on one entity within this window roll into one open alert (0s: never group)", func(c *Config) *Duration { return &c.Alerts.GroupWindow }, 0),
	listKey("alerts.sla_acknowledge", "time to acknowledge (take or assign) an alert, per level: LEVEL=DURATION, e.g. critical=15m", func(c *Config) *[]string { return &c.Alerts.SLAAcknowledge }, validSLA),
	listKey("alerts.sla_close", "time to close an alert, per level: LEVEL=DURATION, e.g. critical=4h,low=7d", func(c *Config) *[]string { return &c.Alerts.SLAClose }, validSLA),
	strKey("alerts.exceptions_dir", "directory of YAML detection exceptions (tuning as code, reviewed in git); read at start and on reload", func(c *Config) *string { return &c.Alerts.ExceptionsDir }, optional(dirExists)),
	strKey("notify.console_url", "address of the console as people reach it, for the links in notifications (e.g. https://vigil.example.org)", func(c *Config) *string { return &c.Notify.ConsoleURL }, optional(func(v string) error {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("invalid URL %q: want http(s)://host[:port]", v)
		}
		return nil
	})),
	boolKey("notify.include_entities", "notifications name the alert's user, host and addresses (never patient data); off: title, level, rule and a link only", func(c *Config) *bool { return &c.Notify.IncludeEntities }),
	strKey("notify.timezone", "time zone of the channels' schedules (IANA name or Local)", func(c *Config) *string { return &c.Notify.Timezone }, validTimezone),
	strKey("notify.smtp.host", "SMTP server for e-mail channels (empty: no e-mail)", func(c *Config) *string { return &c.Notify.SMTP.Host }, nil),
	intKey("notify.smtp.port", "SMTP server port", func(c *Config) *int { return &c.Notify.SMTP.Port }, 1),
	strKey("notify.smtp.username", "SMTP user name (empty: no authentication)", func(c *Config) *string { return &c.Notify.SMTP.Username }, nil),
	strKey("notify.smtp.password", "SMTP password", func(c *Config) *string { return &c.Notify.SMTP.Password }, nil),
	strKey("notify.smtp.from", "sender address of notification e-mails", func(c *Config) *string { return &c.Notify.SMTP.From }, nil),
	strKey("notify.smtp.starttls", "STARTTLS: mandatory, opportunistic, or none (plain SMTP, only for a relay on loopback)", func(c *Config) *string { return &c.Notify.SMTP.StartTLS }, oneOf("mandatory", "opportunistic", "none")),
	strKey("notify.smtp.ca", "PEM CA bundle that signed the SMTP server's certificate (empty: the system's)", func(c *Config) *string { return &c.Notify.SMTP.CA }, fileExists),
	durationKey("risk.half_life", "an alert's risk on its user, host, address and patient counts half after this long", func(c *Config) *Duration { return &c.Risk.HalfLife }, time.Minute),
	intKey("risk.threshold", "an entity whose decayed risk reaches this raises a risk alert (alerts add 1, 5, 15, 40, 80 by level; 0 disables)", func(c *Config) *int { return &c.Risk.Threshold }, 0),
	listKey("risk.rule_factors", "multiply the risk of matching rules: RULEGLOB=FACTOR, e.g. vigil_hc_*=2,noisy_rule=0", func(c *Config) *[]string { return &c.Risk.RuleFactors }, func(v string) error {
		g, f, ok := strings.Cut(v, "=")
		if x, err := strconv.ParseFloat(strings.TrimSpace(f), 64); !ok || err != nil || x < 0 || strings.TrimSpace(g) == "" {
			return fmt.Errorf("invalid rule factor %q: want RULEGLOB=FACTOR", v)
		}
		return nil
	}),
	listKey("response.protected_networks", "CIDR ranges (e.g. the medical-device network): an action on an alert naming an address there always waits for approval", func(c *Config) *[]string { return &c.Response.ProtectedNetworks }, func(v string) error {
		if _, _, err := net.ParseCIDR(v); err != nil {
			return fmt.Errorf("invalid CIDR range %q", v)
		}
		return nil
	}),
	durationKey("store.retention", "how long events are kept", func(c *Config) *Duration { return &c.Store.Retention }, 24*time.Hour),
	sizeKey("store.max_disk_bytes", "drop the oldest days beyond this disk use (0: no limit)", func(c *Config) *ByteSize { return &c.Store.MaxDiskBytes }, 0),
	sizeKey("store.min_free_disk_bytes", "stop storing below this much free disk (0: no limit)", func(c *Config) *ByteSize { return &c.Store.MinFreeDiskBytes }, 0),
	strKey("bus.url", "external NATS server or cluster URL (empty: embedded)", func(c *Config) *string { return &c.Bus.URL }, nil),
	boolKey("bus.sync_always", "fsync every batch before acknowledging it (survives power loss; slower)", func(c *Config) *bool { return &c.Bus.SyncAlways }),
	sizeKey("bus.max_bytes", "bus capacity for not yet stored events; senders are refused beyond it", func(c *Config) *ByteSize { return &c.Bus.MaxBytes }, 1<<20),
	sizeKey("memory.limit", "soft limit of the process's memory: the garbage collector works harder near it (Go's GOMEMLIMIT is set an eighth lower, at most 64 MiB, for memory Go does not count) and the store sizes its caches and query memory from it (0: no limit)", func(c *Config) *ByteSize { return &c.Memory.Limit }, 0),
	strKey("reports.organization", "the organisation named on compliance reports", func(c *Config) *string { return &c.Reports.Organization }, nil),
	durationKey("reports.interval", "generate the HIPAA evidence report every this long, covering the interval before, keep it and e-mail it to reports.email_to (0: on demand only)", func(c *Config) *Duration { return &c.Reports.Interval }, 0),
	listKey("reports.email_to", "addresses the scheduled reports are e-mailed to (through notify.smtp.*)", func(c *Config) *[]string { return &c.Reports.EmailTo }, func(v string) error {
		if !strings.Contains(v, "@") {
			return fmt.Errorf("%q is not an e-mail address", v)
		}
		return nil
	}),
	listKey("retention.policies", "per-dataset retention: NAME DURATION LOGSQL-FILTER, e.g. \"firewall 90d event.category:network\"; events matching are deleted when older (legal holds excepted), each deletion recorded; at most store.retention", func(c *Config) *[]string { return &c.Retention.Policies }, validPolicy),
	durationKey("retention.interval", "how often expired events are disposed of (per-dataset policies, and days beyond store.retention)", func(c *Config) *Duration { return &c.Retention.Interval }, time.Minute),
	strKey("backup.to", "where scheduled backups and vigil backup without --to go: a directory, or s3://BUCKET/PREFIX (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and VIGIL_BACKUP_S3_ENDPOINT in the server's environment)", func(c *Config) *string { return &c.Backup.To }, nil),
	durationKey("backup.interval", "how often to back up to backup.to, incrementally (0: only on demand)", func(c *Config) *Duration { return &c.Backup.Interval }, 0),
	durationKey("backup.drill_interval", "how often to test the latest backup in backup.to with a restore drill (vigil restore --drill: restore into a scratch dir, verify, start, measure the recovery time; kept for the HIPAA report) (0: never)", func(c *Config) *Duration { return &c.Backup.DrillInterval }, 0),
	strKey("backup.key_file", "file of backup encryption keys, one \"ID BASE64KEY\" per line, the first encrypts (mode 0600; vigil backup keygen makes one); backups are encrypted when set", func(c *Config) *string { return &c.Backup.KeyFile }, fileExists),
	strKey("backup.key_command", "command printing the backup keys in the key-file format (a KMS or vault client); overrides backup.key_file", func(c *Config) *string { return &c.Backup.KeyCommand }, nil),
	strKey("encryption.key_file", "encrypt the whole data dir at rest (AES-256-GCM through gocryptfs; docs/compliance.md) with the first key of this file, one \"ID BASE64KEY\" per line (mode 0600; vigil encryption keygen makes one); the other lines are older keys, for vigil encryption rotate-key", func(c *Config) *string { return &c.Encryption.KeyFile }, fileExists),
	strKey("encryption.key_command", "command printing the data dir's keys in the encryption.key_file format (a KMS or vault client), so no key is stored on the server's disk; overrides encryption.key_file", func(c *Config) *string { return &c.Encryption.KeyCommand }, nil),
	boolKey("encryption.require", "refuse to start unless the data dir is encrypted at rest (encryption.key_file or encryption.key_command)", func(c *Config) *bool { return &c.Encryption.Require }),
	durationKey("integrity.checkpoint_interval", "how often the head of the integrity chain is signed into a checkpoint (and timestamped when integrity.tsa_url is set)", func(c *Config) *Duration { return &c.Integrity.CheckpointInterval }, time.Second),
	durationKey("integrity.verify_interval", "how often stored events are verified against their seals; a failure raises a critical alert (0: never)", func(c *Config) *Duration { return &c.Integrity.VerifyInterval }, 0),
	durationKey("integrity.verify_window", "the scheduled verification covers events filed this far back (0: all; vigil verify checks all on demand)", func(c *Config) *Duration { return &c.Integrity.VerifyWindow }, 0),
	strKey("integrity.tsa_url", "RFC 3161 time-stamping authority that stamps every checkpoint (empty: none)", func(c *Config) *string { return &c.Integrity.TSAURL }, func(v string) error {
		if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return errors.New("want an http:// or https:// URL")
		}
		return nil
	}),
	strKey("integrity.tsa_roots", "PEM file of the time-stamping authority's root certificates (empty: the system's)", func(c *Config) *string { return &c.Integrity.TSARoots }, fileExists),
	strKey("log.level", "operational log level", func(c *Config) *string { return &c.Log.Level }, oneOf("debug", "info", "warn", "error")),
	strKey("log.format", "operational log format", func(c *Config) *string { return &c.Log.Format }, oneOf("json", "text")),
}

// ClientEnv are the VIGIL_* variables of the command-line tools that talk
// to a server (package client: its URL and the API token). They are not
// settings of the server, which ignores them rather than refusing them as
// unknown: an operator who exported VIGIL_TOKEN for vigil search must still
// be able to run vigil serve in the same shell.
var ClientEnv = []string{"VIGIL_SERVER", "VIGIL_TOKEN"}

// EnvName is the environment variable of a key.
func EnvName(path string) string {
	return "VIGIL_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(path))
}

// FlagName is the command-line flag of a key.
func FlagName(path string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(path)
}

// RegisterFlags adds a flag for every key to fs, plus --config. Flags are
// typed: a value that is not of the key's type (a duration, a size, a
// boolean, a number) is refused as the flag is parsed, and a boolean flag
// given bare (--bus-sync-always) means true; --detect-enabled=false turns
// one off.
func RegisterFlags(fs *pflag.FlagSet) {
	def := Default()
	fs.String("config", "", "YAML configuration file")
	for _, k := range keys {
		f := fs.VarPF(&flagValue{k: k, value: k.get(def)}, FlagName(k.path), "", k.help)
		if k.kind == "bool" {
			f.NoOptDefVal = "true"
		}
	}
}

// flagValue is the pflag.Value of a key: it checks a value has the key's
// type when the flag is parsed; Load applies it with the other sources.
type flagValue struct {
	k     key
	value string
}

func (v *flagValue) String() string { return v.value }
func (v *flagValue) Type() string   { return v.k.kind }

func (v *flagValue) Set(s string) error {
	if err := v.k.set(Default(), s); err != nil {
		return err
	}
	v.value = s
	return nil
}

// Error is a configuration error.
type Error struct {
	Key    string
	Source string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("config: %s (%s): %v", e.Key, e.Source, e.Err)
}

// Load builds the configuration from defaults, the file named by --config
// (or VIGIL_CONFIG), the environment and the flags that were set. It
// reports every problem it finds, not only the first: the error joins one
// *Error per problem (errors.As finds the first; Problems lists them all),
// each naming the key, where the value came from (file:line, variable,
// flag) and what is wrong.
func Load(fs *pflag.FlagSet, environ []string) (*Config, error) {
	c := Default()
	source := map[string]string{}
	for _, k := range keys {
		source[k.path] = "default"
	}
	var errs []error
	bad := map[string]bool{} // keys whose value could not be set: not validated again
	fail := func(e *Error) {
		errs = append(errs, e)
		bad[e.Key] = true
	}
	env := map[string]string{}
	for _, kv := range environ {
		if name, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "VIGIL_") {
			env[name] = v
		}
	}
	file := env["VIGIL_CONFIG"]
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && f.Changed {
			file = f.Value.String()
		}
	}
	if file != "" {
		loadFile(c, file, source, fail)
	}
	known := map[string]bool{"VIGIL_CONFIG": true}
	for _, name := range ClientEnv {
		known[name] = true
	}
	for _, k := range keys {
		name := EnvName(k.path)
		known[name] = true
		if v, ok := env[name]; ok {
			source[k.path] = "environment " + name
			if err := k.set(c, v); err != nil {
				fail(&Error{Key: k.path, Source: "environment " + name, Err: err})
			}
		}
	}
	var unknown []string
	for name := range env {
		if !known[name] && !strings.HasPrefix(name, "VIGIL_TEST_") {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		fail(&Error{Key: name, Source: "environment", Err: errors.New("unknown setting")})
	}
	if fs != nil {
		for _, k := range keys {
			f := fs.Lookup(FlagName(k.path))
			if f == nil || !f.Changed {
				continue
			}
			source[k.path] = "flag --" + f.Name
			delete(bad, k.path) // the flag wins over a bad file or environment value
			if err := k.set(c, f.Value.String()); err != nil {
				fail(&Error{Key: k.path, Source: "flag --" + f.Name, Err: err})
			}
		}
	}
	for _, k := range keys {
		if k.validate == nil || bad[k.path] {
			continue
		}
		if err := k.validate(c); err != nil {
			fail(&Error{Key: k.path, Source: source[k.path], Err: err})
		}
	}
	if err := c.checkStructured(); err != nil {
		return nil, err
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		fail(&Error{Key: "http.tls_cert", Source: source["http.tls_cert"], Err: errors.New("http.tls_cert and http.tls_key must be set together")})
	}
	if (c.Kafka.TLSCert == "") != (c.Kafka.TLSKey == "") {
		fail(&Error{Key: "kafka.tls_cert", Source: source["kafka.tls_cert"], Err: errors.New("kafka.tls_cert and kafka.tls_key must be set together")})
	}
	if (len(c.Kafka.Brokers) == 0) != (len(c.Kafka.Topics) == 0) {
		fail(&Error{Key: "kafka.topics", Source: source["kafka.topics"], Err: errors.New("kafka.brokers and kafka.topics must be set together")})
	}
	if (c.GELF.TLSCert == "") != (c.GELF.TLSKey == "") {
		fail(&Error{Key: "gelf.tls_cert", Source: source["gelf.tls_cert"], Err: errors.New("gelf.tls_cert and gelf.tls_key must be set together")})
	}
	if c.Audit.Retention < c.Store.Retention && source["audit.retention"] == "default" {
		c.Audit.Retention = c.Store.Retention // the default follows a longer event retention
	}
	if c.Audit.Retention < c.Store.Retention {
		fail(&Error{Key: "audit.retention", Source: source["audit.retention"], Err: fmt.Errorf("%s is shorter than store.retention (%s): the trail of who looked at events must outlive them", c.Audit.Retention, c.Store.Retention)})
	}
	if o := c.Auth.OIDC; o.Issuer != "" && (o.ClientID == "" || o.RedirectURL == "") {
		fail(&Error{Key: "auth.oidc.issuer", Source: source["auth.oidc.issuer"], Err: errors.New("single sign-on needs auth.oidc.client_id and auth.oidc.redirect_url too")})
	}
	if (c.MLLP.TLSCert == "") != (c.MLLP.TLSKey == "") {
		fail(&Error{Key: "mllp.tls_cert", Source: source["mllp.tls_cert"], Err: errors.New("mllp.tls_cert and mllp.tls_key must be set together")})
	}
	if (c.Syslog.TLSCert == "") != (c.Syslog.TLSKey == "") {
		fail(&Error{Key: "syslog.tls_cert", Source: source["syslog.tls_cert"], Err: errors.New("syslog.tls_cert and syslog.tls_key must be set together")})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Problems lists the configuration errors an error from Load holds, one
// per problem, in the order they were found.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// loadFile applies a YAML file: nested mappings whose leaves are keys.
// Every problem is reported to fail, with its file and line; the rest of
// the file is still read.
func loadFile(c *Config, path string, source map[string]string, fail func(*Error)) {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(&Error{Key: "config", Source: "flag --config", Err: err})
		return
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		fail(&Error{Key: "config", Source: path, Err: err})
		return
	}
	if len(root.Content) == 0 {
		return // empty file
	}
	byPath := map[string]key{}
	for _, k := range keys {
		byPath[k.path] = k
	}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		if n.Kind != yaml.MappingNode {
			fail(&Error{Key: strings.TrimSuffix(prefix, ".") + orRoot(prefix), Source: fmt.Sprintf("%s:%d", path, n.Line), Err: errors.New("want a mapping of settings")})
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			name := prefix + kn.Value
			where := fmt.Sprintf("%s:%d", path, kn.Line)
			if k, ok := byPath[name]; ok {
				source[name] = where
				if k.list && vn.Kind == yaml.SequenceNode {
					var l []string
					okList := true
					for _, item := range vn.Content {
						if item.Kind != yaml.ScalarNode {
							fail(&Error{Key: name, Source: fmt.Sprintf("%s:%d", path, item.Line), Err: errors.New("want a list of values")})
							okList = false
							break
						}
						l = append(l, item.Value)
					}
					if okList {
						k.setList(c, l)
					}
					continue
				}
				if vn.Kind != yaml.ScalarNode {
					fail(&Error{Key: name, Source: where, Err: errors.New("want a single value")})
					continue
				}
				if err := k.set(c, vn.Value); err != nil {
					fail(&Error{Key: name, Source: where, Err: err})
				}
				continue
			}
			if dec, ok := structured[name]; ok {
				if err := dec(c, vn, path); err != nil {
					fail(&Error{Key: name, Source: where, Err: err})
				}
				continue
			}
			if hasPrefix(byPath, name+".") || hasStructured(name+".") {
				if vn.Kind != yaml.MappingNode {
					fail(&Error{Key: name, Source: where, Err: errors.New("want a mapping of settings")})
					continue
				}
				walk(name+".", vn)
				continue
			}
			fail(&Error{Key: name, Source: where, Err: errors.New("unknown setting")})
		}
	}
	walk("", root.Content[0])
}

func orRoot(prefix string) string {
	if prefix == "" {
		return "config"
	}
	return ""
}

func hasStructured(prefix string) bool {
	for p := range structured {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func hasPrefix(m map[string]key, prefix string) bool {
	for p := range m {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// Reference writes the configuration reference as a Markdown table.
func Reference() string {
	var b strings.Builder
	def := Default()
	b.WriteString("| key (YAML) | flag | environment | default | meaning |\n|---|---|---|---|---|\n")
	for _, k := range keys {
		d := k.get(def)
		if d == "" {
			d = `""`
		}
		fmt.Fprintf(&b, "| `%s` | `--%s` | `%s` | `%s` | %s |\n", k.path, FlagName(k.path), EnvName(k.path), d, k.help)
	}
	for _, p := range slices.Sorted(maps.Keys(structured)) {
		fmt.Fprintf(&b, "| `%s` | — | — | `[]` | %s |\n", p, structuredHelp[p])
	}
	return b.String()
}
