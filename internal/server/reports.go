package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/compliance"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/retention"
	"github.com/vigil-siem/vigil/internal/sources"
	"github.com/vigil-siem/vigil/internal/web"
)

// startReports generates the HIPAA evidence report on demand (the API,
// vigil report) and every reports.interval, keeping each with its
// reviewers' sign-offs and mailing scheduled ones to reports.email_to.
func (s *Server) startReports(ctx context.Context) (lifecycle.StopFunc, error) {
	s.reports = &compliance.Service{DB: s.db, Inputs: s.complianceInputs, Log: s.log.With("component", "reports"),
		Audit: func(ctx context.Context, action, target string, details map[string]string) {
			_ = s.auditRecord(ctx, action, target, "success", details)
		}}
	if err := s.reports.Open(ctx); err != nil {
		return nil, err
	}
	c := s.cfg.Reports
	if c.Interval <= 0 {
		return nil, nil
	}
	sch := compliance.Schedule{Every: time.Duration(c.Interval), To: c.EmailTo}
	if len(c.EmailTo) > 0 {
		m := s.cfg.Notify.SMTP
		if m.Host == "" {
			return nil, fmt.Errorf("reports.email_to needs an SMTP server: set notify.smtp.host")
		}
		mailer := &compliance.SMTPMailer{Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password, From: m.From, StartTLS: m.StartTLS}
		if m.CA != "" {
			data, err := os.ReadFile(m.CA)
			if err != nil {
				return nil, fmt.Errorf("notify.smtp.ca: %w", err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(data)
			mailer.TLS = &tls.Config{RootCAs: pool}
		}
		sch.Mailer = mailer
	}
	return lifecycle.Go(func(ctx context.Context) error {
		s.reports.RunSchedule(ctx, sch)
		return nil
	}), nil
}

// complianceInputs gathers what a compliance report reads.
func (s *Server) complianceInputs(context.Context) compliance.Inputs {
	c := s.cfg
	loc, err := time.LoadLocation(c.Detect.Timezone)
	if err != nil {
		loc = time.UTC
	}
	in := compliance.Inputs{
		Org:   c.Reports.Organization,
		Store: s.store,
		Alerts: func(ctx context.Context, f alerts.Filter) ([]alerts.Alert, error) {
			return s.alerts.List(ctx, f)
		},
		Sources: func() []sources.Source {
			l, _ := s.sources.List(sources.Filter{})
			return l
		},
		Integrity:      s.integrity.Status,
		Backups:        s.backups.History,
		Drills:         s.backups.Drills,
		Disposals:      s.retention.Disposals,
		Holds:          func(ctx context.Context) ([]retention.Hold, error) { return s.retention.Holds(ctx, true) },
		Policies:       s.retention.Policies,
		StoreRetention: time.Duration(c.Store.Retention),
		Location:       loc,
		Facts: compliance.Facts{
			SyslogPlain: c.Syslog.UDPAddr != "" || c.Syslog.TCPAddr != "", SyslogTLS: c.Syslog.TLSAddr != "", SyslogClientCerts: c.Syslog.TLSClientCA != "",
			HTTPTLS: c.HTTP.TLSCert != "" || s.HTTPCertFile != "", MLLPTLS: c.MLLP.TLSCert != "",
			BackupTarget: c.Backup.To, BackupInterval: time.Duration(c.Backup.Interval), BackupEncrypted: c.Backup.KeyFile != "" || c.Backup.KeyCommand != "", DataDirEncrypted: s.encrypted, DataDirKeyID: s.dataDirKeyID, DrillInterval: time.Duration(c.Backup.DrillInterval),
			VerifyInterval: time.Duration(c.Integrity.VerifyInterval), CheckpointInterval: time.Duration(c.Integrity.CheckpointInterval), TSA: c.Integrity.TSAURL,
			SessionIdle: time.Duration(c.Auth.IdleTimeout), MFA: mfaFact(c),
		},
	}
	return in
}

// reportRoutes: reading reports needs reports:read; making or signing one
// off reports:write. The signer is the caller.
func (s *Server) reportRoutes() []access.Route {
	actor := func(r *http.Request) string { return access.PrincipalFrom(r.Context()).String() }
	return withPerm(s.reports.Routes(web.ParseTime, actor), readWrite(access.ReportsRead, access.ReportsWrite))
}

// mfaFact says, for the HIPAA report's person authentication section, how
// people sign in to Vigil itself.
func mfaFact(c *config.Config) string {
	mfa := "no role is required to use one"
	if len(c.Auth.MFARoles) > 0 {
		mfa = "required for the roles " + strings.Join(c.Auth.MFARoles, ", ")
	}
	s := "Vigil's own users have individual accounts (argon2id password hashes, sign-in throttling and lockout) with a TOTP second factor, " + mfa + "."
	if c.Auth.OIDC.Issuer != "" {
		s += " Single sign-on through " + c.Auth.OIDC.Issuer + " is enabled; its users' second factor is the provider's"
		if c.Auth.OIDC.RequireMFA {
			s += ", required in the ID token's amr claim for those roles"
		}
		s += "."
	}
	return s + " Sessions also end " + time.Duration(c.Auth.SessionLifetime).String() + " after sign-in (docs/access.md)."
}
