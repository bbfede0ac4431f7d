package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// startAccess opens the audit trail and the accounts, makes the ingest
// token an ingest-role token, and on first start creates the user admin
// (its one-time password is kept in AdminPassword for the terminal, never
// logged) and the local command line's admin token (<data-dir>/admin.token).
// Background: session sweeping and audit retention.
func (s *Server) startAccess(ctx context.Context) (lifecycle.StopFunc, error) {
	var err error
	if s.audit, err = audit.Open(ctx, s.db); err != nil {
		return nil, err
	}
	fields := s.cfg.PHI.Fields
	if s.cfg.PHI.Builtin {
		fields = append(append([]string{}, access.DefaultPHIFields...), fields...)
	}
	if len(fields) == 0 {
		fields = []string{"vigil.no_phi_field"} // masking off: an empty list means the default
	}
	if s.mask, err = access.NewMasker(fields); err != nil {
		return nil, fmt.Errorf("phi.fields: %w", err)
	}
	mfa := s.cfg.Auth.MFARoles
	if mfa == nil {
		mfa = []string{}
	}
	s.accounts, err = accounts.Open(ctx, s.db, accounts.Options{
		DataDir: s.dataDir, IdleTimeout: time.Duration(s.cfg.Auth.IdleTimeout), SessionLifetime: time.Duration(s.cfg.Auth.SessionLifetime),
		MFARoles: mfa, Audit: s.audit, Log: s.log.With("component", "accounts"),
	})
	if err != nil {
		return nil, err
	}
	if err := s.accounts.EnsureIngestToken(ctx, s.Token); err != nil {
		return nil, fmt.Errorf("ingest token: %w", err)
	}
	s.CLITokenPath = filepath.Join(s.dataDir, "admin.token")
	if s.CLITokenGenerated, err = s.accounts.EnsureCLIToken(ctx, s.CLITokenPath); err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	if s.AdminPassword, err = s.accounts.EnsureAdmin(ctx); err != nil {
		return nil, fmt.Errorf("first administrator: %w", err)
	}
	if s.AdminPassword != "" {
		s.log.Info("created the user admin with a one-time password (printed on the terminal, not logged)")
	}
	if err := s.auditConfig(ctx); err != nil {
		return nil, fmt.Errorf("recording the configuration: %w", err)
	}
	retention := time.Duration(s.cfg.Audit.Retention)
	return lifecycle.Chain(
		lifecycle.Go(func(ctx context.Context) error { s.accounts.RunSweeper(ctx); return nil }),
		lifecycle.Go(func(ctx context.Context) error {
			s.audit.RunRetention(ctx, retention, func(err error) { s.log.Error("audit retention failed", "err", err) })
			return nil
		}),
	), nil
}

// accountsAPI is the sign-in, user and token API, with single sign-on
// when auth.oidc.issuer is set.
func (s *Server) accountsAPI(secure bool) (*accounts.API, error) {
	api := &accounts.API{Store: s.accounts, Secure: func(r *http.Request) bool { return secure || r.TLS != nil }}
	o := s.cfg.Auth.OIDC
	if o.Issuer == "" {
		return api, nil
	}
	cfg := accounts.OIDCConfig{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
		Scopes: o.Scopes, RolesClaim: o.RolesClaim, DefaultRoles: o.DefaultRoles, UsernameClaim: o.UsernameClaim,
		DisplayName: o.DisplayName, RequireMFA: o.RequireMFA, RoleMapping: map[string][]string{}}
	for _, m := range o.RoleMapping {
		v, role, err := config.ParseRoleMapping(m)
		if err != nil {
			return nil, err
		}
		cfg.RoleMapping[v] = append(cfg.RoleMapping[v], role)
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("auth.oidc.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("auth.oidc.ca_file %s: no PEM certificate in it", o.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		cfg.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	oidc, err := accounts.NewOIDC(s.accounts, api, cfg)
	if err != nil {
		return nil, fmt.Errorf("auth.oidc: %w", err)
	}
	api.OIDC = oidc
	return api, nil
}
