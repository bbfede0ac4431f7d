package accounts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/config"
)

// API serves sign-in, the signed-in user's own account, and the
// administration of users and tokens. docs/access.md documents every
// request and answer.
type API struct {
	Store *Store
	// OIDC, when set, adds single sign-on through an OpenID provider.
	OIDC *OIDC
	// Secure reports whether the request came over HTTPS (cookies get
	// Secure and the __Host- prefix). Default: r.TLS != nil.
	Secure func(r *http.Request) bool
}

// Routes returns the account routes with their permissions.
func (a *API) Routes() []access.Route {
	rs := []access.Route{
		access.Handle("POST /api/v1/auth/login", access.Public, a.login),
		access.Handle("GET /api/v1/auth/methods", access.Public, a.methods),
		access.Handle("POST /api/v1/auth/logout", access.Authenticated, a.logout),
		access.Handle("GET /api/v1/auth/me", access.Authenticated, a.me),
		access.Handle("POST /api/v1/auth/password", access.Authenticated, a.changePassword),
		access.Handle("POST /api/v1/auth/totp/enroll", access.Authenticated, a.totpEnroll),
		access.Handle("POST /api/v1/auth/totp/confirm", access.Authenticated, a.totpConfirm),
		access.Handle("POST /api/v1/auth/totp/disable", access.Authenticated, a.totpDisable),

		access.Handle("GET /api/v1/users", access.UsersAdmin, a.listUsers),
		access.Handle("POST /api/v1/users", access.UsersAdmin, a.createUser),
		access.Handle("GET /api/v1/users/{name}", access.UsersAdmin, a.getUser),
		access.Handle("DELETE /api/v1/users/{name}", access.UsersAdmin, a.deleteUser),
		access.Handle("PUT /api/v1/users/{name}/roles", access.UsersAdmin, a.setRoles),
		access.Handle("POST /api/v1/users/{name}/disable", access.UsersAdmin, a.userAction),
		access.Handle("POST /api/v1/users/{name}/enable", access.UsersAdmin, a.userAction),
		access.Handle("POST /api/v1/users/{name}/reset-password", access.UsersAdmin, a.userAction),
		access.Handle("POST /api/v1/users/{name}/reset-mfa", access.UsersAdmin, a.userAction),
		access.Handle("POST /api/v1/users/{name}/unlock", access.UsersAdmin, a.userAction),

		access.Handle("GET /api/v1/tokens", access.UsersAdmin, a.listTokens),
		access.Handle("POST /api/v1/tokens", access.UsersAdmin, a.createToken),
		access.Handle("DELETE /api/v1/tokens/{name}", access.UsersAdmin, a.revokeToken),
	}
	if a.OIDC != nil {
		rs = append(rs, a.OIDC.Routes()...)
	}
	return rs
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// maxBody bounds the JSON bodies of this API.
const maxBody = 8 << 10

// decode reads a JSON body into v: application/json only (a cross-site
// form cannot send it without a CORS preflight), at most 8 KiB, no
// unknown fields, one value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return &bodyError{http.StatusUnsupportedMediaType, "send the body as JSON with Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody)}
		}
		if errors.Is(err, io.EOF) {
			return &bodyError{http.StatusBadRequest, "empty body: want a JSON object"}
		}
		return &bodyError{http.StatusBadRequest, "malformed JSON body: " + err.Error()}
	}
	if dec.More() {
		return &bodyError{http.StatusBadRequest, "malformed JSON body: more than one value"}
	}
	return nil
}

type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// failErr answers with the status an error calls for.
func failErr(w http.ResponseWriter, err error) {
	var be *bodyError
	var pe *PolicyError
	switch {
	case errors.As(err, &be):
		fail(w, be.status, be.msg)
	case errors.As(err, &pe):
		fail(w, http.StatusBadRequest, pe.Error())
	case errors.Is(err, ErrNotFound):
		fail(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrExists):
		fail(w, http.StatusConflict, err.Error())
	case errors.Is(err, errWrongPassword), errors.Is(err, errTOTPWrong), errors.Is(err, errTOTPReplayed):
		fail(w, http.StatusForbidden, err.Error())
	case strings.HasPrefix(err.Error(), "accounts:"):
		fail(w, http.StatusInternalServerError, err.Error())
	default:
		fail(w, http.StatusBadRequest, err.Error())
	}
}

