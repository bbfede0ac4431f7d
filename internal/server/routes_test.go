package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/logbuf"
)

// startTest runs a server on loopback with the listeners the test does
// not need turned off.
func startTest(t *testing.T, mod func(*config.Config)) (*Server, *logbuf.Buffer) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Syslog.UDPAddr, cfg.Syslog.TCPAddr, cfg.Syslog.TLSAddr, cfg.MLLP.Addr = "", "", "", ""
	cfg.Detect.Enabled = false
	if mod != nil {
		mod(cfg)
	}
	logs := &logbuf.Buffer{}
	s, err := Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s, logs
}

// publicRoutes are the only routes that answer anonymous callers. A new
// one must be added here, deliberately.
var publicRoutes = []string{
	"GET /healthz", "GET /readyz", "POST /api/v1/auth/login", "GET /api/v1/auth/methods",
	"GET /services/collector/health", "GET /services/collector/health/1.0",
}

var wildcard = regexp.MustCompile(`\{[^}]+\}`)

// heavy routes start long operations (a full verification in a child
// process, a backup): only their refusals are checked.
var heavy = map[string]bool{"POST /api/v1/integrity/verify": true, "POST /api/v1/backup": true, "POST /api/v1/backups/drill": true, "POST /api/v1/retention/run": true}

