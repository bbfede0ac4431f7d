package accounts

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/db"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	s     *Store
	trail *audit.Trail
	db    *sql.DB
	clock *clock
	dir   string
}

func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	trail, err := audit.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	// The clock starts at the real time: cookies and OIDC tokens are judged by
	// the real clock of the HTTP client and the provider.
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	trail.SetClock(c.Now)
	opt := Options{DataDir: dir, Audit: trail, Now: c.Now}
	if mod != nil {
		mod(&opt)
	}
	s, err := Open(context.Background(), d, opt)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, trail: trail, db: d, clock: c, dir: dir}
}

func (f *fixture) records(t testing.TB, action string) []audit.Record {
	t.Helper()
	rs, err := f.trail.List(context.Background(), audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

var sys = audit.System(context.Background())

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if !VerifyPassword(h, "correct horse battery") || VerifyPassword(h, "correct horse batterz") || VerifyPassword(h, "") {
		t.Fatal("verification is wrong")
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("no salt")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA",
		strings.Replace(h, "t=2", "t=0", 1), strings.Replace(h, "$v=19$", "$v=16$", 1)} {
		if VerifyPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	f := func(pw, user string, ok bool) {
		t.Helper()
		err := CheckPassword(pw, user)
		if (err == nil) != ok {
			t.Errorf("CheckPassword(%q, %q) = %v, want ok=%v", pw, user, err, ok)
		}
	}
	f("tr4ce-Orbit-lantern", "alice", true)
	f("Zebra-7-quilt", "alice", true)
	f("short-1A!", "alice", false)                    // 9 characters
	f("Password2024!", "alice", false)                // common with a year
	f("qwertyuiop12", "alice", false)                 // keyboard walk
	f("Hospital12345", "alice", false)                // a hospital's favourite
	f("my-name-is-alice-ok", "alice", false)          // contains the user name
	f("aaaaaaaaaaaaaaaa", "bob", false)               // too few characters
	f(strings.Repeat("ab-cd-ef-gh!", 30), "x", false) // over 256 bytes
	f("ünïcödé-pässwörd", "bob", true)                // counted in characters
	f("\xff\xfe-not-utf8-at-all", "bob", false)
	for range 20 {
		if pw := OneTimePassword(); CheckPassword(pw, "admin") != nil {
			t.Fatalf("generated password %q fails the policy", pw)
		}
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tok, secret, err := f.s.CreateToken(sys, TokenRequest{Name: "filebeat-dmz", Roles: []string{"ingest"}, ExpiresAt: f.clock.Now().Add(90 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !LooksLikeToken(secret) || LooksLikeToken(secret[:len(secret)-1]+"x") || tok.Prefix != secret[:8] {
		t.Fatalf("token %q (prefix %q)", secret, tok.Prefix)
	}
	// Stored hashed: the secret is nowhere in the database.
	var n int
	f.db.QueryRow(`SELECT COUNT(*) FROM tokens WHERE hash = ? OR prefix = ? OR name = ?`, secret, secret, secret).Scan(&n)
	if n != 0 {
		t.Fatal("the secret is stored")
	}
	p, err := f.s.Token(ctx, secret)
	if err != nil || p.Name != "filebeat-dmz" || !p.Can(access.Ingest) || p.Can(access.EventsSearch) || p.Kind != access.KindToken {
		t.Fatalf("principal %+v %v", p, err)
	}
	if _, _, err := f.s.CreateToken(sys, TokenRequest{Name: "filebeat-dmz", Roles: []string{"ingest"}}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, _, err := f.s.CreateToken(sys, TokenRequest{Name: "x", Roles: []string{"root"}}); err == nil {
		t.Fatal("unknown role accepted")
	}
	if _, _, err := f.s.CreateToken(sys, TokenRequest{Name: "bad name!", Roles: []string{"ingest"}}); err == nil {
		t.Fatal("bad name accepted")
	}
	// Last use is noted.
	f.clock.Add(2 * time.Minute)
	f.s.Token(ctx, secret)
	var used int64
	f.db.QueryRow(`SELECT last_used_at FROM tokens WHERE name = 'filebeat-dmz'`).Scan(&used)
	if fromUnix(used) != f.clock.Now() {
		t.Fatalf("last used %v", fromUnix(used))
	}
	// Expiry.
	f.clock.Add(91 * 24 * time.Hour)
	_, err = f.s.Token(ctx, secret)
	var ce *access.CredentialError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "expired") || ce.Subject != "filebeat-dmz" {
		t.Fatalf("expired token: %v", err)
	}
	// Revocation.
	_, s2, _ := f.s.CreateToken(sys, TokenRequest{Name: "scraper", Roles: []string{"metrics"}})
	if err := f.s.RevokeToken(sys, "scraper"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Token(ctx, s2); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "revoked") {
		t.Fatalf("revoked token: %v", err)
	}
	if err := f.s.RevokeToken(sys, "scraper"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	// The name is free again after revocation; the revoked one is listed on request.
	if _, _, err := f.s.CreateToken(sys, TokenRequest{Name: "scraper", Roles: []string{"metrics"}}); err != nil {
		t.Fatal(err)
	}
	if len(f.s.Tokens(false)) != 2 || len(f.s.Tokens(true)) != 3 {
		t.Fatalf("tokens %d / %d", len(f.s.Tokens(false)), len(f.s.Tokens(true)))
	}
	if _, err := f.s.Token(ctx, "vgl_unknown"); !errors.As(err, &ce) {
		t.Fatalf("unknown: %v", err)
	}
	if len(f.records(t, "token.create")) != 3 || len(f.records(t, "token.revoke")) != 1 {
		t.Fatal("token changes not recorded")
	}
	// The tokens survive a reopen (the cache is loaded from the database).
	s3, err := Open(ctx, f.db, Options{DataDir: f.dir, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Token(ctx, s2); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "revoked") {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestIngestAndCLITokens(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if err := f.s.EnsureIngestToken(ctx, "configured-ingest-secret-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.EnsureIngestToken(ctx, "configured-ingest-secret-1"); err != nil {
		t.Fatal(err)
	}
	// A new configured secret replaces the old one.
	if err := f.s.EnsureIngestToken(ctx, "configured-ingest-secret-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Token(ctx, "configured-ingest-secret-1"); err == nil {
		t.Fatal("the old ingest secret still works")
	}
	if p, err := f.s.Token(ctx, "configured-ingest-secret-2"); err != nil || p.Name != "ingest" || !p.Can(access.Ingest) {
		t.Fatalf("ingest: %+v %v", p, err)
	}
	path := filepath.Join(f.dir, "admin.token")
	if wrote, err := f.s.EnsureCLIToken(ctx, path); err != nil || !wrote {
		t.Fatalf("CLI token: %v %v", wrote, err)
	}
	if wrote, _ := f.s.EnsureCLIToken(ctx, path); wrote {
		t.Fatal("rewritten although valid")
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	// Revoked: the next start writes a new one.
	f.s.RevokeToken(sys, "local-cli")
	if wrote, err := f.s.EnsureCLIToken(ctx, path); err != nil || !wrote {
		t.Fatalf("after revocation: %v %v", wrote, err)
	}
	data, _ := os.ReadFile(path)
	if p, err := f.s.Token(ctx, strings.TrimSpace(string(data))); err != nil || !p.Can(access.UsersAdmin) {
		t.Fatalf("CLI principal %+v %v", p, err)
	}
}

func TestUsers(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	pw, err := f.s.EnsureAdmin(ctx)
	if err != nil || pw == "" {
		t.Fatal(err)
	}
	if again, _ := f.s.EnsureAdmin(ctx); again != "" {
		t.Fatal("admin created twice")
	}
	u, otp, err := f.s.CreateUser(sys, NewUser{Name: "alice", Roles: []string{"analyst", "auditor"}})
	if err != nil || !u.MustChangePassword || otp == "" {
		t.Fatal(u, err)
	}
	if _, _, err := f.s.CreateUser(sys, NewUser{Name: "ALICE", Roles: []string{"analyst"}}); !errors.Is(err, ErrExists) {
		t.Fatalf("case-insensitive duplicate: %v", err)
	}
	// The last administrator cannot be disabled, demoted or deleted.
	if err := f.s.SetDisabled(sys, "admin", true); err == nil {
		t.Fatal("disabled the last admin")
	}
	if err := f.s.SetRoles(sys, "admin", []string{"analyst"}); err == nil {
		t.Fatal("demoted the last admin")
	}
	if err := f.s.DeleteUser(sys, "admin"); err == nil {
		t.Fatal("deleted the last admin")
	}
	if err := f.s.SetRoles(sys, "alice", []string{"analyst", "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetDisabled(sys, "admin", true); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetDisabled(sys, "admin", false); err != nil {
		t.Fatal(err)
	}
	// Deletion keeps the audit trail of the user.
	login(t, f, "alice", otp, "")
	if err := f.s.DeleteUser(sys, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.User(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatal("still there")
	}
	var byAlice int
	for _, r := range f.records(t, "*") {
		if r.Actor == "alice" {
			byAlice++
		}
	}
	if byAlice == 0 {
		t.Fatal("alice's audit history is gone")
	}
	for _, a := range []string{"user.create", "user.roles", "user.disable", "user.enable", "user.delete"} {
		if len(f.records(t, a)) == 0 {
			t.Errorf("%s not recorded", a)
		}
	}
}

// login signs in and fails the test on refusal.
func login(t *testing.T, f *fixture, name, pw, code string) *Login {
	t.Helper()
	l, err := f.s.Login(context.Background(), Credentials{Username: name, Password: pw, TOTPCode: code}, "192.0.2.10", "test")
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return l
}

func loginErr(f *fixture, name, pw, addr string) *LoginError {
	_, err := f.s.Login(context.Background(), Credentials{Username: name, Password: pw}, addr, "test")
	var le *LoginError
	if errors.As(err, &le) {
		return le
	}
	return nil
}

func TestLoginForcedChangeAndNoEnumeration(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MFARoles = []string{} })
	_, otp, _ := f.s.CreateUser(sys, NewUser{Name: "bob", Roles: []string{"analyst"}})
	l := login(t, f, "bob", otp, "")
	if l.Restriction != access.MustChangePassword {
		t.Fatalf("restriction %q", l.Restriction)
	}
	p, err := f.s.Session(context.Background(), l.Cookie)
	if err != nil || p.Restriction != access.MustChangePassword || p.Can(access.EventsSearch) {
		t.Fatalf("session principal %+v %v", p, err)
	}
	ctx := access.WithPrincipal(context.Background(), p)
	var pe *PolicyError
	if err := f.s.ChangePassword(ctx, p.ID, otp, "short"); !errors.As(err, &pe) {
		t.Fatalf("weak new password: %v", err)
	}
	if err := f.s.ChangePassword(ctx, p.ID, "wrong", "tr4ce-Orbit-lantern"); !errors.Is(err, errWrongPassword) {
		t.Fatalf("wrong current: %v", err)
	}
	if err := f.s.ChangePassword(ctx, p.ID, otp, "tr4ce-Orbit-lantern"); err != nil {
		t.Fatal(err)
	}
	if p, _ = f.s.Session(context.Background(), l.Cookie); p == nil || p.Restriction != "" || !p.Can(access.EventsSearch) {
		t.Fatalf("after change %+v", p)
	}
	// Unknown user, wrong password, disabled account: one answer.
	_, carolPW, _ := f.s.CreateUser(sys, NewUser{Name: "carol", Roles: []string{"analyst"}})
	f.s.SetDisabled(sys, "carol", true)
	a := loginErr(f, "nobody", "tr4ce-Orbit-lantern", "192.0.2.1")
	b := loginErr(f, "bob", "tr4ce-Orbit-lanterX", "192.0.2.2")
	c := loginErr(f, "carol", carolPW, "192.0.2.3") // the right password of a disabled account
	if a == nil || b == nil || c == nil || a.Status != 401 || a.Reason != b.Reason || b.Reason != c.Reason || a.Status != b.Status {
		t.Fatalf("answers differ: %+v %+v %+v", a, b, c)
	}
	// … but the trail records the real reasons.
	var reasons []string
	for _, r := range f.records(t, "auth.login") {
		if r.Outcome == audit.Failure {
			reasons = append(reasons, string(r.Details))
		}
	}
	all := strings.Join(reasons, " ")
	for _, want := range []string{"unknown user", "wrong password", "account disabled"} {
		if !strings.Contains(all, want) {
			t.Errorf("no failure recorded with %q: %s", want, all)
		}
	}
	// Bad input: over-long password, missing fields.
	if e := loginErr(f, "bob", strings.Repeat("x", 300), "192.0.2.4"); e == nil || e.Status != 400 || !strings.Contains(e.Reason, "256") {
		t.Fatalf("over-long: %+v", e)
	}
	if e := loginErr(f, "", "", "192.0.2.4"); e == nil || e.Status != 400 {
		t.Fatalf("empty: %+v", e)
	}
	found := false
	for _, r := range f.records(t, "auth.login") {
		found = found || strings.Contains(string(r.Details), "over-long password")
	}
	if !found {
		t.Error("over-long password not recorded")
	}
}

func TestThrottle(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MFARoles = []string{} })
	_, otp, _ := f.s.CreateUser(sys, NewUser{Name: "dave", Roles: []string{"analyst"}})
	// Three free failures, then back-off doubling from 1 s.
	for i := range 3 {
		if e := loginErr(f, "dave", "wrong-password-1", "198.51.100.1"); e == nil || e.Status != 401 {
			t.Fatalf("failure %d: %+v", i, e)
		}
	}
	if e := loginErr(f, "dave", "wrong-password-1", "198.51.100.1"); e == nil || e.Status != 401 {
		t.Fatalf("4th: %+v", e)
	}
	e := loginErr(f, "dave", otp, "198.51.100.1") // even the right password waits
	if e == nil || e.Status != 429 || e.RetryAfter != time.Second {
		t.Fatalf("back-off: %+v", e)
	}
	// From another address, the user name is throttled too.
	if e := loginErr(f, "dave", otp, "198.51.100.2"); e == nil || e.Status != 429 {
		t.Fatalf("other address: %+v", e)
	}
	f.clock.Add(time.Second)
	loginErr(f, "dave", "wrong-password-1", "198.51.100.1")
	if e := loginErr(f, "dave", otp, "198.51.100.1"); e == nil || e.RetryAfter != 2*time.Second {
		t.Fatalf("doubling: %+v", e)
	}
	// Lockout after ten failures.
	for range 10 {
		f.clock.Add(5 * time.Minute)
		loginErr(f, "dave", "wrong-password-1", "198.51.100.1")
	}
	e = loginErr(f, "dave", otp, "198.51.100.3")
	if e == nil || e.Status != 429 || !strings.Contains(e.Reason, "locked") {
		t.Fatalf("lockout: %+v", e)
	}
	if u, _ := f.s.User(context.Background(), "dave"); !u.Locked {
		t.Fatal("user not shown locked")
	}
	// An unknown user name is throttled the same way (nothing tells them apart).
	for range 4 {
		loginErr(f, "ghost", "wrong-password-1", "198.51.100.9")
	}
	if e := loginErr(f, "ghost", "wrong-password-1", "198.51.100.9"); e == nil || e.Status != 429 {
		t.Fatalf("unknown user not throttled: %+v", e)
	}
	// An administrator unlocks.
	if err := f.s.Unlock(sys, "dave"); err != nil {
		t.Fatal(err)
	}
	login(t, f, "dave", otp, "")
	if n := len(f.records(t, "auth.login")); n < 20 {
		t.Fatalf("only %d login records", n)
	}
	throttled := 0
	for _, r := range f.records(t, "auth.login") {
		if r.Outcome == audit.Denied && strings.Contains(string(r.Details), "throttled") {
			throttled++
		}
	}
	if throttled < 4 {
		t.Fatalf("%d throttled attempts recorded", throttled)
	}
}

func TestAddressThrottle(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Throttle = ThrottleConfig{AddrFree: 5, AddrLockout: 8} })
	// Spraying many user names from one address.
	for i := range 8 {
		loginErr(f, "user"+string(rune('a'+i)), "wrong-password-1", "203.0.113.5")
		f.clock.Add(time.Minute)
	}
	if e := loginErr(f, "someone-new", "wrong-password-1", "203.0.113.5"); e == nil || e.Status != 429 || !strings.Contains(e.Reason, "locked") {
		t.Fatalf("address not locked: %+v", e)
	}
	if e := loginErr(f, "someone-new", "wrong-password-1", "203.0.113.6"); e == nil || e.Status != 401 {
		t.Fatalf("another address: %+v", e)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle(ThrottleConfig{MaxEntries: 100})
	now := time.Now()
	for i := range 1000 {
		th.fail(string(rune(i)), "a", now)
	}
	if len(th.m) > 101 {
		t.Fatalf("%d entries", len(th.m))
	}
}

// TestShortIdleTimeout: with an idle timeout shorter than the 30 s between
// writes of the deadline, a session in use still lives on, and ends once
// idle.
func TestShortIdleTimeout(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.MFARoles = []string{}
		o.IdleTimeout = 12 * time.Second
		o.SessionLifetime = time.Hour
	})
	_, otp, _ := f.s.CreateUser(sys, NewUser{Name: "sam", Roles: []string{"analyst"}})
	l := login(t, f, "sam", otp, "")
	ctx := context.Background()
	for i := range 20 {
		f.clock.Add(5 * time.Second)
		if _, err := f.s.Session(ctx, l.Cookie); err != nil {
			t.Fatalf("after %ds of activity: %v", 5*(i+1), err)
		}
	}
	f.clock.Add(13 * time.Second)
	var ce *access.CredentialError
	if _, err := f.s.Session(ctx, l.Cookie); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "without activity") {
		t.Fatalf("idle 13s with a 12s timeout: %v", err)
	}
}

func TestSessions(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.MFARoles = []string{}
		o.IdleTimeout = 15 * time.Minute
		o.SessionLifetime = time.Hour
	})
	_, otp, _ := f.s.CreateUser(sys, NewUser{Name: "erin", Roles: []string{"auditor"}})
	l := login(t, f, "erin", otp, "")
	ctx := context.Background()
	// Cookie not stored: only its hash.
	var n int
	f.db.QueryRow(`SELECT COUNT(*) FROM sessions WHERE id = ?`, l.Cookie).Scan(&n)
	if n != 0 {
		t.Fatal("cookie stored in clear")
	}
	var ce *access.CredentialError
	for _, bad := range []string{"", "x", l.Cookie[:42] + "A", l.Cookie + "A", strings.Repeat("!", 43)} {
		if bad == l.Cookie {
			continue
		}
		if _, err := f.s.Session(ctx, bad); !errors.As(err, &ce) {
			t.Errorf("tampered cookie %q: %v", bad, err)
		}
	}
	// Activity keeps it alive past the idle timeout …
	for range 5 {
		f.clock.Add(10 * time.Minute)
		if _, err := f.s.Session(ctx, l.Cookie); err != nil {
			t.Fatalf("active session ended: %v", err)
		}
	}
	// … up to the absolute lifetime.
	f.clock.Add(11 * time.Minute)
	if _, err := f.s.Session(ctx, l.Cookie); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "expired") {
		t.Fatalf("past lifetime: %v", err)
	}
	// Idle.
	l = login(t, f, "erin", otp, "")
	f.clock.Add(16 * time.Minute)
	if _, err := f.s.Session(ctx, l.Cookie); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "without activity") {
		t.Fatalf("idle: %v", err)
	}
	// Disabling ends sessions; logout ends one.
	l = login(t, f, "erin", otp, "")
	p, _ := f.s.Session(ctx, l.Cookie)
	if err := f.s.Logout(access.WithPrincipal(ctx, p), p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Session(ctx, l.Cookie); err == nil {
		t.Fatal("session alive after logout")
	}
	l = login(t, f, "erin", otp, "")
	f.s.SetDisabled(sys, "erin", true)
	if _, err := f.s.Session(ctx, l.Cookie); err == nil {
		t.Fatal("session alive after disable")
	}
	if err := f.s.SweepSessions(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestTOTP(t *testing.T) {
	f := newFixture(t, nil) // admin and privacy-officer must enrol
	_, otp, _ := f.s.CreateUser(sys, NewUser{Name: "frank", Roles: []string{"privacy-officer"}})
	l := login(t, f, "frank", otp, "")
	ctx := context.Background()
	p, _ := f.s.Session(ctx, l.Cookie)
	pctx := access.WithPrincipal(ctx, p)
	if err := f.s.ChangePassword(pctx, p.ID, otp, "tr4ce-Orbit-lantern"); err != nil {
		t.Fatal(err)
	}
	if p, _ = f.s.Session(ctx, l.Cookie); p.Restriction != access.MustEnrollMFA || p.Can(access.PHI) {
		t.Fatalf("restriction %q", p.Restriction)
	}
	en, err := f.s.BeginTOTP(pctx, p.ID)
	if err != nil || !strings.HasPrefix(en.URI, "otpauth://totp/Vigil:frank?") || !strings.HasPrefix(en.QRCode, "data:image/png;base64,") {
		t.Fatalf("enrolment %+v %v", en, err)
	}
	code := func() string {
		c, err := totp.GenerateCode(en.Secret, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := f.s.ConfirmTOTP(pctx, p.ID, "000000"); err == nil {
		t.Fatal("wrong code confirmed")
	}
	codes, err := f.s.ConfirmTOTP(pctx, p.ID, code())
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %v %v", codes, err)
	}
	if p, _ = f.s.Session(ctx, l.Cookie); p.Restriction != "" || !p.Can(access.PHI) {
		t.Fatalf("after enrolment %+v", p)
	}
	// The secret is sealed at rest.
	var sealed string
	f.db.QueryRow(`SELECT totp_secret FROM users WHERE name = 'frank'`).Scan(&sealed)
	if sealed == "" || strings.Contains(sealed, en.Secret) {
		t.Fatalf("secret at rest %q", sealed)
	}
	// Sign-in now needs the code; the code used at enrolment is spent.
	if _, err := f.s.Login(ctx, Credentials{Username: "frank", Password: "tr4ce-Orbit-lantern"}, "192.0.2.7", ""); err == nil || !err.(*LoginError).MFARequired {
		t.Fatalf("no code: %v", err)
	}
	if _, err := f.s.Login(ctx, Credentials{Username: "frank", Password: "tr4ce-Orbit-lantern", TOTPCode: code()}, "192.0.2.7", ""); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replayed enrolment code: %v", err)
	}
	f.clock.Add(30 * time.Second)
	c := code()
	if l := login(t, f, "frank", "tr4ce-Orbit-lantern", c); l.Method != "password+totp" {
		t.Fatalf("method %q", l.Method)
	}
	// Replay of the same code is refused.
	if _, err := f.s.Login(ctx, Credentials{Username: "frank", Password: "tr4ce-Orbit-lantern", TOTPCode: c}, "192.0.2.7", ""); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replay: %v", err)
	}
	// A recovery code works once.
	rc := codes[3]
	if l, err := f.s.Login(ctx, Credentials{Username: "frank", Password: "tr4ce-Orbit-lantern", RecoveryCode: strings.ToUpper(rc)}, "192.0.2.7", ""); err != nil || l.Method != "password+recovery_code" {
		t.Fatalf("recovery code: %v", err)
	}
	if _, err := f.s.Login(ctx, Credentials{Username: "frank", Password: "tr4ce-Orbit-lantern", RecoveryCode: rc}, "192.0.2.7", ""); err == nil {
		t.Fatal("recovery code used twice")
	}
	if n, _ := f.s.RecoveryCodesLeft(ctx, p.ID); n != 9 {
		t.Fatalf("%d codes left", n)
	}
	// The role requires the factor: the user cannot remove it; an admin resets it.
	if err := f.s.DisableTOTP(pctx, p.ID, "tr4ce-Orbit-lantern"); err == nil {
		t.Fatal("removed a required factor")
	}
	if err := f.s.ResetMFA(sys, "frank"); err != nil {
		t.Fatal(err)
	}
	if l := login(t, f, "frank", "tr4ce-Orbit-lantern", ""); l.Restriction != access.MustEnrollMFA {
		t.Fatalf("after reset %q", l.Restriction)
	}
	replayed := false
	for _, r := range f.records(t, "auth.login") {
		replayed = replayed || strings.Contains(string(r.Details), "replayed authentication code")
	}
	if !replayed {
		t.Fatal("replayed code not recorded")
	}
}

func TestSecretKeyRequired(t *testing.T) {
	f := newFixture(t, nil)
	os.WriteFile(filepath.Join(f.dir, "other.key"), []byte("short"), 0o600)
	if _, err := openSecretBox(filepath.Join(f.dir, "other.key")); err == nil {
		t.Fatal("short key accepted")
	}
	b1, _ := openSecretBox(filepath.Join(f.dir, "secret.key"))
	b2, _ := openSecretBox(filepath.Join(t.TempDir(), "secret.key"))
	if _, err := b2.open(b1.seal("x")); err == nil {
		t.Fatal("opened with another key")
	}
}
