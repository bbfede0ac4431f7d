package accounts

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/web"
)

// apiEnv serves the accounts API and a protected route through the real
// middleware.
type apiEnv struct {
	*fixture
	srv *httptest.Server
}

func newAPI(t testing.TB, mod func(*Options)) *apiEnv {
	t.Helper()
	f := newFixture(t, mod)
	api := &API{Store: f.s}
	routes := append(api.Routes(),
		access.Handle("GET /api/v1/search", access.EventsSearch, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("results")) }),
		access.Handle("POST /api/v1/alerts/{id}/status", access.AlertsWrite, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("changed")) }))
	g := &web.Guard{Auth: f.s, Audit: f.trail, Log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	if err := g.Mount(mux, routes); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &apiEnv{fixture: f, srv: srv}
}

// browser is a client with a cookie jar and the CSRF token of its session.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
	csrf string
}

func (e *apiEnv) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}, base: e.srv.URL}
}

func (b *browser) do(method, path, ctype, body string, hdr ...string) (int, map[string]any, *http.Response) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if b.csrf != "" {
		req.Header.Set(access.CSRFHeader, b.csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(data, &m)
	if m == nil {
		m = map[string]any{"raw": string(data)}
	}
	return resp.StatusCode, m, resp
}

func (b *browser) login(user, pw, code string) (int, map[string]any, *http.Response) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": pw, "totp_code": code})
	code2, m, resp := b.do("POST", "/api/v1/auth/login", "application/json", string(body))
	if s, ok := m["session"].(map[string]any); ok {
		b.csrf, _ = s["csrf_token"].(string)
	}
	return code2, m, resp
}

