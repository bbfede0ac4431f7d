package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/vigil-siem/vigil/internal/cases"
	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/notify"
	"github.com/vigil-siem/vigil/internal/response"
	"github.com/vigil-siem/vigil/internal/risk"
	"github.com/vigil-siem/vigil/internal/store"

	"github.com/vigil-siem/vigil/internal/exceptions"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// triage holds what follows the alerts: tuning exceptions,
// notifications (and, as they come, risk, response actions and cases).
type triage struct {
	exceptions *exceptions.Service
	notify     *notify.Dispatcher
	risk       *risk.Engine
	response   *response.Runner
	cases      *cases.Store
}

// startTriage opens the features built on the alert store and starts their
// background work. It starts before detection, so that every alert the
// detector raises is seen by them, and stops after it.
func (s *Server) startTriage(ctx context.Context) (lifecycle.StopFunc, error) {
	ex, err := exceptions.Open(ctx, s.db, exceptions.Options{Dir: s.cfg.Alerts.ExceptionsDir, Alerts: s.alerts,
		Log: s.log.With("component", "exceptions")})
	if err != nil {
		return nil, err
	}
	s.triage.exceptions = ex
	if errs := ex.Errors(); len(errs) > 0 {
		s.log.Warn("exception files rejected; the others apply (GET /api/v1/exceptions)", "count", len(errs))
	}
	loc, err := time.LoadLocation(s.cfg.Notify.Timezone)
	if err != nil {
		return nil, fmt.Errorf("notify.timezone: %w", err)
	}
	smtp := notify.SMTP{Host: s.cfg.Notify.SMTP.Host, Port: s.cfg.Notify.SMTP.Port, Username: s.cfg.Notify.SMTP.Username,
		Password: s.cfg.Notify.SMTP.Password, From: s.cfg.Notify.SMTP.From, StartTLS: s.cfg.Notify.SMTP.StartTLS}
	if s.cfg.Notify.SMTP.CA != "" {
		pool, err := certs.ClientCAs(s.cfg.Notify.SMTP.CA)
		if err != nil {
			return nil, fmt.Errorf("notify.smtp.ca: %w", err)
		}
		smtp.TLS = &tls.Config{RootCAs: pool}
	}
	nd, err := notify.New(ctx, s.db, s.cfg, notify.Options{Alerts: s.alerts, ConsoleURL: s.cfg.Notify.ConsoleURL, SMTP: smtp, Location: loc,
		Log: s.log.With("component", "notify"), Registry: s.registry})
	if err != nil {
		return nil, err
	}
	s.triage.notify = nd
	s.alerts.OnChange(nd.OnChange)
	if n := len(nd.Channels()); n > 0 {
		s.log.Info("notification channels", "count", n)
	}
	factors, err := risk.ParseFactors(s.cfg.Risk.RuleFactors)
	if err != nil {
		return nil, fmt.Errorf("risk.rule_factors: %w", err)
	}
	rk, err := risk.Open(ctx, s.db, risk.Options{HalfLife: time.Duration(s.cfg.Risk.HalfLife), Threshold: float64(s.cfg.Risk.Threshold),
		RuleFactors: factors, Alerts: s.alerts, Log: s.log.With("component", "risk")})
	if err != nil {
		return nil, err
	}
	s.triage.risk = rk
	s.alerts.OnChange(rk.OnChange)
	s.alerts.RegisterMetrics(s.registry)
	rr, err := response.New(ctx, s.db, s.cfg.Response.Actions, s.cfg.Response.ProtectedNetworks, response.Options{Alerts: s.alerts,
		Log: s.log.With("component", "response")})
	if err != nil {
		return nil, err
	}
	s.triage.response = rr
	s.alerts.OnChange(rr.OnChange)
	cs, err := cases.Open(ctx, s.db, cases.Options{Alerts: s.alerts, Log: s.log.With("component", "cases"),
		Search: func(ctx context.Context, q string, start, end time.Time, limit int, fn func([]event.Field) error) error {
			return s.store.Search(ctx, store.Request{Query: q, Start: start, End: end, Limit: limit}, fn)
		},
		PatientState: s.patientState})
	if err != nil {
		return nil, err
	}
	s.triage.cases = cs
	return lifecycle.Chain(
		lifecycle.Go(func(ctx context.Context) error {
			// Hourly: forget old risk, remind of breach deadlines.
			t := time.NewTicker(time.Hour)
			defer t.Stop()
			for {
				if err := cs.Remind(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("cases: breach deadline reminders", "err", err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
					if err := rk.Prune(ctx); err != nil {
						s.log.Warn("risk: prune old scores", "err", err)
					}
				}
			}
		}),
		lifecycle.Go(func(ctx context.Context) error { nd.Run(ctx); return nil }),
		lifecycle.Go(func(ctx context.Context) error { ex.Run(ctx); return nil }),
	), nil
}

// patientState is the state a patient lives in, from the directory
// (the first address that has one); "" when unknown.
func (s *Server) patientState(ctx context.Context, patientID string) (string, error) {
	p, err := s.directory.PatientByIdentifier(ctx, patientID, "", true)
	if err != nil {
		return "", nil
	}
	for _, a := range p.Addresses {
		if a.State != "" {
			return a.State, nil
		}
	}
	return "", nil
}
