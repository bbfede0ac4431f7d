package accounts

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
)

// TokenPrefix starts every token Vigil generates, so secret scanners
// (GitHub, gitleaks, trufflehog) can find leaked ones with the pattern
// vgl_[A-Za-z0-9]{38} (32 random characters and a 6-character checksum).
const TokenPrefix = "vgl_"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewTokenSecret returns a new token: vgl_, 32 random base62 characters
// (190 bits), and the base62 CRC-32 of those, padded to 6 characters, so
// a scanner can tell a real token from a look-alike.
func NewTokenSecret() string {
	body := randomString(32, base62)
	return TokenPrefix + body + checksum(body)
}

func checksum(body string) string {
	c := crc32.ChecksumIEEE([]byte(body))
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return string(out)
}

// LooksLikeToken reports whether s has the shape and checksum of a
// generated token.
func LooksLikeToken(s string) bool {
	body, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(body) != 38 {
		return false
	}
	for _, c := range body {
		if !strings.ContainsRune(base62, c) {
			return false
		}
	}
	return checksum(body[:32]) == body[32:]
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Token is an API token as listed (never its secret).
type Token struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Prefix is the start of the secret, to recognise it.
	Prefix    string    `json:"prefix"`
	Roles     []string  `json:"roles"`
	Source    string    `json:"source"` // api, config (ingest.token), cli (admin.token)
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	LastUsed  time.Time `json:"last_used_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// Active reports whether the token is neither revoked nor expired at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

type tokenRec struct {
	Token
	hash      string
	usedSaved time.Time // last_used_at as last written
}

// lastUsedEvery bounds how often a token's last use is written.
const lastUsedEvery = time.Minute

const tokenColumns = `id, name, hash, prefix, roles, source, created_at, created_by, expires_at, last_used_at, revoked_at, revoked_by`

func scanToken(sc interface{ Scan(...any) error }) (*tokenRec, error) {
	var t tokenRec
	var roles string
	var created, expires, used, revoked int64
	if err := sc.Scan(&t.ID, &t.Name, &t.hash, &t.Prefix, &roles, &t.Source, &created, &t.CreatedBy, &expires, &used, &revoked, &t.RevokedBy); err != nil {
		return nil, err
	}
	t.Roles, t.CreatedAt, t.ExpiresAt, t.LastUsed, t.RevokedAt = splitRoles(roles), fromUnix(created), fromUnix(expires), fromUnix(used), fromUnix(revoked)
	t.usedSaved = t.LastUsed
	return &t, nil
}

func (s *Store) loadTokens(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens`)
	if err != nil {
		return fmt.Errorf("accounts: load tokens: %w", err)
	}
	defer rows.Close()
	m := map[string]*tokenRec{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return fmt.Errorf("accounts: load tokens: %w", err)
		}
		m[t.hash] = t
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.tokens = m
	s.mu.Unlock()
	return nil
}