func TestLoginAPI(t *testing.T) {
	e := newAPI(t, func(o *Options) { o.MFARoles = []string{} })
	_, otp, _ := e.s.CreateUser(sys, NewUser{Name: "gina", Roles: []string{"analyst"}})
	b := e.browser(t)

	// Malformed bodies: clear statuses, each audited, nothing about the user.
	for _, c := range []struct {
		ctype, body string
		status      int
	}{
		{"application/json", `{"username":"gina","password":`, 400},
		{"application/json", ``, 400},
		{"application/json", `["gina"]`, 400},
		{"application/json", `{"username":"gina","password":"x","extra":1}`, 400},
		{"application/json", `{"username":"gina","password":"x"}{"more":1}`, 400},
		{"text/plain", `{"username":"gina","password":"x"}`, 415},
		{"application/x-www-form-urlencoded", `username=gina&password=x`, 415},
		{"application/json", `{"username":"gina","password":"` + strings.Repeat("a", 9000) + `"}`, 413},
		{"application/json", `{"username":"gina","password":"` + strings.Repeat("a", 300) + `"}`, 400},
		{"application/json", `{"username":"","password":""}`, 400},
	} {
		if code, m, _ := b.do("POST", "/api/v1/auth/login", c.ctype, c.body); code != c.status || m["error"] == nil {
			t.Errorf("%s %.40q: %d %v, want %d", c.ctype, c.body, code, m, c.status)
		}
	}
	if n := len(e.records(t, "auth.login")); n != 10 {
		t.Errorf("%d login failures recorded, want 10", n)
	}

	// Unknown user and wrong password: the same answer.
	c1, m1, _ := b.login("nobody", "tr4ce-Orbit-lantern", "")
	c2, m2, _ := b.login("gina", "tr4ce-Orbit-lantern", "")
	if c1 != 401 || c2 != 401 || m1["error"] != m2["error"] {
		t.Fatalf("enumeration: %d %v / %d %v", c1, m1, c2, m2)
	}

	// Sign in with the one-time password: restricted to changing it.
	code, m, resp := b.login("gina", otp, "")
	if code != 200 || m["restriction"] != string(access.MustChangePassword) || b.csrf == "" {
		t.Fatalf("login: %d %v", code, m)
	}
	ck := resp.Cookies()[0]
	if ck.Name != access.SessionCookie || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
		t.Fatalf("cookie %+v", ck)
	}
	if code, m, _ := b.do("GET", "/api/v1/search", "", ""); code != 403 || !strings.Contains(m["error"].(string), "password_change_required") {
		t.Fatalf("restricted search: %d %v", code, m)
	}
	if code, m, _ := b.do("GET", "/api/v1/auth/me", "", ""); code != 200 || m["name"] != "gina" || m["restriction"] != "password_change_required" {
		t.Fatalf("me: %d %v", code, m)
	}
	if code, _, _ := b.do("POST", "/api/v1/auth/password", "application/json", `{"current_password":"`+otp+`","new_password":"tr4ce-Orbit-lantern"}`); code != 200 {
		t.Fatalf("change password: %d", code)
	}
	if code, _, _ := b.do("GET", "/api/v1/search", "", ""); code != 200 {
		t.Fatalf("search after change: %d", code)
	}

	// CSRF: a state-changing request with the cookie needs the header.
	csrf := b.csrf
	b.csrf = ""
	if code, _, _ := b.do("POST", "/api/v1/alerts/1/status", "application/json", `{}`); code != 403 {
		t.Fatalf("without CSRF token: %d", code)
	}
	b.csrf = "wrong"
	if code, _, _ := b.do("POST", "/api/v1/alerts/1/status", "application/json", `{}`); code != 403 {
		t.Fatalf("wrong CSRF token: %d", code)
	}
	b.csrf = csrf
	if code, _, _ := b.do("POST", "/api/v1/alerts/1/status", "application/json", `{}`); code != 200 {
		t.Fatalf("with CSRF token: %d", code)
	}
	if d := e.records(t, "access.denied"); len(d) < 3 || !strings.Contains(string(d[len(d)-1].Details), access.CSRFHeader) {
		t.Fatalf("CSRF refusals not recorded: %+v", d)
	}
	// A token is no cookie: no CSRF header needed.
	_, tok, _ := e.s.CreateToken(sys, TokenRequest{Name: "t", Roles: []string{"analyst"}})
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/alerts/1/status", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 200 {
		t.Fatalf("token without CSRF header: %d", resp.StatusCode)
	}

	// A tampered cookie is refused with 401 and recorded.
	tampered := e.browser(t)
	u, _ := url.Parse(e.srv.URL)
	v := []byte(ck.Value)
	v[5] ^= 1
	tampered.c.Jar.SetCookies(u, []*http.Cookie{{Name: access.SessionCookie, Value: string(v)}})
	if code, _, _ := tampered.do("GET", "/api/v1/auth/me", "", ""); code != 401 {
		t.Fatalf("tampered cookie: %d", code)
	}
	tampered.c.Jar.SetCookies(u, []*http.Cookie{{Name: access.SessionCookie, Value: "not-a-cookie"}})
	if code, m, _ := tampered.do("GET", "/api/v1/search", "", ""); code != 401 || !strings.Contains(m["error"].(string), "invalid session cookie") {
		t.Fatalf("malformed cookie: %d %v", code, m)
	}
	if d := e.records(t, "auth.denied"); len(d) != 2 {
		t.Fatalf("cookie refusals recorded: %+v", d)
	}

	// Logout ends the session and clears the cookie.
	code, _, resp = b.do("POST", "/api/v1/auth/logout", "application/json", "")
	if code != 200 || resp.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %+v", code, resp.Cookies())
	}
	if code, _, _ := b.do("GET", "/api/v1/auth/me", "", ""); code != 401 {
		t.Fatalf("after logout: %d", code)
	}
	if len(e.records(t, "auth.logout")) != 1 || len(e.records(t, "auth.password_change")) != 1 {
		t.Fatal("logout or password change not recorded")
	}
	if code, m, _ := b.do("GET", "/api/v1/auth/methods", "", ""); code != 200 || m["password"] != true {
		t.Fatalf("methods: %d %v", code, m)
	}
}

