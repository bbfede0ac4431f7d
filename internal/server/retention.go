package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/retention"
	"github.com/vigil-siem/vigil/internal/web"
)

// startRetention disposes of events whose retention ended, every
// retention.interval: per-dataset policies, and the days beyond
// store.retention (the store keeps its days until then: legal holds may
// keep some). Each disposal reseals the batches it touched in the
// integrity ledger. It quiesces the store writer, so it starts after it.
func (s *Server) startRetention(ctx context.Context) (lifecycle.StopFunc, error) {
	global := time.Duration(s.cfg.Store.Retention)
	var policies []retention.Policy
	for _, v := range s.cfg.Retention.Policies {
		p, err := retention.ParsePolicy(v)
		if err != nil {
			return nil, fmt.Errorf("retention.policies: %w", err)
		}
		if p.Keep > global {
			return nil, fmt.Errorf("retention.policies: %s keeps %s, longer than store.retention (%s): raise store.retention", p.Name, s.cfg.Retention.Policies, s.cfg.Store.Retention)
		}
		policies = append(policies, p)
	}
	s.retention = &retention.Manager{DB: s.db, Store: s.store, Ledger: s.ledger, Policies: policies, Retention: global,
		Quiesce: s.writer.Quiesce, Audit: s.auditRecord, Log: s.log.With("component", "retention")}
	if err := s.retention.Open(ctx); err != nil {
		return nil, err
	}
	return lifecycle.Go(func(ctx context.Context) error {
		s.retention.RunSchedule(ctx, time.Duration(s.cfg.Retention.Interval))
		return nil
	}), nil
}

func (s *Server) retentionRoutes() map[string]http.Handler {
	return s.retention.Routes(web.ParseTime, func(*http.Request) string { return "api-token" })
}

// auditRecord writes to the audit trail of Vigil's own use. Until the
// accounts and audit trail are wired into the server, disposals and holds
// are recorded in their own tables (the disposal log, the holds) and in
// the integrity ledger's reseal entries, and logged here.
func (s *Server) auditRecord(_ context.Context, action, target, outcome string, details map[string]string) error {
	s.log.Info("audit", "action", action, "target", target, "outcome", outcome, "policy", details["policy"], "events", details["events"])
	return nil
}