func (a *API) secure(r *http.Request) bool {
	if a.Secure != nil {
		return a.Secure(r)
	}
	return r.TLS != nil
}

// setSessionCookie sets (or, with an empty value, clears) the session
// cookie: HttpOnly, SameSite=Strict, and over HTTPS Secure with the
// __Host- prefix.
func (a *API) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	c := &http.Cookie{Name: access.SessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if a.secure(r) {
		c.Name, c.Secure = access.SessionCookieTLS, true
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// SessionInfo is the session part of the login and me answers.
type SessionInfo struct {
	ID                 string    `json:"id"`
	CSRFToken          string    `json:"csrf_token"`
	ExpiresAt          time.Time `json:"expires_at"`
	IdleUntil          time.Time `json:"idle_until"`
	IdleTimeoutSeconds int       `json:"idle_timeout_seconds"`
}

func (a *API) sessionInfo(s *access.Session) *SessionInfo {
	if s == nil {
		return nil
	}
	return &SessionInfo{ID: s.ID, CSRFToken: s.CSRF, ExpiresAt: s.ExpiresAt, IdleUntil: s.IdleUntil,
		IdleTimeoutSeconds: int(a.Store.opt.IdleTimeout / time.Second)}
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var c Credentials
	addr := access.ClientAddrFrom(r.Context())
	if err := decode(w, r, &c); err != nil {
		a.Store.record(r.Context(), audit.Entry{Action: "auth.login", Outcome: audit.Failure,
			Details: map[string]any{"reason": "malformed request: " + err.Error(), "method": "password"}})
		failErr(w, err)
		return
	}
	l, err := a.Store.Login(r.Context(), c, addr, r.UserAgent())
	var le *LoginError
	if errors.As(err, &le) {
		if le.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(le.RetryAfter.Seconds()+0.999)))
		}
		body := map[string]any{"error": le.Reason}
		if le.MFARequired {
			body["mfa_required"] = true
		}
		writeJSON(w, le.Status, body)
		return
	}
	if err != nil {
		failErr(w, err)
		return
	}
	a.setSessionCookie(w, r, l.Cookie, l.Session.ExpiresAt)
	writeJSON(w, http.StatusOK, map[string]any{"user": l.User, "method": l.Method, "restriction": l.Restriction,
		"permissions": access.PermissionsOf(l.User.Roles), "session": a.sessionInfo(l.Session)})
}

