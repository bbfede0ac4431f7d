// Package accounts keeps Vigil's identities: local users (argon2id
// password hashes, one-time passwords, TOTP second factor with recovery
// codes), users signed in through an OpenID Connect provider, API tokens
// (hashed at rest, with a role, an expiry and a last-used time), and
// browser sessions (idle timeout, absolute lifetime, CSRF token). It
// throttles sign-in attempts per user name and per client address, and
// records every sign-in, failure and change in the audit trail.
//
// Store implements the HTTP middleware's Authenticator (internal/web);
// API serves the sign-in, user and token endpoints.
package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/db"
)

var migrations = []string{`
CREATE TABLE users (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	name                TEXT NOT NULL UNIQUE COLLATE NOCASE,
	display_name        TEXT NOT NULL DEFAULT '',
	email               TEXT NOT NULL DEFAULT '',
	roles               TEXT NOT NULL,
	source              TEXT NOT NULL DEFAULT 'local',
	subject             TEXT NOT NULL DEFAULT '',
	password_hash       TEXT NOT NULL DEFAULT '',
	must_change         INTEGER NOT NULL DEFAULT 0,
	disabled            INTEGER NOT NULL DEFAULT 0,
	totp_secret         TEXT NOT NULL DEFAULT '',
	totp_pending        TEXT NOT NULL DEFAULT '',
	totp_enabled        INTEGER NOT NULL DEFAULT 0,
	totp_last_step      INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	password_changed_at INTEGER NOT NULL DEFAULT 0,
	last_login_at       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_subject ON users (subject);
CREATE TABLE recovery_codes (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash    TEXT NOT NULL,
	used_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, hash)
);
CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf        TEXT NOT NULL,
	method      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	idle_until  INTEGER NOT NULL,
	client_addr TEXT NOT NULL,
	user_agent  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL,
	hash         TEXT NOT NULL UNIQUE,
	prefix       TEXT NOT NULL,
	roles        TEXT NOT NULL,
	source       TEXT NOT NULL DEFAULT 'api',
	created_at   INTEGER NOT NULL,
	created_by   TEXT NOT NULL,
	expires_at   INTEGER NOT NULL DEFAULT 0,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	revoked_at   INTEGER NOT NULL DEFAULT 0,
	revoked_by   TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked_at = 0;`}

// Options configure the store.
type Options struct {
	// DataDir holds secret.key, the key that seals TOTP secrets.
	DataDir string
	// IdleTimeout ends a session unused for this long (default 15 min);
	// SessionLifetime ends any session this long after sign-in (default
	// 12 h).
	IdleTimeout     time.Duration
	SessionLifetime time.Duration
	// MFARoles are the roles whose local users must enrol TOTP before
	// doing anything else (default admin and privacy-officer; set an
	// empty non-nil slice for none).
	MFARoles []string
	// Throttle tunes sign-in throttling (defaults: see ThrottleConfig).
	Throttle ThrottleConfig
	// TOTPIssuer names Vigil in authenticator apps (default "Vigil").
	TOTPIssuer string
	Audit      audit.Recorder
	Log        *slog.Logger
	Now        func() time.Time
}

// Store is the accounts database. It is safe for concurrent use.
type Store struct {
	db    *sql.DB
	opt   Options
	box   *secretBox
	login *throttle

	mu     sync.Mutex
	tokens map[string]*tokenRec // by hash
}

// Open prepares the accounts tables in d.
func Open(ctx context.Context, d *sql.DB, opt Options) (*Store, error) {
	if err := db.Migrate(ctx, d, "accounts", migrations); err != nil {
		return nil, err
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = 15 * time.Minute
	}
	if opt.SessionLifetime <= 0 {
		opt.SessionLifetime = 12 * time.Hour
	}
	if opt.MFARoles == nil {
		opt.MFARoles = []string{access.RoleAdmin, access.RolePrivacyOfficer}
	}
	if opt.TOTPIssuer == "" {
		opt.TOTPIssuer = "Vigil"
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Store{db: d, opt: opt, login: newThrottle(opt.Throttle)}
	box, err := openSecretBox(filepath.Join(opt.DataDir, "secret.key"))
	if err != nil {
		return nil, err
	}
	s.box = box
	if err := s.loadTokens(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) now() time.Time { return s.opt.Now() }

func (s *Store) record(ctx context.Context, e audit.Entry) {
	if s.opt.Audit == nil {
		return
	}
	if err := s.opt.Audit.Record(ctx, e); err != nil {
		s.opt.Log.Error("audit record failed", "action", e.Action, "err", err)
	}
}

// mfaRequired reports whether roles include one that must use a second
// factor.
func (s *Store) mfaRequired(roles []string) bool {
	for _, r := range roles {
		if slices.Contains(s.opt.MFARoles, r) {
			return true
		}
	}
	return false
}

func joinRoles(roles []string) string { return strings.Join(roles, ",") }

func splitRoles(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ErrNotFound is a user or token that does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is a name already taken.
var ErrExists = errors.New("already exists")

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
