package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
)

// OIDCConfig configures single sign-on through an OpenID Connect
// provider (Entra ID, Okta, Keycloak, …): authorization code flow with
// PKCE; roles from a claim of the ID token mapped in configuration.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is Vigil's callback as registered at the provider:
	// https://vigil.example.org/api/v1/auth/oidc/callback.
	RedirectURL string
	// Scopes requested besides openid (default profile, email).
	Scopes []string
	// RolesClaim names the claim holding groups or roles (default
	// "groups"); a dotted path reaches into objects
	// ("realm_access.roles" for Keycloak realm roles).
	RolesClaim string
	// RoleMapping maps a claim value (group name or id, app role) to
	// Vigil roles. Values not listed give nothing.
	RoleMapping map[string][]string
	// DefaultRoles are given when no claim value maps to a role (empty:
	// such users are refused).
	DefaultRoles []string
	// UsernameClaim names the claim used as the Vigil user name (default
	// preferred_username, then email, then sub).
	UsernameClaim string
	// DisplayName labels the sign-in button (default "Single sign-on").
	DisplayName string
	// RequireMFA refuses a user whose roles require a second factor
	// (Options.MFARoles) unless the ID token's amr claim (RFC 8176) says
	// the provider used one: Vigil does not ask SSO users for its own
	// TOTP, so the provider's second factor must be on record.
	RequireMFA bool
	// HTTPClient reaches the provider (default http.DefaultClient).
	HTTPClient *http.Client
}

// OIDC is the single sign-on flow.
type OIDC struct {
	cfg   OIDCConfig
	store *Store
	api   *API

	mu       sync.Mutex
	provider *oidc.Provider
	pending  map[string]*oidcPending // by state
}

type oidcPending struct {
	nonce, verifier, returnTo string
	created                   time.Time
}

// Bounds of the sign-ins in progress.
const (
	oidcPendingMax  = 10000
	oidcPendingTTL  = 10 * time.Minute
	oidcStateCookie = "vigil_oidc_state"
)

// NewOIDC checks the configuration. The provider is discovered at the
// first sign-in (and again after a failure), so Vigil starts while the
// provider is unreachable.
func NewOIDC(store *Store, api *API, cfg OIDCConfig) (*OIDC, error) {
	switch {
	case cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "":
		return nil, errors.New("OIDC needs an issuer, a client id and a redirect URL")
	case !strings.HasSuffix(cfg.RedirectURL, "/api/v1/auth/oidc/callback"):
		return nil, fmt.Errorf("OIDC redirect URL %q must end in /api/v1/auth/oidc/callback", cfg.RedirectURL)
	}
	for v, roles := range cfg.RoleMapping {
		if _, err := access.CheckRoles(roles); err != nil {
			return nil, fmt.Errorf("OIDC role mapping of %q: %w", v, err)
		}
	}
	if len(cfg.DefaultRoles) > 0 {
		if _, err := access.CheckRoles(cfg.DefaultRoles); err != nil {
			return nil, fmt.Errorf("OIDC default roles: %w", err)
		}
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "groups"
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = "Single sign-on"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", "email"}
	}
	return &OIDC{cfg: cfg, store: store, api: api, pending: map[string]*oidcPending{}}, nil
}

// DisplayName labels the sign-in button.
func (o *OIDC) DisplayName() string { return o.cfg.DisplayName }

// Routes are the two steps of the flow; both public (the provider
// authenticates).
func (o *OIDC) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/auth/oidc/login", access.Public, o.login),
		access.Handle("GET /api/v1/auth/oidc/callback", access.Public, o.callback),
	}
}

func (o *OIDC) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	// The provider keeps this context for fetching keys later.
	p, err := oidc.NewProvider(o.ctx(context.WithoutCancel(ctx)), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID provider %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...)}
}