// Token authenticates an API token (web.Authenticator). Its last use is
// noted (written at most once a minute).
func (s *Store) Token(ctx context.Context, secret string) (*access.Principal, error) {
	if len(secret) > 512 {
		return nil, &access.CredentialError{Reason: "invalid API token"}
	}
	h := hashToken(secret)
	now := s.now()
	s.mu.Lock()
	t, ok := s.tokens[h]
	var save bool
	var tok Token
	if ok {
		tok = t.Token
		if tok.Active(now) {
			t.LastUsed = now
			if now.Sub(t.usedSaved) >= lastUsedEvery {
				t.usedSaved, save = now, true
			}
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, &access.CredentialError{Reason: "invalid API token"}
	case !tok.RevokedAt.IsZero():
		return nil, &access.CredentialError{Reason: fmt.Sprintf("API token %q was revoked on %s", tok.Name, tok.RevokedAt.Format(time.RFC3339)), Subject: tok.Name}
	case !tok.Active(now):
		return nil, &access.CredentialError{Reason: fmt.Sprintf("API token %q expired on %s", tok.Name, tok.ExpiresAt.Format(time.RFC3339)), Subject: tok.Name}
	}
	if save {
		if _, err := s.db.ExecContext(context.WithoutCancel(ctx), `UPDATE tokens SET last_used_at = ? WHERE id = ?`, unix(now), tok.ID); err != nil {
			s.opt.Log.Warn("saving a token's last use failed", "token", tok.Name, "err", err)
		}
	}
	p := access.NewPrincipal(access.KindToken, tok.ID, tok.Name, tok.Roles)
	p.Method = "token"
	return p, nil
}

// TokenRequest creates a token.
type TokenRequest struct {
	Name  string
	Roles []string
	// ExpiresAt, when not zero, ends the token.
	ExpiresAt time.Time
	// Source says where the token lives: "api" (shown once to its
	// creator), "config" (ingest.token or --ingest-token), "cli"
	// (admin.token).
	Source string
	// Secret, when set, is used instead of a generated one (the
	// configured ingest token).
	Secret string
}

// CreateToken stores a new token and returns it with its secret, which is
// not kept.
func (s *Store) CreateToken(ctx context.Context, req TokenRequest) (*Token, string, error) {
	if err := checkName(req.Name); err != nil {
		return nil, "", fmt.Errorf("token name: %w", err)
	}
	roles, err := access.CheckRoles(req.Roles)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		return nil, "", errors.New("expiry is in the past")
	}
	secret := req.Secret
	if secret == "" {
		secret = NewTokenSecret()
	}
	if req.Source == "" {
		req.Source = "api"
	}
	prefix := secret
	if len(prefix) > 8 {
		prefix = prefix[:8]
	}
	if !LooksLikeToken(secret) && len(secret) > 4 {
		prefix = secret[:4] // a configured secret: show less of it
	}
	by := access.PrincipalFrom(ctx).String()
	if audit.IsSystem(ctx) {
		by = "vigil"
	}
	t := &tokenRec{Token: Token{Name: req.Name, Prefix: prefix, Roles: roles, Source: req.Source, CreatedAt: now, CreatedBy: by, ExpiresAt: req.ExpiresAt}, hash: hashToken(secret)}
	res, err := s.db.ExecContext(ctx, `INSERT INTO tokens (name, hash, prefix, roles, source, created_at, created_by, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.Name, t.hash, t.Prefix, joinRoles(roles), t.Source, unix(now), t.CreatedBy, unix(t.ExpiresAt))
	if isUnique(err) {
		if s.tokenByHash(t.hash) != nil {
			return nil, "", errors.New("this secret is already a token")
		}
		return nil, "", fmt.Errorf("token %q: %w (revoke it first, or choose another name)", req.Name, ErrExists)
	}
	if err != nil {
		return nil, "", fmt.Errorf("accounts: create token: %w", err)
	}
	t.ID, _ = res.LastInsertId()
	s.mu.Lock()
	s.tokens[t.hash] = t
	s.mu.Unlock()
	d := map[string]any{"roles": roles, "source": t.Source}
	if !t.ExpiresAt.IsZero() {
		d["expires_at"] = t.ExpiresAt.Format(time.RFC3339)
	}
	s.record(ctx, audit.Entry{Action: "token.create", Target: t.Name, Details: d})
	return &t.Token, secret, nil
}

func (s *Store) tokenByHash(h string) *tokenRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[h]
}

// Tokens lists the tokens, newest first; revoked ones only with
// withRevoked.
func (s *Store) Tokens(withRevoked bool) []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Token
	for _, t := range s.tokens {
		if withRevoked || t.RevokedAt.IsZero() {
			out = append(out, t.Token)
		}
	}
	sortTokens(out)
	return out
}

func sortTokens(ts []Token) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].ID > ts[j-1].ID; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// RevokeToken revokes the active token called name.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	now := s.now()
	by := access.PrincipalFrom(ctx).String()
	if audit.IsSystem(ctx) {
		by = "vigil"
	}
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at = 0`, unix(now), by, name)
	if err != nil {
		return fmt.Errorf("accounts: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("no active token %q: %w", name, ErrNotFound)
	}
	s.mu.Lock()
	for _, t := range s.tokens {
		if t.Name == name && t.RevokedAt.IsZero() {
			t.RevokedAt, t.RevokedBy = now, by
		}
	}
	s.mu.Unlock()
	s.record(ctx, audit.Entry{Action: "token.revoke", Target: name})
	return nil
}

// activeToken returns the active token called name.
func (s *Store) activeToken(name string) *tokenRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.Name == name && t.RevokedAt.IsZero() {
			return t
		}
	}
	return nil
}

// EnsureIngestToken makes secret (the configured --ingest-token or the
// generated ingest.token) the active ingest-role token named "ingest",
// replacing an earlier secret under that name.
func (s *Store) EnsureIngestToken(ctx context.Context, secret string) error {
	ctx = audit.System(ctx)
	if t := s.tokenByHash(hashToken(secret)); t != nil {
		if t.Name == "ingest" && t.RevokedAt.IsZero() {
			return nil
		}
		if !t.RevokedAt.IsZero() {
			return fmt.Errorf("the configured ingest token was revoked as %q: configure a new one (or delete ingest.token to generate one)", t.Name)
		}
		return fmt.Errorf("the configured ingest token is already the API token %q: configure a separate secret", t.Name)
	}
	if t := s.activeToken("ingest"); t != nil {
		if err := s.RevokeToken(ctx, "ingest"); err != nil {
			return err
		}
	}
	_, _, err := s.CreateToken(ctx, TokenRequest{Name: "ingest", Roles: []string{access.RoleIngest}, Source: "config", Secret: secret})
	return err
}

// EnsureCLIToken makes sure path holds an active admin token for the
// local command line (mode 0600), creating one (named "local-cli") when
// the file is missing or its token is no longer valid. It reports whether
// it wrote a new token.
func (s *Store) EnsureCLIToken(ctx context.Context, path string) (bool, error) {
	ctx = audit.System(ctx)
	if data, err := os.ReadFile(path); err == nil {
		if t := s.tokenByHash(hashToken(strings.TrimSpace(string(data)))); t != nil && t.Active(s.now()) {
			return false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if t := s.activeToken("local-cli"); t != nil {
		if err := s.RevokeToken(ctx, "local-cli"); err != nil {
			return false, err
		}
	}
	_, secret, err := s.CreateToken(ctx, TokenRequest{Name: "local-cli", Roles: []string{access.RoleAdmin}, Source: "cli"})
	if err != nil {
		return false, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// checkName validates a user or token name.
func checkName(n string) error {
	if n == "" {
		return errEmpty
	}
	if len(n) > 64 {
		return errors.New("longer than 64 characters")
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c)) {
			return fmt.Errorf("%q: use letters, digits and . _ - @", n)
		}
	}
	return nil
}

var _ = sql.ErrNoRows
