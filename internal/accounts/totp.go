package accounts

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/vigil-siem/vigil/internal/audit"
)

// TOTP parameters: RFC 6238 as every authenticator app reads it (SHA-1,
// 6 digits, 30 s), accepting the step before and after for clock skew.
const (
	totpPeriod = 30
	totpSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// matchTOTP returns the time step a code is valid for around now, or 0.
func matchTOTP(secret, code string, now time.Time) int64 {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d
		}
	}
	return 0
}

var (
	errTOTPWrong    = errors.New("wrong or expired authentication code")
	errTOTPReplayed = errors.New("this authentication code was already used: wait for the next one")
)

// useTOTP checks a code against a user's (sealed) secret and consumes
// its time step, so the same code, or an older one, is never accepted
// twice.
func (s *Store) useTOTP(ctx context.Context, u *User, sealed, code string) error {
	secret, err := s.box.open(sealed)
	if err != nil {
		return err
	}
	step := matchTOTP(secret, code, s.now())
	if step == 0 {
		return errTOTPWrong
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, u.ID, step)
	if err != nil {
		return fmt.Errorf("accounts: TOTP: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errTOTPReplayed
	}
	return nil
}

// Enrollment is a TOTP secret waiting for its first code.
type Enrollment struct {
	Secret string `json:"secret"`
	// URI is the otpauth:// URI authenticator apps read.
	URI string `json:"otpauth_uri"`
	// QRCode is a PNG of the URI as a data: URI, for an <img>.
	QRCode string `json:"qr_png"`
}

// BeginTOTP creates a new TOTP secret for a local user, pending until a
// code from it is confirmed.
func (s *Store) BeginTOTP(ctx context.Context, userID int64) (*Enrollment, error) {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Source != "local" {
		return nil, errors.New("this account signs in through the OpenID provider, which handles its second factor")
	}
	if u.TOTPEnabled {
		return nil, errors.New("a second factor is already enrolled: remove it first (POST /api/v1/auth/totp/disable), or ask an administrator to reset it")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.opt.TOTPIssuer, AccountName: u.Name, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return nil, err
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET totp_pending = ?, updated_at = ? WHERE id = ?`, s.box.seal(key.Secret()), unix(s.now()), u.ID); err != nil {
		return nil, fmt.Errorf("accounts: TOTP enrolment: %w", err)
	}
	s.record(ctx, audit.Entry{Action: "auth.mfa_enroll_start", Target: u.Name})
	return &Enrollment{Secret: key.Secret(), URI: key.URL(), QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// recoveryCodeCount is how many recovery codes an enrolment gives.
const recoveryCodeCount = 10

// ConfirmTOTP enables the pending secret once a code from it is right,
// and returns new recovery codes (shown once; each works once).
func (s *Store) ConfirmTOTP(ctx context.Context, userID int64, code string) ([]string, error) {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.totpPending == "" {
		return nil, errors.New("no enrolment in progress: start one with POST /api/v1/auth/totp/enroll")
	}
	if err := s.useTOTP(ctx, u, u.totpPending, code); err != nil {
		s.record(ctx, audit.Entry{Action: "auth.mfa_enroll", Target: u.Name, Outcome: audit.Failure, Details: map[string]any{"reason": err.Error()}})
		return nil, err
	}
	codes := make([]string, recoveryCodeCount)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = totp_pending, totp_pending = '', totp_enabled = 1, updated_at = ? WHERE id = ?`,
		unix(s.now()), u.ID); err != nil {
		return nil, fmt.Errorf("accounts: TOTP enrolment: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, u.ID); err != nil {
		return nil, fmt.Errorf("accounts: TOTP enrolment: %w", err)
	}
	for i := range codes {
		c := randomString(16, "abcdefghjkmnpqrstuvwxyz23456789")
		codes[i] = c[:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:]
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, u.ID, hashToken(normalizeRecovery(codes[i]))); err != nil {
			return nil, fmt.Errorf("accounts: TOTP enrolment: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("accounts: TOTP enrolment: %w", err)
	}
	s.record(ctx, audit.Entry{Action: "auth.mfa_enroll", Target: u.Name})
	return codes, nil
}

func normalizeRecovery(c string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(c)))
}

// useRecoveryCode consumes one of a user's recovery codes.
func (s *Store) useRecoveryCode(ctx context.Context, u *User, code string) error {
	if len(code) > 64 {
		return errTOTPWrong
	}
	res, err := s.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at = 0`,
		unix(s.now()), u.ID, hashToken(normalizeRecovery(code)))
	if err != nil {
		return fmt.Errorf("accounts: recovery code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errors.New("wrong or already used recovery code")
	}
	return nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at = 0`, userID).Scan(&n)
	return n, err
}

// DisableTOTP removes the signed-in user's own second factor after
// checking their password, unless a role requires one.
func (s *Store) DisableTOTP(ctx context.Context, userID int64, password string) error {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return err
	}
	if len(password) > MaxPasswordBytes || !VerifyPassword(u.passwordHash, password) {
		s.record(ctx, audit.Entry{Action: "auth.mfa_disable", Target: u.Name, Outcome: audit.Failure, Details: map[string]any{"reason": "wrong password"}})
		return errWrongPassword
	}
	if u.MFARequired {
		return errors.New("your role requires a second factor: enrol a new one after an administrator resets it")
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET totp_secret = '', totp_pending = '', totp_enabled = 0, updated_at = ? WHERE id = ?`,
		unix(s.now()), u.ID); err != nil {
		return fmt.Errorf("accounts: disable TOTP: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, u.ID); err != nil {
		return fmt.Errorf("accounts: disable TOTP: %w", err)
	}
	s.record(ctx, audit.Entry{Action: "auth.mfa_disable", Target: u.Name})
	return nil
}