// safeReturn keeps return_to a path on this server.
func safeReturn(s string) string {
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

func (o *OIDC) login(w http.ResponseWriter, r *http.Request) {
	p, err := o.discover(r.Context())
	if err != nil {
		o.store.opt.Log.Error("OIDC discovery failed", "issuer", o.cfg.Issuer, "err", err)
		o.page(w, http.StatusBadGateway, "The sign-in provider cannot be reached. Try again, or sign in with a local account.")
		return
	}
	st := &oidcPending{nonce: randomB64(24), verifier: oauth2.GenerateVerifier(), returnTo: safeReturn(r.URL.Query().Get("return_to")), created: o.store.now()}
	state := randomB64(24)
	o.mu.Lock()
	o.prune()
	if len(o.pending) >= oidcPendingMax {
		o.mu.Unlock()
		o.page(w, http.StatusServiceUnavailable, "Too many sign-ins in progress. Try again in a few minutes.")
		return
	}
	o.pending[state] = st
	o.mu.Unlock()
	// Lax, not Strict: the provider's redirect back is a cross-site
	// navigation that must carry it.
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: state, Path: "/api/v1/auth/oidc/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: o.api.secure(r), MaxAge: int(oidcPendingTTL / time.Second)})
	http.Redirect(w, r, o.oauth(p).AuthCodeURL(state, oidc.Nonce(st.nonce), oauth2.S256ChallengeOption(st.verifier)), http.StatusFound)
}

// prune drops sign-ins that were never completed. o.mu is held.
func (o *OIDC) prune() {
	now := o.store.now()
	for k, p := range o.pending {
		if now.Sub(p.created) > oidcPendingTTL {
			delete(o.pending, k)
		}
	}
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil sign-in</title>
{{if .Next}}<meta http-equiv="refresh" content="0; url={{.Next}}">{{end}}</head>
<body><p>{{.Msg}}</p>{{if .Next}}<p><a href="{{.Next}}">Continue</a></p>{{else}}<p><a href="/">Back to the sign-in page</a></p>{{end}}</body></html>
`))

func (o *OIDC) page(w http.ResponseWriter, status int, msg string) {
	o.pageNext(w, status, msg, "")
}

func (o *OIDC) pageNext(w http.ResponseWriter, status int, msg, next string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, map[string]string{"Msg": msg, "Next": next})
}

func (o *OIDC) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	failed := func(status int, told, reason, actor string) {
		o.store.record(ctx, audit.Entry{Action: "auth.login", Target: actor, Actor: actor, Outcome: audit.Failure,
			Details: map[string]any{"reason": reason, "method": "oidc", "issuer": o.cfg.Issuer}})
		o.page(w, status, told)
	}
	state := q.Get("state")
	c, err := r.Cookie(oidcStateCookie)
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Path: "/api/v1/auth/oidc/", MaxAge: -1, HttpOnly: true})
	o.mu.Lock()
	st := o.pending[state]
	delete(o.pending, state)
	o.mu.Unlock()
	switch {
	case q.Get("error") != "":
		failed(http.StatusUnauthorized, "The sign-in provider refused the sign-in.", "provider error: "+truncate(q.Get("error")+" "+q.Get("error_description"), 200), "")
		return
	case err != nil || state == "" || c.Value != state || st == nil || o.store.now().Sub(st.created) > oidcPendingTTL:
		failed(http.StatusBadRequest, "This sign-in link is not valid any more. Start again.", "unknown, expired or mismatched state", "")
		return
	}
	p, err := o.discover(ctx)
	if err != nil {
		failed(http.StatusBadGateway, "The sign-in provider cannot be reached.", err.Error(), "")
		return
	}
	tok, err := o.oauth(p).Exchange(o.ctx(ctx), q.Get("code"), oauth2.VerifierOption(st.verifier))
	if err != nil {
		failed(http.StatusUnauthorized, "The sign-in provider did not confirm the sign-in.", "code exchange: "+truncate(err.Error(), 300), "")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		failed(http.StatusUnauthorized, "The sign-in provider sent no identity.", "no id_token in the token response", "")
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(o.ctx(ctx), raw)
	if err != nil {
		failed(http.StatusUnauthorized, "The identity from the sign-in provider does not verify.", "id_token: "+truncate(err.Error(), 300), "")
		return
	}
	if idt.Nonce != st.nonce {
		failed(http.StatusUnauthorized, "The identity from the sign-in provider does not belong to this sign-in.", "nonce mismatch", "")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		failed(http.StatusUnauthorized, "The identity from the sign-in provider is malformed.", "claims: "+err.Error(), "")
		return
	}
	// Providers put some claims only at the userinfo endpoint (Okta's
	// groups, names when the ID token is kept small): merge what the ID
	// token lacks, for the same subject.
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(o.ctx(ctx), oauth2.StaticTokenSource(tok))
		var extra map[string]any
		switch {
		case err != nil:
			o.store.opt.Log.Warn("OIDC userinfo failed; using the ID token's claims", "issuer", o.cfg.Issuer, "err", err)
		case ui.Subject != idt.Subject:
			o.store.opt.Log.Warn("OIDC userinfo names another subject; ignored", "issuer", o.cfg.Issuer)
		case ui.Claims(&extra) == nil:
			for k, v := range extra {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	name := o.username(claims, idt.Subject)
	values := claimValues(claims, o.cfg.RolesClaim)
	roles := o.roles(values)
	if len(roles) == 0 {
		failed(http.StatusForbidden, "Your account has no role in Vigil. Ask an administrator to map one of your groups.",
			fmt.Sprintf("no role mapped from %s %v", o.cfg.RolesClaim, truncateList(values, 20)), name)
		return
	}
	if o.cfg.RequireMFA && o.store.mfaRequired(roles) && !amrHasSecondFactor(claims["amr"]) {
		failed(http.StatusForbidden, "Your role in Vigil requires a second factor, and the sign-in provider did not report one. "+
			"Ask an administrator to require multi-factor authentication for Vigil at the provider.",
			fmt.Sprintf("the provider reported no second factor (amr %v) for roles %v", claims["amr"], roles), name)
		return
	}
	u, err := o.store.upsertOIDCUser(ctx, o.cfg.Issuer+"|"+idt.Subject, name, str(claims["name"]), str(claims["email"]), roles)
	if err != nil {
		failed(http.StatusForbidden, "This account cannot sign in: "+err.Error(), err.Error(), name)
		return
	}
	if u.Disabled {
		failed(http.StatusForbidden, "This account is disabled in Vigil.", "account disabled", u.Name)
		return
	}
	cookie, sess, err := o.store.newSession(ctx, u, "oidc", access.ClientAddrFrom(ctx), r.UserAgent())
	if err != nil {
		o.store.opt.Log.Error("OIDC session", "err", err)
		o.page(w, http.StatusInternalServerError, "Signing in failed.")
		return
	}
	pr := access.NewPrincipal(access.KindUser, u.ID, u.Name, u.Roles)
	pr.Session = sess
	o.store.record(access.WithPrincipal(ctx, pr), audit.Entry{Action: "auth.login", Target: u.Name,
		Details: map[string]any{"method": "oidc", "issuer": o.cfg.Issuer, "claim_values": truncateList(values, 20)}})
	o.api.setSessionCookie(w, r, cookie, sess.ExpiresAt)
	// A page, not a redirect: the cookie is SameSite=Strict, and a
	// redirect that ends a cross-site navigation would not send it.
	o.pageNext(w, http.StatusOK, "Signed in.", st.returnTo)
}

func (o *OIDC) username(claims map[string]any, sub string) string {
	for _, k := range []string{o.cfg.UsernameClaim, "preferred_username", "email"} {
		if k == "" {
			continue
		}
		if v := str(claims[k]); v != "" && checkName(v) == nil {
			return v
		}
	}
	return "oidc-" + truncate(sub, 59)
}

func (o *OIDC) roles(values []string) []string {
	set := map[string]bool{}
	for _, v := range values {
		for _, r := range o.cfg.RoleMapping[v] {
			set[r] = true
		}
	}
	if len(set) == 0 {
		for _, r := range o.cfg.DefaultRoles {
			set[r] = true
		}
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func str(v any) string { s, _ := v.(string); return s }

func truncateList(v []string, n int) []string {
	if len(v) > n {
		return v[:n]
	}
	return v
}

// claimValues reads a claim (dotted path into objects) as a list of
// strings: a JSON array of strings, or one string split on commas and
// spaces.
func claimValues(claims map[string]any, path string) []string {
	var v any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	var out []string
	switch x := v.(type) {
	case string:
		out = strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ' ' })
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// upsertOIDCUser finds the user of an OpenID subject, creating it at the
// first sign-in, and refreshes its roles, name and e-mail from the
// claims. A local account of the same name is never taken over.
func (s *Store) upsertOIDCUser(ctx context.Context, subject, name, display, email string, roles []string) (*User, error) {
	now := unix(s.now())
	u, err := s.scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE source = 'oidc' AND subject = ?`, subject))
	if errors.Is(err, sql.ErrNoRows) {
		_, err = s.db.ExecContext(ctx, `INSERT INTO users (name, display_name, email, roles, source, subject, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'oidc', ?, ?, ?)`, name, display, email, joinRoles(roles), subject, now, now)
		if isUnique(err) {
			return nil, fmt.Errorf("the user name %q is taken by another account", name)
		}
		if err != nil {
			return nil, fmt.Errorf("accounts: create OIDC user: %w", err)
		}
		s.record(ctx, audit.Entry{Action: "user.create", Target: name, Details: map[string]any{"roles": roles, "source": "oidc"}})
		return s.User(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: read OIDC user: %w", err)
	}
	if !slices.Equal(u.Roles, roles) {
		s.record(ctx, audit.Entry{Action: "user.roles", Target: u.Name, Details: map[string]any{"from": u.Roles, "to": roles, "source": "oidc"}})
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET roles = ?, display_name = ?, email = ?, updated_at = ? WHERE id = ?`,
		joinRoles(roles), display, email, now, u.ID); err != nil {
		return nil, fmt.Errorf("accounts: update OIDC user: %w", err)
	}
	u.Roles, u.DisplayName, u.Email = roles, display, email
	return u, nil
}

// secondFactors are the RFC 8176 authentication method references that
// are a factor besides a password: "mfa" itself, one-time codes, keys
// held in hardware, smart cards, confirmation by SMS or telephone, and
// biometrics.
var secondFactors = []string{"mfa", "otp", "hwk", "sc", "sms", "tel", "fpt", "face", "iris", "retina", "vbm"}

// amrHasSecondFactor reports whether an amr claim names a second factor.
func amrHasSecondFactor(amr any) bool {
	list, _ := amr.([]any)
	for _, v := range list {
		if s, ok := v.(string); ok && slices.Contains(secondFactors, strings.ToLower(s)) {
			return true
		}
	}
	return false
}
