package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	es8 "github.com/elastic/go-elasticsearch/v8"
	"github.com/pquerna/otp/totp"

	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/accounts/oidctest"
	"github.com/vigil-siem/vigil/internal/client"
)

// TestIngestTokenSendsButCannotRead: the official Elasticsearch client
// sends with the ingest token (_bulk accepted); the same token is refused
// with 403 on search, alerts, patients and the audit trail, and the
// refusal is in the audit trail.
func TestIngestTokenSendsButCannotRead(t *testing.T) {
	in := startVigil(t, t.TempDir())
	es, err := es8.NewClient(es8.Config{Addresses: []string{in.httpURL}, Username: "filebeat", Password: in.token})
	if err != nil {
		t.Fatal(err)
	}
	res, err := es.Bulk(strings.NewReader(`{"create":{"_index":"logs-access-test"}}`+"\n"+`{"message":"sent with the ingest token","test":{"id":"ingest-1"}}`+"\n"),
		es.Bulk.WithContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || bytes.Contains(body, []byte(`"errors":true`)) {
		t.Fatalf("_bulk with the ingest token: %d %s", res.StatusCode, body)
	}
	in.waitFor("test.id:ingest-1", 1, 30*time.Second) // read with the admin token
	reads := []string{"/api/v1/search?q=*", "/api/v1/hits?q=*", "/api/v1/fields?q=*", "/api/v1/export?q=*", "/api/v1/alerts", "/api/v1/patients",
		"/api/v1/workforce", "/api/v1/encounters", "/api/v1/audit", "/api/v1/rules", "/api/v1/sources", "/metrics"}
	for _, p := range reads {
		r, _ := http.NewRequest("GET", in.httpURL+p, nil)
		r.Header.Set("Authorization", "Bearer "+in.token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s with the ingest token: %d, want 403", p, resp.StatusCode)
		}
	}
	err = client.New(in.httpURL, in.token, false).Search(context.Background(), client.SearchParams{Query: "*", Limit: 1}, func([]byte) error { return nil })
	if ae, ok := err.(*client.APIError); !ok || ae.Status != 403 {
		t.Fatalf("search client with the ingest token: %v", err)
	}
	out, code := runVigil(t, "audit", "list", "--server", in.httpURL, "--token", in.admin, "--action", "access.denied", "--format", "ndjson")
	if code != 0 || strings.Count(out, `"actor":"ingest"`) < len(reads) {
		t.Fatalf("denials on record: %d\n%s", code, out)
	}
}

// TestAccessCommands: from a clean start the command line works with the
// admin token the server wrote (search included), creates a user, a
// metrics token for Prometheus, revokes it, and the audit trail records
// it all and verifies.
func TestAccessCommands(t *testing.T) {
	dir := t.TempDir()
	in := startVigil(t, dir)
	in.ingestNDJSON(t, `{"message":"for the search","test":{"id":"cli-1"}}`)
	in.waitFor("test.id:cli-1", 1, 30*time.Second)
	srv := []string{"--server", in.httpURL, "--data-dir", dir}
	run := func(args ...string) string {
		t.Helper()
		out, code := runVigil(t, append(args, srv...)...)
		if code != 0 {
			t.Fatalf("vigil %v: exit %d\n%s", args, code, out)
		}
		return out
	}
	// No --token: the CLI reads admin.token from the data dir.
	if out := run("search", "test.id:cli-1"); !strings.Contains(out, "(1 events)") {
		t.Fatalf("vigil search: %s", out)
	}
	out := run("users", "add", "rita", "--role", "analyst,auditor")
	if !strings.Contains(out, "One-time password") {
		t.Fatalf("users add: %s", out)
	}
	if out := run("users", "list"); !strings.Contains(out, "rita") || !strings.Contains(out, "analyst,auditor") || !strings.Contains(out, "one-time password") {
		t.Fatalf("users list: %s", out)
	}
	run("users", "disable", "rita")
	if out := run("users", "reset-password", "rita"); !strings.Contains(out, "New one-time password") {
		t.Fatalf("reset-password: %s", out)
	}
	cmd := exec.Command(vigilBin, append([]string{"tokens", "create", "--name", "prometheus", "--role", "metrics", "--expires", "90d"}, srv...)...)
	secret, err := cmd.Output()
	tok := strings.TrimSpace(string(secret))
	if err != nil || !strings.HasPrefix(tok, "vgl_") {
		t.Fatalf("tokens create: %v %q", err, secret)
	}
	get := func(path, token string) int {
		r, _ := http.NewRequest("GET", in.httpURL+path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/metrics", tok) != 200 || get("/api/v1/search?q=*", tok) != 403 {
		t.Fatal("the metrics token scrapes /metrics and nothing else")
	}
	if out := run("tokens", "list"); !strings.Contains(out, "prometheus") || !strings.Contains(out, "metrics") || strings.Contains(out, tok) {
		t.Fatalf("tokens list: %s", out)
	}
	run("tokens", "revoke", "prometheus")
	if get("/metrics", tok) != 401 {
		t.Fatal("a revoked token still works")
	}
	// The search by the CLI is on record with its text and result count.
	out = run("audit", "list", "--action", "events.search", "--format", "ndjson")
	if !strings.Contains(out, `"actor":"local-cli"`) || !strings.Contains(out, `test.id:cli-1`) || !strings.Contains(out, `"result_count":1`) {
		t.Fatalf("search not on record:\n%s", out)
	}
	out = run("audit", "list", "--since", "1h")
	for _, a := range []string{"user.create", "user.disable", "user.password_reset", "token.create", "token.revoke", "auth.denied"} {
		if !strings.Contains(out, a) {
			t.Errorf("audit list lacks %s:\n%s", a, out)
		}
	}
	out, code := runVigil(t, "audit", "verify", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "audit trail verified") {
		t.Fatalf("audit verify: %d %s", code, out)
	}
}

// TestLoginWithTOTP: an administrator signs in over the API with the
// one-time password, chooses a password, enrols an authenticator app,
// and signs in again with a code; a replayed code is refused.
func TestLoginWithTOTP(t *testing.T) {
	in := startVigil(t, t.TempDir())
	var created struct {
		OneTimePassword string `json:"one_time_password"`
	}
	if err := in.adminCall("POST", "/api/v1/users", `{"name":"pat","roles":["privacy-officer"]}`, &created); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	csrf := ""
	call := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, in.httpURL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if s, ok := m["session"].(map[string]any); ok {
			csrf, _ = s["csrf_token"].(string)
		}
		return resp.StatusCode, m
	}
	if code, m := call("POST", "/api/v1/auth/login", map[string]string{"username": "pat", "password": created.OneTimePassword}); code != 200 || m["restriction"] != "password_change_required" {
		t.Fatalf("first sign-in: %d %v", code, m)
	}
	if code, _ := call("POST", "/api/v1/auth/password", map[string]string{"current_password": created.OneTimePassword, "new_password": "Velvet-harbor-2931"}); code != 200 {
		t.Fatalf("change password: %d", code)
	}
	if code, m := call("GET", "/api/v1/patients", nil); code != 403 || !strings.Contains(m["error"].(string), "mfa_enrollment_required") {
		t.Fatalf("before enrolment: %d %v", code, m)
	}
	_, m := call("POST", "/api/v1/auth/totp/enroll", map[string]string{})
	secret, _ := m["secret"].(string)
	code1, _ := totp.GenerateCode(secret, time.Now())
	if code, m := call("POST", "/api/v1/auth/totp/confirm", map[string]string{"code": code1}); code != 200 || len(m["recovery_codes"].([]any)) != 10 {
		t.Fatalf("confirm: %d %v", code, m)
	}
	if code, _ := call("GET", "/api/v1/patients", nil); code != 200 {
		t.Fatalf("after enrolment: %d", code)
	}
	call("POST", "/api/v1/auth/logout", map[string]string{})
	csrf = ""
	if code, m := call("POST", "/api/v1/auth/login", map[string]string{"username": "pat", "password": "Velvet-harbor-2931"}); code != 401 || m["mfa_required"] != true {
		t.Fatalf("without a code: %d %v", code, m)
	}
	if code, _ := call("POST", "/api/v1/auth/login", map[string]string{"username": "pat", "password": "Velvet-harbor-2931", "totp_code": code1}); code != 401 {
		t.Fatalf("replayed code: %d", code)
	}
	// The next code (wait for its period when the clock sits on this one).
	next := code1
	for deadline := time.Now().Add(40 * time.Second); next == code1 && time.Now().Before(deadline); time.Sleep(time.Second) {
		next, _ = totp.GenerateCode(secret, time.Now())
	}
	if code, m := call("POST", "/api/v1/auth/login", map[string]string{"username": "pat", "password": "Velvet-harbor-2931", "totp_code": next}); code != 200 || m["method"] != "password+totp" {
		t.Fatalf("with a fresh code: %d %v", code, m)
	}
	out, _ := runVigil(t, "audit", "list", "--server", in.httpURL, "--token", in.admin, "--action", "auth.*", "--format", "ndjson")
	for _, want := range []string{"replayed authentication code", "second factor missing", `"method":"password+totp"`, "auth.mfa_enroll", "auth.password_change"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit trail lacks %q", want)
		}
	}
}