func TestLoginAPIOverTLSAndTOTP(t *testing.T) {
	e := newAPI(t, nil)
	e.srv.Close()
	api := &API{Store: e.s}
	g := &web.Guard{Auth: e.s, Audit: e.trail, Log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	g.Mount(mux, api.Routes())
	e.srv = httptest.NewTLSServer(mux)
	defer e.srv.Close()
	b := e.browser(t)
	b.c.Transport = e.srv.Client().Transport
	pw, _ := e.s.EnsureAdmin(sys)
	code, m, resp := b.login("admin", pw, "")
	ck := resp.Cookies()[0]
	if code != 200 || ck.Name != access.SessionCookieTLS || !ck.Secure {
		t.Fatalf("TLS cookie %d %+v", code, ck)
	}
	b.do("POST", "/api/v1/auth/password", "application/json", `{"current_password":"`+pw+`","new_password":"tr4ce-Orbit-lantern"}`)
	if _, m, _ = b.do("GET", "/api/v1/auth/me", "", ""); m["restriction"] != string(access.MustEnrollMFA) {
		t.Fatalf("admin must enrol: %v", m)
	}
	if code, _, _ := b.do("GET", "/api/v1/users", "", ""); code != 403 {
		t.Fatalf("users before enrolment: %d", code)
	}
	code, m, _ = b.do("POST", "/api/v1/auth/totp/enroll", "application/json", "")
	secret, _ := m["secret"].(string)
	if code != 200 || secret == "" || !strings.HasPrefix(m["otpauth_uri"].(string), "otpauth://totp/") {
		t.Fatalf("enroll: %d %v", code, m)
	}
	c, _ := totp.GenerateCode(secret, e.clock.Now())
	code, m, _ = b.do("POST", "/api/v1/auth/totp/confirm", "application/json", `{"code":"`+c+`"}`)
	if code != 200 || len(m["recovery_codes"].([]any)) != 10 {
		t.Fatalf("confirm: %d %v", code, m)
	}
	if code, _, _ := b.do("GET", "/api/v1/users", "", ""); code != 200 {
		t.Fatalf("users after enrolment: %d", code)
	}
	// A new sign-in needs the code; a replayed one is refused.
	b2 := e.browser(t)
	b2.c.Transport = e.srv.Client().Transport
	if code, m, _ := b2.login("admin", "tr4ce-Orbit-lantern", ""); code != 401 || m["mfa_required"] != true {
		t.Fatalf("without code: %d %v", code, m)
	}
	if code, _, _ := b2.login("admin", "tr4ce-Orbit-lantern", c); code != 401 {
		t.Fatalf("replayed code: %d", code)
	}
	e.clock.Add(30e9)
	c, _ = totp.GenerateCode(secret, e.clock.Now())
	if code, m, _ := b2.login("admin", "tr4ce-Orbit-lantern", c); code != 200 || m["method"] != "password+totp" {
		t.Fatalf("with code: %d %v", code, m)
	}
	// User and token administration.
	code, m, _ = b2.do("POST", "/api/v1/users", "application/json", `{"name":"hank","roles":["auditor"]}`)
	if code != 201 || m["one_time_password"] == "" {
		t.Fatalf("create user: %d %v", code, m)
	}
	if code, _, _ := b2.do("POST", "/api/v1/users", "application/json", `{"name":"hank","roles":["auditor"]}`); code != 409 {
		t.Fatalf("duplicate: %d", code)
	}
	if code, _, _ := b2.do("POST", "/api/v1/users", "application/json", `{"name":"ivy","roles":["god"]}`); code != 400 {
		t.Fatalf("bad role: %d", code)
	}
	for _, a := range []string{"disable", "enable", "unlock", "reset-mfa"} {
		if code, _, _ := b2.do("POST", "/api/v1/users/hank/"+a, "application/json", ""); code != 200 {
			t.Errorf("%s: %d", a, code)
		}
	}
	if code, m, _ := b2.do("POST", "/api/v1/users/hank/reset-password", "application/json", ""); code != 200 || m["one_time_password"] == "" {
		t.Fatalf("reset: %d %v", code, m)
	}
	if code, _, _ := b2.do("PUT", "/api/v1/users/hank/roles", "application/json", `{"roles":["auditor","analyst"]}`); code != 200 {
		t.Fatalf("roles: %d", code)
	}
	code, m, _ = b2.do("POST", "/api/v1/tokens", "application/json", `{"name":"prom","roles":["metrics"],"expires":"90d"}`)
	if code != 201 || !LooksLikeToken(m["secret"].(string)) {
		t.Fatalf("create token: %d %v", code, m)
	}
	if code, _, _ := b2.do("POST", "/api/v1/tokens", "application/json", `{"name":"p2","roles":["metrics"],"expires":"soon"}`); code != 400 {
		t.Fatalf("bad expiry: %d", code)
	}
	secret = m["secret"].(string)
	_, m, _ = b2.do("GET", "/api/v1/tokens", "", "")
	if strings.Contains(toJSON(m), secret) || len(m["tokens"].([]any)) != 1 {
		t.Fatalf("tokens %v", m)
	}
	if code, _, _ := b2.do("DELETE", "/api/v1/tokens/prom", "", ""); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _, _ := b2.do("DELETE", "/api/v1/users/hank", "", ""); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := b2.do("GET", "/api/v1/users/hank", "", ""); code != 404 {
		t.Fatalf("deleted user: %d", code)
	}
	for _, a := range []string{"user.create", "user.disable", "user.enable", "user.password_reset", "user.mfa_reset", "user.roles",
		"user.unlock", "user.delete", "token.create", "token.revoke", "auth.mfa_enroll"} {
		if len(e.records(t, a)) == 0 {
			t.Errorf("%s not recorded", a)
		}
	}
	if rs := e.records(t, "user.create"); rs[len(rs)-1].Actor != "admin" {
		t.Errorf("user.create by %q", rs[len(rs)-1].Actor)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestIdleLogoutRecorded: the console ends an idle session with
// {"reason":"idle"}; the trail tells that automatic logoff from a user's
// own sign-out. Any other reason is refused and the session stays.
func TestIdleLogoutRecorded(t *testing.T) {
	e := newAPI(t, func(o *Options) { o.MFARoles = []string{} })
	_, otp, _ := e.s.CreateUser(sys, NewUser{Name: "ivan", Roles: []string{"analyst"}})
	b := e.browser(t)
	if code, m, _ := b.login("ivan", otp, ""); code != 200 {
		t.Fatalf("login: %d %v", code, m)
	}
	if code, m, _ := b.do("POST", "/api/v1/auth/logout", "application/json", `{"reason":"bored"}`); code != 400 {
		t.Fatalf("logout with an unknown reason: %d %v", code, m)
	}
	if code, _, _ := b.do("GET", "/api/v1/auth/me", "", ""); code != 200 {
		t.Fatalf("session ended by a refused logout: %d", code)
	}
	if code, m, _ := b.do("POST", "/api/v1/auth/logout", "application/json", `{"reason":"idle"}`); code != 200 {
		t.Fatalf("idle logout: %d %v", code, m)
	}
	if code, _, _ := b.do("GET", "/api/v1/auth/me", "", ""); code != 401 {
		t.Fatalf("after the idle logout: %d", code)
	}
	rs := e.records(t, "auth.logout")
	if len(rs) != 1 || rs[0].Actor != "ivan" || !strings.Contains(string(rs[0].Details), `"reason":"idle"`) {
		t.Fatalf("idle logout recorded as %+v", rs)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
