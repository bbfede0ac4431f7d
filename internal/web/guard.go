package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
)

// Authenticator turns credentials into principals (internal/accounts).
// Both methods return an *access.CredentialError for a credential that
// is refused.
type Authenticator interface {
	// Token returns the principal of an API token.
	Token(ctx context.Context, secret string) (*access.Principal, error)
	// Session returns the principal of a session cookie's value.
	Session(ctx context.Context, cookie string) (*access.Principal, error)
}

// Guard is the one middleware every route goes through: it finds the
// client address, authenticates the caller (Bearer token, or the session
// cookie), checks CSRF on cookie-authenticated state-changing requests,
// authorises by the route's declared permission, and records refusals and
// unrecorded changes in the audit trail.
type Guard struct {
	Auth  Authenticator
	Audit audit.Recorder
	Log   *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed; for other peers the TCP address is the client address.
	TrustedProxies []netip.Prefix
}

// Mount registers every route on mux through the guard. It refuses a
// route without a valid permission, and one that reads sender
// credentials (Basic, ApiKey, Splunk) but needs more than ingest.
func (g *Guard) Mount(mux *http.ServeMux, routes []access.Route) error {
	for _, rt := range routes {
		if err := CheckRoute(rt); err != nil {
			return err
		}
		mux.Handle(rt.Pattern, g.Wrap(rt))
	}
	return nil
}

// CheckRoute validates one route table entry.
func CheckRoute(rt access.Route) error {
	switch {
	case rt.Pattern == "" || rt.Handler == nil:
		return fmt.Errorf("route %q: pattern and handler are required", rt.Pattern)
	case rt.Perm != access.Public && rt.Perm != access.Authenticated && !rt.Perm.Valid():
		return fmt.Errorf("route %q: permission %q is not one of access.All", rt.Pattern, rt.Perm)
	case rt.Credentials != nil && rt.Perm != access.Ingest:
		return fmt.Errorf("route %q: only ingest routes may read sender credentials", rt.Pattern)
	}
	return nil
}

// stateChanging methods need the CSRF token when a cookie authenticates.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// Wrap returns the guarded handler of one route.
func (g *Guard) Wrap(rt access.Route) http.Handler {
	refuse := rt.Refuse
	if refuse == nil {
		refuse = func(w http.ResponseWriter, r *http.Request, status int, reason string) {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			}
			WriteError(w, status, reason)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noteRoute(r.Context(), rt.Pattern)
		ctx := access.WithClientAddr(r.Context(), g.clientAddr(r))
		if rt.Perm == access.Public {
			ctx, tr := audit.Track(ctx)
			g.serve(w, r.WithContext(ctx), rt, tr)
			return
		}
		p, viaCookie, err := g.authenticate(ctx, r, rt)
		if err != nil {
			var ce *access.CredentialError
			if !errors.As(err, &ce) {
				g.Log.Error("authentication failed", "route", rt.Pattern, "err", err)
				WriteError(w, http.StatusInternalServerError, "authentication failed: "+err.Error())
				return
			}
			g.record(ctx, audit.Entry{Action: "auth.denied", Target: rt.Pattern, Outcome: audit.Denied, Actor: ce.Subject,
				Details: map[string]any{"method": r.Method, "path": r.URL.Path, "reason": ce.Reason}})
			refuse(w, r, http.StatusUnauthorized, ce.Reason)
			return
		}
		if p == nil {
			refuse(w, r, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <API token>, or sign in (POST /api/v1/auth/login)")
			return
		}
		ctx = access.WithPrincipal(ctx, p)
		deny := func(reason string) {
			g.record(ctx, audit.Entry{Action: "access.denied", Target: rt.Pattern, Outcome: audit.Denied,
				Details: map[string]any{"method": r.Method, "path": r.URL.Path, "permission": string(rt.Perm), "reason": reason}})
			refuse(w, r, http.StatusForbidden, reason)
		}
		if viaCookie && stateChanging(r.Method) {
			got := r.Header.Get(access.CSRFHeader)
			if p.Session == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.Session.CSRF)) != 1 {
				deny("missing or wrong " + access.CSRFHeader + " header: send the csrf_token of the session (from login or GET /api/v1/auth/me)")
				return
			}
		}
		switch {
		case rt.Perm == access.Authenticated:
		case p.Restriction != "":
			deny(fmt.Sprintf("%s: %s before anything else", p.Restriction, restrictionHint(p.Restriction)))
			return
		case !p.Can(rt.Perm):
			deny(fmt.Sprintf("permission %s required; %s has roles %s", rt.Perm, p, strings.Join(p.Roles, ", ")))
			return
		}
		ctx, tr := audit.Track(ctx)
		g.serve(w, r.WithContext(ctx), rt, tr)
	})
}

func restrictionHint(r access.Restriction) string {
	switch r {
	case access.MustChangePassword:
		return "change the one-time password (POST /api/v1/auth/password)"
	case access.MustEnrollMFA:
		return "enrol a second factor (POST /api/v1/auth/totp/enroll)"
	}
	return "complete sign-in"
}

// serve runs the handler and records a state-changing request the handler
// did not record itself, so no change goes unrecorded.
func (g *Guard) serve(w http.ResponseWriter, r *http.Request, rt access.Route, tr *audit.Tracker) {
	if !stateChanging(r.Method) || rt.Perm == access.Ingest {
		rt.Handler.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	rt.Handler.ServeHTTP(sw, r)
	if tr.Recorded() {
		return
	}
	outcome := audit.Success
	switch {
	case sw.status == http.StatusUnauthorized || sw.status == http.StatusForbidden:
		outcome = audit.Denied
	case sw.status >= 400:
		outcome = audit.Failure
	}
	g.record(r.Context(), audit.Entry{Action: "api.request", Target: rt.Pattern, Outcome: outcome,
		Details: map[string]any{"method": r.Method, "path": r.URL.Path, "status": sw.status}})
}

func (g *Guard) record(ctx context.Context, e audit.Entry) {
	if g.Audit == nil {
		return
	}
	if err := g.Audit.Record(ctx, e); err != nil {
		g.Log.Error("audit record failed", "action", e.Action, "err", err)
	}
}

// authenticate finds the caller: a token in "Authorization: Bearer" (or
// in the schemes of the route's Credentials, for ingest routes), or the
// session cookie.
// (nil, false, nil) means no credentials at all.
func (g *Guard) authenticate(ctx context.Context, r *http.Request, rt access.Route) (*access.Principal, bool, error) {
	var secret string
	if rt.Credentials != nil {
		secret = rt.Credentials(r) // the route's clients' own schemes
	} else {
		secret = BearerToken(r)
	}
	if secret != "" {
		p, err := g.Auth.Token(ctx, secret)
		return p, false, err
	}
	if r.Header.Get("Authorization") != "" {
		return nil, false, &access.CredentialError{Reason: "unsupported Authorization scheme: send Authorization: Bearer <API token>"}
	}
	for _, name := range []string{access.SessionCookieTLS, access.SessionCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			p, err := g.Auth.Session(ctx, c.Value)
			return p, true, err
		}
	}
	return nil, false, nil
}

// clientAddr is the peer's IP, or, behind a trusted proxy, the last
// address in X-Forwarded-For that is not a trusted proxy.
func (g *Guard) clientAddr(r *http.Request) string {
	return ClientAddr(r, g.TrustedProxies)
}

// ClientAddr is the client IP of a request, believing X-Forwarded-For
// only from trusted proxies.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(ip) {
		return ip.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !isTrusted(a) {
			return a.String()
		}
	}
	return ip.String()
}
