// Package webtest serves routes through the real access middleware for
// feature packages' tests: a real accounts store and audit trail on a
// temporary SQLite database, with one token per role.
package webtest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/web"
)

// Env is a guarded test server.
type Env struct {
	URL    string
	Server *httptest.Server
	// Tokens holds a token secret for each role (access.RoleNames).
	Tokens   map[string]string
	Accounts *accounts.Store
	Trail    *audit.Trail
}

// Options adjust the environment.
type Options struct {
	// IngestToken, when set, is the ingest-role token's secret (as
	// --ingest-token would make it).
	IngestToken string
}

// New starts an HTTPS-less test server serving routes through web.Guard.
func New(t testing.TB, opt Options, routes ...access.Route) *Env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	trail, err := audit.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	st, err := accounts.Open(ctx, d, accounts.Options{DataDir: dir, Audit: trail})
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Tokens: map[string]string{}, Accounts: st, Trail: trail}
	for _, role := range access.RoleNames() {
		if role == access.RoleIngest && opt.IngestToken != "" {
			if err := st.EnsureIngestToken(ctx, opt.IngestToken); err != nil {
				t.Fatal(err)
			}
			e.Tokens[role] = opt.IngestToken
			continue
		}
		_, secret, err := st.CreateToken(audit.System(ctx), accounts.TokenRequest{Name: "test-" + role, Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		e.Tokens[role] = secret
	}
	g := &web.Guard{Auth: st, Audit: trail, Log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	if err := g.Mount(mux, routes); err != nil {
		t.Fatal(err)
	}
	e.Server = httptest.NewServer(mux)
	e.URL = e.Server.URL
	t.Cleanup(e.Server.Close)
	return e
}

// Records returns the audit records with an action (exact, or prefix*).
func (e *Env) Records(t testing.TB, action string) []audit.Record {
	t.Helper()
	rs, err := e.Trail.List(context.Background(), audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
