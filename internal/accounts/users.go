package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
)

// User is an account as listed (never its secrets).
type User struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name,omitempty"`
	Email       string   `json:"email,omitempty"`
	Roles       []string `json:"roles"`
	// Source is "local" (password) or "oidc" (signed in through the
	// OpenID provider; roles come from its claims at each sign-in).
	Source             string    `json:"source"`
	Disabled           bool      `json:"disabled"`
	MustChangePassword bool      `json:"must_change_password"`
	TOTPEnabled        bool      `json:"totp_enabled"`
	MFARequired        bool      `json:"mfa_required"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	PasswordChangedAt  time.Time `json:"password_changed_at,omitzero"`
	LastLoginAt        time.Time `json:"last_login_at,omitzero"`
	// Locked is set while sign-in is locked out after failures.
	Locked bool `json:"locked,omitempty"`

	passwordHash string
	subject      string
	totpSecret   string // sealed
	totpPending  string // sealed
	totpLastStep int64
}

const userColumns = `id, name, display_name, email, roles, source, subject, password_hash, must_change, disabled,
	totp_secret, totp_pending, totp_enabled, totp_last_step, created_at, updated_at, password_changed_at, last_login_at`

func (s *Store) scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	var roles string
	var created, updated, pwChanged, lastLogin int64
	if err := sc.Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email, &roles, &u.Source, &u.subject, &u.passwordHash,
		&u.MustChangePassword, &u.Disabled, &u.totpSecret, &u.totpPending, &u.TOTPEnabled, &u.totpLastStep,
		&created, &updated, &pwChanged, &lastLogin); err != nil {
		return nil, err
	}
	u.Roles = splitRoles(roles)
	u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt, u.LastLoginAt = fromUnix(created), fromUnix(updated), fromUnix(pwChanged), fromUnix(lastLogin)
	u.MFARequired = u.Source == "local" && s.mfaRequired(u.Roles)
	return &u, nil
}

// restriction is what a user must do before anything else.
func (s *Store) restriction(u *User) access.Restriction {
	switch {
	case u.Source == "local" && u.MustChangePassword:
		return access.MustChangePassword
	case u.MFARequired && !u.TOTPEnabled:
		return access.MustEnrollMFA
	}
	return ""
}

// User returns the user called name.
func (s *Store) User(ctx context.Context, name string) (*User, error) {
	u, err := s.scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: read user: %w", err)
	}
	u.Locked = s.locked(u.Name)
	return u, nil
}

func (s *Store) userByID(ctx context.Context, id int64) (*User, error) {
	u, err := s.scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return u, err
}

func (s *Store) locked(name string) bool {
	d, locked := s.login.wait(name, "", s.now())
	return locked && d > 0
}

// Users lists every user by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("accounts: list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := s.scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts: list users: %w", err)
		}
		u.Locked = s.locked(u.Name)
		out = append(out, *u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// NewUser is a user to create.
type NewUser struct {
	Name, DisplayName, Email string
	Roles                    []string
}

// CreateUser creates a local user with a one-time password, which it
// returns: the user must change it at first sign-in.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (*User, string, error) {
	if err := checkName(nu.Name); err != nil {
		return nil, "", fmt.Errorf("user name: %w", err)
	}
	roles, err := access.CheckRoles(nu.Roles)
	if err != nil {
		return nil, "", err
	}
	pw := OneTimePassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return nil, "", err
	}
	now := unix(s.now())
	_, err = s.db.ExecContext(ctx, `INSERT INTO users (name, display_name, email, roles, source, password_hash, must_change,
		created_at, updated_at, password_changed_at) VALUES (?, ?, ?, ?, 'local', ?, 1, ?, ?, ?)`,
		nu.Name, nu.DisplayName, nu.Email, joinRoles(roles), hash, now, now, now)
	if isUnique(err) {
		return nil, "", fmt.Errorf("user %q: %w", nu.Name, ErrExists)
	}
	if err != nil {
		return nil, "", fmt.Errorf("accounts: create user: %w", err)
	}
	s.record(ctx, audit.Entry{Action: "user.create", Target: nu.Name, Details: map[string]any{"roles": roles}})
	u, err := s.User(ctx, nu.Name)
	return u, pw, err
}

// EnsureAdmin creates the user "admin" with a one-time password when
// there are no users at all (first start). It returns the password, or ""
// when users exist.
func (s *Store) EnsureAdmin(ctx context.Context) (string, error) {
	n, err := s.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	_, pw, err := s.CreateUser(audit.System(ctx), NewUser{Name: "admin", DisplayName: "Administrator", Roles: []string{access.RoleAdmin}})
	return pw, err
}

// SetDisabled disables or enables a user; disabling ends their sessions.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	u, err := s.User(ctx, name)
	if err != nil {
		return err
	}
	if disabled {
		if err := s.keepAnAdmin(ctx, u); err != nil {
			return err
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, disabled, unix(s.now()), u.ID); err != nil {
		return fmt.Errorf("accounts: update user: %w", err)
	}
	action := "user.enable"
	if disabled {
		action = "user.disable"
		if err := s.endSessions(ctx, u.ID, ""); err != nil {
			return err
		}
	}
	s.record(ctx, audit.Entry{Action: action, Target: u.Name})
	return nil
}

// keepAnAdmin refuses to take away the last enabled local administrator.
func (s *Store) keepAnAdmin(ctx context.Context, u *User) error {
	if u.Disabled || !hasRole(u.Roles, access.RoleAdmin) {
		return nil
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE disabled = 0 AND id != ? AND
		(',' || roles || ',') LIKE '%,admin,%'`, u.ID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%q is the last enabled administrator: create another one first", u.Name)
	}
	return nil
}