func (a *API) methods(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"password": true, "oidc": map[string]any{"enabled": false}}
	if a.OIDC != nil {
		out["oidc"] = map[string]any{"enabled": true, "name": a.OIDC.DisplayName(), "login_url": "/api/v1/auth/oidc/login"}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	p := access.PrincipalFrom(r.Context())
	if p.Session == nil {
		fail(w, http.StatusBadRequest, "an API token has no session to end: revoke the token instead")
		return
	}
	// An optional body {"reason": "idle"} says the console ended an idle
	// session rather than the user.
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			failErr(w, err)
			return
		}
		if body.Reason != "" && body.Reason != "idle" {
			fail(w, http.StatusBadRequest, `reason: want "idle" or nothing`)
			return
		}
	}
	if err := a.Store.LogoutFor(r.Context(), p, body.Reason); err != nil {
		failErr(w, err)
		return
	}
	a.setSessionCookie(w, r, "", time.Time{})
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// Me is the answer of GET /api/v1/auth/me.
type Me struct {
	Kind        string              `json:"kind"` // user or token
	Name        string              `json:"name"`
	Roles       []string            `json:"roles"`
	Permissions []access.Permission `json:"permissions"`
	Method      string              `json:"method"`
	Restriction access.Restriction  `json:"restriction"`
	Session     *SessionInfo        `json:"session,omitempty"`
	User        *User               `json:"user,omitempty"`
	// RecoveryCodesLeft is set for users with a second factor.
	RecoveryCodesLeft *int `json:"recovery_codes_left,omitempty"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := access.PrincipalFrom(r.Context())
	m := Me{Kind: string(p.Kind), Name: p.Name, Roles: p.Roles, Permissions: p.Permissions(), Method: p.Method,
		Restriction: p.Restriction, Session: a.sessionInfo(p.Session)}
	if m.Permissions == nil {
		m.Permissions = []access.Permission{}
	}
	if p.Kind == access.KindUser {
		u, err := a.Store.userByID(r.Context(), p.ID)
		if err != nil {
			failErr(w, err)
			return
		}
		m.User = u
		if u.TOTPEnabled {
			n, err := a.Store.RecoveryCodesLeft(r.Context(), u.ID)
			if err == nil {
				m.RecoveryCodesLeft = &n
			}
		}
	}
	writeJSON(w, http.StatusOK, m)
}

// userOnly answers 400 for token principals and returns the user id.
func userOnly(w http.ResponseWriter, r *http.Request) (int64, bool) {
	p := access.PrincipalFrom(r.Context())
	if p.Kind != access.KindUser {
		fail(w, http.StatusBadRequest, "this is for signed-in users, not API tokens")
		return 0, false
	}
	return p.ID, true
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	id, ok := userOnly(w, r)
	if !ok {
		return
	}
	var body struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	if err := a.Store.ChangePassword(r.Context(), id, body.Current, body.New); err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (a *API) totpEnroll(w http.ResponseWriter, r *http.Request) {
	id, ok := userOnly(w, r)
	if !ok {
		return
	}
	e, err := a.Store.BeginTOTP(r.Context(), id)
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (a *API) totpConfirm(w http.ResponseWriter, r *http.Request) {
	id, ok := userOnly(w, r)
	if !ok {
		return
	}
	var body struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	codes, err := a.Store.ConfirmTOTP(r.Context(), id, body.Code)
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func (a *API) totpDisable(w http.ResponseWriter, r *http.Request) {
	id, ok := userOnly(w, r)
	if !ok {
		return
	}
	var body struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	if err := a.Store.DisableTOTP(r.Context(), id, body.Password); err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := a.Store.Users(r.Context())
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name        string   `json:"name"`
		Roles       []string `json:"roles"`
		DisplayName string   `json:"display_name"`
		Email       string   `json:"email"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	u, pw, err := a.Store.CreateUser(r.Context(), NewUser{Name: body.Name, Roles: body.Roles, DisplayName: body.DisplayName, Email: body.Email})
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u, "one_time_password": pw})
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.Store.User(r.Context(), r.PathValue("name"))
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.DeleteUser(r.Context(), r.PathValue("name")); err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (a *API) setRoles(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Roles []string `json:"roles"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	if err := a.Store.SetRoles(r.Context(), r.PathValue("name"), body.Roles); err != nil {
		failErr(w, err)
		return
	}
	u, err := a.Store.User(r.Context(), r.PathValue("name"))
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// userAction serves POST /api/v1/users/{name}/{disable,enable,reset-password,reset-mfa,unlock}.
func (a *API) userAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var err error
	out := map[string]any{"ok": true}
	switch action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]; action {
	case "disable":
		err = a.Store.SetDisabled(r.Context(), name, true)
	case "enable":
		err = a.Store.SetDisabled(r.Context(), name, false)
	case "reset-password":
		var pw string
		pw, err = a.Store.ResetPassword(r.Context(), name)
		out["one_time_password"] = pw
	case "reset-mfa":
		err = a.Store.ResetMFA(r.Context(), name)
	case "unlock":
		err = a.Store.Unlock(r.Context(), name)
	default:
		err = fmt.Errorf("BUG: unknown user action %q", action)
	}
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	ts := a.Store.Tokens(r.URL.Query().Get("revoked") == "true")
	if ts == nil {
		ts = []Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name      string    `json:"name"`
		Roles     []string  `json:"roles"`
		Expires   string    `json:"expires"` // a duration: 90d, 12h
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	req := TokenRequest{Name: body.Name, Roles: body.Roles, ExpiresAt: body.ExpiresAt}
	if body.Expires != "" {
		d, err := config.ParseDuration(body.Expires)
		if err != nil || d <= 0 {
			fail(w, http.StatusBadRequest, fmt.Sprintf("expires %q: want a duration such as 90d or 12h", body.Expires))
			return
		}
		req.ExpiresAt = a.Store.now().Add(d)
	}
	t, secret, err := a.Store.CreateToken(r.Context(), req)
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret})
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.RevokeToken(r.Context(), r.PathValue("name")); err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
