package access

import (
	"context"
	"slices"
	"time"
)

// Kind says what a principal is.
type Kind string

// Kinds of principal.
const (
	KindUser  Kind = "user"
	KindToken Kind = "token"
)

// Restriction limits a signed-in user to the Authenticated routes until
// they have done something first.
type Restriction string

// Restrictions of a session.
const (
	// MustChangePassword: the password is a one-time password.
	MustChangePassword Restriction = "password_change_required"
	// MustEnrollMFA: a role of the user requires a second factor and none
	// is enrolled yet.
	MustEnrollMFA Restriction = "mfa_enrollment_required"
)

// Principal is who is making a request: a user (through a browser
// session) or an API token.
type Principal struct {
	Kind Kind
	// ID is the user's or token's id in the accounts store.
	ID int64
	// Name is the user name or the token name.
	Name  string
	Roles []string
	// Method is how the caller authenticated: "password",
	// "password+totp", "password+recovery_code", "oidc", "token".
	Method string
	// Session is set for browser sessions.
	Session *Session
	// Restriction, when set, confines the caller to the Authenticated
	// routes.
	Restriction Restriction

	perms []Permission
}

// Session is the browser session behind a principal.
type Session struct {
	// ID identifies the session in the audit trail and the session list
	// (not the cookie value, which is never stored).
	ID string
	// CSRF is the token state-changing requests made with the session
	// cookie must carry in the X-CSRF-Token header.
	CSRF      string
	Created   time.Time
	ExpiresAt time.Time // absolute lifetime
	IdleUntil time.Time // idle timeout, moved on by each request
}

// NewPrincipal returns a principal with the permissions of its roles.
func NewPrincipal(kind Kind, id int64, name string, roles []string) *Principal {
	return &Principal{Kind: kind, ID: id, Name: name, Roles: slices.Clone(roles), perms: PermissionsOf(roles)}
}

// Can reports whether the principal holds permission p. A restricted
// principal can do nothing beyond the Authenticated routes; a nil
// principal (anonymous) nothing at all.
func (p *Principal) Can(perm Permission) bool {
	if p == nil || p.Restriction != "" {
		return false
	}
	return slices.Contains(p.perms, perm)
}

// Permissions lists what the principal's roles grant (also while it is
// restricted, for display).
func (p *Principal) Permissions() []Permission {
	if p == nil {
		return nil
	}
	return slices.Clone(p.perms)
}

// String is "user:alice" or "token:filebeat-dmz".
func (p *Principal) String() string {
	if p == nil {
		return "anonymous"
	}
	return string(p.Kind) + ":" + p.Name
}

type ctxKey int

const (
	principalKey ctxKey = iota
	clientAddrKey
)

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns the caller of a request, or nil when anonymous.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey).(*Principal)
	return p
}

// WithClientAddr returns ctx carrying the client's address (an IP, with
// no port).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey, addr)
}

// ClientAddrFrom returns the address of the client of a request ("" when
// not an HTTP request).
func ClientAddrFrom(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey).(string)
	return a
}