// TestEveryRouteIsGuarded walks the whole route table of a running server:
// every route declares a permission; an anonymous call gets 401 and a
// caller whose roles lack the permission gets 403; a caller holding it
// gets through. A route added without a permission fails here (and
// web.Guard.Mount refuses it at start).
func TestEveryRouteIsGuarded(t *testing.T) {
	s, _ := startTest(t, nil)
	base := "http://" + s.HTTPAddr()
	ctx := audit.System(context.Background())
	tokens := map[string]string{}
	for _, role := range access.RoleNames() {
		_, secret, err := s.accounts.CreateToken(ctx, accounts.TokenRequest{Name: "route-test-" + role, Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = secret
	}
	var basic bool // the route's clients send the token as a Basic password
	call := func(method, path, token string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		switch {
		case token != "" && basic:
			req.SetBasicAuth("sender", token)
		case token != "":
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	routes := s.RouteTable()
	if len(routes) < 40 {
		t.Fatalf("only %d routes in the table", len(routes))
	}
	var public []string
	for _, rt := range routes {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			method, path = "GET", rt.Pattern
		}
		path = wildcard.ReplaceAllString(path, "1")
		if strings.HasPrefix(path, "/debug/pprof/") {
			path += "?seconds=1" // profiles run 30 s by default
		}
		basic = rt.Credentials != nil
		if rt.Perm == access.Public {
			public = append(public, rt.Pattern)
			continue
		}
		if got := call(method, path, ""); got != http.StatusUnauthorized {
			t.Errorf("%s anonymous: %d, want 401", rt.Pattern, got)
		}
		// Splunk answers an invalid token with 403 (code 4); HEC does too.
		if got := call(method, path, "vgl_not-a-token"); got != http.StatusUnauthorized && (rt.Refuse == nil || got != http.StatusForbidden) {
			t.Errorf("%s with an unknown token: %d, want 401", rt.Pattern, got)
		}
		if rt.Perm == access.Authenticated {
			if got := call(method, path, tokens[access.RoleIngest]); got == http.StatusUnauthorized || got == http.StatusForbidden {
				t.Errorf("%s (any signed-in caller) with a token: %d", rt.Pattern, got)
			}
			continue
		}
		denied, allowed := "", ""
		for _, role := range access.RoleNames() {
			has := slices.Contains(access.PermissionsOf([]string{role}), rt.Perm)
			if !has && denied == "" {
				denied = role
			}
			if has && role != access.RoleAdmin && allowed == "" {
				allowed = role
			}
		}
		if denied == "" {
			t.Errorf("%s: every role holds %s", rt.Pattern, rt.Perm)
			continue
		}
		if got := call(method, path, tokens[denied]); got != http.StatusForbidden {
			t.Errorf("%s as %s (without %s): %d, want 403", rt.Pattern, denied, rt.Perm, got)
		}
		// The machines' tokens (senders, Prometheus) reach nothing else:
		// the ingest token configured in every sender cannot read.
		for _, role := range []string{access.RoleIngest, access.RoleMetrics} {
			if role == denied || slices.Contains(access.Roles[role], rt.Perm) {
				continue
			}
			if got := call(method, path, tokens[role]); got != http.StatusForbidden {
				t.Errorf("%s as %s: %d, want 403", rt.Pattern, role, got)
			}
		}
		if allowed == "" {
			allowed = access.RoleAdmin
		}
		if heavy[rt.Pattern] {
			continue
		}
		if got := call(method, path, tokens[allowed]); got == http.StatusUnauthorized || got == http.StatusForbidden {
			t.Errorf("%s as %s (with %s): %d", rt.Pattern, allowed, rt.Perm, got)
		}
	}
	slices.Sort(public)
	want := slices.Clone(publicRoutes)
	slices.Sort(want)
	if !slices.Equal(public, want) {
		t.Errorf("public routes %v, want exactly %v", public, want)
	}
	// Every refusal of a presented credential is on record.
	recs, err := s.audit.List(context.Background(), audit.Filter{Action: "access.denied"})
	if err != nil || len(recs) < 30 {
		t.Errorf("%d access.denied records (%v)", len(recs), err)
	}
}

// First start: the user admin with a one-time password (not in the
// log), an admin token for the command line in admin.token (0600), and
// the ingest token as an ingest-role token.
func TestFirstStart(t *testing.T) {
	s, logs := startTest(t, nil)
	if len(s.AdminPassword) < 12 || !s.TokenGenerated || !s.CLITokenGenerated {
		t.Fatalf("first start: password %q, token generated %v, CLI token %v", s.AdminPassword, s.TokenGenerated, s.CLITokenGenerated)
	}
	if strings.Contains(logs.String(), s.AdminPassword) || strings.Contains(logs.String(), s.Token) {
		t.Fatal("a secret reached the operational log")
	}
	st, err := os.Stat(s.CLITokenPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v %v", st, err)
	}
	data, _ := os.ReadFile(s.CLITokenPath)
	p, err := s.accounts.Token(context.Background(), strings.TrimSpace(string(data)))
	if err != nil || !p.Can(access.UsersAdmin) {
		t.Fatalf("admin.token principal %v %v", p, err)
	}
	p, err = s.accounts.Token(context.Background(), s.Token)
	if err != nil || !p.Can(access.Ingest) || p.Can(access.EventsSearch) {
		t.Fatalf("ingest token principal %+v %v", p, err)
	}
	if !accounts.LooksLikeToken(s.Token) || !accounts.LooksLikeToken(strings.TrimSpace(string(data))) {
		t.Fatal("generated tokens lack the recognisable form")
	}
	u, err := s.accounts.User(context.Background(), "admin")
	if err != nil || !u.MustChangePassword || !slices.Equal(u.Roles, []string{"admin"}) {
		t.Fatalf("admin user %+v %v", u, err)
	}
	// A restart creates nothing new.
	dir := s.cfg.DataDir
	s.Stop(context.Background())
	s2, _ := startTest(t, func(c *config.Config) { c.DataDir = dir })
	if s2.AdminPassword != "" || s2.TokenGenerated || s2.CLITokenGenerated {
		t.Fatalf("second start created secrets again: %+v", s2)
	}
}

// With http.tls=always (and on any address but loopback) the API serves
// HTTPS with a self-signed certificate generated into the data dir.
func TestHTTPSSelfSigned(t *testing.T) {
	s, _ := startTest(t, func(c *config.Config) { c.HTTP.TLS = "always" })
	if s.HTTPCertFile != filepath.Join(s.cfg.DataDir, "tls", "http.crt") || s.HTTPCertFingerprint == "" {
		t.Fatalf("certificate %q %q", s.HTTPCertFile, s.HTTPCertFingerprint)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + s.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("HTTPS healthz: %d", resp.StatusCode)
	}
	if _, err := http.Get("http://" + s.HTTPAddr() + "/healthz"); err == nil {
		// net/http answers plain HTTP to a TLS port with 400; no success.
		r, _ := http.Get("http://" + s.HTTPAddr() + "/healthz")
		if r != nil && r.StatusCode == 200 {
			t.Fatal("plain HTTP served on the HTTPS listener")
		}
	}
	// The HIPAA report states what is in effect: HTTPS, the idle logoff,
	// the second factor's roles.
	f := s.complianceInputs(t.Context()).Facts
	if !f.HTTPTLS || f.SessionIdle != 15*time.Minute || !strings.Contains(f.MFA, "admin, privacy-officer") || !strings.Contains(f.MFA, "12h0m0s") {
		t.Fatalf("report facts %+v", f)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.0.0.2:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.1.2.3:8080": false, "vigil.example.org:443": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// A start records the settings changed since the previous start (from
// the defaults at the first) as one config.change by the system; secrets
// only as set, never their value; an unchanged restart records nothing.
func TestConfigChangeAudited(t *testing.T) {
	const secret = "vgl_0123456789abcdefghijABCDEFGHIJ012345"
	s, _ := startTest(t, func(c *config.Config) { c.Ingest.Token = secret })
	dir := s.cfg.DataDir
	changes := func(s *Server) []audit.Record {
		t.Helper()
		rs, err := s.audit.List(context.Background(), audit.Filter{Action: "config.change"})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	rs := changes(s)
	if len(rs) != 1 || rs[0].ActorKind != "system" || !strings.Contains(string(rs[0].Details), `"first_start":true`) ||
		!strings.Contains(string(rs[0].Details), `{"from":"","key":"ingest.token","to":"(set)"}`) || strings.Contains(string(rs[0].Details), secret) {
		t.Fatalf("first start: %+v", rs)
	}
	s.Stop(context.Background())
	s, _ = startTest(t, func(c *config.Config) {
		c.DataDir, c.Ingest.Token, c.Auth.IdleTimeout = dir, secret, config.Duration(5*time.Minute)
	})
	rs = changes(s)
	if len(rs) != 2 || !strings.Contains(string(rs[1].Details), `{"from":"15m0s","key":"auth.idle_timeout","to":"5m0s"}`) || !strings.Contains(string(rs[1].Details), `"changed_count":1`) {
		t.Fatalf("after a change: %+v", rs)
	}
	s.Stop(context.Background())
	s, _ = startTest(t, func(c *config.Config) {
		c.DataDir, c.Ingest.Token, c.Auth.IdleTimeout = dir, secret, config.Duration(5*time.Minute)
	})
	if rs := changes(s); len(rs) != 2 {
		t.Fatalf("an unchanged restart recorded %d changes", len(rs))
	}
}