func hasRole(roles []string, r string) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// DeleteUser removes a user and their sessions; the audit trail keeps
// everything they did, under their name and id (ids are never reused).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	u, err := s.User(ctx, name)
	if err != nil {
		return err
	}
	if err := s.keepAnAdmin(ctx, u); err != nil {
		return err
	}
	if p := access.PrincipalFrom(ctx); p != nil && p.Kind == access.KindUser && p.ID == u.ID {
		return errors.New("you cannot delete yourself")
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
		return fmt.Errorf("accounts: delete user: %w", err)
	}
	s.record(ctx, audit.Entry{Action: "user.delete", Target: u.Name, Details: map[string]any{"id": u.ID, "roles": u.Roles}})
	return nil
}

// SetRoles replaces a local user's roles.
func (s *Store) SetRoles(ctx context.Context, name string, roles []string) error {
	roles, err := access.CheckRoles(roles)
	if err != nil {
		return err
	}
	u, err := s.User(ctx, name)
	if err != nil {
		return err
	}
	if u.Source != "local" {
		return fmt.Errorf("%q signs in through the OpenID provider: its roles come from the provider's claims (auth.oidc.role_mapping)", name)
	}
	if !hasRole(roles, access.RoleAdmin) {
		if err := s.keepAnAdmin(ctx, u); err != nil {
			return err
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET roles = ?, updated_at = ? WHERE id = ?`, joinRoles(roles), unix(s.now()), u.ID); err != nil {
		return fmt.Errorf("accounts: update user: %w", err)
	}
	s.record(ctx, audit.Entry{Action: "user.roles", Target: u.Name, Details: map[string]any{"from": u.Roles, "to": roles}})
	return nil
}

// ResetPassword gives a local user a new one-time password (returned),
// ends their sessions, and clears a lockout.
func (s *Store) ResetPassword(ctx context.Context, name string) (string, error) {
	u, err := s.User(ctx, name)
	if err != nil {
		return "", err
	}
	if u.Source != "local" {
		return "", fmt.Errorf("%q signs in through the OpenID provider and has no password here", name)
	}
	pw := OneTimePassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return "", err
	}
	now := unix(s.now())
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ?, must_change = 1, password_changed_at = ?, updated_at = ? WHERE id = ?`,
		hash, now, now, u.ID); err != nil {
		return "", fmt.Errorf("accounts: reset password: %w", err)
	}
	if err := s.endSessions(ctx, u.ID, ""); err != nil {
		return "", err
	}
	s.login.unlock(u.Name)
	s.record(ctx, audit.Entry{Action: "user.password_reset", Target: u.Name})
	return pw, nil
}

// ResetMFA removes a user's second factor and recovery codes (a lost
// phone); a role that requires one makes them enrol again at next
// sign-in.
func (s *Store) ResetMFA(ctx context.Context, name string) error {
	u, err := s.User(ctx, name)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET totp_secret = '', totp_pending = '', totp_enabled = 0, updated_at = ? WHERE id = ?`,
		unix(s.now()), u.ID); err != nil {
		return fmt.Errorf("accounts: reset MFA: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, u.ID); err != nil {
		return fmt.Errorf("accounts: reset MFA: %w", err)
	}
	if err := s.endSessions(ctx, u.ID, ""); err != nil {
		return err
	}
	s.record(ctx, audit.Entry{Action: "user.mfa_reset", Target: u.Name})
	return nil
}

// Unlock clears a user's sign-in lockout.
func (s *Store) Unlock(ctx context.Context, name string) error {
	u, err := s.User(ctx, name)
	if err != nil {
		return err
	}
	s.login.unlock(u.Name)
	s.record(ctx, audit.Entry{Action: "user.unlock", Target: u.Name})
	return nil
}

// ChangePassword changes the signed-in user's own password after checking
// the current one; other sessions of the user end.
func (s *Store) ChangePassword(ctx context.Context, userID int64, current, next string) error {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.Source != "local" {
		return &PolicyError{"this account signs in through the OpenID provider"}
	}
	if len(current) > MaxPasswordBytes || !VerifyPassword(u.passwordHash, current) {
		s.record(ctx, audit.Entry{Action: "auth.password_change", Target: u.Name, Outcome: audit.Failure,
			Details: map[string]any{"reason": "wrong current password"}})
		return errWrongPassword
	}
	if err := CheckPassword(next, u.Name); err != nil {
		s.record(ctx, audit.Entry{Action: "auth.password_change", Target: u.Name, Outcome: audit.Failure,
			Details: map[string]any{"reason": err.Error()}})
		return err
	}
	if current == next {
		return &PolicyError{"the new password is the current one"}
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	now := unix(s.now())
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ?, must_change = 0, password_changed_at = ?, updated_at = ? WHERE id = ?`,
		hash, now, now, u.ID); err != nil {
		return fmt.Errorf("accounts: change password: %w", err)
	}
	keep := ""
	if p := access.PrincipalFrom(ctx); p != nil && p.Session != nil {
		keep = p.Session.ID
	}
	if err := s.endSessions(ctx, u.ID, keep); err != nil {
		return err
	}
	s.record(ctx, audit.Entry{Action: "auth.password_change", Target: u.Name})
	return nil
}

var errWrongPassword = errors.New("the current password is wrong")

// CheckAssignee reports whether name is a user alerts may be assigned to:
// one that exists, is enabled, and may change alerts.
func (s *Store) CheckAssignee(ctx context.Context, name string) error {
	u, err := s.User(ctx, name)
	if err != nil {
		return err
	}
	if u.Disabled {
		return fmt.Errorf("user %q is disabled", name)
	}
	if !access.NewPrincipal(access.KindUser, u.ID, u.Name, u.Roles).Can(access.AlertsWrite) {
		return fmt.Errorf("user %q has no role that may work on alerts", name)
	}
	return nil
}
