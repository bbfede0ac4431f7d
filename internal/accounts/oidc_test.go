package accounts

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/accounts/oidctest"
	"github.com/vigil-siem/vigil/internal/web"
)

// ssoEnv is the accounts API with single sign-on through a real OpenID
// provider (zitadel/oidc's op) on loopback.
type ssoEnv struct {
	*fixture
	vigil string
	idp   *oidctest.Provider
}

func newSSO(t *testing.T, mod func(*OIDCConfig)) *ssoEnv {
	t.Helper()
	f := newFixture(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	idp := oidctest.Start(t, base+"/api/v1/auth/oidc/callback",
		oidctest.User{Name: "nina", Password: "nina-password-1", Email: "nina@example.org", Groups: []string{"siem-analysts", "staff"}},
		oidctest.User{Name: "oscar", Password: "oscar-password-1", Email: "oscar@example.org", Groups: []string{"staff"}},
		oidctest.User{Name: "gina", Password: "gina-password-1", Email: "gina@example.org", Groups: []string{"siem-admins"}})
	api := &API{Store: f.s}
	cfg := OIDCConfig{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		RedirectURL: base + "/api/v1/auth/oidc/callback", Scopes: []string{"profile", "email", "groups"},
		RoleMapping: map[string][]string{"siem-analysts": {"analyst"}, "siem-admins": {"admin"}}, DisplayName: "Test IdP"}
	if mod != nil {
		mod(&cfg)
	}
	o, err := NewOIDC(f.s, api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	api.OIDC = o
	g := &web.Guard{Auth: f.s, Audit: f.trail, Log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	if err := g.Mount(mux, append(api.Routes(), access.Handle("GET /api/v1/search", access.EventsSearch,
		func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))); err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return &ssoEnv{fixture: f, vigil: base, idp: idp}
}

var authRequestID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// ssoLogin runs the browser's part of the flow with a cookie jar: Vigil's
// login redirects to the provider, whose login form is filled in and
// posted; the provider redirects back to Vigil's callback. It returns the
// client (holding Vigil's session cookie) and the callback's answer.
func (e *ssoEnv) ssoLogin(t *testing.T, user, password string) (*http.Client, int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(e.vigil + "/api/v1/auth/oidc/login?return_to=/search")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := authRequestID.FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil || !strings.HasPrefix(resp.Request.URL.String(), e.idp.Issuer) {
		t.Fatalf("provider's login page: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	resp, err = c.PostForm(e.idp.Issuer+oidctest.LoginPath, url.Values{"username": {user}, "password": {password}, "id": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return c, resp.StatusCode, string(body)
}

func TestOIDCLogin(t *testing.T) {
	e := newSSO(t, nil)
	c, code, body := e.ssoLogin(t, "nina", "nina-password-1")
	if code != 200 || !strings.Contains(body, "Signed in") || !strings.Contains(body, `url=/search`) {
		t.Fatalf("callback: %d %s", code, body)
	}
	resp, err := c.Get(e.vigil + "/api/v1/auth/me")
	if err != nil {
		t.Fatal(err)
	}
	var me Me
	decodeBody(t, resp, &me)
	if me.Name != "nina" || me.Method != "oidc" || len(me.Roles) != 1 || me.Roles[0] != "analyst" || me.Restriction != "" || me.User.Source != "oidc" || me.User.Email != "nina@example.org" {
		t.Fatalf("me: %+v %+v", me, me.User)
	}
	if resp, _ := c.Get(e.vigil + "/api/v1/search"); resp.StatusCode != 200 {
		t.Fatalf("search as nina: %d", resp.StatusCode)
	}
	// The admin group maps to admin; SSO users are not made to enrol TOTP
	// here (the provider handles their second factor).
	c2, _, _ := e.ssoLogin(t, "gina", "gina-password-1")
	resp, _ = c2.Get(e.vigil + "/api/v1/users")
	if resp.StatusCode != 200 {
		t.Fatalf("gina lists users: %d", resp.StatusCode)
	}
	var list struct{ Users []User }
	decodeBody(t, resp, &list)
	if len(list.Users) != 2 {
		t.Fatalf("users %+v", list.Users)
	}
	// A user with no mapped group is refused, and it is recorded.
	_, code, body = e.ssoLogin(t, "oscar", "oscar-password-1")
	if code != 403 || !strings.Contains(body, "no role") {
		t.Fatalf("unmapped user: %d %s", code, body)
	}
	var okLogins, refused int
	for _, r := range e.records(t, "auth.login") {
		switch {
		case r.Outcome == "success" && strings.Contains(string(r.Details), `"method":"oidc"`):
			okLogins++
		case r.Outcome == "failure" && r.Actor == "oscar" && strings.Contains(string(r.Details), "no role mapped"):
			refused++
		}
	}
	if okLogins != 2 || refused != 1 {
		t.Fatalf("login records: %d ok, %d refused", okLogins, refused)
	}
	// A local account cannot be taken over by an SSO user of the same name.
	e.s.CreateUser(sys, NewUser{Name: "nina2", Roles: []string{"auditor"}})
	if u, err := e.s.upsertOIDCUser(t.Context(), "other|sub", "nina2", "", "", []string{"admin"}); err == nil {
		t.Fatalf("took over a local account: %+v", u)
	}
}

func TestOIDCBadCallbacks(t *testing.T) {
	e := newSSO(t, func(c *OIDCConfig) { c.DefaultRoles = []string{"auditor"} })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	for _, q := range []string{"?code=x&state=forged", "?error=access_denied&error_description=no", ""} {
		resp, err := c.Get(e.vigil + "/api/v1/auth/oidc/callback" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 && resp.StatusCode != 401 {
			t.Errorf("callback %q: %d", q, resp.StatusCode)
		}
	}
	if n := len(e.records(t, "auth.login")); n != 3 {
		t.Errorf("%d failures recorded, want 3", n)
	}
	// With default roles, an unmapped user gets them.
	c2, code, _ := e.ssoLogin(t, "oscar", "oscar-password-1")
	resp, _ := c2.Get(e.vigil + "/api/v1/auth/me")
	var me Me
	decodeBody(t, resp, &me)
	if code != 200 || len(me.Roles) != 1 || me.Roles[0] != "auditor" {
		t.Fatalf("default roles: %d %+v", code, me)
	}
	// A return_to off the server is refused.
	for _, bad := range []string{"https://evil.example", "//evil.example", "/\\evil.example"} {
		if got := safeReturn(bad); got != "/" {
			t.Errorf("safeReturn(%q) = %q", bad, got)
		}
	}
	if _, err := NewOIDC(e.s, &API{}, OIDCConfig{Issuer: "x", ClientID: "y", RedirectURL: "https://v/elsewhere"}); err == nil {
		t.Error("a redirect URL off the callback path accepted")
	}
}

func decodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := jsonUnmarshal(b, v); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
	}
}

// TestOIDCRequiresProviderMFA: with RequireMFA, a user whose mapped role
// requires a second factor signs in only when the provider reports one
// (amr); the test provider reports a password alone, so the admin is
// refused (and it is recorded) while the analyst signs in.
func TestOIDCRequiresProviderMFA(t *testing.T) {
	e := newSSO(t, func(c *OIDCConfig) { c.RequireMFA = true })
	_, code, body := e.ssoLogin(t, "gina", "gina-password-1")
	if code != 403 || !strings.Contains(body, "second factor") {
		t.Fatalf("admin without a second factor at the provider: %d %s", code, body)
	}
	if _, code, _ := e.ssoLogin(t, "nina", "nina-password-1"); code != 200 {
		t.Fatalf("analyst: %d", code)
	}
	refused := 0
	for _, r := range e.records(t, "auth.login") {
		if r.Outcome == "failure" && r.Actor == "gina" && strings.Contains(string(r.Details), "no second factor (amr [pwd])") {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("refusal not on record")
	}
	for amr, want := range map[string]bool{`["pwd","mfa"]`: true, `["pwd","otp"]`: true, `["hwk","user"]`: true, `["pwd"]`: false, `"mfa"`: false, `[]`: false, `null`: false} {
		var v any
		jsonUnmarshal([]byte(amr), &v)
		if got := amrHasSecondFactor(v); got != want {
			t.Errorf("amr %s: %v, want %v", amr, got, want)
		}
	}
}
