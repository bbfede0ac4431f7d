package server

import (
	"context"

	"github.com/vigil-siem/vigil/internal/exceptions"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// triage holds what follows the alerts: tuning exceptions (and, as they
// come, notifications, risk, response actions and cases).
type triage struct {
	exceptions *exceptions.Service
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
	return lifecycle.Go(func(ctx context.Context) error { ex.Run(ctx); return nil }), nil
}