// TestFirstStartPrintsAdminPassword: the first start prints the user
// admin's one-time password on standard output (the terminal), never in
// the operational log, and it signs in (restricted to changing it).
func TestFirstStartPrintsAdminPassword(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(vigilBin, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--syslog-udp-addr", "",
		"--syslog-tcp-addr", "", "--syslog-tls-addr", "", "--mllp-addr", "", "--log-format", "json", "--detect-enabled=false")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var url string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !strings.Contains(stderr.String(), `"vigil ready"`); {
		time.Sleep(100 * time.Millisecond)
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "HTTP API listening" {
			url, _ = m["url"].(string)
		}
	}
	out := stdout.String()
	i := strings.Index(out, "Created the user admin")
	if url == "" || i < 0 || !strings.Contains(out, "admin.token") || !strings.Contains(out, "ingest.token") {
		t.Fatalf("first start printed:\n%s\nlog:\n%s", out, stderr.String())
	}
	// The password stands alone, indented, after a blank line.
	pw := strings.Fields(out[i+strings.Index(out[i:], "\n\n"):])[0]
	if strings.Contains(stderr.String(), pw) {
		t.Fatal("the one-time password is in the operational log")
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
	resp, err := http.Post(url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != 200 || m["restriction"] != "password_change_required" {
		t.Fatalf("admin sign-in with the printed password: %d %v", resp.StatusCode, m)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSSOLogin: the real binary signs users in through a real OpenID
// provider (zitadel/oidc's op on loopback) with the authorization code
// flow and PKCE: the provider's group maps to a role, a user with no
// mapped group is refused, both are in the audit trail, and logout ends
// the session.
func TestSSOLogin(t *testing.T) {
	// The provider must know Vigil's callback before Vigil starts, and
	// Vigil listens on an ephemeral port: register the callback under a
	// public name (as behind a reverse proxy) and let the test's browser
	// carry the redirect to the real address.
	const public = "http://vigil.invalid"
	idp := oidctest.Start(t, public+"/api/v1/auth/oidc/callback",
		oidctest.User{Name: "nina", Password: "nina-password-1", Email: "nina@example.org", Groups: []string{"siem-analysts", "staff"}},
		oidctest.User{Name: "oscar", Password: "oscar-password-1", Email: "oscar@example.org", Groups: []string{"staff"}})
	in := startVigil(t, t.TempDir(), "--auth-oidc-issuer", idp.Issuer, "--auth-oidc-client-id", idp.ClientID,
		"--auth-oidc-client-secret", idp.ClientSecret, "--auth-oidc-redirect-url", public+"/api/v1/auth/oidc/callback",
		"--auth-oidc-scopes", "profile,email,groups", "--auth-oidc-role-mapping", "siem-analysts=analyst,siem-admins=admin",
		"--auth-oidc-display-name", "Hospital sign-in")
	var methods struct {
		OIDC struct {
			Enabled  bool   `json:"enabled"`
			Name     string `json:"name"`
			LoginURL string `json:"login_url"`
		} `json:"oidc"`
	}
	resp, err := http.Get(in.httpURL + "/api/v1/auth/methods")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&methods)
	resp.Body.Close()
	if !methods.OIDC.Enabled || methods.OIDC.Name != "Hospital sign-in" {
		t.Fatalf("sign-in methods: %+v", methods)
	}
	authRequest := regexp.MustCompile(`name="id" value="([^"]+)"`)
	login := func(user, password string) (*http.Client, int, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Host == "vigil.invalid" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err := c.Get(in.httpURL + methods.OIDC.LoginURL + "?return_to=/alerts")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := authRequest.FindSubmatch(page)
		if resp.StatusCode != 200 || m == nil || !strings.HasPrefix(resp.Request.URL.String(), idp.Issuer) {
			t.Fatalf("the provider's sign-in page: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
		}
		resp, err = c.PostForm(idp.Issuer+oidctest.LoginPath, url.Values{"username": {user}, "password": {password}, "id": {string(m[1])}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || back.Host != "vigil.invalid" || back.Query().Get("code") == "" {
			t.Fatalf("the provider did not send the browser back with a code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, err = c.Get(in.httpURL + back.RequestURI())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return c, resp.StatusCode, string(body)
	}
	me := func(c *http.Client) (int, accounts.Me) {
		t.Helper()
		resp, err := c.Get(in.httpURL + "/api/v1/auth/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m accounts.Me
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	c, code, body := login("nina", "nina-password-1")
	if code != 200 || !strings.Contains(body, "url=/alerts") {
		t.Fatalf("callback: %d %s", code, body)
	}
	code, m := me(c)
	if code != 200 || m.Name != "nina" || m.Method != "oidc" || strings.Join(m.Roles, ",") != "analyst" || m.Restriction != "" || m.Session == nil {
		t.Fatalf("me after single sign-on: %d %+v", code, m)
	}
	get := func(path string) int {
		resp, err := c.Get(in.httpURL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/api/v1/search?q=*&limit=1") != 200 || get("/api/v1/users") != 403 {
		t.Fatal("an analyst from the provider searches and does not manage users")
	}
	// Logout needs the session's CSRF token.
	req, _ := http.NewRequest("POST", in.httpURL+"/api/v1/auth/logout", strings.NewReader("{}"))
	req.Header.Set("X-CSRF-Token", m.Session.CSRFToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("logout: %s", resp.Status)
	}
	if code, _ := me(c); code != 401 {
		t.Fatalf("me after logout: %d", code)
	}
	// No mapped group: refused, and the account is not created.
	c2, code, body := login("oscar", "oscar-password-1")
	if code != 403 || !strings.Contains(body, "no role") {
		t.Fatalf("unmapped user: %d %s", code, body)
	}
	if code, _ := me(c2); code != 401 {
		t.Fatalf("the refused user has a session: %d", code)
	}
	out, _ := runVigil(t, "audit", "list", "--server", in.httpURL, "--token", in.admin, "--action", "auth.*", "--format", "ndjson")
	for _, want := range []string{`"method":"oidc"`, "no role mapped from groups", `"action":"auth.logout"`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, out)
		}
	}
	users, _ := runVigil(t, "users", "list", "--server", in.httpURL, "--token", in.admin)
	if !strings.Contains(users, "nina") || strings.Contains(users, "oscar") {
		t.Fatalf("users after single sign-on:\n%s", users)
	}
}
