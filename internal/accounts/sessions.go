package accounts

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
)

// sessionTouchEvery bounds how often a session's idle deadline is written.
const sessionTouchEvery = 30 * time.Second

func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// publicID is the session id shown in the audit trail and session lists:
// the start of the stored hash, from which the cookie cannot be found.
func publicID(hash string) string { return hash[:16] }

// newSession starts a session for u and returns the cookie value (never
// stored; only its hash is).
func (s *Store) newSession(ctx context.Context, u *User, method, clientAddr, userAgent string) (string, *access.Session, error) {
	cookie := randomB64(32)
	id := hashToken(cookie)
	now := s.now()
	sess := &access.Session{ID: publicID(id), CSRF: randomB64(32), Created: now,
		ExpiresAt: now.Add(s.opt.SessionLifetime), IdleUntil: now.Add(s.opt.IdleTimeout)}
	if sess.IdleUntil.After(sess.ExpiresAt) {
		sess.IdleUntil = sess.ExpiresAt
	}
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (id, user_id, csrf, method, created_at, expires_at, idle_until, client_addr, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, u.ID, sess.CSRF, method, unix(now), unix(sess.ExpiresAt), unix(sess.IdleUntil), clientAddr, userAgent)
	if err != nil {
		return "", nil, fmt.Errorf("accounts: create session: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, unix(now), u.ID); err != nil {
		return "", nil, fmt.Errorf("accounts: create session: %w", err)
	}
	return cookie, sess, nil
}

// validCookie reports whether v has the shape of a session cookie (43
// base64url characters), so a tampered one is told apart from an expired
// one without a database read.
func validCookie(v string) bool {
	if len(v) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// Session authenticates a session cookie (web.Authenticator). The
// session's idle deadline moves on with each use.
func (s *Store) Session(ctx context.Context, cookie string) (*access.Principal, error) {
	if !validCookie(cookie) {
		return nil, &access.CredentialError{Reason: "invalid session cookie: sign in again"}
	}
	id := hashToken(cookie)
	var userID, created, expires, idle int64
	var csrf, method string
	err := s.db.QueryRowContext(ctx, `SELECT user_id, csrf, method, created_at, expires_at, idle_until FROM sessions WHERE id = ?`, id).
		Scan(&userID, &csrf, &method, &created, &expires, &idle)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &access.CredentialError{Reason: "session ended or unknown: sign in again"}
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: read session: %w", err)
	}
	now := s.now()
	sess := &access.Session{ID: publicID(id), CSRF: csrf, Created: fromUnix(created), ExpiresAt: fromUnix(expires), IdleUntil: fromUnix(idle)}
	u, err := s.userByID(ctx, userID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("accounts: read session user: %w", err)
	}
	var reason string
	switch {
	case u == nil:
		reason = "the session's user no longer exists"
	case !now.Before(sess.ExpiresAt):
		reason = fmt.Sprintf("session expired (sessions last at most %s): sign in again", s.opt.SessionLifetime)
	case !now.Before(sess.IdleUntil):
		reason = fmt.Sprintf("session ended after %s without activity: sign in again", s.opt.IdleTimeout)
	case u.Disabled:
		reason = "account disabled"
	}
	if reason != "" {
		if _, err := s.db.ExecContext(context.WithoutCancel(ctx), `DELETE FROM sessions WHERE id = ?`, id); err != nil {
			s.opt.Log.Warn("ending a session failed", "err", err)
		}
		subject := ""
		if u != nil {
			subject = u.Name
		}
		return nil, &access.CredentialError{Reason: reason, Subject: subject}
	}
	next := now.Add(s.opt.IdleTimeout)
	if next.After(sess.ExpiresAt) {
		next = sess.ExpiresAt
	}
	// The deadline is written at most every 30 s (a quarter of a shorter
	// timeout), so a session in use never runs out between two writes.
	touch := min(sessionTouchEvery, s.opt.IdleTimeout/4)
	if next.Sub(sess.IdleUntil) >= touch {
		sess.IdleUntil = next
		if _, err := s.db.ExecContext(context.WithoutCancel(ctx), `UPDATE sessions SET idle_until = ? WHERE id = ?`, unix(next), id); err != nil {
			s.opt.Log.Warn("moving a session's idle deadline failed", "err", err)
		}
	}
	p := access.NewPrincipal(access.KindUser, u.ID, u.Name, u.Roles)
	p.Method, p.Session = method, sess
	if method != "oidc" {
		p.Restriction = s.restriction(u)
	}
	return p, nil
}

// endSession ends one session by its public id.
func (s *Store) endSession(ctx context.Context, publicID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE substr(id, 1, 16) = ?`, publicID)
	return wrapf(err, "accounts: end session")
}

// endSessions ends every session of a user but keep (a public id, or "").
func (s *Store) endSessions(ctx context.Context, userID int64, keep string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND substr(id, 1, 16) != ?`, userID, keep)
	return wrapf(err, "accounts: end sessions")
}

// SweepSessions deletes ended sessions.
func (s *Store) SweepSessions(ctx context.Context) error {
	now := unix(s.now())
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR idle_until <= ?`, now, now)
	return wrapf(err, "accounts: sweep sessions")
}

// RunSweeper deletes ended sessions every few minutes until ctx ends.
func (s *Store) RunSweeper(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.SweepSessions(ctx); err != nil && ctx.Err() == nil {
				s.opt.Log.Warn("sweeping sessions failed", "err", err)
			}
		}
	}
}
