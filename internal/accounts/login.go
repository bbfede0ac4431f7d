package accounts

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
)

// Credentials are what a browser sends to sign in.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// TOTPCode is the 6-digit code of an enrolled authenticator app;
	// RecoveryCode one of the recovery codes instead.
	TOTPCode     string `json:"totp_code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// LoginError is a refused sign-in: the HTTP status, what the caller is
// told (never whether the user name exists), and for 429 how long to
// wait.
type LoginError struct {
	Status      int
	Reason      string
	RetryAfter  time.Duration
	MFARequired bool
}

func (e *LoginError) Error() string { return e.Reason }

// Login is a successful sign-in.
type Login struct {
	User        *User
	Cookie      string
	Session     *access.Session
	Method      string
	Restriction access.Restriction
}

// genericFailure is the one answer for a wrong name, a wrong password, a
// disabled account or an account that signs in elsewhere.
const genericFailure = "invalid user name or password"

// Login checks credentials from clientAddr and starts a session. Every
// failure is recorded in the audit trail with its real reason and counted
// for throttling; the caller is told only what does not reveal whether
// the user exists.
func (s *Store) Login(ctx context.Context, c Credentials, clientAddr, userAgent string) (*Login, error) {
	now := s.now()
	name := truncate(c.Username, 64) // what is counted and recorded
	fail := func(status int, told, reason string, count bool) error {
		if count {
			s.login.fail(name, clientAddr, now)
		}
		s.record(ctx, audit.Entry{Action: "auth.login", Target: name, Outcome: audit.Failure, Actor: name,
			Details: map[string]any{"reason": reason, "method": "password"}})
		return &LoginError{Status: status, Reason: told}
	}
	if wait, locked := s.login.wait(name, clientAddr, now); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		reason := fmt.Sprintf("too many failed sign-ins: try again in %d s", secs)
		if locked {
			reason = fmt.Sprintf("too many failed sign-ins: sign-in locked for %d s (an administrator can unlock it)", secs)
		}
		s.record(ctx, audit.Entry{Action: "auth.login", Target: name, Outcome: audit.Denied, Actor: name,
			Details: map[string]any{"reason": "throttled", "wait_seconds": secs, "locked": locked}})
		return nil, &LoginError{Status: http.StatusTooManyRequests, Reason: reason, RetryAfter: wait}
	}
	switch {
	case name == "" || c.Password == "":
		return nil, fail(http.StatusBadRequest, "username and password are required", "missing user name or password", false)
	case len(c.Username) > 64 || !utf8.ValidString(c.Username):
		return nil, fail(http.StatusBadRequest, "user name longer than 64 bytes or not UTF-8", "malformed user name", true)
	case len(c.Password) > MaxPasswordBytes:
		return nil, fail(http.StatusBadRequest, fmt.Sprintf("password longer than %d bytes", MaxPasswordBytes), "over-long password", true)
	}
	u, err := s.User(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if u == nil || u.Source != "local" || u.passwordHash == "" {
		VerifyPassword(dummyHash(), c.Password) // the same time as a real check
		reason := "unknown user"
		if u != nil {
			reason = "account signs in through the OpenID provider"
		}
		return nil, fail(http.StatusUnauthorized, genericFailure, reason, true)
	}
	name = u.Name
	if !VerifyPassword(u.passwordHash, c.Password) {
		return nil, fail(http.StatusUnauthorized, genericFailure, "wrong password", true)
	}
	if u.Disabled {
		return nil, fail(http.StatusUnauthorized, genericFailure, "account disabled", true)
	}
	method := "password"
	if u.TOTPEnabled {
		switch {
		case c.TOTPCode != "":
			if err := s.useTOTP(ctx, u, u.totpSecret, c.TOTPCode); err != nil {
				if !errors.Is(err, errTOTPWrong) && !errors.Is(err, errTOTPReplayed) {
					return nil, err
				}
				reason := "wrong authentication code"
				if errors.Is(err, errTOTPReplayed) {
					reason = "replayed authentication code"
				}
				return nil, fail(http.StatusUnauthorized, err.Error(), reason, true)
			}
			method = "password+totp"
		case c.RecoveryCode != "":
			if err := s.useRecoveryCode(ctx, u, c.RecoveryCode); err != nil {
				return nil, fail(http.StatusUnauthorized, err.Error(), "wrong recovery code", true)
			}
			method = "password+recovery_code"
		default:
			e := fail(http.StatusUnauthorized, "authentication code required: send totp_code (or a recovery_code)", "second factor missing", false)
			e.(*LoginError).MFARequired = true
			return nil, e
		}
	}
	s.login.succeed(u.Name)
	cookie, sess, err := s.newSession(ctx, u, method, clientAddr, userAgent)
	if err != nil {
		return nil, err
	}
	l := &Login{User: u, Cookie: cookie, Session: sess, Method: method, Restriction: s.restriction(u)}
	p := access.NewPrincipal(access.KindUser, u.ID, u.Name, u.Roles)
	p.Session = sess
	d := map[string]any{"method": method}
	if l.Restriction != "" {
		d["restriction"] = string(l.Restriction)
	}
	if method == "password+recovery_code" {
		left, _ := s.RecoveryCodesLeft(ctx, u.ID)
		d["recovery_codes_left"] = left
	}
	s.record(access.WithPrincipal(ctx, p), audit.Entry{Action: "auth.login", Target: u.Name, Details: d})
	return l, nil
}

// Logout ends the session of the principal.
func (s *Store) Logout(ctx context.Context, p *access.Principal) error {
	return s.LogoutFor(ctx, p, "")
}

// LogoutFor ends the session like Logout and records why: "idle" when the
// console signed the user out after its idle timeout (HIPAA automatic
// logoff), "" when the user chose to.
func (s *Store) LogoutFor(ctx context.Context, p *access.Principal, reason string) error {
	if p == nil || p.Session == nil {
		return errors.New("not signed in with a session")
	}
	if err := s.endSession(ctx, p.Session.ID); err != nil {
		return err
	}
	e := audit.Entry{Action: "auth.logout", Target: p.Name}
	if reason != "" {
		e.Details = map[string]any{"reason": reason}
	}
	s.record(ctx, e)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
